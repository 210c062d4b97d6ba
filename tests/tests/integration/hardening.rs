//! Privileges of a live daemon: what it keeps in its capability bounding set, and that it works
//! (elects, reloads, attaches a new interface) with only the capabilities the systemd unit
//! gives it.

use std::{fs, path::Path, time::Duration};

use serde_json::Value;
use vrrp_tests::{
    daemon::{Daemon, can_raise_limits, xvrrp_binary},
    lab::{Lab, two_routers},
    vrrp::RouterSpec,
    wait,
};
use vrrp_user::daemon::capabilities::kept_mask;

/// Process start to a Backup following the Master, with room for a loaded machine.
const SETTLE: Duration = Duration::from_secs(5);
const R1: &str = "192.0.2.1";
/// The unit whose capabilities the second test runs the daemon with.
const UNIT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../examples/systemd/xvrrp.service"
);
/// CAP_SYS_MODULE, CAP_SYS_ADMIN, CAP_DAC_OVERRIDE, CAP_SYS_PTRACE: never needed, so never
/// kept.
const NEVER_KEPT: [u8; 4] = [16, 21, 1, 19];

fn bpffs_of(lab: &Lab, node: usize) -> String {
    format!("/sys/fs/bpf/xvrrp-test-{}", lab.nodes[node].ns.name())
}

/// A `CapXxx:` mask of /proc/PID/status.
fn capability_mask(pid: u32, field: &str) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc status");
    let hex = status
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{field}:\t")))
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"));
    u64::from_str_radix(hex.trim(), 16).expect("hex mask")
}

/// The state of every instance, by name, from `xvrrp status --json`.
fn states(socket: &Path) -> Option<Vec<(String, String, Value)>> {
    let out = std::process::Command::new(xvrrp_binary())
        .args(["status", "--json", "--socket"])
        .arg(socket)
        .output()
        .expect("run xvrrp status");
    let report: Value = serde_json::from_slice(&out.stdout).ok()?;
    Some(
        report["snapshot"]["instances"]
            .as_array()?
            .iter()
            .map(|instance| {
                (
                    instance["name"].as_str().unwrap_or_default().to_owned(),
                    instance["state"].as_str().unwrap_or_default().to_owned(),
                    instance["master"]["address"].clone(),
                )
            })
            .collect(),
    )
}

fn wait_states(daemon: &Daemon, what: &str, wanted: &[(&str, &str)]) {
    wait::until(what, SETTLE, Duration::from_millis(50), || {
        let states = states(&daemon.control_socket())?;
        wanted
            .iter()
            .all(|(name, state)| states.iter().any(|(n, s, _)| n == name && s == state))
            .then_some(())
    });
}

/// The value of `setting=` in the shipped unit.
fn unit_setting(setting: &str) -> String {
    let unit = fs::read_to_string(UNIT).expect("read the systemd unit");
    unit.lines()
        .find_map(|line| line.strip_prefix(&format!("{setting}=")))
        .unwrap_or_else(|| panic!("the unit sets {setting}"))
        .to_owned()
}

