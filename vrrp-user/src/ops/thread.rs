//! The operations layer runs on a thread of its own, with its own tokio runtime.
//!
//! It writes the journal, answers clients and runs hooks: file writes can wait on the disk
//! (dirty-page throttling while a build writes gigabytes), and on one thread every such wait
//! would delay the adverts. Here the event loop's thread (real-time, see
//! `daemon::realtime`) only publishes snapshots and events; this thread, an ordinary task
//! (`SCHED_RESET_ON_FORK`), does the rest.

use std::{sync::mpsc as std_mpsc, thread::JoinHandle};

use tokio::sync::{mpsc, oneshot, watch};

use super::{OpsError, start, status::StatusSnapshot};
use crate::{
    config::Config,
    daemon::{commands::OperatorRequest, events::EventBus},
};

/// The running operations thread; [`OpsThread::stop`] ends it.
pub struct OpsThread {
    stop: oneshot::Sender<()>,
    thread: JoinHandle<()>,
}

/// Why the operations thread did not start.
#[derive(Debug, thiserror::Error)]
pub enum OpsThreadError {
    /// The layer itself failed (socket, metrics endpoint).
    #[error(transparent)]
    Ops(#[from] OpsError),
    /// The thread or its runtime could not be created.
    #[error("start the operations thread")]
    Thread(#[source] std::io::Error),
}

/// Starts the operations layer ([`start`]) on its own thread and returns once it is ready
/// (subscribed to `bus`, so it sees the first transitions) or has failed.
pub fn spawn(
    config: &Config,
    bus: &EventBus,
    status: watch::Receiver<StatusSnapshot>,
    commands: mpsc::Sender<OperatorRequest>,
) -> Result<OpsThread, OpsThreadError> {
    let (config, bus) = (config.clone(), bus.clone());
    let (ready_tx, ready_rx) = std_mpsc::sync_channel::<Result<(), OpsThreadError>>(1);
    let (stop, stopped) = oneshot::channel();
    let thread = std::thread::Builder::new()
        .name("xvrrp-ops".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(error) => {
                    let _receiver_gone = ready_tx.send(Err(OpsThreadError::Thread(error)));
                    return;
                }
            };
            runtime.block_on(async move {
                match start(&config, &bus, status, commands).await {
                    Ok(ops) => {
                        let _receiver_gone = ready_tx.send(Ok(()));
                        // Sender dropped or stop sent: either way the daemon is ending.
                        let _either = stopped.await;
                        drop(ops);
                    }
                    Err(error) => {
                        let _receiver_gone = ready_tx.send(Err(error.into()));
                    }
                }
            });
        })
        .map_err(OpsThreadError::Thread)?;
    match ready_rx.recv() {
        Ok(Ok(())) => Ok(OpsThread { stop, thread }),
        Ok(Err(error)) => {
            let _panicked = thread.join();
            Err(error)
        }
        Err(std_mpsc::RecvError) => {
            let _panicked = thread.join();
            Err(OpsThreadError::Thread(std::io::Error::other(
                "the operations thread ended before it was ready",
            )))
        }
    }
}

impl OpsThread {
    /// Stops the layer (removing the control socket) and waits for its thread.
    pub fn stop(self) {
        let _already_ended = self.stop.send(());
        if self.thread.join().is_err() {
            tracing::error!("the operations thread panicked");
        }
    }
}
