//! A Master and a Backup of either implementation (xvrrp or keepalived) with the same IPv4
//! virtual routers on one LAN, as the scale and stress benchmarks run them: what each router
//! costs (/proc), how often it changed state, and what xvrrp's data plane counted.

use std::{
    ops::RangeInclusive,
    path::{Path, PathBuf},
    time::Duration,
};

use vrrp_common::{consts::IPPROTO_VRRP, counters::Counter};

use crate::{
    capture::{Capture, ipv4_filter},
    daemon::Daemon,
    keepalived::Keepalived,
    lab::{LAN_IF, Lab},
    netns::NetNs,
    router::Implementation,
    scale::{cpu_time, peak_rss_kib, pinned_counter, transitions, vip},
    vrrp::RouterSpec,
    wait,
};

/// The benchmarks' advert interval: the minimum, where a daemon's cost and jitter show most.
pub const INTERVAL_MS: u32 = 10;
/// The benchmarks' sizes: one virtual router, a typical LAN's, and every VRID.
pub const VRID_COUNTS: [u8; 3] = [1, 16, 255];
/// After the Master holds every VRID and the Backup started: let start-up effects pass.
pub const WARM_UP: Duration = Duration::from_secs(5);

/// xvrrp's states as its log names them.
const XVRRP_STATES: [&str; 3] = ["Initialize", "Backup", "Master"];

/// A running router of either implementation, one IPv4 instance per VRID.
pub enum Router {
    /// xvrrp and the directory its data plane pins its maps in for `eth0`.
    Xvrrp { daemon: Daemon, pin_dir: PathBuf },
    /// keepalived (parent and VRRP child).
    Keepalived(Keepalived),
}

impl Router {
    /// Starts `implementation` in `ns` at `priority` with an instance for each of `vrids`
    /// (virtual address [`vip`]), advertising every `interval_ms`.
    pub fn start(
        implementation: Implementation,
        ns: &NetNs,
        priority: u8,
        interval_ms: u32,
        vrids: RangeInclusive<u8>,
    ) -> Self {
        match implementation {
            Implementation::Xvrrp => {
                let bpffs = format!("/sys/fs/bpf/xvrrp-pair-{}", ns.name());
                let spec = RouterSpec {
                    interval_ms,
                    ..RouterSpec::new(priority)
                };
                let config = spec.config_per_vrid(&bpffs, vrids, vip);
                let daemon = Daemon::start_release(ns, "xvrrp", &config, Path::new(&bpffs));
                Self::Xvrrp {
                    daemon,
                    pin_dir: Path::new(&bpffs).join(LAN_IF),
                }
            }
            Implementation::Keepalived => Self::Keepalived(Keepalived::start_per_vrid(
                ns,
                priority,
                interval_ms,
                vrids,
                vip,
            )),
        }
    }

    /// Transitions into `state` (`"Master"`, `"Backup"`, ...) so far, start-up ones included.
    pub fn entered(&self, state: &str) -> usize {
        match self {
            Self::Xvrrp { daemon, .. } => {
                let log = daemon.log();
                XVRRP_STATES
                    .iter()
                    .map(|from| transitions(&log, from, state))
                    .sum()
            }
            Self::Keepalived(keepalived) => keepalived
                .log()
                .matches(&format!("Entering {} STATE", state.to_uppercase()))
                .count(),
        }
    }

    /// State changes of any kind so far (start-up ones included: compare two readings).
    pub fn state_changes(&self) -> usize {
        ["Initialize", "Backup", "Master", "Fault"]
            .iter()
            .map(|state| self.entered(state))
            .sum()
    }

    /// The router's processes (keepalived: its parent and its VRRP child).
    fn pids(&self) -> Vec<u32> {
        match self {
            Self::Xvrrp { daemon, .. } => vec![daemon.pid()],
            Self::Keepalived(keepalived) => keepalived.pids(),
        }
    }

    /// CPU time (user + system) of all its processes so far.
    pub fn cpu(&self) -> Duration {
        self.pids().into_iter().map(cpu_time).sum()
    }

    /// Peak RSS of its processes, summed, in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        self.pids().into_iter().map(peak_rss_kib).sum()
    }

    /// Global data-plane counter `counter` on `eth0` (xvrrp only: keepalived has no kernel
    /// part and receives every advert in userspace).
    pub fn counter(&self, counter: Counter) -> Option<u64> {
        match self {
            Self::Xvrrp { pin_dir, .. } => Some(pinned_counter(pin_dir, counter)),
            Self::Keepalived(_) => None,
        }
    }
}

/// r1 as Master (priority 200, started first) and r2 as Backup (100) on one bridge. Dropping
/// it stops both routers, then removes the namespaces.
pub struct Pair {
    /// r1.
    pub master: Router,
    /// r2.
    pub backup: Router,
    /// Its namespaces (dropped last).
    pub lab: Lab,
}

