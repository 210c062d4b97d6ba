//! Router Advertisements for an IPv6 virtual router (RFC 9568 §8.2.3, checklist C-23, C-53),
//! seen from a host whose kernel takes its default route from RAs (accept_ra = 1, forwarding
//! off): the route is via the link-local virtual address before and across a failover; only
//! the Master advertises; a resigning Master's last RA has router lifetime 0; a solicitation
//! is answered within MAX_RA_DELAY_TIME. Captured RAs are read field by field (RFC 4861 §4.2,
//! §4.6, RFC 4191, RFC 8106) and compared byte for byte with the codec's frame.

use std::{
    net::Ipv6Addr,
    path::Path,
    time::{Duration, Instant},
};

use vrrp_common::{
    checksum::ipv6_pseudo_header_checksum,
    router_advert::{
        ND_OPTION_DNSSL, ND_OPTION_MTU, ND_OPTION_PREFIX_INFORMATION, ND_OPTION_RDNSS, NdOptions,
        PrefixInformation, RouterAdvert, RouterPreference, build_router_advert,
        icmpv6_checksum_verifies,
    },
    wire::ND_OPTION_SOURCE_LINK_LAYER,
};
use vrrp_tests::{
    capture::{Capture, Captured},
    daemon::Daemon,
    lab::{LAN_IF, Lab},
    netns::NetNs,
    privilege::require_root,
    turn::{Share, Turn},
    vrrp::{Family, RouterSpec, VIPS6, VRID6},
    wait,
};

/// Process start to protocol start, and timer slack on a loaded 2-core machine.
const STARTUP: Duration = Duration::from_secs(3);
const TOLERANCE: Duration = Duration::from_millis(300);
/// RFC 4861 §10.
const MAX_RA_DELAY_TIME: Duration = Duration::from_millis(500);
const MIN_DELAY_BETWEEN_RAS: Duration = Duration::from_secs(3);

const VMAC: [u8; 6] = [0, 0, 0x5e, 0, 2, VRID6];
const ROUTER_LIFETIME_S: u16 = 1800;

/// The RA section every router gets: RFC 4861's default intervals (so after the initial
/// announcements 16 s apart nothing unsolicited comes for minutes, and an RA soon after a
/// solicitation is the answer), every option.
const RA_TOML: &str = "\n[instance.router_advertisement]\nmax_interval_s = 600\n\
    min_interval_s = 200\nrouter_lifetime_s = 1800\npreference = \"high\"\n\
    other_config = true\nmtu = 1400\n\
    prefixes = [{ prefix = \"2001:db8:1::/64\", valid_lifetime_s = 86400, \
    preferred_lifetime_s = 14400 }]\n\
    dns_servers = [\"2001:db8::53\"]\nsearch_domains = [\"example.com\"]\n\
    dns_lifetime_s = 1200\n";

fn spec(priority: u8) -> RouterSpec {
    RouterSpec {
        family: Family::V6,
        instance_extra: RA_TOML.to_owned(),
        ..RouterSpec::new(priority)
    }
}

fn start(ns: &NetNs, spec: &RouterSpec) -> Daemon {
    let bpffs = format!("/sys/fs/bpf/xvrrp-test-{}", ns.name());
    Daemon::start(ns, "xvrrp", &spec.config(&bpffs), Path::new(&bpffs))
}

fn link_local_vip() -> Ipv6Addr {
    VIPS6[0].parse().expect("VIP")
}

/// An RA on the wire, read field by field.
#[derive(Debug)]
struct SeenRa {
    at: Instant,
    outgoing: bool,
    router_lifetime_s: u16,
    frame: Vec<u8>,
}

