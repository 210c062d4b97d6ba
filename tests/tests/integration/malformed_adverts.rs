//! The malformed-advert battery: every case of `vrrp_tests::bad_adverts` (RFC 9568 §7.1's
//! discard classes and more), built to win if it were accepted, injected at a Master and at a
//! Backup in both families. Each must leave the role and the advert schedule alone, land in
//! its XDP counter at every router that saw it, and leave the daemons running; the same advert
//! without the defect then causes the transition it was built for (no vacuous pass). Then a
//! flood of 200k winning but invalid adverts: status answers, no takeover, little CPU.

use std::{
    net::{Ipv4Addr, Ipv6Addr},
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use vrrp_common::counters::Counter;
use vrrp_tests::{
    bad_adverts::{Sender, bad_adverts},
    capture::{Capture, inject, ipv4_filter},
    daemon::{Daemon, instance_status},
    frames::Advert,
    lab::{LAN_IF, Lab},
    privilege::require_root,
    scale::{cpu_time, pinned_counter},
    turn::{Share, Turn},
    vrrp::{Family, RouterSpec, VIP4, VIPS6, adverts_from},
    wait,
};

const R1: &str = "192.0.2.1";
const R2: &str = "192.0.2.2";
/// The probe host that injects the adverts (and plays a Master in the Backup phase).
const PROBE_MAC: [u8; 6] = [2, 0, 0, 0, 0, 0xfa];
const PROBE4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 250);
/// The routers' advert interval.
const INTERVAL: Duration = Duration::from_millis(100);
/// Timer tolerance, as in the daemon suite (a loaded 2-core machine, debug daemon).
const TOLERANCE: Duration = Duration::from_millis(60);
/// Process start to both families settled (XDP load, IPv6 DAD of the sources).
const SETTLE: Duration = Duration::from_secs(8);
/// The probe's interval when it is the Backup's Master: after an accepted priority 0 the
/// Backup (priority 100) would take over after Skew_Time = 156/256 of it (305 ms), well
/// before the probe's next advert.
const PROBE_INTERVAL_CS: u16 = 50;
/// How many copies of each case are injected.
const COPIES: usize = 3;
/// The counters a discarded advert can land in.
const DISCARDS: [Counter; 8] = [
    Counter::InvalidTtl,
    Counter::InvalidVersion,
    Counter::InvalidType,
    Counter::InvalidLength,
    Counter::InvalidChecksum,
    Counter::UnknownVrid,
    Counter::ZeroInterval,
    Counter::ParseErrors,
];

fn probe6() -> Ipv6Addr {
    Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0xfa)
}

/// One router of the lab: its daemon, pins and advert sources.
struct Router {
    daemon: Daemon,
    pins: PathBuf,
    v4: &'static str,
    v6: String,
}

impl Router {
    fn source(&self, family: Family) -> &str {
        match family {
            Family::V4 => self.v4,
            Family::V6 => &self.v6,
        }
    }

    fn discards(&self) -> Vec<u64> {
        DISCARDS
            .iter()
            .map(|counter| pinned_counter(&self.pins, *counter))
            .collect()
    }
}

/// r1 (priority 200) and r2 (100), each with `lan` (IPv4) and `lan6` (IPv6), a probe host and
/// a capture on it.
struct Battery {
    lab: Lab,
    host: usize,
    routers: Vec<Router>,
    capture: Capture,
    failures: Vec<String>,
}

impl Battery {
    fn start() -> Self {
        let mut lab = Lab::new();
        switch_as_a_switch(&lab);
        let nodes = [lab.add_node("r1", 1), lab.add_node("r2", 2)];
        let host = lab.add_node("h", 10);
        let capture = Capture::start(&lab.nodes[host].ns, LAN_IF);
        let routers = nodes
            .into_iter()
            .zip([(R1, 200), (R2, 100)])
            .map(|(node, (v4, priority))| {
                // IPv6 instances start once the link-local source passed DAD.
                let v6 = lab.nodes[node].link_local();
                let ns = &lab.nodes[node].ns;
                let bpffs = format!("/sys/fs/bpf/xvrrp-test-{}", ns.name());
                let config = RouterSpec::new(priority).config_both_families(&bpffs);
                let daemon = Daemon::start(ns, "xvrrp", &config, Path::new(&bpffs));
                let pins = Path::new(&bpffs).join(LAN_IF);
                Router {
                    daemon,
                    pins,
                    v4,
                    v6,
                }
            })
            .collect();
        Self {
            lab,
            host,
            routers,
            capture,
            failures: Vec::new(),
        }
    }

