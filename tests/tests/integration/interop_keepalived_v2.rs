//! xvrrp and a real keepalived (Debian 2.2.7) speaking VRRPv2 (RFC 3768, `vrrp_version 2`,
//! keepalived's default): xvrrp with `version = 2` elects the right Master with it and takes
//! over from it (and it from xvrrp), and xvrrp with `version = "2+3"` (RFC 9568 §8.4) sends
//! both versions and interoperates with the VRRPv2-only keepalived both ways.

use std::{
    path::Path,
    time::{Duration, Instant},
};

use vrrp_tests::{
    capture::Capture,
    daemon::Daemon,
    keepalived::Keepalived,
    lab::Lab,
    privilege::require_root,
    turn::{Share, Turn},
    vrrp::{RouterSpec, SeenAdvert, adverts_from},
    wait,
};

/// VRRPv2 counts whole seconds; 1 s is both keepalived's default and the smallest.
const INTERVAL_S: u32 = 1;
/// keepalived starts slowly and rounds its timers; a loaded 2-core machine delays both.
const TOLERANCE: Duration = Duration::from_millis(400);
const STARTUP: Duration = Duration::from_secs(8);

struct V2Lab {
    lab: Lab,
    capture: Capture,
}

const XVRRP: usize = 0;
const KEEPALIVED: usize = 1;

impl V2Lab {
    fn new() -> Self {
        let mut lab = Lab::new();
        lab.add_node("v2xv", 1);
        lab.add_node("v2ka", 2);
        let host = lab.add_node("v2h", 10);
        let capture = Capture::start(&lab.nodes[host].ns, vrrp_tests::lab::LAN_IF);
        Self { lab, capture }
    }

    fn source(&self, node: usize) -> String {
        self.lab.nodes[node].ipv4.clone()
    }

    fn spec(priority: u8, version: &str) -> RouterSpec {
        RouterSpec {
            interval_ms: INTERVAL_S * 1000,
            instance_extra: format!("version = {version}"),
            ..RouterSpec::new(priority)
        }
    }

    fn start_xvrrp(&self, spec: &RouterSpec) -> Daemon {
        let ns = &self.lab.nodes[XVRRP].ns;
        let bpffs = format!("/sys/fs/bpf/xvrrp-test-{}", ns.name());
        Daemon::start(ns, "xvrrp", &spec.config(&bpffs), Path::new(&bpffs))
    }

    fn start_keepalived(&self, priority: u8) -> Keepalived {
        Keepalived::start_v2(&self.lab.nodes[KEEPALIVED].ns, priority, INTERVAL_S)
    }

    /// The adverts of `version` from `node` captured so far.
    fn adverts(&self, node: usize, version: u8) -> Vec<SeenAdvert> {
        adverts_from(&self.capture.frames(), &self.source(node))
            .into_iter()
            .filter(|advert| advert.version == version)
            .collect()
    }

    /// Waits until `master` sends VRRPv2 adverts, then checks over a clean 3 s window that it
    /// is the only router advertising (and, for a `"2+3"` Master, that it sends VRRPv3 too).
    fn assert_sole_master(&self, master: usize, other: usize, both_versions: bool) {
        wait::until(
            "the Master to advertise VRRPv2",
            STARTUP * 2,
            Duration::from_millis(50),
            || (!self.adverts(master, 2).is_empty()).then_some(()),
        );
        std::thread::sleep(Duration::from_millis(1500));
        self.capture.clear();
        std::thread::sleep(Duration::from_secs(3));
        let v2 = self.adverts(master, 2).len();
        assert!(v2 >= 2, "the Master sent only {v2} VRRPv2 adverts in 3 s");
        let v3 = self.adverts(master, 3).len();
        if both_versions {
            assert!(
                v3 >= 2,
                "the 2+3 Master sent only {v3} VRRPv3 adverts in 3 s"
            );
        } else {
            assert_eq!(v3, 0, "a VRRPv2 Master sent VRRPv3");
        }
        let from_other = adverts_from(&self.capture.frames(), &self.source(other)).len();
        assert_eq!(
            from_other, 0,
            "the Backup advertised while the other is Master"
        );
    }