/// The RA in `frame`, checked against RFC 4861 §4.2 / §6.1.2 and the configuration field by
/// field; `None` for anything that is not an RA. Panics on a malformed one.
fn router_advert(captured: &Captured) -> Option<SeenRa> {
    let frame = &captured.data;
    if frame.get(12..14) != Some(&[0x86, 0xdd]) || frame.get(20) != Some(&58) {
        return None;
    }
    if frame.get(54) != Some(&134) {
        return None;
    }
    let source = Ipv6Addr::from(<[u8; 16]>::try_from(&frame[22..38]).unwrap());
    let destination = Ipv6Addr::from(<[u8; 16]>::try_from(&frame[38..54]).unwrap());
    let payload_len = usize::from(u16::from_be_bytes([frame[18], frame[19]]));
    let message = &frame[54..54 + payload_len];
    assert_eq!(&frame[0..6], &[0x33, 0x33, 0, 0, 0, 1], "to all-nodes MAC");
    assert_eq!(&frame[6..12], &VMAC, "Ethernet source is the virtual MAC");
    assert_eq!(frame[21], 255, "hop limit 255 (RFC 4861 §6.1.2)");
    assert_eq!(
        source,
        link_local_vip(),
        "from the link-local virtual address"
    );
    assert_eq!(destination, "ff02::1".parse::<Ipv6Addr>().unwrap());
    assert!(
        icmpv6_checksum_verifies(&source, &destination, message),
        "ICMPv6 checksum (RFC 4443 §2.3)"
    );
    assert_eq!(message[1], 0, "code 0");
    assert_eq!(message[4], 64, "Cur Hop Limit");
    let router_lifetime_s = u16::from_be_bytes([message[6], message[7]]);
    // O=1, M=0; preference High (01) unless the lifetime is 0 (RFC 4191 §2.2: then 00).
    let preference = if router_lifetime_s == 0 { 0x00 } else { 0x08 };
    assert_eq!(message[5], 0x40 | preference, "flags");
    assert_eq!(&message[8..16], &[0; 8], "reachable time, retrans timer");
    let mut kinds = Vec::new();
    for option in NdOptions::new(&message[16..]) {
        let option = option.expect("well-formed options");
        kinds.push(option.kind);
        match option.kind {
            ND_OPTION_SOURCE_LINK_LAYER => assert_eq!(option.body, &VMAC, "SLLA = vMAC"),
            ND_OPTION_MTU => assert_eq!(option.body, &[0, 0, 0, 0, 0x05, 0x78], "MTU 1400"),
            ND_OPTION_PREFIX_INFORMATION => {
                assert_eq!(option.body[0], 64, "prefix length");
                assert_eq!(option.body[1], 0xc0, "L and A");
                assert_eq!(&option.body[2..6], &86_400u32.to_be_bytes(), "valid");
                assert_eq!(&option.body[6..10], &14_400u32.to_be_bytes(), "preferred");
                assert_eq!(&option.body[10..14], &[0; 4], "reserved");
                let prefix: Ipv6Addr = "2001:db8:1::".parse().unwrap();
                assert_eq!(&option.body[14..30], &prefix.octets(), "prefix");
            }
            ND_OPTION_RDNSS => {
                assert_eq!(&option.body[2..6], &1200u32.to_be_bytes(), "RDNSS lifetime");
                let server: Ipv6Addr = "2001:db8::53".parse().unwrap();
                assert_eq!(&option.body[6..], &server.octets(), "RDNSS server");
            }
            ND_OPTION_DNSSL => {
                assert_eq!(&option.body[2..6], &1200u32.to_be_bytes(), "DNSSL lifetime");
                assert_eq!(&option.body[6..19], b"\x07example\x03com\x00", "DNSSL name");
                assert!(option.body[19..].iter().all(|byte| *byte == 0), "padding");
            }
            other => panic!("unexpected option {other}"),
        }
    }
    assert_eq!(
        kinds,
        [
            ND_OPTION_SOURCE_LINK_LAYER,
            ND_OPTION_MTU,
            ND_OPTION_PREFIX_INFORMATION,
            ND_OPTION_RDNSS,
            ND_OPTION_DNSSL
        ]
    );
    Some(SeenRa {
        at: captured.at,
        outgoing: captured.outgoing,
        router_lifetime_s,
        frame: frame[..54 + payload_len].to_vec(),
    })
}

fn router_adverts(capture: &Capture) -> Vec<SeenRa> {
    capture.frames().iter().filter_map(router_advert).collect()
}

/// The frame the codec builds for this configuration, for the byte-for-byte comparison.
fn expected_frame(router_lifetime_s: u16) -> Vec<u8> {
    let prefixes = [PrefixInformation {
        prefix: "2001:db8:1::".parse().unwrap(),
        length: 64,
        on_link: true,
        autonomous: true,
        valid_lifetime_s: 86_400,
        preferred_lifetime_s: 14_400,
    }];
    let servers = ["2001:db8::53".parse().unwrap()];
    let advert = RouterAdvert {
        cur_hop_limit: 64,
        managed: false,
        other_config: true,
        preference: RouterPreference::High,
        router_lifetime_s,
        reachable_time_ms: 0,
        retrans_timer_ms: 0,
        mtu: Some(1400),
        prefixes: &prefixes,
        dns_servers: (1200, &servers),
        search_domains: (1200, &["example.com"]),
    };
    let mut frame = vec![0; 1500];
    let len = build_router_advert(&mut frame, VRID6, &link_local_vip(), &advert).unwrap();
    frame.truncate(len);
    frame
}

