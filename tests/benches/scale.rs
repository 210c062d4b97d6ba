//! `cargo xtask bench scale`: 255 IPv4 virtual routers (every VRID of a LAN) at 10 ms adverts
//! between a Master (priority 200) and a Backup (100), for xvrrp and for keepalived, idle and
//! under `stress-ng --cpu 4`. After a warm-up, a 20 s window counts state transitions (each is
//! a false takeover or its repair: both Masters stay alive), adverts lost to xvrrp's ring
//! buffers, and each daemon's CPU time and peak RSS. Prints a Markdown table (xtask writes it to
//! docs/BENCHMARKS.md). Needs root, the release `xvrrp` (xtask builds it), keepalived and
//! stress-ng (`cargo xtask setup`).

use std::{
    path::Path,
    process::{Child, Command, Stdio},
    time::Duration,
};

use vrrp_tests::{
    daemon::Daemon,
    keepalived::Keepalived,
    lab::{LAN_IF, Lab},
    privilege::require_root,
    scale::{VRIDS, cpu_time, peak_rss_kib, ring_losses, transitions, vip},
    vrrp::RouterSpec,
    wait,
};

const INTERVAL_MS: u32 = 10;
const INSTANCES: usize = 255;
/// After every VRID has a Master: let start-up effects pass.
const WARM_UP: Duration = Duration::from_secs(5);
/// The measured window.
const WINDOW: Duration = Duration::from_secs(20);
/// Bound for 255 instances to elect their Master.
const ELECTION: Duration = Duration::from_secs(30);

#[derive(Clone, Copy)]
enum Implementation {
    Xvrrp,
    Keepalived,
}

/// A running router of either implementation.
enum Router {
    Xvrrp(Daemon, String),
    Keepalived(Keepalived),
}

impl Router {
    fn start(implementation: Implementation, lab: &Lab, node: usize, priority: u8) -> Self {
        let ns = &lab.nodes[node].ns;
        match implementation {
            Implementation::Xvrrp => {
                let bpffs = format!("/sys/fs/bpf/xvrrp-bench-{}", ns.name());
                let spec = RouterSpec {
                    interval_ms: INTERVAL_MS,
                    ..RouterSpec::new(priority)
                };
                let config = spec.config_per_vrid(&bpffs, VRIDS, vip);
                let daemon = Daemon::start(ns, "xvrrp", &config, Path::new(&bpffs));
                Self::Xvrrp(daemon, bpffs)
            }
            Implementation::Keepalived => Self::Keepalived(Keepalived::start_per_vrid(
                ns,
                priority,
                INTERVAL_MS,
                VRIDS,
                vip,
            )),
        }
    }

    /// Transitions to Master so far.
    fn became_master(&self) -> usize {
        match self {
            Self::Xvrrp(daemon, _) => {
                let log = daemon.log();
                transitions(&log, "Backup", "Master") + transitions(&log, "Initialize", "Master")
            }
            Self::Keepalived(keepalived) => {
                keepalived.log().matches("Entering MASTER STATE").count()
            }
        }
    }

    /// Transitions away from Master so far.
    fn left_master(&self) -> usize {
        match self {
            Self::Xvrrp(daemon, _) => {
                let log = daemon.log();
                transitions(&log, "Master", "Backup") + transitions(&log, "Master", "Initialize")
            }
            Self::Keepalived(keepalived) => {
                keepalived.log().matches("Entering BACKUP STATE").count()
            }
        }
    }

    fn pids(&self) -> Vec<u32> {
        match self {
            Self::Xvrrp(daemon, _) => vec![daemon.pid()],
            Self::Keepalived(keepalived) => keepalived.pids(),
        }
    }

    fn cpu(&self) -> Duration {
        self.pids().into_iter().map(cpu_time).sum()
    }

    fn peak_rss_kib(&self) -> u64 {
        self.pids().into_iter().map(peak_rss_kib).sum()
    }

    /// Adverts lost to full ring buffers (xvrrp only).
    fn ring_losses(&self) -> Option<u64> {
        match self {
            Self::Xvrrp(_, bpffs) => Some(ring_losses(&Path::new(bpffs).join(LAN_IF))),
            Self::Keepalived(_) => None,
        }
    }
}

/// `stress-ng --cpu 4`, stopped by PID on drop.
struct CpuLoad(Child);

impl CpuLoad {
    fn start() -> Self {
        let child = Command::new("stress-ng")
            .args(["--cpu", "4", "--timeout", "120s", "--quiet"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start stress-ng (cargo xtask setup installs it)");
        Self(child)
    }
}

impl Drop for CpuLoad {
    fn drop(&mut self) {
        let pid = libc::pid_t::try_from(self.0.id()).expect("pid");
        // SAFETY: kill(2) on our own child; SIGTERM makes stress-ng stop its workers.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let _reaped = self.0.wait();
    }
}

fn run(implementation: Implementation, loaded: bool) -> String {
    let mut lab = Lab::new();
    let r1 = lab.add_node("r1", 1);
    let r2 = lab.add_node("r2", 2);
    let _load = loaded.then(CpuLoad::start);
    let master = Router::start(implementation, &lab, r1, 200);
    wait::until(
        "the Master to take every VRID",
        ELECTION,
        Duration::from_millis(100),
        || (master.became_master() >= INSTANCES).then_some(()),
    );
    let backup = Router::start(implementation, &lab, r2, 100);
    std::thread::sleep(WARM_UP);
    let before = (
        master.became_master() + master.left_master(),
        backup.became_master() + backup.left_master(),
        master.cpu(),
        backup.cpu(),
    );
    std::thread::sleep(WINDOW);
    let changes = master.became_master() + master.left_master() - before.0
        + backup.became_master()
        + backup.left_master()
        - before.1;
    let losses = match (master.ring_losses(), backup.ring_losses()) {
        (Some(m), Some(b)) => format!("{m} / {b}"),
        _ => "—".to_owned(),
    };
    let seconds = |cpu: Duration| format!("{}.{:02} s", cpu.as_secs(), cpu.subsec_millis() / 10);
    format!(
        "| {} | {} | {changes} | {losses} | {} | {} | {} MiB | {} MiB |",
        match implementation {
            Implementation::Xvrrp => "xvrrp",
            Implementation::Keepalived => "keepalived 2.2.7",
        },
        if loaded { "stress-ng --cpu 4" } else { "idle" },
        seconds(master.cpu() - before.2),
        seconds(backup.cpu() - before.3),
        mib(master.peak_rss_kib()),
        mib(backup.peak_rss_kib()),
    )
}

/// KiB as MiB with one decimal.
fn mib(kib: u64) -> String {
    format!("{}.{}", kib / 1024, (kib % 1024) * 10 / 1024)
}

fn main() {
    if !require_root("scale benchmark") {
        return;
    }
    println!(
        "| daemon | CPU load | transitions in {} s | ring losses (Master / Backup) | Master CPU | \
         Backup CPU | Master peak RSS | Backup peak RSS |",
        WINDOW.as_secs()
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|");
    for loaded in [false, true] {
        for implementation in [Implementation::Xvrrp, Implementation::Keepalived] {
            println!("{}", run(implementation, loaded));
        }
    }
}
