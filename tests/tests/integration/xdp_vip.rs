//! A host reaches a VIP through the Master's data plane, IPv4 and IPv6: the stack answers ARP
//! and NS for the VIP and the egress program puts the virtual MAC on the answer (RFC 5798
//! §6.4.3, §8.1.2, §8.2.2), and echo requests to the virtual MAC are accepted by rewriting their
//! destination (accept mode on). In the hook `auto` picks on a veth (TC), and in each explicit
//! XDP mode.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use vrrp_common::{
    advert::ChecksumStyle,
    counters::Counter,
    maps::{AddressFamily, Role},
};
use vrrp_tests::xdp::TEST_HEARTBEAT_TIMEOUT;
use vrrp_tests::{
    lab::{LAN_IF, Lab},
    privilege::require_root,
    xdp::{TestPinRoot, test_options},
};
use vrrp_user::dataplane::{
    Dataplane, IngressHook, InstanceSettings, XdpAttachMode, add_vmac_filter, remove_vmac_filter,
    virtual_mac,
};

const VRID: u8 = 7;
const VIP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 100);
const VIP6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x100);

#[test]
fn host_pings_the_vips_through_the_data_plane_in_the_default_mode() {
    if !require_root("host_pings_the_vips_through_the_data_plane_in_the_default_mode") {
        return;
    }
    // What a user gets: `auto` runs at TC ingress on a veth (a software device).
    host_pings_the_vips(XdpAttachMode::default(), IngressHook::Tc);
}

#[test]
fn host_pings_the_vips_through_the_data_plane_in_generic_mode() {
    if !require_root("host_pings_the_vips_through_the_data_plane_in_generic_mode") {
        return;
    }
    host_pings_the_vips(XdpAttachMode::Generic, IngressHook::GenericXdp);
}

#[test]
fn host_pings_the_vips_through_the_data_plane_in_tc_mode() {
    if !require_root("host_pings_the_vips_through_the_data_plane_in_tc_mode") {
        return;
    }
    host_pings_the_vips(XdpAttachMode::Tc, IngressHook::Tc);
}

#[test]
fn host_pings_the_vips_through_the_data_plane_in_native_mode() {
    if !require_root("host_pings_the_vips_through_the_data_plane_in_native_mode") {
        return;
    }
    host_pings_the_vips(XdpAttachMode::Native, IngressHook::NativeXdp);
}

