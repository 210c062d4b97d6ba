//! xvrrp and a real keepalived (Debian 2.2.x, `vrrp_version 3`) on one LAN: each elects the
//! right Master, for IPv4 and IPv6, whichever has the higher priority, and the survivor takes
//! over when the Master dies; the IPv4 checksum settings that do and do not match keepalived's.

use std::{path::Path, time::Duration};

use vrrp_common::advert::ChecksumStyle;

use vrrp_tests::{
    capture::Capture,
    daemon::Daemon,
    keepalived::Keepalived,
    lab::{LAN_IF, Lab},
    privilege::require_root,
    turn::{Share, Turn},
    vrrp::{Family, RouterSpec, adverts_from, adverts_with},
    wait,
};

/// keepalived starts slower than xvrrp and rounds its timers; protocol bounds get this slack.
const TOLERANCE: Duration = Duration::from_millis(150);
const STARTUP: Duration = Duration::from_secs(3);
const INTERVAL_MS: u32 = 100;

struct InteropLab {
    lab: Lab,
    xvrrp: usize,
    keepalived: usize,
    capture: Capture,
}

impl InteropLab {
    fn new() -> Self {
        let mut lab = Lab::new();
        let xvrrp = lab.add_node("xv", 1);
        let keepalived = lab.add_node("ka", 2);
        let host = lab.add_node("h", 10);
        let capture = Capture::start(&lab.nodes[host].ns, LAN_IF);
        Self {
            lab,
            xvrrp,
            keepalived,
            capture,
        }
    }

    /// The address each router sends its adverts from for `family`.
    fn source(&self, node: usize, family: Family) -> String {
        match family {
            Family::V4 => self.lab.nodes[node].ipv4.clone(),
            Family::V6 => self.lab.nodes[node].link_local(),
        }
    }

    /// xvrrp with `extra` lines in its instance table.
    fn start_xvrrp(&self, family: Family, priority: u8, extra: &str) -> (Daemon, RouterSpec) {
        let spec = RouterSpec {
            family,
            interval_ms: INTERVAL_MS,
            instance_extra: extra.to_owned(),
            ..RouterSpec::new(priority)
        };
        let ns = &self.lab.nodes[self.xvrrp].ns;
        let bpffs = format!("/sys/fs/bpf/xvrrp-test-{}", ns.name());
        (
            Daemon::start(ns, "xvrrp", &spec.config(&bpffs), Path::new(&bpffs)),
            spec,
        )
    }

    fn start_keepalived(&self, family: Family, priority: u8) -> Keepalived {
        Keepalived::start(
            &self.lab.nodes[self.keepalived].ns,
            family,
            priority,
            INTERVAL_MS,
        )
    }

    /// Waits until `source` advertises, then checks for one interval-rich second that it is the
    /// only router advertising.
    fn assert_sole_master(&self, source: &str, other: &str, timeout: Duration) {
        wait::until(
            &format!("{source} to advertise"),
            timeout,
            Duration::from_millis(20),
            || (!adverts_from(&self.capture.frames(), source).is_empty()).then_some(()),
        );
        // Let a start-up contest settle, then look at a clean window.
        std::thread::sleep(Duration::from_millis(500));
        self.capture.clear();
        std::thread::sleep(Duration::from_secs(1));
        let frames = self.capture.frames();
        let from_master = adverts_from(&frames, source).len();
        assert!(
            from_master >= 7,
            "{source} sent only {from_master} adverts in 1 s"
        );
        let from_other = adverts_from(&frames, other).len();
        assert_eq!(from_other, 0, "{other} advertised while {source} is Master");
    }
}

fn xvrrp_higher_priority_wins_and_keepalived_takes_over(family: Family) {
    let _turn = Turn::take(Share::Alongside);
    let lab = InteropLab::new();
    let (xv_source, ka_source) = (
        lab.source(lab.xvrrp, family),
        lab.source(lab.keepalived, family),
    );
    let _keepalived = lab.start_keepalived(family, 100);
    let (xvrrp, _) = lab.start_xvrrp(family, 200, "");
    lab.assert_sole_master(&xv_source, &ka_source, STARTUP * 2);
    xvrrp.signal(libc::SIGKILL);
    // keepalived's Master_Down_Interval at priority 100 and 100 ms: 360.9 ms.
    let bound = RouterSpec::new(100).master_down_interval() + TOLERANCE;
    wait::until(
        "keepalived to take over",
        bound * 3,
        Duration::from_millis(10),
        || (!adverts_from(&lab.capture.frames(), &ka_source).is_empty()).then_some(()),
    );
}

