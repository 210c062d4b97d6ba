//! The XDP program's verdicts through BPF_PROG_TEST_RUN on the real kernel, one test per
//! verdict: action, output frame (byte for byte where the program writes one) and counters.

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    time::Duration,
};

use vrrp_common::{
    advert::{Advert as DecodedAdvert, ChecksumStyle, IpContext, VersionMode},
    counters::Counter,
    event::ring_footprint,
    maps::{AddressFamily, EVENTS_RING_BYTES, Role},
};
use vrrp_tests::xdp::TEST_HEARTBEAT_TIMEOUT;
use vrrp_tests::{
    bad_adverts::{Sender, bad_adverts},
    frames::{
        self, Advert, HOST_MAC, ROUTER_MAC, VRRP_GROUP_V4, VRRP_GROUP_V6, advert_v2_frame,
        arp_reply, arp_request, echo_v4, neighbor_advertisement, neighbor_solicitation,
    },
    privilege::require_root,
    vrrp::Family,
    xdp::{XdpUnderTest, io_runtime, test_instance},
};
use vrrp_user::dataplane::{
    CounterValues, IngressHook, InstanceSettings, monotonic_now, virtual_mac,
};

const XDP_DROP: u32 = 1;
const XDP_PASS: u32 = 2;

const VRID: u8 = 7;
const VIP4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 100);
const ROUTER4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const HOST4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
const PEER4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
const PEER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];

fn vip6() -> Ipv6Addr {
    "2001:db8::100".parse().unwrap()
}
fn host6() -> Ipv6Addr {
    "2001:db8::a".parse().unwrap()
}
fn peer6() -> Ipv6Addr {
    "fe80::2".parse().unwrap()
}

/// Virtual router VRID in both families, with the peer as Master at priority 200, 1 s.
fn configure(xdp: &mut XdpUnderTest, role: Role, accept: bool) {
    configure_speaking(xdp, role, accept, VersionMode::V3);
}

/// [`configure`] with the IPv4 instance speaking `versions` (IPv6 always speaks VRRPv3).
fn configure_speaking(xdp: &mut XdpUnderTest, role: Role, accept: bool, versions: VersionMode) {
    for (family, master) in [
        (AddressFamily::Ipv4, IpAddr::V4(PEER4)),
        (AddressFamily::Ipv6, IpAddr::V6(peer6())),
    ] {
        xdp.dataplane
            .set_instance(
                family,
                VRID,
                &InstanceSettings {
                    versions: match family {
                        AddressFamily::Ipv4 => versions,
                        AddressFamily::Ipv6 => VersionMode::V3,
                    },
                    ..test_instance(role, accept, master)
                },
            )
            .unwrap();
    }
    xdp.dataplane.add_vip(IpAddr::V4(VIP4), VRID).unwrap();
    xdp.dataplane.add_vip(IpAddr::V6(vip6()), VRID).unwrap();
}

/// The codec's view of a record the program delivered.
fn decode_delivered(
    delivered: &vrrp_user::dataplane::DeliveredAdvert,
) -> Result<DecodedAdvert<'_>, vrrp_common::advert::DecodeError> {
    let context = match (delivered.source, delivered.destination) {
        (IpAddr::V4(source), IpAddr::V4(destination)) => IpContext::V4 {
            source,
            destination,
            ttl: 255,
        },
        (IpAddr::V6(source), IpAddr::V6(destination)) => IpContext::V6 {
            source,
            destination,
            hop_limit: 255,
        },
        _ => panic!("a record with mixed families"),
    };
    DecodedAdvert::decode_message(&delivered.message, context)
}

/// Counter deltas since `before`, as (counter, delta) for every counter that moved.
fn moved(before: &CounterValues, after: &CounterValues) -> Vec<(Counter, u64)> {
    Counter::ALL
        .iter()
        .filter_map(|counter| {
            let delta = after.get(*counter) - before.get(*counter);
            (delta != 0).then_some((*counter, delta))
        })
        .collect()
}

/// Runs `frame` and checks the action and exactly which global counters moved.
fn expect(
    xdp: &mut XdpUnderTest,
    case: &str,
    frame: &[u8],
    action: u32,
    counters: &[(Counter, u64)],
) -> Vec<u8> {
    let before = xdp.dataplane.counters().unwrap();
    let verdict = xdp.run(frame);
    let after = xdp.dataplane.counters().unwrap();
    assert_eq!(verdict.action, action, "{case}: XDP action");
    assert_eq!(moved(&before, &after), counters, "{case}: counters");
    verdict.frame
}

#[test]
fn transit_frames_pass_untouched_without_counting() {
    if !require_root("transit_frames_pass_untouched_without_counting") {
        return;
    }
    let mut xdp = XdpUnderTest::new();
    assert_eq!(xdp.dataplane.ingress_hook(), IngressHook::GenericXdp);
    configure(&mut xdp, Role::Master, true);
    let cases = [
        ("IPv4 UDP", frames::udp_v4(64)),
        ("IPv6 UDP", frames::udp_v6(64)),
        (
            "ARP for the router's own address",
            arp_request(HOST_MAC, HOST4, ROUTER4),
        ),
        ("echo to the physical MAC", echo_v4(ROUTER_MAC, ROUTER4)),
        (
            "NS for a non-VIP",
            neighbor_solicitation(HOST_MAC, host6(), "2001:db8::1".parse().unwrap()),
        ),
    ];
    for (case, frame) in cases {
        let out = expect(&mut xdp, case, &frame, XDP_PASS, &[]);
        assert_eq!(out, frame, "{case}: frame modified");
    }
}

#[test]
fn truncated_headers_pass_and_count_a_parse_error() {
    if !require_root("truncated_headers_pass_and_count_a_parse_error") {
        return;
    }
    let mut xdp = XdpUnderTest::new();
    // EtherType IPv4 but only 5 bytes of IP header: the protocol byte is missing.
    let mut frame = frames::udp_v4(0);
    frame.truncate(19);
    let out = expect(
        &mut xdp,
        "truncated IPv4",
        &frame,
        XDP_PASS,
        &[(Counter::ParseErrors, 1)],
    );
    assert_eq!(out, frame);
}