fn mac_text(mac: [u8; 6]) -> String {
    mac.iter()
        .map(|byte| format!("{byte:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn host_pings_the_vips(mode: XdpAttachMode, expected: IngressHook) {
    let mut lab = Lab::new();
    let router = lab.add_node("r", 1);
    let host = lab.add_node("h", 10);
    let pin_root = TestPinRoot::new(lab.nodes[router].ns.name());
    let router_ip: Ipv4Addr = lab.nodes[router].ipv4.parse().unwrap();
    let router_ll: Ipv6Addr = lab.nodes[router].link_local().parse().unwrap();
    let mut dataplane = {
        let _inside = lab.nodes[router].ns.enter();
        Dataplane::attach(LAN_IF, &test_options(mode, &pin_root))
            .expect("attach the data plane to the router's veth")
    };
    assert_eq!(
        dataplane.ingress_hook(),
        expected,
        "ingress hook for {mode:?}"
    );
    for (family, master) in [
        (AddressFamily::Ipv4, IpAddr::V4(router_ip)),
        (AddressFamily::Ipv6, IpAddr::V6(router_ll)),
    ] {
        dataplane
            .set_instance(
                family,
                VRID,
                &InstanceSettings {
                    role: Role::Master,
                    accept: true,
                    master_address: master,
                    master_priority: 100,
                    master_interval_cs: 100,
                    owner: false,
                    heartbeat_timeout: TEST_HEARTBEAT_TIMEOUT,
                    checksum_style: ChecksumStyle::Rfc9568,
                    peers_listed: false,
                    versions: vrrp_common::advert::VersionMode::V3,
                },
            )
            .unwrap();
    }
    dataplane.add_vip(IpAddr::V4(VIP), VRID).unwrap();
    dataplane.add_vip(IpAddr::V6(VIP6), VRID).unwrap();
    let ns = &lab.nodes[router].ns;
    ns.run(&["ip", "addr", "add", &format!("{VIP}/32"), "dev", LAN_IF]);
    ns.run(&[
        "ip",
        "addr",
        "add",
        &format!("{VIP6}/128"),
        "dev",
        LAN_IF,
        "nodad",
    ]);
    // The router's own ARP requests (to answer the host) must not name the VIP as sender with
    // the physical MAC, or the host re-learns the VIP at that MAC: the daemon sets this too.
    ns.run(&[
        "sysctl",
        "-qw",
        &format!("net.ipv4.conf.{LAN_IF}.arp_announce=2"),
    ]);

    let host_ns = &lab.nodes[host].ns;
    for vip in [VIP.to_string(), VIP6.to_string()] {
        host_ns.run(&["ping", "-c", "3", "-i", "0.05", "-W", "1", &vip]);
        let neighbour = host_ns.run(&["ip", "neigh", "show", &vip, "dev", LAN_IF]);
        let neighbour = String::from_utf8_lossy(&neighbour.stdout);
        let family = if vip.contains(':') {
            AddressFamily::Ipv6
        } else {
            AddressFamily::Ipv4
        };
        let vmac = mac_text(virtual_mac(family, VRID));
        assert!(
            neighbour.contains(&format!("lladdr {vmac}")),
            "{mode:?}: the host's neighbour entry for {vip} is not the virtual MAC {vmac}: \
             {neighbour}"
        );
    }
    // A router that forgot the host solicits it from the VIP it answers from, and the host
    // records that solicitation's source link-layer option for the VIP (RFC 4861 §7.2.3): it
    // must be the virtual MAC, or the host reaches the VIP at this router's own MAC and loses
    // it at the next failover.
    ns.run(&["ip", "-6", "neigh", "flush", "dev", LAN_IF]);
    host_ns.run(&[
        "ping",
        "-c",
        "3",
        "-i",
        "0.05",
        "-W",
        "1",
        &VIP6.to_string(),
    ]);
    let relearnt = ns.run(&[
        "ip",
        "-6",
        "neigh",
        "show",
        &lab.nodes[host].ipv6,
        "dev",
        LAN_IF,
    ]);
    assert!(
        String::from_utf8_lossy(&relearnt.stdout).contains("lladdr"),
        "{mode:?}: the router did not resolve the host again (no solicitation to check)"
    );
    let neighbour = host_ns.run(&["ip", "neigh", "show", &VIP6.to_string(), "dev", LAN_IF]);
    let neighbour = String::from_utf8_lossy(&neighbour.stdout);
    let vmac = mac_text(virtual_mac(AddressFamily::Ipv6, VRID));
    assert!(
        neighbour.contains(&format!("lladdr {vmac}")),
        "{mode:?}: after the router's solicitation from {VIP6} the host has {neighbour}"
    );
    let v4 = dataplane
        .instance_counters(AddressFamily::Ipv4, VRID)
        .unwrap();
    assert!(v4.get(Counter::ResolutionPassedMaster) >= 1, "{v4:?}");
    assert!(v4.get(Counter::ArpReplies) >= 1, "{v4:?}");
    assert!(v4.get(Counter::VmacAcceptedMaster) >= 3, "{v4:?}");
    let v6 = dataplane
        .instance_counters(AddressFamily::Ipv6, VRID)
        .unwrap();
    assert!(v6.get(Counter::NaReplies) >= 1, "{v6:?}");
    assert!(v6.get(Counter::VmacAcceptedMaster) >= 3, "{v6:?}");

    // Accept_Mode False holds for packets to the interface's own MAC too, on every hook.
    dataplane
        .set_instance(
            AddressFamily::Ipv4,
            VRID,
            &InstanceSettings {
                role: Role::Master,
                accept: false,
                master_address: IpAddr::V4(router_ip),
                master_priority: 100,
                master_interval_cs: 100,
                owner: false,
                heartbeat_timeout: TEST_HEARTBEAT_TIMEOUT,
                checksum_style: ChecksumStyle::Rfc9568,
                peers_listed: false,
                versions: vrrp_common::advert::VersionMode::V3,
            },
        )
        .unwrap();
    let router_mac = {
        let out = ns.run(&["cat", &format!("/sys/class/net/{LAN_IF}/address")]);
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    host_ns.run(&[
        "ip",
        "neigh",
        "replace",
        &VIP.to_string(),
        "lladdr",
        &router_mac,
        "dev",
        LAN_IF,
        "nud",
        "permanent",
    ]);
    let answered = host_ns
        .command(&["ping", "-c", "1", "-W", "1", &VIP.to_string()])
        .output()
        .expect("run ping")
        .status
        .success();
    assert!(
        !answered,
        "{mode:?}: a VIP without Accept_Mode answered at the physical MAC"
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