/// `extra`: more of xvrrp's instance settings (they must interoperate with keepalived's default).
fn keepalived_higher_priority_wins_and_xvrrp_takes_over(family: Family, extra: &str) {
    let _turn = Turn::take(Share::Alongside);
    let lab = InteropLab::new();
    let (xv_source, ka_source) = (
        lab.source(lab.xvrrp, family),
        lab.source(lab.keepalived, family),
    );
    let mut keepalived = lab.start_keepalived(family, 200);
    wait::until(
        "keepalived to become Master",
        STARTUP * 2,
        Duration::from_millis(20),
        || (!adverts_from(&lab.capture.frames(), &ka_source).is_empty()).then_some(()),
    );
    let (_xvrrp, spec) = lab.start_xvrrp(family, 100, extra);
    lab.assert_sole_master(&ka_source, &xv_source, STARTUP);
    keepalived.kill();
    let takeover = wait::until(
        "xvrrp to take over",
        STARTUP,
        Duration::from_millis(10),
        || {
            adverts_from(&lab.capture.frames(), &xv_source)
                .first()
                .map(|advert| advert.at)
        },
    );
    let last_keepalived = adverts_from(&lab.capture.frames(), &ka_source)
        .last()
        .map(|advert| advert.at)
        .expect("keepalived advertised");
    let gap = takeover - last_keepalived;
    let bound = spec.master_down_interval();
    assert!(
        gap <= bound + TOLERANCE,
        "xvrrp took over {gap:?} after keepalived's last advert; bound {bound:?}"
    );
}

#[test]
fn interop_ipv4_xvrrp_master_keepalived_backup() {
    if require_root("interop_ipv4_xvrrp_master_keepalived_backup") {
        xvrrp_higher_priority_wins_and_keepalived_takes_over(Family::V4);
    }
}

#[test]
fn interop_ipv4_keepalived_master_xvrrp_backup() {
    if require_root("interop_ipv4_keepalived_master_xvrrp_backup") {
        keepalived_higher_priority_wins_and_xvrrp_takes_over(Family::V4, "");
    }
}

#[test]
fn interop_ipv6_xvrrp_master_keepalived_backup() {
    if require_root("interop_ipv6_xvrrp_master_keepalived_backup") {
        xvrrp_higher_priority_wins_and_keepalived_takes_over(Family::V6);
    }
}

#[test]
fn interop_ipv6_keepalived_master_xvrrp_backup() {
    if require_root("interop_ipv6_keepalived_master_xvrrp_backup") {
        keepalived_higher_priority_wins_and_xvrrp_takes_over(Family::V6, "");
    }
}

/// keepalived 2.2.7 includes the IPv4 pseudo-header (its `v3_checksum_as_v2` came later), so
/// `accept-both` (which sends RFC 9568) interoperates with it both ways.
#[test]
fn interop_ipv4_keepalived_master_xvrrp_accept_both_backup() {
    if require_root("interop_ipv4_keepalived_master_xvrrp_accept_both_backup") {
        keepalived_higher_priority_wins_and_xvrrp_takes_over(
            Family::V4,
            r#"ipv4_checksum = "accept-both""#,
        );
    }
}

/// The failure `ipv4_checksum` exists for, against a real peer: xvrrp set to leave the
/// pseudo-header out discards keepalived's RFC 9568 adverts, so both are Master, and xvrrp's
/// warning names keepalived and the setting that would interoperate.
#[test]
fn interop_ipv4_checksum_mismatch_with_keepalived_is_named() {
    if !require_root("interop_ipv4_checksum_mismatch_with_keepalived_is_named") {
        return;
    }
    let _turn = Turn::take(Share::Alongside);
    let lab = InteropLab::new();
    let (xv_source, ka_source) = (
        lab.source(lab.xvrrp, Family::V4),
        lab.source(lab.keepalived, Family::V4),
    );
    let _keepalived = lab.start_keepalived(Family::V4, 200);
    wait::until(
        "keepalived to become Master",
        STARTUP * 2,
        Duration::from_millis(20),
        || (!adverts_from(&lab.capture.frames(), &ka_source).is_empty()).then_some(()),
    );
    let (xvrrp, _) = lab.start_xvrrp(
        Family::V4,
        100,
        r#"ipv4_checksum = "without-pseudo-header""#,
    );
    xvrrp.wait_for_log(
        &format!(
            r#"advert from {ka_source} discarded: its VRRPv3 checksum is computed with the IPv4 pseudo-header"#
        ),
        STARTUP * 2,
    );
    xvrrp.wait_for_log(r#"set ipv4_checksum = \"rfc9568\""#, Duration::from_secs(1));
    // Deaf to keepalived, xvrrp takes over too: two Masters on the wire.
    wait::until(
        "xvrrp to advertise as a second Master",
        STARTUP,
        Duration::from_millis(20),
        || {
            let frames = lab.capture.frames();
            let ours = adverts_with(&frames, ChecksumStyle::WithoutPseudoHeader)
                .into_iter()
                .any(|advert| advert.source.to_string() == xv_source);
            (ours && !adverts_from(&frames, &ka_source).is_empty()).then_some(())
        },
    );
}
