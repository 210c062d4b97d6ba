//! The faults the soak injects and how each heals. A fault that takes a router off the LAN
//! (`impairs`) is checked while it lasts and again after it healed; the others once after.

use std::{
    os::unix::process::CommandExt as _,
    process::{Child, Command, Stdio},
    time::Duration,
};

use super::lab::{Condition, SoakLab};
use crate::lab::LAN_IF;

/// Kinds of faults, in report order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FaultKind {
    /// SIGKILL a daemon, restart it (at once: it resumes from its pins; or after a check).
    Kill,
    /// SIGSTOP a daemon, SIGCONT it (shorter than Master_Down_Interval, or for a check).
    Stop,
    /// A router's `eth0` down, then up.
    LinkDown,
    /// A router's switch port disabled (it is alone on its island), then forwarding again.
    Partition,
    /// A router's priority changed in its configuration, reloaded with SIGHUP.
    Priority,
    /// Every router's virtual-address list changed, reloaded with SIGHUP.
    Reload,
    /// `stress-ng` on both cores for a few seconds.
    CpuStress,
}

impl FaultKind {
    /// Every kind.
    pub const ALL: [Self; 7] = [
        Self::Kill,
        Self::Stop,
        Self::LinkDown,
        Self::Partition,
        Self::Priority,
        Self::Reload,
        Self::CpuStress,
    ];

    /// The report's label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Kill => "SIGKILL + restart",
            Self::Stop => "SIGSTOP/SIGCONT",
            Self::LinkDown => "link down/up",
            Self::Partition => "partition/heal",
            Self::Priority => "priority change",
            Self::Reload => "SIGHUP VIP list",
            Self::CpuStress => "CPU stress",
        }
    }
}

/// A fault in progress.
pub(super) struct Fault {
    pub(super) kind: FaultKind,
    /// What was done, for the report (`r2 SIGSTOP 120 ms`).
    pub(super) what: String,
    /// The router it hit, if one.
    router: Option<usize>,
    /// Whether it took a router off the LAN until healed (check it while it lasts).
    pub(super) impairs: bool,
    /// Whether no router may take over because of it (a CPU burst, an address-list reload, a
    /// SIGSTOP shorter than Master_Down_Interval).
    pub(super) no_takeover: bool,
}

/// The longest SIGSTOP that must not cause a takeover: with the last advert up to one
/// interval before the stop, it still ends before the Backups' Master_Down_Interval (3
/// intervals + Skew_Time) with an interval to spare for scheduling.
const SHORT_STOP_MS: u64 = 120;
/// How long a CPU burst lasts at most.
const STRESS_SECONDS: u64 = 4;

