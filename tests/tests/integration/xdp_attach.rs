//! The XDP program loads, attaches to a veth, sees traffic, and is visible to bpftool.

use std::{process::Command, time::Duration};

use vrrp_common::counters::Counter;
use vrrp_tests::{lab::LAN_IF, lab::Lab, privilege::require_root, wait};
use vrrp_user::dataplane::{Dataplane, XdpAttachMode};

#[test]
fn xdp_counts_frames_sent_by_a_peer() {
    if !require_root("xdp_counts_frames_sent_by_a_peer") {
        return;
    }
    let mut lab = Lab::new();
    let router = lab.add_node("r", 1);
    let host = lab.add_node("h", 10);
    let dataplane = {
        let _inside = lab.nodes[router].ns.enter();
        Dataplane::attach(LAN_IF, XdpAttachMode::Native).expect("attach XDP to the router's veth")
    };
    let before = dataplane.counters().unwrap().get(Counter::RxFrames);
    let pings = 20;
    lab.nodes[host].ns.run(&[
        "ping",
        "-c",
        &pings.to_string(),
        "-i",
        "0.01",
        "-W",
        "1",
        &lab.nodes[router].ipv4,
    ]);
    // Each echo request reaches the router's XDP hook (plus ARP/ND chatter).
    let seen = dataplane.counters().unwrap().get(Counter::RxFrames) - before;
    assert!(
        seen >= pings,
        "XDP counted {seen} frames, expected at least {pings}"
    );
}

#[test]
fn bpftool_lists_the_program_by_name_while_attached() {
    if !require_root("bpftool_lists_the_program_by_name_while_attached") {
        return;
    }
    let mut lab = Lab::new();
    let router = lab.add_node("r", 1);
    let dataplane = {
        let _inside = lab.nodes[router].ns.enter();
        Dataplane::attach(LAN_IF, XdpAttachMode::Auto).expect("attach XDP")
    };
    let id = dataplane.program_id();
    let shown = bpftool_prog_show(id).expect("bpftool shows the attached program");
    assert!(
        shown.contains("xdp") && shown.contains("name xvrrp"),
        "bpftool prog show id {id}: {shown}"
    );
    drop(dataplane);
    // Detaching and closing the last reference frees the program (asynchronously, via RCU).
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