    fn host(&self) -> &vrrp_tests::netns::NetNs {
        &self.lab.nodes[self.host].ns
    }

    /// Waits until router `index` advertises `family` (as Master).
    fn wait_advertising(&self, index: usize, family: Family, timeout: Duration) {
        let source = self.routers[index].source(family).to_owned();
        wait::until(
            &format!("{source} to advertise {family:?}"),
            timeout,
            Duration::from_millis(20),
            || {
                adverts_from(&self.capture.frames(), &source)
                    .first()
                    .map(|_| ())
            },
        );
    }

    fn adverts(&self, index: usize, family: Family) -> Vec<Instant> {
        adverts_from(&self.capture.frames(), self.routers[index].source(family))
            .iter()
            .map(|advert| advert.at)
            .collect()
    }

    fn fail(&mut self, failure: String) {
        eprintln!("FAIL {failure}");
        self.failures.push(failure);
    }

    /// Injects `frames` (`COPIES` times, `spacing` apart) and checks that the routers in
    /// `watching` counted every frame in `counter` and nothing in the other discard counters,
    /// and are still running.
    fn inject_and_count(
        &mut self,
        label: &str,
        frames: &[Vec<u8>],
        counter: Option<Counter>,
        watching: &[usize],
        spacing: Duration,
    ) {
        let before: Vec<Vec<u64>> = watching
            .iter()
            .map(|index| self.routers[*index].discards())
            .collect();
        let round: Vec<Vec<u8>> = std::iter::repeat_n(frames, COPIES)
            .flatten()
            .cloned()
            .collect();
        inject(self.host(), LAN_IF, &round, spacing);
        let sent = round.len() as u64;
        let expected: Vec<u64> = DISCARDS
            .iter()
            .map(|discard| if Some(*discard) == counter { sent } else { 0 })
            .collect();
        for (index, before) in watching.iter().zip(before) {
            let after = self.routers[*index].discards();
            let moved: Vec<u64> = after.iter().zip(&before).map(|(a, b)| a - b).collect();
            if moved != expected {
                let named: Vec<String> = DISCARDS
                    .iter()
                    .zip(&moved)
                    .filter(|(_, n)| **n > 0)
                    .map(|(counter, n)| format!("{} +{n}", counter.name()))
                    .collect();
                self.fail(format!(
                    "{label}: r{} counted {named:?}, expected {} +{sent}",
                    index + 1,
                    counter.map_or("nothing", |counter| counter.name())
                ));
            }
            if !self.routers[*index].daemon.is_running() {
                self.fail(format!("{label}: r{}'s daemon died", index + 1));
            }
        }
    }

    /// Fails with every recorded failure at once.
    fn finish(self) {
        assert!(
            self.failures.is_empty(),
            "{} failures:\n{}",
            self.failures.len(),
            self.failures.join("\n")
        );
    }
}

/// A plain switch forwards frames whatever their IP headers say. Linux's bridge validates the
/// IP header of multicast packets for its IGMP/MLD snooping, and again in its netfilter hook
/// (on when br_netfilter is loaded), dropping truncated packets before the routers see them:
/// both off in this lab's switch only.
fn switch_as_a_switch(lab: &Lab) {
    lab.without_multicast_snooping();
    lab.switch.run(&[
        "sysctl",
        "-qw",
        "net.bridge.bridge-nf-call-iptables=0",
        "net.bridge.bridge-nf-call-ip6tables=0",
    ]);
}

fn sender(family: Family, source_v4: Ipv4Addr, source_v6: Ipv6Addr) -> Sender {
    match family {
        Family::V4 => Sender::V4 {
            mac: PROBE_MAC,
            source: source_v4,
            vip: VIP4.parse().expect("VIP"),
        },
        Family::V6 => Sender::V6 {
            mac: PROBE_MAC,
            source: source_v6,
            vip: VIPS6[0].parse().expect("VIP"),
        },
    }
}

