//! The XDP program loads, attaches to a veth, pins its maps (with BTF, so bpftool names the
//! fields), is visible to bpftool, and leaves nothing behind when detached.

use std::{net::IpAddr, process::Command, time::Duration};

use vrrp_common::maps::{ALL_MAPS, AddressFamily, INSTANCES_MAP, Role};
use vrrp_tests::{
    lab::{LAN_IF, Lab},
    privilege::require_root,
    wait,
    xdp::{TestPinRoot, test_instance, test_options},
};
use vrrp_user::dataplane::{Dataplane, IngressHook, XdpAttachMode};

#[test]
fn attach_pins_every_map_and_detach_removes_the_pins() {
    if !require_root("attach_pins_every_map_and_detach_removes_the_pins") {
        return;
    }
    let mut lab = Lab::new();
    let router = lab.add_node("r", 1);
    let pin_root = TestPinRoot::new(lab.nodes[router].ns.name());
    // A directory left by a crashed run is replaced, not an error.
    std::fs::create_dir_all(pin_root.path().join(LAN_IF).join("stale")).unwrap();
    let mut dataplane = {
        let _inside = lab.nodes[router].ns.enter();
        Dataplane::attach(LAN_IF, &test_options(XdpAttachMode::Native, &pin_root))
            .expect("attach XDP natively to the router's veth")
    };
    let dir = dataplane.pin_dir().to_path_buf();
    assert_eq!(dir, pin_root.path().join(LAN_IF));
    assert!(!dir.join("stale").exists(), "stale pin directory survived");
    for name in ALL_MAPS.iter().chain(&["link"]) {
        assert!(
            dir.join(name).exists(),
            "{name} is not pinned in {}",
            dir.display()
        );
    }
    dataplane
        .set_instance(
            AddressFamily::Ipv4,
            42,
            &test_instance(
                Role::Backup,
                false,
                IpAddr::V4("192.0.2.2".parse().unwrap()),
            ),
        )
        .unwrap();
    let dump = Command::new("bpftool")
        .args(["map", "dump", "pinned"])
        .arg(dir.join(INSTANCES_MAP))
        .output()
        .expect("run bpftool");
    let dump = String::from_utf8_lossy(&dump.stdout);
    for field in [
        "\"vrid\": 42",
        "\"master_priority\": 200",
        "\"master_interval_cs\": 100",
        "\"role\": 1",
    ] {
        assert!(
            dump.contains(field),
            "bpftool map dump lacks {field}: {dump}"
        );
    }
    let id = dataplane.program_id();
    dataplane.detach().expect("clean detach");
    assert!(!dir.exists(), "{} still exists after detach", dir.display());
    wait_unloaded(id);
}

#[test]
fn bpftool_lists_the_program_by_name_while_attached() {
    if !require_root("bpftool_lists_the_program_by_name_while_attached") {
        return;
    }
    let mut lab = Lab::new();
    let router = lab.add_node("r", 1);
    let pin_root = TestPinRoot::new(lab.nodes[router].ns.name());
    let dataplane = {
        let _inside = lab.nodes[router].ns.enter();
        Dataplane::attach(LAN_IF, &test_options(XdpAttachMode::Auto, &pin_root))
            .expect("attach XDP")
    };
    let id = dataplane.program_id();
    let shown = bpftool_prog_show(id).expect("bpftool shows the attached program");
    // On a veth the default runs the data plane at TC ingress.
    assert_eq!(dataplane.ingress_hook(), IngressHook::Tc);
    assert!(
        shown.contains("sched_cls") && shown.contains("name xvrrp_tc"),
        "bpftool prog show id {id}: {shown}"
    );
    drop(dataplane);
    wait_unloaded(id);
}

/// Detaching and closing the last reference frees the program (asynchronously, via RCU).
fn wait_unloaded(id: u32) {
    wait::until(
        "program to be unloaded",
        Duration::from_secs(5),
        Duration::from_millis(20),
        || bpftool_prog_show(id).is_none().then_some(()),
    );
}

fn bpftool_prog_show(id: u32) -> Option<String> {
    let out = Command::new("bpftool")
        .args(["prog", "show", "id", &id.to_string()])
        .output()
        .expect("run bpftool");
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}