/// The daemon battery's table (`vrrp_tests::bad_adverts`) frame by frame: each lands in the
/// counter the battery expects, and only there.
#[test]
fn every_bad_advert_of_the_shared_table_is_counted_by_reason() {
    if !require_root("every_bad_advert_of_the_shared_table_is_counted_by_reason") {
        return;
    }
    let mut xdp = XdpUnderTest::new();
    configure(&mut xdp, Role::Backup, false);
    let winning = Advert::new(VRID, 254);
    for sender in [
        Sender::V4 {
            mac: PEER_MAC,
            source: PEER4,
            vip: VIP4,
        },
        Sender::V6 {
            mac: PEER_MAC,
            source: peer6(),
            vip: vip6(),
        },
    ] {
        let family = sender.family();
        for case in bad_adverts().iter().filter(|case| case.applies_to(family)) {
            let (action, counters) = match case.counter {
                // Not an advert the program can parse, or not one at all: the kernel's.
                None => (XDP_PASS, vec![]),
                Some(Counter::ParseErrors) => (XDP_PASS, vec![(Counter::ParseErrors, 1)]),
                // An IPv4 version 2 advert also goes to the daemon, which reports the peer.
                Some(Counter::InvalidVersion)
                    if family == Family::V4 && case.name.starts_with("version 2") =>
                {
                    (
                        XDP_DROP,
                        vec![
                            (Counter::AdvertsReceived, 1),
                            (Counter::AdvertsToUserspace, 1),
                            (Counter::InvalidVersion, 1),
                        ],
                    )
                }
                Some(counter) => (XDP_DROP, vec![(Counter::AdvertsReceived, 1), (counter, 1)]),
            };
            for frame in (case.frames)(&sender, &winning) {
                expect(
                    &mut xdp,
                    &format!("{family:?} {}", case.name),
                    &frame,
                    action,
                    &counters,
                );
            }
        }
    }
}

#[test]
fn malformed_adverts_are_dropped_and_counted_by_reason() {
    if !require_root("malformed_adverts_are_dropped_and_counted_by_reason") {
        return;
    }
    let mut xdp = XdpUnderTest::new();
    configure(&mut xdp, Role::Backup, false);
    let valid = Advert::new(VRID, 200);
    let cases: Vec<(&str, Advert, Counter)> = vec![
        (
            "TTL 254",
            Advert {
                ttl: 254,
                ..valid.clone()
            },
            Counter::InvalidTtl,
        ),
        (
            "version 2",
            Advert {
                version: 2,
                ..valid.clone()
            },
            Counter::InvalidVersion,
        ),
        (
            "type 2",
            Advert {
                kind: 2,
                ..valid.clone()
            },
            Counter::InvalidType,
        ),
        (
            "count 3, one address",
            Advert {
                count: 3,
                ..valid.clone()
            },
            Counter::InvalidLength,
        ),
        (
            "bad checksum",
            Advert {
                checksum_error: 0x5a5a,
                ..valid.clone()
            },
            Counter::InvalidChecksum,
        ),
        (
            "unknown VRID",
            Advert {
                vrid: VRID + 1,
                ..valid.clone()
            },
            Counter::UnknownVrid,
        ),
        (
            "interval 0",
            Advert {
                interval_cs: 0,
                ..valid.clone()
            },
            Counter::ZeroInterval,
        ),
    ];
    for (case, advert, reason) in &cases {
        let frame = advert.frame_v4(PEER_MAC, PEER4, &[VIP4]);
        let counters = [(Counter::AdvertsReceived, 1), (*reason, 1)];
        // An IPv4 version 2 advert also goes to the daemon, which reports the VRRPv2 peer.
        let counters4 = if *reason == Counter::InvalidVersion {
            vec![counters[0], (Counter::AdvertsToUserspace, 1), counters[1]]
        } else {
            counters.to_vec()
        };
        expect(
            &mut xdp,
            &format!("IPv4 {case}"),
            &frame,
            XDP_DROP,
            &counters4,
        );
        let frame = advert.frame_v6(PEER_MAC, peer6(), &[vip6()]);
        expect(
            &mut xdp,
            &format!("IPv6 {case}"),
            &frame,
            XDP_DROP,
            &counters,
        );
    }
    // Longer than its count implies: discarded, as the codec does (shared `check_header`).
    expect(
        &mut xdp,
        "IPv4 count 1, two addresses",
        &valid.frame_v4(PEER_MAC, PEER4, &[VIP4, VIP4]),
        XDP_DROP,
        &[(Counter::AdvertsReceived, 1), (Counter::InvalidLength, 1)],
    );
    expect(
        &mut xdp,
        "IPv6 count 1, two addresses",
        &valid.frame_v6(PEER_MAC, peer6(), &[vip6(), vip6()]),
        XDP_DROP,
        &[(Counter::AdvertsReceived, 1), (Counter::InvalidLength, 1)],
    );
    // RFC 9568 §5.2.5: count 0 (and no addresses) is ignored.
    let empty = Advert { count: 0, ..valid };
    expect(
        &mut xdp,
        "count 0",
        &empty.frame_v4(PEER_MAC, PEER4, &[]),
        XDP_DROP,
        &[(Counter::AdvertsReceived, 1), (Counter::InvalidLength, 1)],
    );
    // Nothing reached the daemon but the version 2 advert (a peer to report).
    let instance = xdp
        .dataplane
        .instance_counters(AddressFamily::Ipv4, VRID)
        .unwrap();
    assert_eq!(instance.get(Counter::AdvertsToUserspace), 1);
}

#[test]
fn routine_advert_is_absorbed_and_stamps_last_seen() {
    if !require_root("routine_advert_is_absorbed_and_stamps_last_seen") {
        return;
    }
    let runtime = io_runtime();
    let _runtime = runtime.enter();
    let mut xdp = XdpUnderTest::new();
    let mut events = xdp.dataplane.take_events().unwrap();
    configure(&mut xdp, Role::Backup, false);
    for (family, frame) in [
        (
            AddressFamily::Ipv4,
            Advert::new(VRID, 200).frame_v4(PEER_MAC, PEER4, &[VIP4]),
        ),
        (
            AddressFamily::Ipv6,
            Advert::new(VRID, 200).frame_v6(PEER_MAC, peer6(), &[vip6()]),
        ),
    ] {
        let written = xdp.dataplane.master_last_seen(family, VRID);
        // Longer than a coarse-clock tick (the kernel stamps with CLOCK_MONOTONIC_COARSE).
        std::thread::sleep(Duration::from_millis(20));
        let before_run = monotonic_now();
        expect(
            &mut xdp,
            &format!("{family:?} routine"),
            &frame,
            XDP_DROP,
            &[(Counter::AdvertsReceived, 1), (Counter::AdvertsAbsorbed, 1)],
        );
        let stamped = xdp.dataplane.master_last_seen(family, VRID);
        let tick = Duration::from_millis(10);
        assert!(
            stamped + tick >= before_run && stamped > written,
            "{family:?}: last seen {stamped:?}, written {written:?}, run at {before_run:?}"
        );
        let instance = xdp.dataplane.instance_counters(family, VRID).unwrap();
        assert_eq!(instance.get(Counter::AdvertsAbsorbed), 1, "{family:?}");
    }
    assert_eq!(events.try_next(), None, "a routine advert woke userspace");
}