#[test]
fn every_defective_advert_is_discarded_at_master_and_backup_and_counted() {
    if !require_root("every_defective_advert_is_discarded_at_master_and_backup_and_counted") {
        return;
    }
    let _turn = Turn::take(Share::Alone);
    let mut battery = Battery::start();
    for family in [Family::V4, Family::V6] {
        battery.wait_advertising(0, family, SETTLE);
    }
    // r2 has heard r1 for a while and is Backup in both families.
    std::thread::sleep(INTERVAL * 5);
    let cases = bad_adverts();
    let families = [Family::V4, Family::V6];

    // At the Master (r1; r2 watches as a Backup): priority 254 from the probe would make r1
    // step down and r2 follow the probe.
    for family in families {
        let winning = Advert {
            interval_cs: 10,
            ..Advert::new(family.vrid(), 254)
        };
        let sender = sender(family, PROBE4, probe6());
        for case in cases.iter().filter(|case| case.applies_to(family)) {
            let label = format!("at the Master, {family:?} {}", case.name);
            let frames = (case.frames)(&sender, &winning);
            battery.capture.clear();
            battery.inject_and_count(&label, &frames, case.counter, &[0, 1], INTERVAL / 4);
            std::thread::sleep(INTERVAL * 3);
            let adverts = battery.adverts(0, family);
            let gaps: Vec<Duration> = adverts.windows(2).map(|w| w[1] - w[0]).collect();
            if adverts.len() < 3
                || !gaps
                    .iter()
                    .all(|gap| *gap + TOLERANCE >= INTERVAL && *gap <= INTERVAL + TOLERANCE)
            {
                battery.fail(format!("{label}: r1's advert schedule changed: {gaps:?}"));
            }
            if !battery.adverts(1, family).is_empty() {
                battery.fail(format!("{label}: the Backup r2 advertised"));
            }
        }
    }
    // Control: the same advert without a defect makes r1 step down at once (in each family).
    for family in families {
        let winning = Advert {
            interval_cs: 10,
            ..Advert::new(family.vrid(), 254)
        };
        let frame = sender(family, PROBE4, probe6()).advert_frame(&winning);
        battery.capture.clear();
        inject(battery.host(), LAN_IF, &[frame], Duration::ZERO);
        std::thread::sleep(INTERVAL * 2);
        let adverts = battery.adverts(0, family).len();
        assert!(
            adverts <= 1,
            "control, {family:?}: r1 kept advertising after a valid better advert ({adverts})"
        );
    }

    // At a Backup: r1 leaves (priority 0, r2 takes over), then the probe is the Master
    // (priority 254, interval 500 ms) and r2 its Backup; priority 0 from the probe would make
    // r2 take over after Skew_Time. The probe's routine advert precedes each case.
    battery.routers[0].daemon.signal(libc::SIGTERM);
    battery.routers[0].daemon.wait_exit(Duration::from_secs(5));
    let keepalive: Vec<Vec<u8>> = families
        .iter()
        .map(|family| {
            let advert = Advert {
                interval_cs: PROBE_INTERVAL_CS,
                ..Advert::new(family.vrid(), 254)
            };
            sender(*family, PROBE4, probe6()).advert_frame(&advert)
        })
        .collect();
    let probe_interval = Duration::from_millis(u64::from(PROBE_INTERVAL_CS) * 10);
    // r2 is Master by now or soon; the probe's adverts make it Backup.
    for family in families {
        battery.wait_advertising(1, family, SETTLE);
    }
    inject(battery.host(), LAN_IF, &keepalive, Duration::ZERO);
    std::thread::sleep(INTERVAL * 2);
    inject(battery.host(), LAN_IF, &keepalive, Duration::ZERO);
    battery.capture.clear();
    std::thread::sleep(probe_interval / 2);
    for family in families {
        assert!(
            battery.adverts(1, family).is_empty(),
            "{family:?}: r2 still advertises while the probe is a better Master"
        );
    }
    for family in families {
        let releasing = Advert {
            interval_cs: PROBE_INTERVAL_CS,
            ..Advert::new(family.vrid(), 0)
        };
        let sender = sender(family, PROBE4, probe6());
        for case in cases.iter().filter(|case| case.applies_to(family)) {
            let label = format!("at a Backup, {family:?} {}", case.name);
            let frames = (case.frames)(&sender, &releasing);
            inject(battery.host(), LAN_IF, &keepalive, Duration::ZERO);
            battery.capture.clear();
            battery.inject_and_count(
                &label,
                &frames,
                case.counter,
                &[1],
                Duration::from_millis(5),
            );
            std::thread::sleep(probe_interval * 4 / 5);
            for any_family in families {
                if !battery.adverts(1, any_family).is_empty() {
                    battery.fail(format!("{label}: the Backup r2 took over ({any_family:?})"));
                }
            }
        }
    }
    // Control: priority 0 without a defect makes r2 take over after Skew_Time.
    for family in families {
        let releasing = Advert {
            interval_cs: PROBE_INTERVAL_CS,
            ..Advert::new(family.vrid(), 0)
        };
        let frame = sender(family, PROBE4, probe6()).advert_frame(&releasing);
        inject(battery.host(), LAN_IF, &keepalive, Duration::ZERO);
        battery.capture.clear();
        inject(battery.host(), LAN_IF, &[frame], Duration::ZERO);
        std::thread::sleep(probe_interval * 4 / 5);
        assert!(
            !battery.adverts(1, family).is_empty(),
            "control, {family:?}: r2 did not take over after a valid priority 0"
        );
    }
    battery.finish();
}

