//! Prometheus metrics: `GET /metrics` in the OpenMetrics text format, off unless
//! `[global] metrics = true` (listening on `metrics_listen`, default 127.0.0.1:9568).
//!
//! Values that the daemon already counts (state machine counters, data-plane counters) are read
//! from the newest status snapshot at scrape time into a registry built for that scrape, so a
//! removed instance's series disappear with it. Only what exists nowhere else is kept here
//! across scrapes: the takeover-gap histogram and the warning counts, fed from the event bus.
//! Names and labels, and the mapping from the keepalived exporters, are in docs/OPERATIONS.md.

use std::{convert::Infallible, sync::Arc, time::Duration};

use http_body_util::Full;
use hyper::{
    Method, Request, Response, StatusCode,
    body::{Bytes, Incoming},
    header::{CONTENT_TYPE, HeaderValue},
    server::conn::http1,
    service::service_fn,
};
use hyper_util::rt::{TokioIo, TokioTimer};
use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{Histogram, exponential_buckets},
        info::Info,
    },
    registry::Registry,
};
use tokio::{net::TcpListener, sync::Semaphore, time::timeout};
use vrrp_common::counters::Counter as DataplaneCounter;

use super::{OpsState, protocol::ErrorCode, status::InstanceStatus, status::StatusSnapshot};
use crate::{
    daemon::events::DaemonEvent,
    proto::{DivergenceKind, State},
};

/// Default listening address: loopback, on a port next to neither keepalived exporter (9165,
/// 9650).
pub const DEFAULT_METRICS_LISTEN: &str = "127.0.0.1:9568";
/// Scrapes served at once.
const MAX_SCRAPERS: usize = 8;
/// A scraper must send its request headers within this, and be done within
/// [`CONNECTION_LIFETIME`].
const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
const CONNECTION_LIFETIME: Duration = Duration::from_secs(30);
/// The interface counters that count invalid adverts, with their `reason` label.
const INVALID_ADVERT_REASONS: [(DataplaneCounter, &str); 10] = [
    (DataplaneCounter::InvalidTtl, "ttl"),
    (DataplaneCounter::InvalidVersion, "version"),
    (DataplaneCounter::InvalidType, "type"),
    (DataplaneCounter::InvalidLength, "packet_length"),
    (DataplaneCounter::InvalidChecksum, "checksum"),
    (DataplaneCounter::UnknownVrid, "unknown_vrid"),
    (DataplaneCounter::ZeroInterval, "zero_interval"),
    (DataplaneCounter::ChecksumOtherStyle, "checksum_other_style"),
    (DataplaneCounter::PeerNotAllowed, "peer_not_allowed"),
    (DataplaneCounter::AuthTypeMismatch, "auth_type_mismatch"),
];

/// The data-plane counters of an instance that count its discarded adverts, with their
/// `reason` label in `vrrp_advert_errors`.
const INSTANCE_DISCARD_REASONS: [(DataplaneCounter, &str); 2] = [
    (DataplaneCounter::ChecksumOtherStyle, "checksum_other_style"),
    (DataplaneCounter::PeerNotAllowed, "peer_not_allowed"),
];

/// The labels of every per-instance series.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InstanceLabels {
    /// Not `instance`: Prometheus gives that name to the scrape target and would rename ours
    /// to `exported_instance`.
    vrrp_instance: String,
    interface: String,
    vrid: u8,
    family: String,
    group: String,
}

