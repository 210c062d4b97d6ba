//! Privileges of a live daemon: what it keeps in its capability bounding set, and that it works
//! (elects, reloads, attaches a new interface) with only the capabilities the systemd unit
//! gives it.

use std::{fs, path::Path, time::Duration};

use serde_json::Value;
use vrrp_tests::{
    daemon::{Daemon, xvrrp_binary},
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

/// `CapabilityBoundingSet=` of the shipped unit.
fn unit_capabilities() -> Vec<String> {
    let unit = fs::read_to_string(UNIT).expect("read the systemd unit");
    let line = unit
        .lines()
        .find_map(|line| line.strip_prefix("CapabilityBoundingSet="))
        .expect("the unit sets CapabilityBoundingSet");
    line.split_whitespace().map(str::to_owned).collect()
}

#[test]
fn a_root_daemon_keeps_only_the_capabilities_it_uses_in_its_bounding_set() {
    let Some((_serial, lab)) =
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
    assert!(
        r1.log()
            .contains("capability bounding set reduced to what the daemon uses"),
        "{}",
        r1.log()
    );
}

#[test]
fn a_pair_with_only_the_units_capabilities_elects_reloads_and_attaches_a_new_interface() {
    let Some((_serial, lab)) = two_routers(
        "a_pair_with_only_the_units_capabilities_elects_reloads_and_attaches_a_new_interface",
    ) else {
        return;
    };
    let capabilities = unit_capabilities();
    let capabilities: Vec<&str> = capabilities.iter().map(String::as_str).collect();
    assert!(!capabilities.contains(&"CAP_SYS_ADMIN"), "{capabilities:?}");
    let start = |node: usize, priority: u8| {
        let bpffs = bpffs_of(&lab, node);
        Daemon::start_with_capabilities(
            &lab.nodes[node].ns,
            "xvrrp",
            &RouterSpec::new(priority).config(&bpffs),
            Path::new(&bpffs),
            &capabilities,
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
    // What the unit gave is all it has.
    let effective = capability_mask(r2.pid(), "CapEff");
    assert_eq!(effective, kept_mask(), "CapEff {effective:016x}");

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