/// A Master (r1) and a Backup (r2), IPv4.
fn start_pair(lab: &Lab) -> Vec<Daemon> {
    [(0, 200), (1, 100)]
        .into_iter()
        .map(|(node, priority)| {
            let ns = &lab.nodes[node].ns;
            let bpffs = format!("/sys/fs/bpf/xvrrp-test-{}", ns.name());
            Daemon::start(
                ns,
                "xvrrp",
                &RouterSpec::new(priority).config(&bpffs),
                Path::new(&bpffs),
            )
        })
        .collect()
}

#[test]
fn a_flood_of_winning_invalid_adverts_changes_nothing_and_costs_the_daemons_little() {
    if !require_root(
        "a_flood_of_winning_invalid_adverts_changes_nothing_and_costs_the_daemons_little",
    ) {
        return;
    }
    const FLOOD: usize = 200_000;
    let _turn = Turn::take(Share::Alone);
    let mut lab = Lab::new();
    lab.add_node("r1", 1);
    lab.add_node("r2", 2);
    let host = lab.add_node("h", 10);
    let host_ns = &lab.nodes[host].ns;
    // Only the routers' own adverts, so the flood does not fill the captures.
    let r1_adverts =
        Capture::start_filtered(host_ns, LAN_IF, ipv4_filter(R1.parse().unwrap(), 112));
    let r2_adverts =
        Capture::start_filtered(host_ns, LAN_IF, ipv4_filter(R2.parse().unwrap(), 112));
    let mut daemons = start_pair(&lab);
    wait::until(
        "r1 to advertise as Master",
        SETTLE,
        Duration::from_millis(20),
        || r1_adverts.frames().first().map(|_| ()),
    );
    let sockets: Vec<PathBuf> = daemons.iter().map(Daemon::control_socket).collect();
    wait::until("r2 to follow r1", SETTLE, Duration::from_millis(50), || {
        instance_status(&sockets[1], "lan")
            .filter(|status| status["state"] == "Backup" && status["master"]["address"] == R1)
    });
    // Winning if accepted (priority 254), invalid (its checksum).
    let bad = Advert {
        interval_cs: 10,
        checksum_error: 0x5a5a,
        ..Advert::new(vrrp_tests::vrrp::VRID, 254)
    }
    .frame_v4(PROBE_MAC, PROBE4, &[VIP4.parse().unwrap()]);
    let pins: Vec<PathBuf> = lab.nodes[..2]
        .iter()
        .map(|node| Path::new(&format!("/sys/fs/bpf/xvrrp-test-{}", node.ns.name())).join(LAN_IF))
        .collect();
    let counted_before: Vec<u64> = pins
        .iter()
        .map(|pins| pinned_counter(pins, Counter::InvalidChecksum))
        .collect();
    let cpu_before: Vec<Duration> = daemons.iter().map(|d| cpu_time(d.pid())).collect();
    r1_adverts.clear();
    r2_adverts.clear();
    // Status keeps answering during the flood (asked every 100 ms, each answer bounded by
    // the CLI's own timeouts).
    let flooding = Arc::new(AtomicBool::new(true));
    let asker = {
        let flooding = Arc::clone(&flooding);
        let socket = sockets[1].clone();
        std::thread::spawn(move || {
            let (mut asked, mut answered) = (0u32, 0u32);
            while flooding.load(Ordering::Relaxed) && asked < 600 {
                asked += 1;
                if instance_status(&socket, "lan").is_some_and(|status| status["state"] == "Backup")
                {
                    answered += 1;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            (asked, answered)
        })
    };
    let started = Instant::now();
    inject(host_ns, LAN_IF, &vec![bad; FLOOD], Duration::ZERO);
    let flood_time = started.elapsed();
    // Let a last status round and r1's next adverts through.
    std::thread::sleep(INTERVAL * 3);
    flooding.store(false, Ordering::Relaxed);
    let (asked, answered) = asker.join().expect("status thread");
    let wall = started.elapsed();
    let cpu: Vec<Duration> = daemons
        .iter()
        .zip(&cpu_before)
        .map(|(daemon, before)| cpu_time(daemon.pid()) - *before)
        .collect();
    let counted: Vec<u64> = pins
        .iter()
        .zip(&counted_before)
        .map(|(pins, before)| pinned_counter(pins, Counter::InvalidChecksum) - before)
        .collect();
    let r1_times: Vec<Instant> = r1_adverts.frames().iter().map(|frame| frame.at).collect();
    let worst_gap = r1_times
        .windows(2)
        .map(|w| w[1] - w[0])
        .max()
        .unwrap_or(wall);
    eprintln!(
        "flood: {FLOOD} frames in {flood_time:?}; counted invalid_checksum r1 {} r2 {}; daemon \
         CPU r1 {:?} r2 {:?} over {wall:?}; status answered {answered}/{asked}; r1 adverts {}, \
         worst gap {worst_gap:?}",
        counted[0],
        counted[1],
        cpu[0],
        cpu[1],
        r1_times.len()
    );
    for daemon in &mut daemons {
        assert!(daemon.is_running(), "a daemon died in the flood");
    }
    assert!(
        answered >= 1 && answered == asked,
        "status answered {answered} of {asked}"
    );
    assert!(
        r2_adverts.frames().is_empty(),
        "r2 took over during the flood"
    );
    // r2 takes over after Master_Down_Interval (361 ms) without r1's adverts: r1 kept them up.
    assert!(
        worst_gap < INTERVAL * 3,
        "r1's adverts paused {worst_gap:?} during the flood"
    );
    // The kernel may drop some of the flood before XDP (queues full); most must reach it.
    for (index, counted) in counted.iter().enumerate() {
        assert!(
            *counted >= FLOOD as u64 / 2,
            "r{} counted {counted} of {FLOOD} invalid adverts",
            index + 1
        );
    }
    // The data plane drops them; the daemons only keep their own schedule. Generous: a
    // quarter of one core over the flood, plus the debug build's start of a status answer.
    for (index, cpu) in cpu.iter().enumerate() {
        assert!(
            *cpu <= wall / 4 + Duration::from_millis(200),
            "r{}'s daemon used {cpu:?} of CPU in {wall:?} of flood",
            index + 1
        );
    }
}

/// A lost advert is never silent: while r2's daemon is stopped, valid non-routine adverts
/// (a lower-priority probe: the data plane hands them to the daemon) overflow its ring
/// buffer. Once it runs again it warns with the count, the counter says the same, and r1,
/// whose routine adverts the kernel absorbed meanwhile, is still its Master.
#[test]
fn adverts_lost_while_the_daemon_is_stopped_are_counted_and_warned() {
    if !require_root("adverts_lost_while_the_daemon_is_stopped_are_counted_and_warned") {
        return;
    }
    const FLOOD: usize = 60_000;
    let _turn = Turn::take(Share::Alone);
    let mut lab = Lab::new();
    lab.add_node("r1", 1);
    lab.add_node("r2", 2);
    let host = lab.add_node("h", 10);
    let daemons = start_pair(&lab);
    let socket = daemons[1].control_socket();
    wait::until("r2 to follow r1", SETTLE, Duration::from_millis(50), || {
        instance_status(&socket, "lan")
            .filter(|status| status["state"] == "Backup" && status["master"]["address"] == R1)
    });
    let pins = Path::new(&format!(
        "/sys/fs/bpf/xvrrp-test-{}",
        lab.nodes[1].ns.name()
    ))
    .join(LAN_IF);
    assert_eq!(pinned_counter(&pins, Counter::RingBufFull), 0);
    // Valid, losing (priority 50): never routine, so every copy is punted.
    let probe = Advert {
        interval_cs: 10,
        ..Advert::new(vrrp_tests::vrrp::VRID, 50)
    }
    .frame_v4(PROBE_MAC, PROBE4, &[VIP4.parse().unwrap()]);
    daemons[1].signal(libc::SIGSTOP);
    inject(
        &lab.nodes[host].ns,
        LAN_IF,
        &vec![probe; FLOOD],
        Duration::ZERO,
    );
    daemons[1].signal(libc::SIGCONT);
    let lost = pinned_counter(&pins, Counter::RingBufFull);
    assert!(
        lost > 0,
        "{FLOOD} adverts to a stopped daemon overflowed nothing"
    );
    // The warning comes with the next status refresh (1 s).
    daemons[1].wait_for_log(
        "advert ring buffer full: adverts lost",
        Duration::from_secs(3),
    );
    let log = daemons[1].log();
    let warned: u64 = log
        .lines()
        .filter(|line| line.contains("advert ring buffer full: adverts lost"))
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|line| line["lost"].as_u64())
        .sum();
    assert_eq!(warned, pinned_counter(&pins, Counter::RingBufFull), "{log}");
    let status = instance_status(&socket, "lan").expect("r2 answers");
    assert_eq!(status["state"], "Backup", "r2 took over: {status}");
    assert_eq!(status["master"]["address"], R1);
}