/// Injects a fault of `kind` on a random router (`rng`).
pub(super) fn inject(soak: &mut SoakLab, kind: FaultKind, rng: &mut fastrand::Rng) -> Fault {
    let index = rng.usize(..soak.routers.len());
    let name = soak.routers[index].name.clone();
    let fault = |what: String, impairs, no_takeover| Fault {
        kind,
        what,
        router: Some(index),
        impairs,
        no_takeover,
    };
    match kind {
        FaultKind::Kill => {
            let router = &mut soak.routers[index];
            router.daemon.signal(libc::SIGKILL);
            router.daemon.wait_exit(Duration::from_secs(5));
            router.condition = Condition::Killed;
            let at_once = rng.bool();
            if at_once {
                router.daemon.restart();
                router.condition = Condition::Up;
            }
            let how = if at_once {
                "restarted at once"
            } else {
                "restarted after a check"
            };
            fault(format!("{name} SIGKILL, {how}"), !at_once, false)
        }
        FaultKind::Stop => {
            let router = &mut soak.routers[index];
            router.daemon.signal(libc::SIGSTOP);
            router.condition = Condition::Stopped;
            if rng.bool() {
                let stop_ms = rng.u64(20..=SHORT_STOP_MS);
                std::thread::sleep(Duration::from_millis(stop_ms));
                router.daemon.signal(libc::SIGCONT);
                router.condition = Condition::Up;
                fault(format!("{name} SIGSTOP {stop_ms} ms"), false, true)
            } else {
                fault(format!("{name} SIGSTOP until checked"), true, false)
            }
        }
        FaultKind::LinkDown => {
            soak.ns(index).run(&["ip", "link", "set", LAN_IF, "down"]);
            soak.routers[index].condition = Condition::LinkDown;
            fault(format!("{name} {LAN_IF} down"), true, false)
        }
        FaultKind::Partition => {
            set_port_state(soak, index, PORT_DISABLED);
            soak.routers[index].condition = Condition::Isolated;
            fault(format!("{name} switch port disabled"), true, false)
        }
        FaultKind::Priority => {
            let taken: Vec<u8> = soak.routers.iter().map(|router| router.priority).collect();
            // Distinct priorities: "the highest-priority router" is always one router.
            let free: Vec<u8> = [60, 90, 120, 170, 210, 240]
                .into_iter()
                .filter(|candidate| !taken.contains(candidate))
                .collect();
            let priority = rng
                .choice(free)
                .expect("six candidates, three taken at most");
            let old = soak.routers[index].priority;
            soak.routers[index].priority = priority;
            soak.rewrite_config(index);
            soak.routers[index].daemon.signal(libc::SIGHUP);
            fault(format!("{name} priority {old} -> {priority}"), false, false)
        }
        FaultKind::Reload => {
            soak.extra_vips = !soak.extra_vips;
            for router in 0..soak.routers.len() {
                soak.rewrite_config(router);
                soak.routers[router].daemon.signal(libc::SIGHUP);
            }
            let change = if soak.extra_vips { "added" } else { "removed" };
            Fault {
                kind,
                what: format!("every router: a virtual address per family {change}"),
                router: None,
                impairs: false,
                no_takeover: true,
            }
        }
        FaultKind::CpuStress => {
            let seconds = rng.u64(2..=STRESS_SECONDS);
            let stress = Stress::start(seconds);
            std::thread::sleep(Duration::from_secs(seconds));
            drop(stress);
            Fault {
                kind,
                what: format!("stress-ng --cpu 2 for {seconds} s"),
                router: None,
                impairs: false,
                no_takeover: true,
            }
        }
    }
}

/// Ends what `fault` left impaired; the router is up again.
pub(super) fn heal(soak: &mut SoakLab, fault: &Fault) {
    let Some(index) = fault.router else {
        return;
    };
    match soak.routers[index].condition {
        Condition::Up => {}
        Condition::Killed => soak.routers[index].daemon.restart(),
        Condition::Stopped => soak.routers[index].daemon.signal(libc::SIGCONT),
        Condition::LinkDown => {
            soak.ns(index).run(&["ip", "link", "set", LAN_IF, "up"]);
        }
        Condition::Isolated => set_port_state(soak, index, PORT_FORWARDING),
    }
    soak.routers[index].condition = Condition::Up;
}

/// Bridge port states (`bridge link set ... state`): the port drops every frame, or forwards.
const PORT_DISABLED: &str = "0";
const PORT_FORWARDING: &str = "3";

/// Sets the state of router `index`'s switch port. A disabled port partitions the LAN while
/// both ends keep their carrier: setting it down would take the router's link down with it (a
/// veth has carrier only while its peer is up), which is the link-down fault.
fn set_port_state(soak: &SoakLab, index: usize, state: &str) {
    let port = &soak.lab.nodes[soak.routers[index].node].switch_port;
    soak.lab
        .switch
        .run(&["bridge", "link", "set", "dev", port, "state", state]);
}

/// `stress-ng` in a process group of its own (its workers are its children), stopped by that
/// group's id on drop.
struct Stress(Child);

impl Stress {
    fn start(seconds: u64) -> Self {
        let child = Command::new("stress-ng")
            .args(["--cpu", "2", "--quiet", "--timeout"])
            // Ends by itself a little after the soak would stop it.
            .arg(format!("{}s", seconds + 2))
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start stress-ng (cargo xtask setup installs it)");
        Self(child)
    }
}

impl Drop for Stress {
    fn drop(&mut self) {
        let group = libc::pid_t::try_from(self.0.id()).expect("pid fits pid_t");
        // SAFETY: kill(2) on the process group of our own child, whose id is its pid.
        unsafe { libc::kill(-group, libc::SIGKILL) };
        let _reaped = self.0.wait();
    }
}