/// VRRPv2 for an instance with `version = 2` or `"2+3"`: the followed Master's routine v2
/// adverts are absorbed like v3 ones (1 s is 100 cs in the record), others are delivered,
/// auth types 1 and 2 are dropped and counted; a v2-only instance drops VRRPv3.
#[test]
fn v2_adverts_take_the_v3_path_for_instances_that_speak_v2() {
    if !require_root("v2_adverts_take_the_v3_path_for_instances_that_speak_v2") {
        return;
    }
    let runtime = io_runtime();
    let _runtime = runtime.enter();
    for versions in [VersionMode::V2, VersionMode::V2AndV3] {
        let mut xdp = XdpUnderTest::new();
        let mut events = xdp.dataplane.take_events().unwrap();
        configure_speaking(&mut xdp, Role::Backup, false, versions);
        let routine = advert_v2_frame(PEER_MAC, PEER4, VRID, 200, 1, &[VIP4]);
        expect(
            &mut xdp,
            "v2 routine",
            &routine,
            XDP_DROP,
            &[(Counter::AdvertsReceived, 1), (Counter::AdvertsAbsorbed, 1)],
        );
        assert_eq!(
            events.try_next(),
            None,
            "a routine v2 advert woke userspace"
        );
        let higher = advert_v2_frame(PEER_MAC, PEER4, VRID, 250, 1, &[VIP4]);
        expect(
            &mut xdp,
            "v2 non-routine",
            &higher,
            XDP_DROP,
            &[
                (Counter::AdvertsReceived, 1),
                (Counter::AdvertsToUserspace, 1),
            ],
        );
        let delivered = events.try_next().expect("the v2 advert was delivered");
        assert_eq!(delivered.message, higher[34..].to_vec());
        let mut simple_text = routine.clone();
        // Auth type 1, the checksum (over the message alone) adjusted by the same word.
        simple_text[38] = 1;
        let checksum = u16::from_be_bytes([simple_text[40], simple_text[41]]);
        let (sum, carry) = checksum.overflowing_sub(0x0100);
        let checksum = if carry { sum - 1 } else { sum };
        simple_text[40..42].copy_from_slice(&checksum.to_be_bytes());
        expect(
            &mut xdp,
            "v2 auth type 1",
            &simple_text,
            XDP_DROP,
            &[
                (Counter::AdvertsReceived, 1),
                (Counter::AuthTypeMismatch, 1),
            ],
        );
        let v3 = Advert::new(VRID, 200).frame_v4(PEER_MAC, PEER4, &[VIP4]);
        let v3_counter = if versions == VersionMode::V2 {
            Counter::InvalidVersion
        } else {
            Counter::AdvertsAbsorbed
        };
        expect(
            &mut xdp,
            "v3 advert",
            &v3,
            XDP_DROP,
            &[(Counter::AdvertsReceived, 1), (v3_counter, 1)],
        );
        assert_eq!(events.try_next(), None, "{versions:?}");
    }
}

#[test]
fn non_routine_adverts_are_delivered_to_userspace() {
    if !require_root("non_routine_adverts_are_delivered_to_userspace") {
        return;
    }
    let runtime = io_runtime();
    let _runtime = runtime.enter();
    let mut xdp = XdpUnderTest::new();
    let mut events = xdp.dataplane.take_events().unwrap();
    configure(&mut xdp, Role::Backup, false);
    let other4 = Ipv4Addr::new(192, 0, 2, 3);
    let cases: Vec<(&str, Advert, IpAddr)> = vec![
        ("another router", Advert::new(VRID, 200), IpAddr::V4(other4)),
        ("priority change", Advert::new(VRID, 150), IpAddr::V4(PEER4)),
        (
            "resignation (priority 0)",
            Advert::new(VRID, 0),
            IpAddr::V4(PEER4),
        ),
        (
            "interval change",
            Advert {
                interval_cs: 50,
                ..Advert::new(VRID, 200)
            },
            IpAddr::V4(PEER4),
        ),
        (
            "IPv6 new Master",
            Advert::new(VRID, 250),
            IpAddr::V6("fe80::3".parse().unwrap()),
        ),
    ];
    for (case, advert, source) in cases {
        let (frame, message, family, destination) = match source {
            IpAddr::V4(source) => (
                advert.frame_v4(PEER_MAC, source, &[VIP4]),
                advert.message_v4(source, &[VIP4]),
                AddressFamily::Ipv4,
                IpAddr::V4(VRRP_GROUP_V4),
            ),
            IpAddr::V6(source) => (
                advert.frame_v6(PEER_MAC, source, &[vip6()]),
                advert.message_v6(source, &[vip6()]),
                AddressFamily::Ipv6,
                IpAddr::V6(VRRP_GROUP_V6),
            ),
        };
        let before = monotonic_now();
        expect(
            &mut xdp,
            case,
            &frame,
            XDP_DROP,
            &[
                (Counter::AdvertsReceived, 1),
                (Counter::AdvertsToUserspace, 1),
            ],
        );
        let after = monotonic_now();
        let delivered = events
            .try_next()
            .unwrap_or_else(|| panic!("{case}: no record"));
        assert_eq!(delivered.ifindex, xdp.dataplane.ifindex(), "{case}");
        assert_eq!(delivered.family, family, "{case}");
        assert_eq!(delivered.source, source, "{case}");
        assert_eq!(delivered.destination, destination, "{case}");
        assert_eq!(delivered.message, message, "{case}");
        let decoded = decode_delivered(&delivered)
            .unwrap_or_else(|err| panic!("{case}: the codec rejects the record: {err}"));
        assert_eq!(decoded.priority(), advert.priority, "{case}");
        assert_eq!(
            decoded.max_advert_interval_cs(),
            advert.interval_cs,
            "{case}"
        );
        assert!(
            (before..=after).contains(&delivered.received),
            "{case}: received {:?} outside [{before:?}, {after:?}]",
            delivered.received
        );
        assert_eq!(events.try_next(), None, "{case}: more than one record");
    }
    // While Master every advert goes up, even one that matches the stored Master exactly.
    configure(&mut xdp, Role::Master, false);
    expect(
        &mut xdp,
        "advert while Master",
        &Advert::new(VRID, 200).frame_v4(PEER_MAC, PEER4, &[VIP4]),
        XDP_DROP,
        &[
            (Counter::AdvertsReceived, 1),
            (Counter::AdvertsToUserspace, 1),
        ],
    );
    assert!(events.try_next().is_some());
}

