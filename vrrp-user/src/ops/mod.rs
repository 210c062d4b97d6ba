//! The operations layer: what lets an operator watch a running daemon — the control socket
//! (`xvrrp status`, `xvrrp events`), the event journal, the Prometheus endpoint, and the hooks
//! and webhook that tell other systems about transitions.
//!
//! It lives beside the event loop, not in it: on a thread of its own ([`thread`]), it reads
//! the [`StatusSnapshot`] the loop publishes on a `watch` channel and subscribes to the
//! [`EventBus`]. Every client connection and scrape is a task of its own with bounded reads,
//! writes and counts, and no file write here runs on the loop's thread, so nothing here can
//! make the loop wait. docs/OPERATIONS.md documents the protocol, the JSON and the metrics.

pub mod client;
mod control;
mod event_log;
mod hook_queue;
mod hooks;
pub mod journal;
pub mod metrics;
pub mod operator;
pub mod plan;
pub mod protocol;
pub mod status;
pub mod thread;
pub mod time;
mod webhook;

use std::{collections::BTreeMap, io, net::SocketAddr, path::PathBuf, sync::Arc};

use tokio::{
    net::TcpListener,
    sync::{
        broadcast::{self, error::RecvError},
        mpsc, watch,
    },
    task::JoinHandle,
};

pub use control::{COMMAND_TIMEOUT, ControlCounters, MAX_CONNECTIONS, READ_TIMEOUT, WRITE_TIMEOUT};
pub use metrics::DEFAULT_METRICS_LISTEN;
use status::StatusSnapshot;

use crate::{
    config::Config,
    daemon::{
        commands::OperatorRequest,
        events::{DaemonEvent, EventBus},
    },
    ops::{
        event_log::EventLog,
        journal::{EventKind, EventRecord, Journal, read_history},
        metrics::{EventMetrics, NotifyMetrics},
        time::unix_ms_now,
    },
};

/// Events kept in memory for `xvrrp events` (and loaded from the journal at start).
const EVENTS_IN_MEMORY: usize = 1000;

/// Why the operations layer could not start.
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    /// The control socket could not be set up.
    #[error("control socket {}: {op}", path.display())]
    ControlSocket {
        /// Its path.
        path: PathBuf,
        /// What failed.
        op: &'static str,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The metrics endpoint could not listen.
    #[error("metrics_listen {listen}")]
    Metrics {
        /// The configured address.
        listen: SocketAddr,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

/// What the tasks of the operations layer share.
pub(crate) struct OpsState {
    /// The newest snapshot from the event loop.
    pub(crate) status: watch::Receiver<StatusSnapshot>,
    /// Recent events.
    pub(crate) events: EventLog,
    /// Takeover gaps and warnings for the metrics.
    pub(crate) event_metrics: EventMetrics,
    /// Control-socket outcomes.
    pub(crate) control: ControlCounters,
    /// Operator commands into the event loop.
    pub(crate) commands: mpsc::Sender<OperatorRequest>,
    /// Hook and webhook outcomes.
    pub(crate) notify_metrics: NotifyMetrics,
    /// Daemon start, Unix milliseconds: transitions before it belong to an earlier run.
    pub(crate) started_at_ms: u64,
}

/// The running operations layer. Dropping it stops its tasks and removes the control socket.
pub struct Ops {
    tasks: Vec<JoinHandle<()>>,
    socket: PathBuf,
}

impl Drop for Ops {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
        let _already_gone = std::fs::remove_file(&self.socket);
    }
}

/// Starts the operations layer for `config`: loads the journal's history, binds the control
/// socket and, if configured, the metrics endpoint, starts recording `bus`'s events and
/// feeding them to the hooks and the webhook. Operator commands go to the event loop on
/// `commands`. Call it before the event loop starts, so it sees the first transitions.
pub async fn start(
    config: &Config,
    bus: &EventBus,
    status: watch::Receiver<StatusSnapshot>,
    commands: mpsc::Sender<OperatorRequest>,
) -> Result<Ops, OpsError> {
    let global = &config.global;
    let (history, skipped) = read_history(&global.journal, EVENTS_IN_MEMORY);
    if skipped > 0 {
        tracing::warn!(
            journal = %global.journal.display(),
            skipped,
            "event journal lines that do not parse were skipped"
        );
    }
    // History matters less than running: without a writable journal, events stay in memory.
    let journal = Journal::open(&global.journal, global.journal_max_bytes)
        .inspect_err(|err| {
            tracing::warn!(error = %err, "event journal unavailable; events are kept in memory only");
        })
        .ok();
    let state = Arc::new(OpsState {
        status,
        events: EventLog::new(EVENTS_IN_MEMORY, history),
        event_metrics: EventMetrics::default(),
        control: ControlCounters::default(),
        commands,
        notify_metrics: NotifyMetrics::default(),
        started_at_ms: unix_ms_now(),
    });
    let listener = control::bind(&global.control_socket)?;
    let mut tasks = vec![
        tokio::spawn(record_events(bus.subscribe(), journal, Arc::clone(&state))),
        tokio::spawn(control::serve(
            listener,
            global.control_socket.clone(),
            Arc::clone(&state),
        )),
    ];
    if let Some(listen) = global.metrics_listen {
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|source| OpsError::Metrics { listen, source })?;
        tracing::info!(%listen, "serving Prometheus metrics at /metrics");
        tasks.push(tokio::spawn(metrics::serve(listener, Arc::clone(&state))));
    }
    let notify = &global.notify;
    if hooks::any_hooks(notify) {
        let families: BTreeMap<_, _> = config
            .instances
            .iter()
            .map(|instance| (instance.name.clone(), instance.family))
            .collect();
        tasks.push(tokio::spawn(hooks::run(
            bus.subscribe(),
            notify.clone(),
            families,
            Arc::clone(&state),
        )));
    }
    if let Some(webhook) = &notify.webhook {
        tracing::info!(url = webhook.url, "posting events to the webhook");
        tasks.push(tokio::spawn(webhook::run(
            bus.subscribe(),
            webhook.clone(),
            Arc::clone(&state),
        )));
    }
    tracing::info!(
        socket = %global.control_socket.display(),
        journal = %global.journal.display(),
        "operations interface ready"
    );
    Ok(Ops {
        tasks,
        socket: global.control_socket.clone(),
    })
}

/// Turns every bus event into a record: journal, memory, followers, metrics.
async fn record_events(
    mut events: broadcast::Receiver<DaemonEvent>,
    mut journal: Option<Journal>,
    state: Arc<OpsState>,
) {
    loop {
        let record = match events.recv().await {
            Ok(event) => {
                state.event_metrics.observe(&event, &state.status.borrow());
                EventRecord::from_event(&event, unix_ms_now())
            }
            Err(RecvError::Lagged(lost)) => {
                let mut record = EventRecord::empty(unix_ms_now(), EventKind::EventsLost);
                record.reason = Some(format!(
                    "{lost} events were not recorded (too many at once)"
                ));
                record
            }
            Err(RecvError::Closed) => return,
        };
        if let Some(file) = journal.as_mut()
            && let Err(err) = file.append(&record)
        {
            // Logged once: a full disk would otherwise log every event.
            tracing::warn!(error = %err, "event journal write failed; events are kept in memory only");
            journal = None;
        }
        state.events.record(record);
    }
}