/// The host's default routes, as `ip -6 route` prints them.
fn default_route(host: &NetNs) -> String {
    let out = host.run(&["ip", "-6", "route", "show", "default"]);
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn routes_via_vip(host: &NetNs) -> bool {
    default_route(host).contains(&format!("via {} dev {LAN_IF}", VIPS6[0]))
}

/// A Router Solicitation from `mac` / `source` to `destination` at `destination_mac`, with a
/// Source Link-Layer Address option (RFC 4861 §4.1).
fn router_solicitation(
    mac: [u8; 6],
    source: &Ipv6Addr,
    destination_mac: [u8; 6],
    destination: &Ipv6Addr,
) -> Vec<u8> {
    let mut message = vec![133, 0, 0, 0, 0, 0, 0, 0, 1, 1];
    message.extend_from_slice(&mac);
    let checksum = ipv6_pseudo_header_checksum(source, destination, 58, &message);
    message[2..4].copy_from_slice(&checksum.to_be_bytes());
    let mut frame = destination_mac.to_vec();
    frame.extend_from_slice(&mac);
    frame.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0]);
    frame.extend_from_slice(&u16::try_from(message.len()).unwrap().to_be_bytes());
    frame.extend_from_slice(&[58, 255]);
    frame.extend_from_slice(&source.octets());
    frame.extend_from_slice(&destination.octets());
    frame.extend_from_slice(&message);
    frame
}

/// Injects `solicitation` from the host once MIN_DELAY_BETWEEN_RAS has passed since the last
/// RA it saw, and returns the RA that answers it, checked to come within MAX_RA_DELAY_TIME.
fn answer_to(on_host: &Capture, host: &NetNs, solicitation: Vec<u8>) -> SeenRa {
    let last = router_adverts(on_host)
        .last()
        .map(|ra| ra.at)
        .expect("an RA");
    std::thread::sleep((last + MIN_DELAY_BETWEEN_RAS).saturating_duration_since(Instant::now()));
    let solicited_at = Instant::now();
    vrrp_tests::capture::inject(host, LAN_IF, &[solicitation], Duration::ZERO);
    let answer = wait::until(
        "an RA answering the solicitation",
        MAX_RA_DELAY_TIME + TOLERANCE,
        Duration::from_millis(10),
        || {
            router_adverts(on_host)
                .into_iter()
                .find(|ra| ra.at >= solicited_at)
        },
    );
    assert!(answer.at - solicited_at <= MAX_RA_DELAY_TIME + TOLERANCE);
    answer
}

fn mac_of(ns: &NetNs) -> [u8; 6] {
    let out = ns.run(&["cat", &format!("/sys/class/net/{LAN_IF}/address")]);
    let text = String::from_utf8_lossy(&out.stdout);
    let bytes: Vec<u8> = text
        .trim()
        .split(':')
        .map(|byte| u8::from_str_radix(byte, 16).expect("MAC"))
        .collect();
    bytes.try_into().expect("6 bytes")
}

fn wait_route_via_vip(host: &NetNs, timeout: Duration) {
    wait::until(
        "the host's default route via the link-local VIP",
        timeout,
        Duration::from_millis(50),
        || routes_via_vip(host).then_some(()),
    );
}