    /// Waits for `node`'s first VRRPv2 advert after `died` (when the Master was killed), and
    /// checks how long after `dead`'s last advert it came.
    fn assert_takes_over(&self, node: usize, dead: usize, died: Instant, bound: Duration) {
        let takeover = wait::until(
            "the Backup to take over",
            (bound + TOLERANCE) * 3,
            Duration::from_millis(20),
            || {
                self.adverts(node, 2)
                    .into_iter()
                    .find(|advert| advert.at > died)
                    .map(|advert| advert.at)
            },
        );
        let last = adverts_from(&self.capture.frames(), &self.source(dead))
            .last()
            .map(|advert| advert.at)
            .expect("the Master advertised");
        let gap = takeover - last;
        assert!(
            gap <= bound + TOLERANCE,
            "took over {gap:?} after the Master's last advert; bound {bound:?}"
        );
    }
}

/// RFC 3768 §6.1 at priority 100 and 1 s: 3 s + 156/256 s (VRRPv3's formula gives the same at
/// 1 s).
fn down_interval_at_100() -> Duration {
    Duration::from_micros(3_609_375)
}

fn xvrrp_master_keepalived_backup(version: &str) {
    let _turn = Turn::take(Share::Alongside);
    let lab = V2Lab::new();
    let _keepalived = lab.start_keepalived(100);
    let xvrrp = lab.start_xvrrp(&V2Lab::spec(200, version));
    lab.assert_sole_master(XVRRP, KEEPALIVED, version != "2");
    xvrrp.signal(libc::SIGKILL);
    lab.assert_takes_over(KEEPALIVED, XVRRP, Instant::now(), down_interval_at_100());
}

fn keepalived_master_xvrrp_backup(version: &str) {
    let _turn = Turn::take(Share::Alongside);
    let lab = V2Lab::new();
    let mut keepalived = lab.start_keepalived(200);
    wait::until(
        "keepalived to become Master",
        STARTUP * 2,
        Duration::from_millis(50),
        || (!lab.adverts(KEEPALIVED, 2).is_empty()).then_some(()),
    );
    let spec = V2Lab::spec(100, version);
    let xvrrp = lab.start_xvrrp(&spec);
    lab.assert_sole_master(KEEPALIVED, XVRRP, false);
    keepalived.kill();
    lab.assert_takes_over(XVRRP, KEEPALIVED, Instant::now(), down_interval_at_100());
    if version != "2" {
        // A "2+3" Master sends VRRPv3 as well.
        wait::until(
            "xvrrp to send VRRPv3 too",
            Duration::from_secs(3),
            Duration::from_millis(50),
            || (!lab.adverts(XVRRP, 3).is_empty()).then_some(()),
        );
    }
    drop(xvrrp);
}

#[test]
fn interop_v2_xvrrp_master_keepalived_v2_backup() {
    if require_root("interop_v2_xvrrp_master_keepalived_v2_backup") {
        xvrrp_master_keepalived_backup("2");
    }
}

#[test]
fn interop_v2_keepalived_v2_master_xvrrp_backup() {
    if require_root("interop_v2_keepalived_v2_master_xvrrp_backup") {
        keepalived_master_xvrrp_backup("2");
    }
}

#[test]
fn interop_2_plus_3_xvrrp_master_keepalived_v2_backup() {
    if require_root("interop_2_plus_3_xvrrp_master_keepalived_v2_backup") {
        xvrrp_master_keepalived_backup("\"2+3\"");
    }
}

#[test]
fn interop_2_plus_3_keepalived_v2_master_xvrrp_backup() {
    if require_root("interop_2_plus_3_keepalived_v2_master_xvrrp_backup") {
        keepalived_master_xvrrp_backup("\"2+3\"");
    }
}