#[test]
fn vmac_frames_are_dropped_in_backup_and_rewritten_in_master() {
    if !require_root("vmac_frames_are_dropped_in_backup_and_rewritten_in_master") {
        return;
    }
    let mut xdp = XdpUnderTest::new();
    let vmac = virtual_mac(AddressFamily::Ipv4, VRID);
    let to_vip = echo_v4(vmac, VIP4);
    let to_router = echo_v4(vmac, ROUTER4);

    configure(&mut xdp, Role::Backup, true);
    let out = expect(
        &mut xdp,
        "Backup",
        &to_vip,
        XDP_DROP,
        &[(Counter::VmacDroppedBackup, 1)],
    );
    assert_eq!(out, to_vip);
    configure(&mut xdp, Role::Initialize, true);
    expect(
        &mut xdp,
        "Initialize",
        &to_vip,
        XDP_DROP,
        &[(Counter::VmacDroppedBackup, 1)],
    );

    configure(&mut xdp, Role::Master, true);
    let out = expect(
        &mut xdp,
        "Master, accept",
        &to_vip,
        XDP_PASS,
        &[(Counter::VmacAcceptedMaster, 1)],
    );
    let mut rewritten = to_vip.clone();
    rewritten[..6].copy_from_slice(&ROUTER_MAC);
    assert_eq!(
        out, rewritten,
        "destination MAC not rewritten to the interface MAC"
    );

    // RFC 9568 §6.4.3: without Accept_Mode, packets to the VIP are not accepted; others via the
    // virtual MAC (routed traffic) are.
    configure(&mut xdp, Role::Master, false);
    expect(
        &mut xdp,
        "Master, no accept, to VIP",
        &to_vip,
        XDP_DROP,
        &[(Counter::VipDroppedNoAccept, 1)],
    );
    let out = expect(
        &mut xdp,
        "Master, no accept, to another address",
        &to_router,
        XDP_PASS,
        &[(Counter::VmacAcceptedMaster, 1)],
    );
    assert_eq!(out[..6], ROUTER_MAC);
    let per_instance = xdp
        .dataplane
        .instance_counters(AddressFamily::Ipv4, VRID)
        .unwrap();
    assert_eq!(per_instance.get(Counter::VmacDroppedBackup), 2);
    assert_eq!(per_instance.get(Counter::VmacAcceptedMaster), 2);
    assert_eq!(per_instance.get(Counter::VipDroppedNoAccept), 1);

    // A virtual MAC of a VRID we do not run: not ours, and the stack would discard it as
    // another host's frame anyway.
    let foreign = echo_v4(virtual_mac(AddressFamily::Ipv4, VRID + 1), VIP4);
    expect(
        &mut xdp,
        "foreign VRID",
        &foreign,
        XDP_DROP,
        &[(Counter::VmacDroppedBackup, 1)],
    );
}

#[test]
fn arp_request_for_a_vip_goes_to_the_stack_only_on_the_master() {
    if !require_root("arp_request_for_a_vip_goes_to_the_stack_only_on_the_master") {
        return;
    }
    let mut xdp = XdpUnderTest::new();
    let vmac = virtual_mac(AddressFamily::Ipv4, VRID);
    let request = arp_request(HOST_MAC, HOST4, VIP4);

    configure(&mut xdp, Role::Master, false);
    let out = expect(
        &mut xdp,
        "Master",
        &request,
        XDP_PASS,
        &[(Counter::ResolutionPassedMaster, 1)],
    );
    assert_eq!(out, request, "the stack gets the request unchanged");

    // Unicast to the virtual MAC (a neighbour-unreachability probe): to the stack too, addressed
    // to the interface so the stack takes it.
    let mut probe = request.clone();
    probe[..6].copy_from_slice(&vmac);
    let out = expect(
        &mut xdp,
        "Master, unicast probe",
        &probe,
        XDP_PASS,
        &[(Counter::VmacAcceptedMaster, 1)],
    );
    assert_eq!(out[..6], ROUTER_MAC, "destination rewritten to the NIC");
    assert_eq!(out[6..], request[6..]);

    configure(&mut xdp, Role::Backup, false);
    expect(
        &mut xdp,
        "Backup",
        &request,
        XDP_DROP,
        &[(Counter::ResolutionDroppedBackup, 1)],
    );
}

#[test]
fn neighbor_solicitation_for_a_vip_goes_to_the_stack_only_on_the_master() {
    if !require_root("neighbor_solicitation_for_a_vip_goes_to_the_stack_only_on_the_master") {
        return;
    }
    let mut xdp = XdpUnderTest::new();
    let solicitation = neighbor_solicitation(HOST_MAC, host6(), vip6());
    let dad = neighbor_solicitation(HOST_MAC, Ipv6Addr::UNSPECIFIED, vip6());

    configure(&mut xdp, Role::Master, false);
    for (case, frame) in [("Master", &solicitation), ("Master, DAD", &dad)] {
        let out = expect(
            &mut xdp,
            case,
            frame,
            XDP_PASS,
            &[(Counter::ResolutionPassedMaster, 1)],
        );
        assert_eq!(&out, frame, "{case}: the stack gets the NS unchanged");
    }

    configure(&mut xdp, Role::Backup, false);
    expect(
        &mut xdp,
        "Backup",
        &solicitation,
        XDP_DROP,
        &[(Counter::ResolutionDroppedBackup, 1)],
    );
}

#[test]
fn egress_stamps_the_virtual_mac_on_the_stacks_answers_for_a_vip() {
    if !require_root("egress_stamps_the_virtual_mac_on_the_stacks_answers_for_a_vip") {
        return;
    }
    let mut xdp = XdpUnderTest::new();
    let vmac4 = virtual_mac(AddressFamily::Ipv4, VRID);
    let vmac6 = virtual_mac(AddressFamily::Ipv6, VRID);
    // What the kernel sends for an installed VIP: the interface's own MAC everywhere.
    let arp_from_stack = arp_reply(ROUTER_MAC, VIP4, HOST_MAC, HOST4);
    let na_from_stack = neighbor_advertisement(ROUTER_MAC, vip6(), HOST_MAC, host6());

    configure(&mut xdp, Role::Master, false);
    let out = expect_egress(
        &mut xdp,
        "ARP reply, Master",
        &arp_from_stack,
        &[(Counter::ArpReplies, 1)],
    );
    assert_eq!(
        out,
        arp_reply(vmac4, VIP4, HOST_MAC, HOST4),
        "ARP reply bytes"
    );
    // Ethernet source and target link-layer option rewritten, checksum still valid: exactly the
    // NA built from scratch with the virtual MAC.
    let out = expect_egress(
        &mut xdp,
        "NA, Master",
        &na_from_stack,
        &[(Counter::NaReplies, 1)],
    );
    assert_eq!(
        out,
        neighbor_advertisement(vmac6, vip6(), HOST_MAC, host6()),
        "NA bytes"
    );
    // Not for a VIP, or not an answer: untouched.
    let other = arp_reply(ROUTER_MAC, ROUTER4, HOST_MAC, HOST4);
    assert_eq!(
        expect_egress(&mut xdp, "ARP reply, own address", &other, &[]),
        other
    );
    let request = arp_request(ROUTER_MAC, VIP4, HOST4);
    assert_eq!(
        expect_egress(&mut xdp, "ARP request", &request, &[]),
        request
    );
    let transit = frames::udp_v4(64);
    assert_eq!(expect_egress(&mut xdp, "transit", &transit, &[]), transit);

    // A Backup (or a Master whose daemon died) has nothing to stamp: left as the stack built it.
    configure(&mut xdp, Role::Backup, false);
    assert_eq!(
        expect_egress(&mut xdp, "ARP reply, Backup", &arp_from_stack, &[]),
        arp_from_stack
    );
}

