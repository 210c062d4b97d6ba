//! A host reaches a VIP through the Master's XDP data plane: the ARP reply comes from XDP with
//! the virtual MAC (RFC 5798 §6.4.3, §8.1.2), and echo requests to the virtual MAC are accepted
//! by rewriting their destination (accept mode on).

use std::net::{IpAddr, Ipv4Addr};

use vrrp_common::{
    counters::Counter,
    maps::{AddressFamily, Role},
};
use vrrp_tests::{
    lab::{LAN_IF, Lab},
    privilege::require_root,
    xdp::{TestPinRoot, test_options},
};
use vrrp_user::dataplane::{
    Dataplane, InstanceSettings, XdpAttachMode, add_vmac_filter, remove_vmac_filter, virtual_mac,
};

const VRID: u8 = 7;
const VIP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 100);

#[test]
fn host_pings_the_vip_through_the_masters_xdp_arp_reply_and_vmac_rewrite() {
    if !require_root("host_pings_the_vip_through_the_masters_xdp_arp_reply_and_vmac_rewrite") {
        return;
    }
    let mut lab = Lab::new();
    let router = lab.add_node("r", 1);
    let host = lab.add_node("h", 10);
    let pin_root = TestPinRoot::new(lab.nodes[router].ns.name());
    let router_ip: Ipv4Addr = lab.nodes[router].ipv4.parse().unwrap();
    // Generic XDP: XDP_TX on a native veth program needs NAPI on the peer, which a bridge port
    // does not have by default.
    let mut dataplane = {
        let _inside = lab.nodes[router].ns.enter();
        Dataplane::attach(LAN_IF, &test_options(XdpAttachMode::Generic, &pin_root))
            .expect("attach XDP to the router's veth")
    };
    dataplane
        .set_instance(
            AddressFamily::Ipv4,
            VRID,
            &InstanceSettings {
                role: Role::Master,
                accept: true,
                master_address: IpAddr::V4(router_ip),
                master_priority: 100,
                master_interval_cs: 100,
            },
        )
        .unwrap();
    dataplane.add_vip(IpAddr::V4(VIP), VRID).unwrap();
    lab.nodes[router]
        .ns
        .run(&["ip", "addr", "add", &format!("{VIP}/32"), "dev", LAN_IF]);
    // The router's own ARP requests (to answer the host) must not name the VIP as sender with
    // the physical MAC, or the host re-learns the VIP at that MAC: the daemon sets this too.
    lab.nodes[router].ns.run(&[
        "sysctl",
        "-qw",
        &format!("net.ipv4.conf.{LAN_IF}.arp_announce=2"),
    ]);

    lab.nodes[host]
        .ns
        .run(&["ping", "-c", "3", "-i", "0.05", "-W", "1", &VIP.to_string()]);

    let neighbour =
        lab.nodes[host]
            .ns
            .run(&["ip", "neigh", "show", &VIP.to_string(), "dev", LAN_IF]);
    let neighbour = String::from_utf8_lossy(&neighbour.stdout);
    let vmac = virtual_mac(AddressFamily::Ipv4, VRID)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect::<Vec<_>>()
        .join(":");
    assert!(
        neighbour.contains(&format!("lladdr {vmac}")),
        "the host's neighbour entry for {VIP} is not the virtual MAC {vmac}: {neighbour}"
    );
    let counters = dataplane
        .instance_counters(AddressFamily::Ipv4, VRID)
        .unwrap();
    assert!(counters.get(Counter::ArpReplies) >= 1, "{counters:?}");
    assert!(
        counters.get(Counter::VmacAcceptedMaster) >= 3,
        "{counters:?}"
    );
    dataplane.detach().expect("clean detach");
}

#[test]
fn vmac_filter_entry_is_added_and_removed() {
    if !require_root("vmac_filter_entry_is_added_and_removed") {
        return;
    }
    let mut lab = Lab::new();
    let router = lab.add_node("r", 1);
    let ns = &lab.nodes[router].ns;
    let vmac = virtual_mac(AddressFamily::Ipv4, VRID);
    let shown = vmac
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect::<Vec<_>>()
        .join(":");
    let fdb = || {
        let out = ns.run(&["bridge", "fdb", "show", "dev", LAN_IF]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    {
        // The netlink socket belongs to the namespace of the thread that opens it.
        let _inside = ns.enter();
        let ifindex = interface_index(LAN_IF);
        runtime
            .block_on(add_vmac_filter(LAN_IF, ifindex, vmac))
            .expect("add the virtual MAC to the unicast filter");
        // Idempotent: the daemon may repeat it on every transition to Master.
        runtime
            .block_on(add_vmac_filter(LAN_IF, ifindex, vmac))
            .expect("add it again");
    }
    let listed = fdb();
    assert!(
        listed
            .lines()
            .any(|line| line.starts_with(&shown) && line.contains("self permanent")),
        "{shown} missing from the unicast filter: {listed}"
    );
    {
        let _inside = ns.enter();
        let ifindex = interface_index(LAN_IF);
        runtime
            .block_on(remove_vmac_filter(LAN_IF, ifindex, vmac))
            .expect("remove the virtual MAC");
        runtime
            .block_on(remove_vmac_filter(LAN_IF, ifindex, vmac))
            .expect("removing an absent entry is not an error");
    }
    assert!(!fdb().contains(&shown), "{shown} still listed: {}", fdb());
}

fn interface_index(ifname: &str) -> u32 {
    let name = std::ffi::CString::new(ifname).unwrap();
    // SAFETY: a NUL-terminated name; no other preconditions.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    assert_ne!(index, 0, "no interface {ifname}");
    index
}
