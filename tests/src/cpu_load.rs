//! A competing CPU load for benchmarks: Debian's `stress-ng --cpu`, with more workers than the
//! machine has CPUs so every CPU stays saturated.

use std::{
    process::{Child, Command, Stdio},
    time::Duration,
};

/// `stress-ng --cpu <2 × CPUs>`, stopped by PID on drop.
pub struct CpuLoad {
    child: Child,
    workers: usize,
}

impl CpuLoad {
    /// Starts two workers per CPU; stress-ng stops by itself after `bound` if we are killed.
    pub fn start(bound: Duration) -> Self {
        let workers = 2 * std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        let child = Command::new("stress-ng")
            .args(["--cpu", &workers.to_string()])
            .args(["--timeout", &format!("{}s", bound.as_secs().max(1))])
            .arg("--quiet")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start stress-ng (cargo xtask setup installs it)");
        Self { child, workers }
    }

    /// How the load was started, for a report: `stress-ng --cpu 4`.
    pub fn command(&self) -> String {
        format!("stress-ng --cpu {}", self.workers)
    }
}

impl Drop for CpuLoad {
    fn drop(&mut self) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("pid");
        // SAFETY: kill(2) on our own child; SIGTERM makes stress-ng stop its workers.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let _reaped = self.child.wait();
    }
}