/// Runs `frame` through the egress program and checks it kept the frame (TC_ACT_OK) and
/// exactly which global counters moved.
fn expect_egress(
    xdp: &mut XdpUnderTest,
    case: &str,
    frame: &[u8],
    counters: &[(Counter, u64)],
) -> Vec<u8> {
    const TC_ACT_OK: u32 = 0;
    let before = xdp.dataplane.counters().unwrap();
    let verdict = xdp.run_egress(frame);
    let after = xdp.dataplane.counters().unwrap();
    assert_eq!(verdict.action, TC_ACT_OK, "{case}: TC action");
    assert_eq!(moved(&before, &after), counters, "{case}: counters");
    verdict.frame
}

#[test]
fn tc_ingress_gives_the_same_verdicts_as_xdp() {
    if !require_root("tc_ingress_gives_the_same_verdicts_as_xdp") {
        return;
    }
    const TC_ACT_OK: u32 = 0;
    const TC_ACT_SHOT: u32 = 2;
    let mut xdp = XdpUnderTest::new();
    let vmac4 = virtual_mac(AddressFamily::Ipv4, VRID);
    let routine = Advert::new(VRID, 200).frame_v4(PEER_MAC, PEER4, &[VIP4]);
    let mut bad_ttl = routine.clone();
    bad_ttl[14 + 8] = 64;
    let frames = [
        ("IPv4 UDP", frames::udp_v4(64)),
        ("IPv6 UDP", frames::udp_v6(64)),
        ("ARP for a VIP", arp_request(HOST_MAC, HOST4, VIP4)),
        (
            "NS for a VIP",
            neighbor_solicitation(HOST_MAC, host6(), vip6()),
        ),
        ("echo to the virtual MAC", echo_v4(vmac4, PEER4)),
        ("echo to a VIP via the virtual MAC", echo_v4(vmac4, VIP4)),
        ("routine advert", routine),
        ("advert with TTL 64", bad_ttl),
    ];
    for role in [Role::Backup, Role::Master] {
        configure(&mut xdp, role, false);
        for (case, frame) in &frames {
            let before = xdp.dataplane.counters().unwrap();
            let at_xdp = xdp.run(frame);
            let middle = xdp.dataplane.counters().unwrap();
            let at_tc = xdp.run_tc_ingress(frame);
            let after = xdp.dataplane.counters().unwrap();
            let expected_tc = if at_xdp.action == XDP_DROP {
                TC_ACT_SHOT
            } else {
                TC_ACT_OK
            };
            assert_eq!(at_tc.action, expected_tc, "{role:?}, {case}: verdict");
            if at_xdp.action == XDP_PASS {
                assert_eq!(at_tc.frame, at_xdp.frame, "{role:?}, {case}: frame");
            }
            assert_eq!(
                moved(&middle, &after),
                moved(&before, &middle),
                "{role:?}, {case}: counters"
            );
        }
    }
}

#[test]
fn accept_mode_holds_for_packets_to_the_interfaces_own_mac() {
    if !require_root("accept_mode_holds_for_packets_to_the_interfaces_own_mac") {
        return;
    }
    const TC_ACT_OK: u32 = 0;
    const TC_ACT_SHOT: u32 = 2;
    let mut xdp = XdpUnderTest::new();
    let to_vip = echo_v4(ROUTER_MAC, VIP4);
    let to_router = echo_v4(ROUTER_MAC, ROUTER4);
    // A reachability probe: unicast to the VIP itself, at the interface's MAC (Ethernet 14 +
    // IPv6 destination at 24). Neighbor Discovery is never refused (RFC 9568 §6.1).
    let solicitation_to_us = {
        let mut ns = neighbor_solicitation(HOST_MAC, host6(), vip6());
        ns[..6].copy_from_slice(&ROUTER_MAC);
        ns[14 + 24..14 + 40].copy_from_slice(&vip6().octets());
        ns
    };
    // A Router Solicitation to the link-local VIP: the Master answers it for the virtual
    // router whatever its Accept_Mode (RFC 9568 §8.2.3). The ICMPv6 type is at 14 + 40.
    let router_solicitation_to_us = {
        let mut rs = solicitation_to_us.clone();
        rs[14 + 40] = 133;
        rs
    };
    let cases = [
        // (role, accept, frame, TC action, counter)
        (
            Role::Master,
            false,
            &to_vip,
            TC_ACT_SHOT,
            Some(Counter::VipDroppedNoAccept),
        ),
        (Role::Master, false, &to_router, TC_ACT_OK, None),
        (
            Role::Master,
            false,
            &solicitation_to_us,
            TC_ACT_OK,
            Some(Counter::ResolutionPassedMaster),
        ),
        (
            Role::Master,
            false,
            &router_solicitation_to_us,
            TC_ACT_OK,
            None,
        ),
        (Role::Master, true, &to_vip, TC_ACT_OK, None),
        // Not Master: the VIP is not ours to refuse (the stack does not have it either).
        (Role::Backup, false, &to_vip, TC_ACT_OK, None),
    ];
    for (role, accept, frame, action, counter) in cases {
        configure(&mut xdp, role, accept);
        let before = xdp.dataplane.counters().unwrap();
        let verdict = xdp.run_tc_ingress(frame);
        let after = xdp.dataplane.counters().unwrap();
        assert_eq!(
            verdict.action,
            action,
            "{role:?}, accept {accept}: {:?}",
            &frame[..20]
        );
        let expected: Vec<(Counter, u64)> = counter.into_iter().map(|c| (c, 1)).collect();
        assert_eq!(
            moved(&before, &after),
            expected,
            "{role:?}, accept {accept}: counters"
        );
    }
}

