//! The webhook: every event record, as the journal writes it, POSTed as JSON to
//! `[global.webhook] url` (HTTP or HTTPS).
//!
//! Records wait in a bounded queue and go out one at a time, in order; each gets up to
//! `1 + retries` attempts of at most `timeout_ms`, spaced by a doubling backoff. A record that
//! finds the queue full is dropped and counted, so an unreachable receiver costs memory for
//! `queue` records at most and never slows the event loop or the other consumers.

use std::{sync::Arc, time::Duration};

use http_body_util::Full;
use hyper::{
    Request, Uri,
    body::Bytes,
    header::{CONTENT_TYPE, HeaderValue, USER_AGENT},
};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};
use tokio::{
    sync::{
        broadcast::{self, error::RecvError},
        mpsc,
    },
    time::timeout,
};

use super::{
    OpsState,
    journal::EventRecord,
    metrics::{NotifyMetrics, WebhookResult},
    time::unix_ms_now,
};
use crate::{
    config::WebhookConfig,
    daemon::{
        events::DaemonEvent,
        retry::{Backoff, Retry},
    },
};

/// Between attempts at one record: a receiver that restarts is usually back within seconds.
const BACKOFF_FIRST: Duration = Duration::from_millis(500);
const BACKOFF: Backoff = Backoff::new(BACKOFF_FIRST, Duration::from_secs(10));

type HttpsClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// Posts the records of `events` to the webhook of `config` until the bus closes.
pub(crate) async fn run(
    events: broadcast::Receiver<DaemonEvent>,
    config: WebhookConfig,
    state: Arc<OpsState>,
) {
    let Ok(uri) = config.url.parse::<Uri>() else {
        // check-config parsed it already.
        tracing::error!(url = config.url, "webhook url does not parse; webhook off");
        return;
    };
    let (queue, waiting) = mpsc::channel(config.queue);
    let metrics = &state.notify_metrics;
    tokio::join!(
        enqueue(events, queue, metrics),
        send(waiting, &config, &uri, client(), metrics)
    );
}

/// Moves every event into the queue, counting those that find it full.
async fn enqueue(
    mut events: broadcast::Receiver<DaemonEvent>,
    queue: mpsc::Sender<EventRecord>,
    metrics: &NotifyMetrics,
) {
    loop {
        match events.recv().await {
            Ok(event) => {
                if queue
                    .try_send(EventRecord::from_event(&event, unix_ms_now()))
                    .is_err()
                {
                    metrics.webhook(WebhookResult::Dropped, 1);
                    tracing::debug!("webhook queue full; event dropped");
                }
            }
            Err(RecvError::Lagged(lost)) => metrics.webhook(WebhookResult::Dropped, lost),
            Err(RecvError::Closed) => return,
        }
    }
}

/// Delivers the queued records one by one.
async fn send(
    mut waiting: mpsc::Receiver<EventRecord>,
    config: &WebhookConfig,
    uri: &Uri,
    client: HttpsClient,
    metrics: &NotifyMetrics,
) {
    while let Some(record) = waiting.recv().await {
        let body = match serde_json::to_vec(&record) {
            Ok(body) => Bytes::from(body),
            Err(err) => {
                tracing::error!(error = %err, "webhook: event record does not encode");
                metrics.webhook(WebhookResult::Failed, 1);
                continue;
            }
        };
        let result = deliver(&client, uri, body, config).await;
        metrics.webhook(result, 1);
    }
}

/// Up to `1 + retries` attempts at posting `body`.
async fn deliver(
    client: &HttpsClient,
    uri: &Uri,
    body: Bytes,
    config: &WebhookConfig,
) -> WebhookResult {
    let mut retry = None;
    for attempt in 0..=config.retries {
        let request = Request::post(uri.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header(
                USER_AGENT,
                HeaderValue::from_static(concat!("xvrrp/", env!("CARGO_PKG_VERSION"))),
            )
            .body(Full::new(body.clone()));
        let request = match request {
            Ok(request) => request,
            Err(err) => {
                tracing::error!(error = %err, "webhook request");
                return WebhookResult::Failed;
            }
        };
        let error = match timeout(config.timeout, client.request(request)).await {
            Ok(Ok(response)) if response.status().is_success() => return WebhookResult::Ok,
            Ok(Ok(response)) => format!("HTTP status {}", response.status()),
            Ok(Err(err)) => format!("{err:#}"),
            Err(_elapsed) => "no answer within the timeout".to_owned(),
        };
        let attempts = attempt + 1;
        if attempt == config.retries {
            tracing::warn!(url = %uri, attempts, error, "webhook delivery failed; event dropped");
            break;
        }
        tracing::info!(url = %uri, attempts, error, "webhook delivery failed; retrying");
        let next = Retry::after_failure(BACKOFF, retry, std::time::Instant::now());
        retry = Some(next);
        tokio::time::sleep_until(next.due().into()).await;
    }
    WebhookResult::Failed
}

/// An HTTP and HTTPS client that trusts the system's certificate store. Without one, every
/// HTTPS delivery fails (each is logged and counted) while HTTP keeps working.
fn client() -> HttpsClient {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = match HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(Arc::clone(&provider))
    {
        Ok(builder) => builder,
        Err(err) => {
            tracing::error!(error = %err, "no system CA certificates; HTTPS webhooks will fail");
            HttpsConnectorBuilder::new().with_tls_config(trusting_nobody(provider))
        }
    };
    let connector = builder.https_or_http().enable_http1().build();
    Client::builder(TokioExecutor::new()).build(connector)
}

/// TLS without trust anchors: every handshake fails, visibly.
fn trusting_nobody(provider: Arc<rustls::crypto::CryptoProvider>) -> rustls::ClientConfig {
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports rustls's default protocol versions")
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A port nothing listens on (bound, then released).
    fn closed_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map(|address| address.port())
            .expect("a free port")
    }

    #[tokio::test]
    async fn an_unreachable_receiver_fails_after_the_retries() {
        for scheme in ["http", "https"] {
            let config = WebhookConfig {
                url: format!("{scheme}://127.0.0.1:{}/hook", closed_port()),
                timeout: Duration::from_secs(2),
                retries: 1,
                queue: 1,
            };
            let uri: Uri = config.url.parse().unwrap();
            let started = std::time::Instant::now();
            let result = deliver(&client(), &uri, Bytes::from_static(b"{}"), &config).await;
            assert_eq!(result, WebhookResult::Failed, "{scheme}");
            // One backoff step between the two attempts.
            assert!(
                started.elapsed() >= BACKOFF_FIRST,
                "{scheme}: {:?}",
                started.elapsed()
            );
        }
    }
}