impl InstanceLabels {
    fn of(instance: &InstanceStatus) -> Self {
        Self {
            vrrp_instance: instance.name.clone(),
            interface: instance.interface.clone(),
            vrid: instance.vrid,
            family: instance.family.to_lowercase(),
            group: instance.group.clone(),
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InstanceReasonLabels {
    #[prometheus(flatten)]
    instance: InstanceLabels,
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InstanceKindLabels {
    #[prometheus(flatten)]
    instance: InstanceLabels,
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InstanceCounterLabels {
    #[prometheus(flatten)]
    instance: InstanceLabels,
    counter: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InterfaceReasonLabels {
    interface: String,
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InterfaceCounterLabels {
    interface: String,
    counter: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HookLabels {
    interface: String,
    hook: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WarningLabels {
    vrrp_instance: String,
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: String,
}

/// What the metrics keep across scrapes, fed from the event bus.
#[derive(Debug)]
pub struct EventMetrics {
    takeover_gap: Family<InstanceLabels, Histogram, fn() -> Histogram>,
    warnings: Family<WarningLabels, Counter>,
    divergences: Family<WarningLabels, Counter>,
}

impl Default for EventMetrics {
    fn default() -> Self {
        Self {
            takeover_gap: Family::new_with_constructor(takeover_gap_histogram),
            warnings: Family::default(),
            divergences: Family::default(),
        }
    }
}

/// Takeover gaps from 5 ms (10 ms adverts) to 20 s (4 s adverts, and worse).
fn takeover_gap_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.005, 2.0, 13))
}

impl EventMetrics {
    /// Counts `event`; `snapshot` supplies the labels the event does not carry.
    pub fn observe(&self, event: &DaemonEvent, snapshot: &StatusSnapshot) {
        match event {
            DaemonEvent::Transition {
                instance,
                to: State::Master,
                since_last_advert: Some(gap),
                ..
            } => {
                if let Some(status) = snapshot.instances.iter().find(|i| &i.name == instance) {
                    self.takeover_gap
                        .get_or_create(&InstanceLabels::of(status))
                        .observe(gap.as_secs_f64());
                }
            }
            DaemonEvent::Warning { instance, warning } => {
                self.warnings
                    .get_or_create(&WarningLabels {
                        vrrp_instance: instance.clone(),
                        kind: warning.kind().to_owned(),
                    })
                    .inc();
            }
            DaemonEvent::DivergenceRaised(divergence) => {
                self.divergences
                    .get_or_create(&WarningLabels {
                        vrrp_instance: divergence.instance.clone(),
                        kind: divergence.kind.name().to_owned(),
                    })
                    .inc();
            }
            _ => {}
        }
    }
}

/// Outcomes of hooks and webhook deliveries, counted by their tasks.
#[derive(Debug, Clone)]
pub(crate) struct NotifyMetrics {
    hook_runs: Family<ResultLabels, Counter>,
    hook_collapsed: Counter,
    webhook_deliveries: Family<ResultLabels, Counter>,
}

/// How a hook run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HookResult {
    /// Exit status 0.
    Ok,
    /// Could not start, a non-zero exit or a signal.
    Failed,
    /// Killed at its timeout.
    Timeout,
}

/// What became of an event record meant for the webhook.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WebhookResult {
    /// Answered with a 2xx status.
    Ok,
    /// Every attempt failed.
    Failed,
    /// The queue was full (or the bus had dropped it before the webhook saw it).
    Dropped,
}

impl Default for NotifyMetrics {
    fn default() -> Self {
        let metrics = Self {
            hook_runs: Family::default(),
            hook_collapsed: Counter::default(),
            webhook_deliveries: Family::default(),
        };
        // Every result from zero, so that increase() sees the first failure.
        for result in ["ok", "failed", "timeout"] {
            metrics
                .hook_runs
                .get_or_create(&result_labels(result))
                .inc_by(0);
        }
        for result in ["ok", "failed", "dropped"] {
            metrics
                .webhook_deliveries
                .get_or_create(&result_labels(result))
                .inc_by(0);
        }
        metrics
    }
}

fn result_labels(result: &str) -> ResultLabels {
    ResultLabels {
        result: result.to_owned(),
    }
}

impl NotifyMetrics {
    /// Counts a finished hook run.
    pub(crate) fn hook_ran(&self, result: HookResult) {
        let label = match result {
            HookResult::Ok => "ok",
            HookResult::Failed => "failed",
            HookResult::Timeout => "timeout",
        };
        self.hook_runs.get_or_create(&result_labels(label)).inc();
    }

    /// Counts transitions collapsed in a hook queue.
    pub(crate) fn hook_collapsed(&self, count: u64) {
        self.hook_collapsed.inc_by(count);
    }

    /// Counts `count` records that met `result`.
    pub(crate) fn webhook(&self, result: WebhookResult, count: u64) {
        let label = match result {
            WebhookResult::Ok => "ok",
            WebhookResult::Failed => "failed",
            WebhookResult::Dropped => "dropped",
        };
        self.webhook_deliveries
            .get_or_create(&result_labels(label))
            .inc_by(count);
    }

    fn register(&self, registry: &mut Registry) {
        registry.register(
            "hook_runs",
            "Hook runs by result (ok, failed, timeout)",
            self.hook_runs.clone(),
        );
        registry.register(
            "hook_transitions_collapsed",
            "Transitions a slow hook was not told about (the newest one is always delivered)",
            self.hook_collapsed.clone(),
        );
        registry.register(
            "webhook_deliveries",
            "Event records for the webhook by outcome (ok, failed after retries, dropped)",
            self.webhook_deliveries.clone(),
        );
    }
}

/// The exposition for `state` now.
pub(crate) fn exposition(state: &OpsState) -> String {
    let mut registry = Registry::with_prefix("xvrrp");
    registry.register(
        "build",
        "The daemon's version",
        Info::new(BuildLabels {
            version: env!("CARGO_PKG_VERSION").to_owned(),
        }),
    );
    register_snapshot(&mut registry, &state.status.borrow());
    registry.register(
        "divergence_warnings",
        "Divergences raised (a peer disagreeing with this router), by instance and kind",
        state.event_metrics.divergences.clone(),
    );
    registry.register(
        "takeover_gap_seconds",
        "Time from the previous Master's last advert to this router's takeover",
        state.event_metrics.takeover_gap.clone(),
    );
    registry.register(
        "warning_events",
        "Warning events raised (rate-limited per instance and kind, as logged)",
        state.event_metrics.warnings.clone(),
    );
    state.notify_metrics.register(&mut registry);
    let control: Family<ResultLabels, Counter> = Family::default();
    control
        .get_or_create(&ResultLabels {
            result: "ok".to_owned(),
        })
        .inc_by(state.control.served());
    for code in ErrorCode::ALL {
        control
            .get_or_create(&ResultLabels {
                result: code.name().to_owned(),
            })
            .inc_by(state.control.refused(code));
    }
    registry.register(
        "control_requests",
        "Control-socket requests by result (ok, or the error code)",
        control,
    );
    let mut text = String::new();
    // Writing to a String cannot fail.
    let _infallible = encode(&mut text, &registry);
    text
}

/// Registers the series read from `snapshot`.
fn register_snapshot(registry: &mut Registry, snapshot: &StatusSnapshot) {
    let state: Family<InstanceLabels, Gauge> = Family::default();
    let priority: Family<InstanceLabels, Gauge> = Family::default();
    let master_priority: Family<InstanceLabels, Gauge> = Family::default();
    let received: Family<InstanceLabels, Counter> = Family::default();
    let sent: Family<InstanceLabels, Counter> = Family::default();
    let became: Family<InstanceLabels, Counter> = Family::default();
    let released: Family<InstanceLabels, Counter> = Family::default();
    let zero_received: Family<InstanceLabels, Counter> = Family::default();
    let zero_sent: Family<InstanceLabels, Counter> = Family::default();
    let errors: Family<InstanceReasonLabels, Counter> = Family::default();
    let dataplane: Family<InstanceCounterLabels, Counter> = Family::default();
    let divergences: Family<InstanceKindLabels, Gauge> = Family::default();
    let evictions: Family<InstanceLabels, Counter> = Family::default();
    let router_adverts: Family<InstanceKindLabels, Counter> = Family::default();
    let solicitations: Family<InstanceLabels, Counter> = Family::default();
    for instance in &snapshot.instances {
        let labels = InstanceLabels::of(instance);
        if let Some(ra) = &instance.router_adverts {
            for (kind, value) in [("announce", ra.announced), ("withdraw", ra.withdrawn)] {
                router_adverts
                    .get_or_create(&InstanceKindLabels {
                        instance: labels.clone(),
                        kind: kind.to_owned(),
                    })
                    .inc_by(value);
            }
            solicitations
                .get_or_create(&labels)
                .inc_by(ra.solicitations);
        }
        for kind in DivergenceKind::ALL {
            let active = instance
                .divergences
                .iter()
                .filter(|divergence| divergence.kind == kind)
                .count();
            divergences
                .get_or_create(&InstanceKindLabels {
                    instance: labels.clone(),
                    kind: kind.name().to_owned(),
                })
                .set(i64::try_from(active).unwrap_or(i64::MAX));
        }
        evictions
            .get_or_create(&labels)
            .inc_by(instance.divergence_evictions);
        state.get_or_create(&labels).set(match instance.state {
            State::Initialize => 0,
            State::Backup => 1,
            State::Master => 2,
        });
        priority
            .get_or_create(&labels)
            .set(i64::from(instance.effective_priority));
        if let Some(known) = instance.master.as_ref().and_then(|m| m.priority) {
            master_priority.get_or_create(&labels).set(i64::from(known));
        }
        let counted = |name: &str| instance.dataplane.get(name).copied().unwrap_or(0);
        received.get_or_create(&labels).inc_by(
            counted(DataplaneCounter::AdvertsAbsorbed.name())
                + counted(DataplaneCounter::AdvertsToUserspace.name()),
        );
        let c = &instance.counters;
        sent.get_or_create(&labels).inc_by(c.adverts_sent);
        became.get_or_create(&labels).inc_by(c.became_master);
        released.get_or_create(&labels).inc_by(c.released_master);
        zero_received
            .get_or_create(&labels)
            .inc_by(c.priority_zero_received);
        zero_sent
            .get_or_create(&labels)
            .inc_by(c.priority_zero_sent);
        let discarded =
            INSTANCE_DISCARD_REASONS.map(|(counter, reason)| (reason, counted(counter.name())));
        for (reason, value) in [
            ("interval_mismatch", c.interval_mismatch),
            ("address_list_mismatch", c.address_list_mismatch),
        ]
        .into_iter()
        .chain(discarded)
        {
            errors
                .get_or_create(&InstanceReasonLabels {
                    instance: labels.clone(),
                    reason: reason.to_owned(),
                })
                .inc_by(value);
        }
        for (counter, value) in &instance.dataplane {
            dataplane
                .get_or_create(&InstanceCounterLabels {
                    instance: labels.clone(),
                    counter: counter.clone(),
                })
                .inc_by(*value);
        }
    }
    let interface_errors: Family<InterfaceReasonLabels, Counter> = Family::default();
    let interface_dataplane: Family<InterfaceCounterLabels, Counter> = Family::default();
    let hook: Family<HookLabels, Gauge> = Family::default();
    for interface in &snapshot.interfaces {
        let name = || interface.name.clone();
        hook.get_or_create(&HookLabels {
            interface: name(),
            hook: interface.ingress_hook.clone(),
        })
        .set(1);
        for (counter, reason) in INVALID_ADVERT_REASONS {
            let value = interface
                .dataplane
                .get(counter.name())
                .copied()
                .unwrap_or(0);
            interface_errors
                .get_or_create(&InterfaceReasonLabels {
                    interface: name(),
                    reason: reason.to_owned(),
                })
                .inc_by(value);
        }
        for (counter, value) in &interface.dataplane {
            interface_dataplane
                .get_or_create(&InterfaceCounterLabels {
                    interface: name(),
                    counter: counter.clone(),
                })
                .inc_by(*value);
        }
    }
    registry.register(
        "vrrp_state",
        "VRRP state: 0 Initialize, 1 Backup, 2 Master",
        state,
    );
    registry.register("vrrp_priority", "Effective priority", priority);
    registry.register(
        "vrrp_master_priority",
        "Priority of the current Master (absent while unknown)",
        master_priority,
    );
    registry.register(
        "vrrp_adverts_received",
        "Adverts received from the Master and peers",
        received,
    );
    registry.register("vrrp_adverts_sent", "Adverts sent", sent);
    registry.register("vrrp_become_master", "Transitions to Master", became);
    registry.register("vrrp_release_master", "Transitions from Master", released);
    registry.register(
        "vrrp_priority_zero_received",
        "Priority-0 adverts (a Master resigning) received",
        zero_received,
    );
    registry.register(
        "vrrp_priority_zero_sent",
        "Priority-0 adverts sent (resigning)",
        zero_sent,
    );
    registry.register(
        "vrrp_advert_errors",
        "Adverts that disagree with this router's configuration, by reason",
        errors,
    );
    registry.register(
        "divergence_active",
        "Divergences active now (peers disagreeing with this router), by kind",
        divergences,
    );
    registry.register(
        "divergence_peer_evictions",
        "Peers the divergence table forgot to make room for new sources",
        evictions,
    );
    registry.register(
        "router_adverts_sent",
        "IPv6 Router Advertisements sent while Master, by kind (announce; withdraw: lifetime 0)",
        router_adverts,
    );
    registry.register(
        "router_solicitations",
        "Valid Router Solicitations received while Master",
        solicitations,
    );
    registry.register(
        "dataplane_instance_packets",
        "Data-plane counters of the virtual router, by counter",
        dataplane,
    );
    registry.register(
        "interface_advert_errors",
        "Adverts discarded by the data plane on the interface, by reason",
        interface_errors,
    );
    registry.register(
        "dataplane_interface_packets",
        "Interface-wide data-plane counters, by counter",
        interface_dataplane,
    );
    registry.register(
        "interface_ingress_hook",
        "Where the ingress data plane runs (hook: native_xdp, generic_xdp, tc); always 1",
        hook,
    );
}

/// Serves `/metrics` on `listener` until the task is dropped.
pub(crate) async fn serve(listener: TcpListener, state: Arc<OpsState>) {
    let slots = Arc::new(Semaphore::new(MAX_SCRAPERS));
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(err) => {
                tracing::warn!(error = %err, "metrics accept");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        // More scrapers than that at once is a misconfiguration or an attack: close.
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            continue;
        };
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            let _slot = slot;
            let service = service_fn(move |request| {
                let state = Arc::clone(&state);
                async move { Ok::<_, Infallible>(respond(&request, &state)) }
            });
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service);
            match timeout(CONNECTION_LIFETIME, connection).await {
                Ok(Ok(())) => {}
                Ok(Err(err)) => tracing::debug!(error = %err, "metrics connection"),
                Err(_elapsed) => tracing::debug!("metrics connection outlived its limit"),
            }
        });
    }
}