#[test]
fn heartbeat_staleness_is_per_instance_and_spares_the_owner() {
    if !require_root("heartbeat_staleness_is_per_instance_and_spares_the_owner") {
        return;
    }
    let mut xdp = XdpUnderTest::new();
    // VRID 7 at 10 ms adverts, VRID 8 at 1 s, both Master; VRID 9 is the address owner, not
    // Master right now.
    let fast_vip = Ipv4Addr::new(192, 0, 2, 107);
    let slow_vip = Ipv4Addr::new(192, 0, 2, 108);
    let owned = Ipv4Addr::new(192, 0, 2, 109);
    for (vrid, vip, role, owner, heartbeat_timeout) in [
        (7, fast_vip, Role::Master, false, Duration::from_millis(30)),
        (8, slow_vip, Role::Master, false, Duration::from_secs(3)),
        (9, owned, Role::Backup, true, Duration::from_secs(3)),
    ] {
        xdp.dataplane
            .set_instance(
                AddressFamily::Ipv4,
                vrid,
                &InstanceSettings {
                    role,
                    accept: owner,
                    master_address: IpAddr::V4(ROUTER4),
                    master_priority: 255,
                    master_interval_cs: 100,
                    owner,
                    heartbeat_timeout,
                    checksum_style: ChecksumStyle::Rfc9568,
                    peers_listed: false,
                    versions: vrrp_common::advert::VersionMode::V3,
                },
            )
            .unwrap();
        xdp.dataplane.add_vip(IpAddr::V4(vip), vrid).unwrap();
    }
    // The loop stalled 100 ms: the 10 ms instance is orphaned (still Master, counted), the 1 s
    // one is not.
    xdp.dataplane
        .backdate_heartbeat(Duration::from_millis(100))
        .unwrap();
    expect(
        &mut xdp,
        "10 ms instance, 100 ms without heartbeat",
        &arp_request(HOST_MAC, HOST4, fast_vip),
        XDP_PASS,
        &[
            (Counter::HeartbeatStale, 1),
            (Counter::ResolutionPassedMaster, 1),
        ],
    );
    expect(
        &mut xdp,
        "1 s instance, 100 ms without heartbeat",
        &arp_request(HOST_MAC, HOST4, slow_vip),
        XDP_PASS,
        &[(Counter::ResolutionPassedMaster, 1)],
    );
    // Another router's advert: the orphan yields, the instance with a live daemon does not.
    expect(
        &mut xdp,
        "advert for the orphaned 10 ms instance",
        &Advert::new(7, 100).frame_v4(PEER_MAC, PEER4, &[fast_vip]),
        XDP_DROP,
        &[
            (Counter::AdvertsReceived, 1),
            (Counter::AdvertsToUserspace, 1),
            (Counter::OrphanYielded, 1),
        ],
    );
    expect(
        &mut xdp,
        "advert for the 1 s instance",
        &Advert::new(8, 100).frame_v4(PEER_MAC, PEER4, &[slow_vip]),
        XDP_DROP,
        &[
            (Counter::AdvertsReceived, 1),
            (Counter::AdvertsToUserspace, 1),
        ],
    );
    assert_eq!(
        recorded_role(&mut xdp, AddressFamily::Ipv4, 7),
        Role::Backup
    );
    assert_eq!(
        recorded_role(&mut xdp, AddressFamily::Ipv4, 8),
        Role::Master
    );
    // The owner's virtual addresses are its own: the stack answers for them in any role.
    expect(
        &mut xdp,
        "owner, not Master",
        &arp_request(HOST_MAC, HOST4, owned),
        XDP_PASS,
        &[],
    );
}

fn recorded_role(xdp: &mut XdpUnderTest, family: AddressFamily, vrid: u8) -> Role {
    xdp.dataplane
        .recorded_role(family, vrid)
        .unwrap()
        .expect("an instance record")
}

/// Virtual router VRID in both families as this router's own Master (or resigning) record:
/// its own address, priority 200, 1 s, Accept_Mode.
fn configure_own(xdp: &mut XdpUnderTest, role: Role) {
    for (family, own) in [
        (AddressFamily::Ipv4, IpAddr::V4(ROUTER4)),
        (AddressFamily::Ipv6, IpAddr::V6(router6())),
    ] {
        xdp.dataplane
            .set_instance(family, VRID, &test_instance(role, true, own))
            .unwrap();
    }
    xdp.dataplane.add_vip(IpAddr::V4(VIP4), VRID).unwrap();
    xdp.dataplane.add_vip(IpAddr::V6(vip6()), VRID).unwrap();
}

fn router6() -> Ipv6Addr {
    "fe80::1".parse().unwrap()
}

#[test]
fn an_orphaned_master_keeps_forwarding_and_yields_to_the_first_valid_advert() {
    if !require_root("an_orphaned_master_keeps_forwarding_and_yields_to_the_first_valid_advert") {
        return;
    }
    let mut xdp = XdpUnderTest::new();
    configure_own(&mut xdp, Role::Master);
    let vmac4 = virtual_mac(AddressFamily::Ipv4, VRID);
    xdp.dataplane
        .backdate_heartbeat(Duration::from_secs(120))
        .unwrap();
    let stale = (Counter::HeartbeatStale, 1);
    let passed = (Counter::ResolutionPassedMaster, 1);
    expect(
        &mut xdp,
        "ARP, orphaned",
        &arp_request(HOST_MAC, HOST4, VIP4),
        XDP_PASS,
        &[stale, passed],
    );
    expect(
        &mut xdp,
        "NS, orphaned",
        &neighbor_solicitation(HOST_MAC, host6(), vip6()),
        XDP_PASS,
        &[stale, passed],
    );
    expect(
        &mut xdp,
        "virtual MAC frame, orphaned",
        &echo_v4(vmac4, VIP4),
        XDP_PASS,
        &[(Counter::VmacAcceptedMaster, 1), stale],
    );
    // Adverts that fail validation, or our own, change nothing.
    let peer = Advert::new(VRID, 100);
    let bad_ttl = Advert {
        ttl: 254,
        ..peer.clone()
    };
    expect(
        &mut xdp,
        "advert with TTL 254",
        &bad_ttl.frame_v4(PEER_MAC, PEER4, &[VIP4]),
        XDP_DROP,
        &[(Counter::AdvertsReceived, 1), (Counter::InvalidTtl, 1)],
    );
    let bad_checksum = Advert {
        checksum_error: 1,
        ..peer.clone()
    };
    expect(
        &mut xdp,
        "advert with a bad checksum",
        &bad_checksum.frame_v4(PEER_MAC, PEER4, &[VIP4]),
        XDP_DROP,
        &[(Counter::AdvertsReceived, 1), (Counter::InvalidChecksum, 1)],
    );
    expect(
        &mut xdp,
        "our own advert",
        &Advert::new(VRID, 200).frame_v4(ROUTER_MAC, ROUTER4, &[VIP4]),
        XDP_DROP,
        &[
            (Counter::AdvertsReceived, 1),
            (Counter::AdvertsToUserspace, 1),
        ],
    );
    assert_eq!(
        recorded_role(&mut xdp, AddressFamily::Ipv4, VRID),
        Role::Master
    );
    expect(
        &mut xdp,
        "ARP, still orphaned",
        &arp_request(HOST_MAC, HOST4, VIP4),
        XDP_PASS,
        &[stale, passed],
    );
    // A valid advert from another router, even of lower priority: yield in that packet.
    expect(
        &mut xdp,
        "the peer's advert",
        &peer.frame_v4(PEER_MAC, PEER4, &[VIP4]),
        XDP_DROP,
        &[
            (Counter::AdvertsReceived, 1),
            (Counter::AdvertsToUserspace, 1),
            (Counter::OrphanYielded, 1),
        ],
    );
    assert_eq!(
        recorded_role(&mut xdp, AddressFamily::Ipv4, VRID),
        Role::Backup
    );
    expect(
        &mut xdp,
        "ARP after the yield",
        &arp_request(HOST_MAC, HOST4, VIP4),
        XDP_DROP,
        &[(Counter::ResolutionDroppedBackup, 1)],
    );
    expect(
        &mut xdp,
        "virtual MAC frame after the yield",
        &echo_v4(vmac4, VIP4),
        XDP_DROP,
        &[(Counter::VmacDroppedBackup, 1)],
    );
    // The family is part of the VRID: the IPv6 instance is still an orphaned Master.
    assert_eq!(
        recorded_role(&mut xdp, AddressFamily::Ipv6, VRID),
        Role::Master
    );
    expect(
        &mut xdp,
        "NS, IPv6 instance still orphaned",
        &neighbor_solicitation(HOST_MAC, host6(), vip6()),
        XDP_PASS,
        &[stale, passed],
    );
}