/// `CapabilityBoundingSet=` of the shipped unit.
fn unit_capabilities() -> Vec<String> {
    unit_setting("CapabilityBoundingSet")
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// The scheduling policy and real-time priority of `pid`'s main thread (/proc/PID/stat fields
/// 41 and 40, counted after the command name, which may contain spaces).
fn scheduling(pid: u32) -> (i32, u32) {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).expect("read /proc stat");
    let after_name = &stat[stat.rfind(')').expect("stat has (comm)") + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Field 3 (state) is after_name's first; rt_priority is field 40, policy 41.
    let rt_priority = fields[40 - 3].parse().expect("rt_priority");
    let policy = fields[41 - 3].parse().expect("policy");
    (policy, rt_priority)
}

/// The daemon's event loop runs SCHED_FIFO at the default `realtime_priority` (10).
fn assert_realtime(daemon: &Daemon) {
    assert_eq!(
        scheduling(daemon.pid()),
        (libc::SCHED_FIFO, 10),
        "the event loop is not SCHED_FIFO at the default priority 10\n{}",
        daemon.log()
    );
    assert!(
        daemon
            .log()
            .contains("real-time settings applied to the event loop"),
        "{}",
        daemon.log()
    );
    let status = fs::read_to_string(format!("/proc/{}/status", daemon.pid())).expect("status");
    let locked_kb: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmLck:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmLck in /proc/PID/status");
    assert!(locked_kb > 0, "lock_memory is on by default, VmLck is 0");
}

#[test]
fn a_root_daemon_keeps_only_the_capabilities_it_uses_in_its_bounding_set() {
    let Some((_turn, lab)) =
        two_routers("a_root_daemon_keeps_only_the_capabilities_it_uses_in_its_bounding_set")
    else {
        return;
    };
    let bpffs = bpffs_of(&lab, 0);
    let r1 = Daemon::start(
        &lab.nodes[0].ns,
        "xvrrp",
        &RouterSpec::new(200).config(&bpffs),
        Path::new(&bpffs),
    );
    wait_states(&r1, "r1 Master", &[("lan", "Master")]);
    let bounding = capability_mask(r1.pid(), "CapBnd");
    assert_eq!(
        bounding,
        kept_mask(),
        "CapBnd {bounding:016x}, expected {:016x}\n{}",
        kept_mask(),
        r1.log()
    );
    for capability in NEVER_KEPT {
        assert_eq!(
            bounding & (1 << capability),
            0,
            "capability {capability} kept"
        );
    }
    assert_eq!(
        capability_mask(r1.pid(), "CapAmb"),
        0,
        "ambient set not cleared"
    );
    assert_realtime(&r1);
    assert!(
        r1.log()
            .contains("capability bounding set reduced to what the daemon uses"),
        "{}",
        r1.log()
    );
}

#[test]
fn a_pair_with_only_the_units_capabilities_elects_reloads_and_attaches_a_new_interface() {
    let Some((_turn, lab)) = two_routers(
        "a_pair_with_only_the_units_capabilities_elects_reloads_and_attaches_a_new_interface",
    ) else {
        return;
    };
    let capabilities = unit_capabilities();
    let capabilities: Vec<&str> = capabilities.iter().map(String::as_str).collect();
    assert!(!capabilities.contains(&"CAP_SYS_ADMIN"), "{capabilities:?}");
    let realtime_priority_limit: u8 = unit_setting("LimitRTPRIO")
        .parse()
        .expect("LimitRTPRIO is a number");
    let unit_limits = can_raise_limits(realtime_priority_limit).then_some(realtime_priority_limit);
    if unit_limits.is_none() {
        eprintln!(
            "NOT TESTED here: the unit's LimitRTPRIO/LimitMEMLOCK path (this process lacks \
             CAP_SYS_RESOURCE to raise them); checking instead that the daemon without them \
             warns with the fix and works"
        );
    }
    let start = |node: usize, priority: u8| {
        let bpffs = bpffs_of(&lab, node);
        Daemon::start_with_capabilities(
            &lab.nodes[node].ns,
            "xvrrp",
            &RouterSpec::new(priority).config(&bpffs),
            Path::new(&bpffs),
            &capabilities,
            unit_limits,
        )
    };
    let r1 = start(0, 200);
    let r2 = start(1, 100);
    wait_states(&r1, "r1 Master", &[("lan", "Master")]);
    wait::until("r2 following r1", SETTLE, Duration::from_millis(50), || {
        states(&r2.control_socket())?
            .iter()
            .any(|(name, state, master)| name == "lan" && state == "Backup" && master == R1)
            .then_some(())
    });
    // What the unit gave is all it has, and the unit's LimitRTPRIO is what lets it run
    // real-time without CAP_SYS_NICE.
    let effective = capability_mask(r2.pid(), "CapEff");
    assert_eq!(effective, kept_mask(), "CapEff {effective:016x}");
    if unit_limits.is_some() {
        assert_realtime(&r2);
    } else {
        assert!(
            r2.log()
                .contains("real-time setting refused: under CPU load adverts may be late"),
            "{}",
            r2.log()
        );
    }

    // A reload that raises r2 above r1 (preemption) and adds a virtual router on an interface
    // that did not exist at start: the data plane attaches there with the same capabilities.
    let r2_ns = &lab.nodes[1].ns;
    r2_ns.add_lone_veth("wan0", "198.51.100.2/24");
    let config = fs::read_to_string(r2.config_path()).expect("read r2's config");
    let reloaded = config.replace("priority = 100", "priority = 250")
        + "\n[[instance]]\nname = \"wan\"\ninterface = \"wan0\"\nvrid = 7\n\
           advert_interval_ms = 100\nvirtual_addresses = [\"198.51.100.100\"]\n";
    fs::write(r2.config_path(), reloaded).expect("write r2's config");
    r2.signal(libc::SIGHUP);
    wait_states(
        &r2,
        "r2 Master of lan (preempted r1) and of wan (alone)",
        &[("lan", "Master"), ("wan", "Master")],
    );
    wait_states(&r1, "r1 Backup after the preemption", &[("lan", "Backup")]);
    let log = r2.log();
    assert!(
        !log.contains("\"level\":\"ERROR\""),
        "errors with the unit's capabilities:\n{log}"
    );
}