/// Bound for 255 instances on a loaded machine to elect their Master, or to start as Backup.
const ELECTION: Duration = Duration::from_secs(30);

impl Pair {
    /// Namespaces tagged `tag`; starts the Master and waits (bounded) until it holds every VRID,
    /// then starts the Backup, waits until it is Backup of every VRID and lets start-up effects
    /// pass for `warm_up`.
    pub fn start(
        tag: &str,
        implementation: Implementation,
        vrids: RangeInclusive<u8>,
        interval_ms: u32,
        warm_up: Duration,
    ) -> Self {
        let mut lab = Lab::new();
        let r1 = lab.add_node(&format!("{tag}-r1"), 1);
        let r2 = lab.add_node(&format!("{tag}-r2"), 2);
        let count = vrids.clone().count();
        let master = Router::start(
            implementation,
            &lab.nodes[r1].ns,
            200,
            interval_ms,
            vrids.clone(),
        );
        wait::until(
            &format!("the Master to take all {count} VRIDs"),
            ELECTION,
            Duration::from_millis(100),
            || (master.entered("Master") >= count).then_some(()),
        );
        let backup = Router::start(implementation, &lab.nodes[r2].ns, 100, interval_ms, vrids);
        wait::until(
            &format!("the Backup to start all {count} VRIDs"),
            ELECTION,
            Duration::from_millis(100),
            || (backup.entered("Backup") >= count).then_some(()),
        );
        std::thread::sleep(warm_up);
        Self {
            master,
            backup,
            lab,
        }
    }

    /// Adds a host (192.0.2.10) to the LAN and captures the Master's adverts there, with the
    /// kernel's receive times.
    pub fn capture_master_adverts(&mut self, tag: &str) -> Capture {
        let host = self.lab.add_node(&format!("{tag}-h"), 10);
        let master_address = self.lab.nodes[0].ipv4.parse().expect("r1's address");
        Capture::start_filtered(
            &self.lab.nodes[host].ns,
            LAN_IF,
            ipv4_filter(master_address, IPPROTO_VRRP),
        )
    }
}

/// What a pair has done so far; two readings give a window's worth ([`Snapshot::since`]).
#[derive(Clone, Copy, Debug)]
pub struct Snapshot {
    /// State changes of both routers.
    pub state_changes: usize,
    /// The Backup's transitions to Master: with both routers alive, each is a false takeover.
    pub false_takeovers: usize,
    /// The Master's CPU time.
    pub master_cpu: Duration,
    /// The Backup's CPU time.
    pub backup_cpu: Duration,
    /// Adverts the Backup's data plane copied to its daemon (xvrrp only).
    pub backup_to_userspace: Option<u64>,
    /// Routine adverts the Backup's data plane absorbed in the kernel (xvrrp only).
    pub backup_absorbed: Option<u64>,
}

impl Pair {
    /// What both routers have done so far.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            state_changes: self.master.state_changes() + self.backup.state_changes(),
            false_takeovers: self.backup.entered("Master"),
            master_cpu: self.master.cpu(),
            backup_cpu: self.backup.cpu(),
            backup_to_userspace: self.backup.counter(Counter::AdvertsToUserspace),
            backup_absorbed: self.backup.counter(Counter::AdvertsAbsorbed),
        }
    }
}

impl Snapshot {
    /// What happened between `before` and this reading.
    pub fn since(&self, before: &Self) -> Self {
        let delta = |now: Option<u64>, then: Option<u64>| Some(now? - then?);
        Self {
            state_changes: self.state_changes - before.state_changes,
            false_takeovers: self.false_takeovers - before.false_takeovers,
            master_cpu: self.master_cpu.saturating_sub(before.master_cpu),
            backup_cpu: self.backup_cpu.saturating_sub(before.backup_cpu),
            backup_to_userspace: delta(self.backup_to_userspace, before.backup_to_userspace),
            backup_absorbed: delta(self.backup_absorbed, before.backup_absorbed),
        }
    }
}

/// `measured / baseline` with two decimals, or `—` without a baseline (0).
#[expect(clippy::float_arithmetic, reason = "a ratio for a report")]
pub fn ratio(measured: f64, baseline: f64) -> String {
    if baseline > 0.0 {
        format!("{:.2}", measured / baseline)
    } else {
        "—".to_owned()
    }
}

/// A benchmark window: `default`, or `XVRRP_BENCH_WINDOW_S` seconds (shorter runs while
/// developing; the window's length is part of every table).
pub fn window(default: Duration) -> Duration {
    std::env::var("XVRRP_BENCH_WINDOW_S")
        .ok()
        .and_then(|seconds| seconds.parse().ok())
        .map_or(default, Duration::from_secs)
}