#[test]
fn a_master_with_a_live_daemon_leaves_adverts_to_it() {
    if !require_root("a_master_with_a_live_daemon_leaves_adverts_to_it") {
        return;
    }
    let mut xdp = XdpUnderTest::new();
    configure_own(&mut xdp, Role::Master);
    expect(
        &mut xdp,
        "higher-priority advert, fresh heartbeat",
        &Advert::new(VRID, 250).frame_v4(PEER_MAC, PEER4, &[VIP4]),
        XDP_DROP,
        &[
            (Counter::AdvertsReceived, 1),
            (Counter::AdvertsToUserspace, 1),
        ],
    );
    assert_eq!(
        recorded_role(&mut xdp, AddressFamily::Ipv4, VRID),
        Role::Master
    );
}

#[test]
fn a_resigning_master_forwards_answers_nothing_and_yields_to_the_new_master() {
    if !require_root("a_resigning_master_forwards_answers_nothing_and_yields_to_the_new_master") {
        return;
    }
    let mut xdp = XdpUnderTest::new();
    configure_own(&mut xdp, Role::Resigning);
    let vmac4 = virtual_mac(AddressFamily::Ipv4, VRID);
    let vmac6 = virtual_mac(AddressFamily::Ipv6, VRID);
    let dropped = (Counter::ResolutionDroppedBackup, 1);
    expect(
        &mut xdp,
        "virtual MAC frame, resigning",
        &echo_v4(vmac4, VIP4),
        XDP_PASS,
        &[(Counter::VmacAcceptedMaster, 1)],
    );
    expect(
        &mut xdp,
        "ARP, resigning",
        &arp_request(HOST_MAC, HOST4, VIP4),
        XDP_DROP,
        &[dropped],
    );
    let mut unicast_arp = arp_request(HOST_MAC, HOST4, VIP4);
    unicast_arp[..6].copy_from_slice(&vmac4);
    expect(
        &mut xdp,
        "ARP to the virtual MAC, resigning",
        &unicast_arp,
        XDP_DROP,
        &[dropped],
    );
    let mut unicast_ns = neighbor_solicitation(HOST_MAC, host6(), vip6());
    unicast_ns[..6].copy_from_slice(&vmac6);
    expect(
        &mut xdp,
        "NS to the virtual MAC, resigning",
        &unicast_ns,
        XDP_DROP,
        &[dropped],
    );
    // The daemon is alive (fresh heartbeat): the new Master's first advert still ends it here.
    expect(
        &mut xdp,
        "the new Master's advert",
        &Advert::new(VRID, 100).frame_v4(PEER_MAC, PEER4, &[VIP4]),
        XDP_DROP,
        &[
            (Counter::AdvertsReceived, 1),
            (Counter::AdvertsToUserspace, 1),
            (Counter::OrphanYielded, 1),
        ],
    );
    assert_eq!(
        recorded_role(&mut xdp, AddressFamily::Ipv4, VRID),
        Role::Backup
    );
    expect(
        &mut xdp,
        "virtual MAC frame after the yield",
        &echo_v4(vmac4, VIP4),
        XDP_DROP,
        &[(Counter::VmacDroppedBackup, 1)],
    );
}

#[test]
fn adverts_beyond_a_full_ring_buffer_are_counted_as_lost() {
    if !require_root("adverts_beyond_a_full_ring_buffer_are_counted_as_lost") {
        return;
    }
    let runtime = io_runtime();
    let _runtime = runtime.enter();
    let mut xdp = XdpUnderTest::new();
    let mut events = xdp.dataplane.take_events().unwrap();
    configure(&mut xdp, Role::Master, false);
    // The ring holds EVENTS_RING_BYTES / (footprint of a 12-byte message) records; send
    // more, unread.
    let capacity = EVENTS_RING_BYTES as usize / ring_footprint(12);
    let sent = capacity + 10;
    let frame = Advert::new(VRID, 200).frame_v4(PEER_MAC, PEER4, &[VIP4]);
    for _ in 0..sent {
        assert_eq!(xdp.run(&frame).action, XDP_DROP);
    }
    let counters = xdp.dataplane.counters().unwrap();
    let delivered = counters.get(Counter::AdvertsToUserspace);
    let lost = counters.get(Counter::RingBufFull);
    assert_eq!(delivered + lost, sent as u64);
    assert!(
        lost >= 10,
        "only {lost} of {sent} lost with room for {capacity}"
    );
    let mut read = 0;
    while events.try_next().is_some() {
        read += 1;
    }
    assert_eq!(read, delivered);
    assert_eq!(events.malformed_records(), 0);
}