#[test]
fn hosts_route_via_the_link_local_vip_learnt_from_the_masters_router_advertisements() {
    let test = "hosts_route_via_the_link_local_vip_learnt_from_the_masters_router_advertisements";
    if !require_root(test) {
        return;
    }
    let _turn = Turn::take(Share::Alongside);
    let mut lab = Lab::new();
    let r1 = lab.add_node("ra-r1", 1);
    let r2 = lab.add_node("ra-r2", 2);
    let host = lab.add_node("ra-h", 10);
    let host_ns = &lab.nodes[host].ns;
    // A host: takes its default router from RAs.
    for setting in ["forwarding=0", "accept_ra=1", "accept_ra_defrtr=1"] {
        host_ns.run(&[
            "sysctl",
            "-qw",
            &format!("net.ipv6.conf.{LAN_IF}.{setting}"),
        ]);
    }
    let on_host = Capture::start(host_ns, LAN_IF);
    let on_r1 = Capture::start(&lab.nodes[r1].ns, LAN_IF);
    let on_r2 = Capture::start(&lab.nodes[r2].ns, LAN_IF);
    let (master, backup) = (spec(200), spec(100));
    let mut d1 = start(&lab.nodes[r1].ns, &master);
    lab.nodes[r1].link_local();
    let mut d2 = start(&lab.nodes[r2].ns, &backup);
    lab.nodes[r2].link_local();

    // Before a failover: the Master's RA gives the host its default route via the VIP.
    wait_route_via_vip(host_ns, STARTUP + master.master_down_interval() + TOLERANCE);
    let first = router_adverts(&on_host);
    let first = first.first().expect("an RA reached the host");
    assert_eq!(first.router_lifetime_s, ROUTER_LIFETIME_S);
    assert_eq!(
        first.frame,
        expected_frame(ROUTER_LIFETIME_S),
        "byte for byte"
    );
    assert!(
        default_route(host_ns).contains("pref high"),
        "RFC 4191 preference: {}",
        default_route(host_ns)
    );

    // A solicitation, to ff02::2 or to the link-local VIP at the virtual MAC, is answered
    // within MAX_RA_DELAY_TIME (once MIN_DELAY_BETWEEN_RAS has passed since the last RA): the
    // next unsolicited one is 16 s away.
    let host_link_local: Ipv6Addr = lab.nodes[host].link_local().parse().unwrap();
    let host_mac = mac_of(host_ns);
    let all_routers = "ff02::2".parse().unwrap();
    let to_all_routers = router_solicitation(
        host_mac,
        &host_link_local,
        [0x33, 0x33, 0, 0, 0, 2],
        &all_routers,
    );
    answer_to(&on_host, host_ns, to_all_routers);
    let to_vip = router_solicitation(host_mac, &host_link_local, VMAC, &link_local_vip());
    answer_to(&on_host, host_ns, to_vip);
    let from_backup = |capture: &Capture| {
        router_adverts(capture)
            .into_iter()
            .filter(|ra| ra.outgoing)
            .count()
    };
    // C-23: the Backup sent none, not even for the solicitation.
    assert_eq!(from_backup(&on_r2), 0, "the Backup sent an RA");
    assert!(from_backup(&on_r1) >= 2, "the Master's RAs");
    // Status counts them: the Master's announcements and at least the two solicitations (the
    // host's kernel may have sent its own), nothing on the Backup.
    let counted =
        |daemon: &Daemon| super::advert_filters::lan_status(daemon)["router_adverts"].clone();
    let (on_master, on_backup) = (counted(&d1), counted(&d2));
    assert!(on_master["announced"].as_u64() >= Some(2), "{on_master}");
    assert!(
        on_master["solicitations"].as_u64() >= Some(2),
        "{on_master}"
    );
    assert_eq!(on_backup["announced"], 0, "{on_backup}");

    // SIGKILL of the Master: the Backup takes over and announces itself with an RA; the
    // host's default route never goes away.
    let killed_at = Instant::now();
    d1.signal(libc::SIGKILL);
    // Killed by the signal: no exit code.
    let _killed = d1.wait_exit(Duration::from_secs(5));
    drop(d1);
    let takeover_bound = backup.master_down_interval() + TOLERANCE;
    let mut route_lost = None;
    let takeover_ra = wait::until(
        "r2's RA after the takeover",
        takeover_bound + TOLERANCE,
        Duration::from_millis(20),
        || {
            if !routes_via_vip(host_ns) {
                route_lost.get_or_insert_with(|| default_route(host_ns));
            }
            router_adverts(&on_r2).into_iter().find(|ra| ra.outgoing)
        },
    );
    assert!(takeover_ra.at - killed_at <= takeover_bound + TOLERANCE);
    assert_eq!(takeover_ra.router_lifetime_s, ROUTER_LIFETIME_S);
    assert_eq!(
        route_lost, None,
        "the default route went away across the failover"
    );
    assert!(routes_via_vip(host_ns));

    // r1 comes back with the higher priority and preempts: r2 steps down for a better Master
    // and sends no final RA (it would withdraw the virtual router r1 just announced).
    on_r1.clear();
    on_r2.clear();
    let mut d1 = start(&lab.nodes[r1].ns, &master);
    wait::until(
        "r1's RA after preempting",
        STARTUP + master.master_down_interval() + TOLERANCE,
        Duration::from_millis(20),
        || router_adverts(&on_r1).into_iter().find(|ra| ra.outgoing),
    );
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        router_adverts(&on_r2).iter().all(|ra| !ra.outgoing),
        "r2 sent an RA after stepping down"
    );
    assert!(routes_via_vip(host_ns));

    // SIGTERM of the Master: its last RA has router lifetime 0 (RFC 4861 §6.2.5), and the
    // Backup's takeover RA gives the host its route back.
    on_host.clear();
    on_r2.clear();
    d1.signal(libc::SIGTERM);
    assert_eq!(d1.wait_exit(Duration::from_secs(5)), Some(0));
    let final_ra = router_adverts(&on_r1)
        .into_iter()
        .rfind(|ra| ra.outgoing)
        .expect("r1's RAs");
    assert_eq!(final_ra.router_lifetime_s, 0, "final RA lifetime");
    assert_eq!(final_ra.frame, expected_frame(0), "final RA byte for byte");
    wait::until(
        "the final RA at the host",
        Duration::from_secs(1),
        Duration::from_millis(10),
        || {
            router_adverts(&on_host)
                .into_iter()
                .find(|ra| ra.router_lifetime_s == 0)
        },
    );
    wait::until(
        "r2's takeover RA",
        backup.master_down_interval() + TOLERANCE,
        Duration::from_millis(10),
        || {
            router_adverts(&on_r2)
                .into_iter()
                .find(|ra| ra.outgoing && ra.router_lifetime_s == ROUTER_LIFETIME_S)
        },
    );
    wait_route_via_vip(host_ns, TOLERANCE);
    d2.signal(libc::SIGTERM);
    assert_eq!(d2.wait_exit(Duration::from_secs(5)), Some(0));
}

