//! Handover (SIGUSR2): the daemon replaces itself with a fresh run of its binary without
//! resigning, for restarts and upgrades that cost no traffic. The old run sends a last advert
//! for each Master and refreshes the heartbeats, so the new one has the whole resume window
//! (`proto::resume`); it leaves the programs, maps, links and virtual addresses in place and
//! executes its own command line again in the same process (same PID, so a supervisor such
//! as systemd sees no stop). The new run adopts the pins and resumes. SIGTERM keeps
//! resigning: only an explicit handover skips it.

use std::{ffi::OsString, os::unix::process::CommandExt as _, time::Instant};

use anyhow::anyhow;

use super::runtime::Daemon;
use crate::{
    config::{self, Mode, SystemInterfaces},
    proto::State,
};

/// How the event loop ended.
pub enum Stop {
    /// SIGTERM or SIGINT: resign and clean up.
    Shutdown,
    /// SIGUSR2: hand over to a fresh run.
    Handover,
}

impl Daemon {
    /// Whether the successor would start: its configuration loads (else the handover is
    /// refused and this run goes on, so a broken file cannot turn a restart into an outage).
    pub(super) fn successor_can_start(&self) -> bool {
        match config::load(&self.options.config_path, &SystemInterfaces, Mode::Run) {
            Ok(_) => true,
            Err(err) => {
                tracing::error!(
                    config = %self.options.config_path.display(),
                    error = format!("{err:#}"),
                    "handover refused: the configuration does not load; still running"
                );
                false
            }
        }
    }

    /// Leaves every data plane running and pinned, after a last advert from each Master and a
    /// fresh heartbeat on each interface.
    pub(super) fn hand_over(&mut self) {
        let now = Instant::now();
        for interface in self.interfaces.values_mut() {
            interface.refresh_heartbeat(now);
        }
        for instance in &self.instances {
            if instance.router.state() != State::Master {
                continue;
            }
            let Some(interface) = self.interfaces.get_mut(&instance.config.interface) else {
                continue;
            };
            let priority = instance.router.status().priority;
            if let Err(err) = interface.send_advert(instance, priority) {
                tracing::warn!(
                    instance = instance.config.name,
                    error = format!("{err:#}"),
                    "last advert before the handover failed"
                );
            }
        }
        for interface in self.interfaces.values_mut() {
            interface.leave_pinned();
        }
        tracing::info!(
            instances = self.instances.len(),
            "handing over: data planes, virtual addresses and pins left for the next run"
        );
    }
}

/// Executes this process's command line again in place; returns only if that failed.
pub fn exec_successor() -> anyhow::Error {
    let mut args: Vec<OsString> = std::env::args_os().collect();
    if args.is_empty() {
        return anyhow!("handover: no command line to run again");
    }
    let program = args.remove(0);
    let err = std::process::Command::new(&program).args(&args).exec();
    anyhow!(err).context(format!(
        "handover: running {} again failed (the pins stay for the next start)",
        program.to_string_lossy()
    ))
}