#[test]
fn a_burst_from_255_vrids_in_both_families_fits_the_ring_unread() {
    if !require_root("a_burst_from_255_vrids_in_both_families_fits_the_ring_unread") {
        return;
    }
    let runtime = io_runtime();
    let _runtime = runtime.enter();
    let mut xdp = XdpUnderTest::new();
    let mut events = xdp.dataplane.take_events().unwrap();
    // Every VRID in both families, Backup of the peer; then a new Master (restart, say) sends
    // one advert per instance, none routine, all before the daemon reads any.
    let new_master4 = Ipv4Addr::new(192, 0, 2, 3);
    let new_master6: Ipv6Addr = "fe80::3".parse().unwrap();
    let link_local_vip: Ipv6Addr = "fe80::100".parse().unwrap();
    let mut sent = std::collections::BTreeMap::new();
    for vrid in 1..=255 {
        for (family, master) in [
            (AddressFamily::Ipv4, IpAddr::V4(PEER4)),
            (AddressFamily::Ipv6, IpAddr::V6(peer6())),
        ] {
            let settings = test_instance(Role::Backup, false, master);
            xdp.dataplane.set_instance(family, vrid, &settings).unwrap();
        }
        let advert4 = Advert::new(vrid, 250);
        let advert6 = Advert {
            count: 2,
            ..Advert::new(vrid, 250)
        };
        let addresses6 = [link_local_vip, vip6()];
        sent.insert(
            (AddressFamily::Ipv4 as u8, vrid),
            advert4.message_v4(new_master4, &[VIP4]),
        );
        sent.insert(
            (AddressFamily::Ipv6 as u8, vrid),
            advert6.message_v6(new_master6, &addresses6),
        );
        let frame4 = advert4.frame_v4(PEER_MAC, new_master4, &[VIP4]);
        let frame6 = advert6.frame_v6(PEER_MAC, new_master6, &addresses6);
        assert_eq!(xdp.run(&frame4).action, XDP_DROP);
        assert_eq!(xdp.run(&frame6).action, XDP_DROP);
    }
    let counters = xdp.dataplane.counters().unwrap();
    assert_eq!(counters.get(Counter::RingBufFull), 0, "adverts lost");
    assert_eq!(counters.get(Counter::AdvertsToUserspace), 510);
    let mut received = std::collections::BTreeMap::new();
    while let Some(delivered) = events.try_next() {
        let decoded = decode_delivered(&delivered).expect("the codec decodes every record");
        let key = (delivered.family as u8, decoded.vrid());
        assert!(
            received.insert(key, delivered.message.clone()).is_none(),
            "{key:?} delivered twice"
        );
    }
    assert_eq!(events.malformed_records(), 0);
    assert_eq!(received.len(), 510);
    assert_eq!(received, sent, "records differ from the adverts sent");
}

/// An advert for VRID with `priority` from `source` as unicast to `destination` at the
/// router's MAC, built by the codec (the daemon's unicast sender).
fn unicast_advert_v4(source: Ipv4Addr, destination: Ipv4Addr, priority: u8) -> Vec<u8> {
    let params = vrrp_common::advert::AdvertParams {
        vrid: VRID,
        priority,
        max_advert_interval_cs: 100,
    };
    let mut packet = [0; 64];
    let len = vrrp_common::frames::build_ipv4_advert_packet(
        &mut packet,
        &params,
        source,
        destination,
        &[VIP4],
        ChecksumStyle::Rfc9568,
    )
    .unwrap();
    frames::ethernet(ROUTER_MAC, PEER_MAC, 0x0800, &packet[..len])
}

#[test]
fn adverts_from_peers_not_listed_are_dropped_counted_and_sampled() {
    if !require_root("adverts_from_peers_not_listed_are_dropped_counted_and_sampled") {
        return;
    }
    let runtime = io_runtime();
    let _runtime = runtime.enter();
    let mut xdp = XdpUnderTest::new();
    let mut events = xdp.dataplane.take_events().unwrap();
    let family = AddressFamily::Ipv4;
    xdp.dataplane
        .add_peer(family, VRID, IpAddr::V4(PEER4))
        .unwrap();
    xdp.dataplane
        .set_instance(
            family,
            VRID,
            &InstanceSettings {
                role: Role::Backup,
                accept: false,
                master_address: IpAddr::V4(PEER4),
                master_priority: 200,
                master_interval_cs: 100,
                owner: false,
                heartbeat_timeout: TEST_HEARTBEAT_TIMEOUT,
                checksum_style: ChecksumStyle::Rfc9568,
                peers_listed: true,
                versions: vrrp_common::advert::VersionMode::V3,
            },
        )
        .unwrap();
    // The listed peer is absorbed as routine, as without a list.
    let listed = Advert::new(VRID, 200).frame_v4(PEER_MAC, PEER4, &[VIP4]);
    expect(
        &mut xdp,
        "listed peer",
        &listed,
        XDP_DROP,
        &[(Counter::AdvertsReceived, 1), (Counter::AdvertsAbsorbed, 1)],
    );
    // The same advert as unicast to our address (`unicast_peers`): no destination check, the
    // checksum sums the unicast destination; routine as well.
    let unicast = unicast_advert_v4(PEER4, ROUTER4, 200);
    expect(
        &mut xdp,
        "listed peer, unicast",
        &unicast,
        XDP_DROP,
        &[(Counter::AdvertsReceived, 1), (Counter::AdvertsAbsorbed, 1)],
    );
    // Another source: dropped and counted, every time; a sample (at most one per second and
    // CPU) reaches the ring buffer so the daemon can name it.
    let stranger = Ipv4Addr::new(192, 0, 2, 3);
    let refused = Advert::new(VRID, 254).frame_v4(PEER_MAC, stranger, &[VIP4]);
    let before = xdp.dataplane.counters().unwrap();
    for _ in 0..5 {
        assert_eq!(xdp.run(&refused).action, XDP_DROP);
    }
    let after = xdp.dataplane.counters().unwrap();
    let sampled = after.get(Counter::AdvertsToUserspace) - before.get(Counter::AdvertsToUserspace);
    assert_eq!(
        after.get(Counter::PeerNotAllowed) - before.get(Counter::PeerNotAllowed),
        5
    );
    let cpus = aya::util::nr_cpus().unwrap() as u64;
    assert!((1..=cpus).contains(&sampled), "{sampled} samples");
    let mut records = 0;
    while let Some(record) = events.try_next() {
        assert_eq!(record.source, IpAddr::V4(stranger));
        records += 1;
    }
    assert_eq!(records, sampled);
    let instance = xdp.dataplane.instance_counters(family, VRID).unwrap();
    assert_eq!(instance.get(Counter::PeerNotAllowed), 5);
    // Unicast from a source not listed: dropped like multicast from it.
    let stranger_unicast = unicast_advert_v4(Ipv4Addr::new(192, 0, 2, 4), ROUTER4, 254);
    let before = xdp.dataplane.counters().unwrap();
    assert_eq!(xdp.run(&stranger_unicast).action, XDP_DROP);
    let after = xdp.dataplane.counters().unwrap();
    assert_eq!(
        after.get(Counter::PeerNotAllowed) - before.get(Counter::PeerNotAllowed),
        1
    );
    // Unlisted, the former peer is refused too.
    xdp.dataplane
        .remove_peer(family, VRID, IpAddr::V4(PEER4))
        .unwrap();
    let before = xdp.dataplane.counters().unwrap();
    assert_eq!(xdp.run(&listed).action, XDP_DROP);
    let after = xdp.dataplane.counters().unwrap();
    assert_eq!(
        after.get(Counter::PeerNotAllowed) - before.get(Counter::PeerNotAllowed),
        1
    );
    assert_eq!(
        after.get(Counter::AdvertsAbsorbed),
        before.get(Counter::AdvertsAbsorbed)
    );
}