#[test]
fn a_reload_turns_router_advertisements_on_and_a_demote_withdraws_the_router() {
    let test = "a_reload_turns_router_advertisements_on_and_a_demote_withdraws_the_router";
    if !require_root(test) {
        return;
    }
    let _turn = Turn::take(Share::Alongside);
    let mut lab = Lab::new();
    let r1 = lab.add_node("ra-r1", 1);
    let host = lab.add_node("ra-h", 10);
    let host_ns = &lab.nodes[host].ns;
    for setting in ["forwarding=0", "accept_ra=1", "accept_ra_defrtr=1"] {
        host_ns.run(&[
            "sysctl",
            "-qw",
            &format!("net.ipv6.conf.{LAN_IF}.{setting}"),
        ]);
    }
    let on_host = Capture::start(host_ns, LAN_IF);
    let r1_ns = &lab.nodes[r1].ns;
    let silent = RouterSpec {
        family: Family::V6,
        ..RouterSpec::new(200)
    };
    let bpffs = format!("/sys/fs/bpf/xvrrp-test-{}", r1_ns.name());
    let mut d1 = Daemon::start(r1_ns, "xvrrp", &silent.config(&bpffs), Path::new(&bpffs));
    let link_local = lab.nodes[r1].link_local();
    wait::until(
        "r1 to advertise as Master",
        STARTUP + silent.master_down_interval() + TOLERANCE,
        Duration::from_millis(20),
        || {
            vrrp_tests::vrrp::adverts_from(&on_host.frames(), &link_local)
                .first()
                .map(|advert| advert.at)
        },
    );
    // Without the table: no RAs, no default route.
    std::thread::sleep(Duration::from_millis(300));
    assert!(router_adverts(&on_host).is_empty(), "RAs without the table");
    assert!(!routes_via_vip(host_ns));

    // SIGHUP with the table: the Master announces at once.
    std::fs::write(d1.config_path(), spec(200).config(&bpffs)).expect("rewrite config");
    let reloaded_at = Instant::now();
    d1.signal(libc::SIGHUP);
    let announced = wait::until(
        "an RA after the reload",
        Duration::from_secs(2),
        Duration::from_millis(10),
        || router_adverts(&on_host).into_iter().next(),
    );
    assert!(announced.at - reloaded_at <= Duration::from_secs(2));
    assert_eq!(announced.router_lifetime_s, ROUTER_LIFETIME_S);
    wait_route_via_vip(host_ns, Duration::from_secs(1));

    // Demote: the virtual router leaves the link (no Backup here), so the final RA with
    // router lifetime 0 makes the host drop the route at once.
    on_host.clear();
    let (ok, _, stderr) = crate::operations::cli(&d1.control_socket(), &["demote", "lan"]);
    assert!(ok, "demote: {stderr}");
    wait::until(
        "the final RA after the demote",
        Duration::from_secs(1),
        Duration::from_millis(10),
        || {
            router_adverts(&on_host)
                .into_iter()
                .find(|ra| ra.router_lifetime_s == 0)
        },
    );
    wait::until(
        "the host to drop the default route",
        Duration::from_secs(1),
        Duration::from_millis(20),
        || (!routes_via_vip(host_ns)).then_some(()),
    );
    // A demoted router stays silent.
    on_host.clear();
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        router_adverts(&on_host).is_empty(),
        "RAs from a demoted router"
    );
    d1.signal(libc::SIGTERM);
    assert_eq!(d1.wait_exit(Duration::from_secs(5)), Some(0));
}
