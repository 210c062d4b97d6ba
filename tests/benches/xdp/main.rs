//! `cargo xtask bench xdp`: what the data plane costs per packet, and how fast a Backup discards
//! frames to its virtual MAC compared with nftables. Both parts run on one pinned CPU and
//! interleave the program with its baseline round by round, so drift on this shared machine hits
//! both sides of every ratio. Prints Markdown (xtask writes it to docs/BENCHMARKS.md). Needs root
//! and nft.

mod per_packet;
mod vmac_drop;

use std::net::{IpAddr, Ipv4Addr};

use vrrp_common::maps::Role;
use vrrp_tests::{
    cpu::{last_allowed_cpu, pin_current_thread},
    privilege::require_root,
    xdp::test_instance,
};
use vrrp_user::dataplane::InstanceSettings;

const VRID: u8 = 7;
const VIP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 100);
const PEER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);

/// The one IPv4 instance both parts configure, in `role`, with a Master at [`PEER`].
fn instance(role: Role) -> InstanceSettings {
    test_instance(role, true, IpAddr::V4(PEER))
}

fn main() {
    if !require_root("bench xdp") {
        return;
    }
    let cpu = last_allowed_cpu();
    pin_current_thread(cpu);
    println!("- Pinned to CPU {cpu}.");
    per_packet::run();
    vmac_drop::run(cpu);
}