fn respond(request: &Request<Incoming>, state: &OpsState) -> Response<Full<Bytes>> {
    let (status, body) = match (request.method(), request.uri().path()) {
        (&Method::GET, "/metrics") => (StatusCode::OK, exposition(state)),
        (&Method::GET, _) => (StatusCode::NOT_FOUND, "try /metrics\n".to_owned()),
        _ => (StatusCode::METHOD_NOT_ALLOWED, "GET only\n".to_owned()),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    if status == StatusCode::OK {
        response.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::{
        ops::status::{InterfaceStatus, tests::wide_instance},
        proto::router_advert::RouterAdvertCounters,
    };

    /// The exposition line of `metric` whose labels include `label`.
    fn value(text: &str, metric: &str, label: &str) -> Option<u64> {
        text.lines()
            .find(|line| line.starts_with(&format!("{metric}{{")) && line.contains(label))
            .and_then(|line| line.rsplit(' ').next()?.parse().ok())
    }

    #[test]
    fn router_advertisements_are_counted_by_kind_and_solicitations_apart() {
        let snapshot = StatusSnapshot {
            instances: vec![
                InstanceStatus {
                    router_adverts: Some(RouterAdvertCounters {
                        announced: 7,
                        withdrawn: 1,
                        solicitations: 2,
                    }),
                    ..wide_instance(1)
                },
                // An instance without RAs has no RA series at all.
                InstanceStatus {
                    router_adverts: None,
                    ..wide_instance(2)
                },
            ],
            ..StatusSnapshot::default()
        };
        let mut registry = Registry::with_prefix("xvrrp");
        register_snapshot(&mut registry, &snapshot);
        let mut text = String::new();
        encode(&mut text, &registry).unwrap();
        let sent = "xvrrp_router_adverts_sent_total";
        assert_eq!(value(&text, sent, "kind=\"announce\""), Some(7));
        assert_eq!(value(&text, sent, "kind=\"withdraw\""), Some(1));
        assert_eq!(
            value(&text, "xvrrp_router_solicitations_total", "customer-001"),
            Some(2)
        );
        assert_eq!(
            text.lines()
                .filter(|line| line.starts_with("xvrrp_router_") && line.contains("customer-002"))
                .count(),
            0,
            "{text}"
        );
    }

    #[test]
    fn adverts_discarded_for_the_checksum_style_or_the_peer_are_errors_by_reason() {
        let counters = BTreeMap::from([
            ("checksum_other_style".to_owned(), 3),
            ("peer_not_allowed".to_owned(), 2),
        ]);
        let snapshot = StatusSnapshot {
            instances: vec![InstanceStatus {
                dataplane: counters.clone(),
                ..wide_instance(1)
            }],
            interfaces: vec![InterfaceStatus {
                name: "eth0".to_owned(),
                ingress_hook: "tc".to_owned(),
                dataplane: counters,
            }],
            ..StatusSnapshot::default()
        };
        let mut registry = Registry::with_prefix("xvrrp");
        register_snapshot(&mut registry, &snapshot);
        let mut text = String::new();
        encode(&mut text, &registry).unwrap();
        for (metric, reason, expected) in [
            ("xvrrp_vrrp_advert_errors_total", "checksum_other_style", 3),
            ("xvrrp_vrrp_advert_errors_total", "peer_not_allowed", 2),
            (
                "xvrrp_interface_advert_errors_total",
                "checksum_other_style",
                3,
            ),
            ("xvrrp_interface_advert_errors_total", "peer_not_allowed", 2),
        ] {
            let label = format!("reason=\"{reason}\"");
            assert_eq!(
                value(&text, metric, &label),
                Some(expected),
                "{metric} {reason}"
            );
        }
    }
}
