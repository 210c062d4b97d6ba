//! 255 virtual routers (every VRID of a LAN) between two xvrrp daemons at the minimum advert
//! interval (10 ms). Making all of them non-routine at once (a Master's priority change, a
//! Master restart) must not make the Backup take over from a live Master, and must not lose
//! adverts in the ring buffer.

use std::{net::Ipv4Addr, path::Path, time::Duration};

use vrrp_common::consts::IPPROTO_VRRP;
use vrrp_tests::{
    capture::{Capture, ipv4_filter},
    daemon::Daemon,
    lab::{LAN_IF, Lab},
    netns::NetNs,
    privilege::require_root,
    scale::{VRIDS, ring_losses, transitions, vip},
    turn::{Share, Turn},
    vrrp::RouterSpec,
    wait,
};

/// Instances per daemon: one per VRID.
const COUNT: usize = 255;
/// Bound for 255 instances to reach a state: process start, XDP load, 255 instance starts and
/// Master_Down_Interval (36 ms) on a loaded 2-core CI machine. The daemons are the optimised
/// build (`cargo xtask test` builds it), as deployed.
const ALL_REACHED: Duration = Duration::from_secs(15);
/// How long the LAN is watched after each disturbance.
const SETTLE: Duration = Duration::from_secs(3);

fn spec(priority: u8) -> RouterSpec {
    RouterSpec {
        interval_ms: 10,
        ..RouterSpec::new(priority)
    }
}

fn pin_root(ns: &NetNs) -> String {
    format!("/sys/fs/bpf/xvrrp-test-{}", ns.name())
}

fn start(ns: &NetNs, priority: u8) -> Daemon {
    let bpffs = pin_root(ns);
    let config = spec(priority).config_per_vrid(&bpffs, VRIDS, vip);
    Daemon::start_release(ns, "xvrrp", &config, Path::new(&bpffs))
}

fn losses(ns: &NetNs) -> u64 {
    ring_losses(&Path::new(&pin_root(ns)).join(LAN_IF))
}

/// Waits (bounded) until `daemon` logged `count` `from -> to` transitions.
fn wait_transitions(daemon: &Daemon, from: &str, to: &str, count: usize) {
    wait::until(
        &format!("{count} transitions {from} -> {to}"),
        ALL_REACHED,
        Duration::from_millis(100),
        || (transitions(&daemon.log(), from, to) >= count).then_some(()),
    );
}

#[test]
fn every_vrid_non_routine_at_once_causes_no_false_takeover_and_no_ring_loss() {
    let test = "every_vrid_non_routine_at_once_causes_no_false_takeover_and_no_ring_loss";
    if !require_root(test) {
        return;
    }
    let _turn = Turn::take(Share::Alone);
    let mut lab = Lab::new();
    let r1 = lab.add_node("r1", 1);
    let r2 = lab.add_node("r2", 2);
    let host = lab.add_node("h", 10);
    let (r1_ns, r2_ns) = (&lab.nodes[r1].ns, &lab.nodes[r2].ns);
    let backup_adverts = Capture::start_filtered(
        &lab.nodes[host].ns,
        LAN_IF,
        ipv4_filter(Ipv4Addr::new(192, 0, 2, 2), IPPROTO_VRRP),
    );

    let mut master = start(r1_ns, 200);
    wait_transitions(&master, "Backup", "Master", COUNT);
    let mut backup = start(r2_ns, 100);
    wait_transitions(&backup, "Initialize", "Backup", COUNT);
    std::thread::sleep(SETTLE);

    // A priority change: every VRID's next advert differs from the routine signature the
    // Backup published, so 255 adverts reach its daemon at once.
    let bpffs = pin_root(r1_ns);
    std::fs::write(
        master.config_path(),
        spec(210).config_per_vrid(&bpffs, VRIDS, vip),
    )
    .expect("rewrite the Master's config");
    master.signal(libc::SIGHUP);
    master.wait_for_log("configuration reloaded", Duration::from_secs(5));
    std::thread::sleep(SETTLE);
    assert!(master.is_running(), "the Master died");
    assert!(backup.is_running(), "the Backup died");
    assert_eq!(
        transitions(&backup.log(), "Backup", "Master"),
        0,
        "the Backup took over from a live Master"
    );
    let early = backup_adverts.frames();
    assert!(
        early.is_empty(),
        "the Backup advertised next to a live Master: {:?}",
        early
            .iter()
            .map(|frame| (frame.at, frame.data.clone()))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        losses(r1_ns),
        0,
        "the Master lost adverts in its ring buffer"
    );
    assert_eq!(
        losses(r2_ns),
        0,
        "the Backup lost adverts in its ring buffer"
    );

    // A restart is a real failover: the stopping Master resigns (priority 0), the Backup takes
    // over every VRID, and the restarted Master (higher priority, preempting) takes them back.
    master.signal(libc::SIGTERM);
    assert_eq!(
        master.wait_exit(Duration::from_secs(10)),
        Some(0),
        "clean exit"
    );
    drop(master);
    wait_transitions(&backup, "Backup", "Master", COUNT);
    let mut master = start(r1_ns, 210);
    wait_transitions(&master, "Backup", "Master", COUNT);
    wait_transitions(&backup, "Master", "Backup", COUNT);
    // The failover storm itself (the Backup as Master of 255 VRIDs gets every advert) may
    // overflow the rings, and that is counted; once the Master is back, nothing more is lost.
    let (master_lost, backup_lost) = (losses(r1_ns), losses(r2_ns));
    std::thread::sleep(SETTLE);
    backup_adverts.clear();
    std::thread::sleep(SETTLE);
    let (master_log, backup_log) = (master.log(), backup.log());
    let count = |log: &str, from, to| transitions(log, from, to);
    assert_eq!(
        [
            count(&backup_log, "Backup", "Master"),
            count(&backup_log, "Master", "Backup"),
            count(&backup_log, "Initialize", "Master"),
            count(&backup_log, "Master", "Initialize"),
        ],
        [COUNT, COUNT, 0, 0],
        "Backup transitions (to Master, back to Backup, Initialize->Master, ->Initialize)"
    );
    assert_eq!(
        [
            count(&master_log, "Initialize", "Backup"),
            count(&master_log, "Backup", "Master"),
            count(&master_log, "Master", "Backup"),
        ],
        [COUNT, COUNT, 0],
        "restarted Master transitions (->Backup, ->Master, back to Backup)"
    );
    assert_eq!(
        backup_adverts.frames().len(),
        0,
        "the Backup advertised after the restarted Master took over"
    );
    assert_eq!(
        losses(r1_ns),
        master_lost,
        "the restarted Master lost adverts after it took over"
    );
    assert_eq!(
        losses(r2_ns),
        backup_lost,
        "the Backup lost adverts after the Master returned"
    );
    assert!(master.is_running(), "the restarted Master died");
    assert!(backup.is_running(), "the Backup died");
}
