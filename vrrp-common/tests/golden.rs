//! Golden frames captured from a real keepalived, decoded, re-encoded and compared with what
//! our frame builders produce.
//!
//! How they were captured: `tests/capture-keepalived.sh` (run as root) on Debian's keepalived
//! package, "Keepalived v2.2.7 (01/16,2022)", Linux 6.18. Two network namespaces joined by a
//! veth pair; keepalived runs in one with 192.0.2.1/24 and fe80::1/64 on veth0 (MAC
//! 02:00:00:00:00:01), tcpdump -w in the other. keepalived.conf: `vrrp_version 3`; instance
//! golden4: state MASTER, VRID 51, priority 150, advert_int 1, use_vmac, virtual_ipaddress
//! 192.0.2.100/24 and 192.0.2.101/24; instance golden6: the same with VRID 52 and fe80::100/64,
//! 2001:db8::100/64. The bytes below are whole Ethernet frames copied from that pcap.

mod common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use common::assert_bytes_eq;
use vrrp_common::{
    advert::{
        Advert, AdvertParams, ChecksumStyle, DecodeError, IpContext, VersionMode, encode_ipv4,
        encode_ipv4_v2, encode_ipv6,
    },
    checksum::ipv6_pseudo_header_checksum,
    consts::{ALL_NODES_V6, IPPROTO_ICMPV6, VRRP_GROUP_V4, VRRP_GROUP_V6},
    frames::{
        build_gratuitous_arp, build_ipv4_advert, build_ipv4_advert_packet, build_ipv4_advert_v2,
        build_ipv4_advert_with, build_ipv6_advert, build_ipv6_advert_packet, build_unsolicited_na,
    },
};

/// IPv4 advert, VRID 51, priority 150, 100 cs, VIPs 192.0.2.100 and 192.0.2.101.
const KEEPALIVED_V4_ADVERT: [u8; 50] = [
    0x01, 0x00, 0x5e, 0x00, 0x00, 0x12, 0x00, 0x00, 0x5e, 0x00, 0x01, 0x33, 0x08, 0x00, 0x45, 0xc0,
    0x00, 0x24, 0x00, 0x01, 0x00, 0x00, 0xff, 0x70, 0x18, 0x95, 0xc0, 0x00, 0x02, 0x01, 0xe0, 0x00,
    0x00, 0x12, 0x31, 0x33, 0x96, 0x02, 0x00, 0x64, 0x11, 0x07, 0xc0, 0x00, 0x02, 0x64, 0xc0, 0x00,
    0x02, 0x65,
];

/// The IPv4 priority-0 advert keepalived sent on SIGTERM (RFC 9568 §6.4.3).
const KEEPALIVED_V4_RESIGN: [u8; 50] = [
    0x01, 0x00, 0x5e, 0x00, 0x00, 0x12, 0x00, 0x00, 0x5e, 0x00, 0x01, 0x33, 0x08, 0x00, 0x45, 0xc0,
    0x00, 0x24, 0x00, 0x06, 0x00, 0x00, 0xff, 0x70, 0x18, 0x90, 0xc0, 0x00, 0x02, 0x01, 0xe0, 0x00,
    0x00, 0x12, 0x31, 0x33, 0x00, 0x02, 0x00, 0x64, 0xa7, 0x07, 0xc0, 0x00, 0x02, 0x64, 0xc0, 0x00,
    0x02, 0x65,
];

/// IPv6 advert, VRID 52, priority 150, 100 cs, VIPs fe80::100 and 2001:db8::100.
const KEEPALIVED_V6_ADVERT: [u8; 94] = [
    0x33, 0x33, 0x00, 0x00, 0x00, 0x12, 0x00, 0x00, 0x5e, 0x00, 0x02, 0x34, 0x86, 0xdd, 0x6c, 0x0c,
    0xf9, 0x5a, 0x00, 0x28, 0x70, 0xff, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x12, 0x31, 0x34, 0x96, 0x02, 0x00, 0x64, 0x0b, 0xfc, 0xfe, 0x80,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x20, 0x01,
    0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
];

/// The IPv6 priority-0 advert keepalived sent on SIGTERM.
const KEEPALIVED_V6_RESIGN: [u8; 94] = [
    0x33, 0x33, 0x00, 0x00, 0x00, 0x12, 0x00, 0x00, 0x5e, 0x00, 0x02, 0x34, 0x86, 0xdd, 0x6c, 0x0c,
    0xf9, 0x5a, 0x00, 0x28, 0x70, 0xff, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x12, 0x31, 0x34, 0x00, 0x02, 0x00, 0x64, 0xa1, 0xfc, 0xfe, 0x80,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x20, 0x01,
    0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
];

/// [`KEEPALIVED_V4_ADVERT`] as a sender that leaves the IPv4 pseudo-header out of the VRRPv3
/// checksum sends it (Cisco IOS-XE, Arista EOS, keepalived >= 2.2.8 with `v3_checksum_as_v2`,
/// FRR without `checksum-with-ipv4-pseudoheader`; docs/INTEROP.md). Not a capture: Debian's
/// keepalived 2.2.7 has no `v3_checksum_as_v2`. Only the checksum differs (bytes 40..42):
/// 0xb39b is the one's complement of the sum of the eight words of the message with the field
/// zero, 0x3133 + 0x9602 + 0x0064 + 0xc000 + 0x0264 + 0xc000 + 0x0265 = 0x24c62, folded 0x4c64.
const WITHOUT_PSEUDO_HEADER_V4_ADVERT: [u8; 50] = [
    0x01, 0x00, 0x5e, 0x00, 0x00, 0x12, 0x00, 0x00, 0x5e, 0x00, 0x01, 0x33, 0x08, 0x00, 0x45, 0xc0,
    0x00, 0x24, 0x00, 0x01, 0x00, 0x00, 0xff, 0x70, 0x18, 0x95, 0xc0, 0x00, 0x02, 0x01, 0xe0, 0x00,
    0x00, 0x12, 0x31, 0x33, 0x96, 0x02, 0x00, 0x64, 0xb3, 0x9b, 0xc0, 0x00, 0x02, 0x64, 0xc0, 0x00,
    0x02, 0x65,
];

/// VRRPv2 (RFC 3768) advert from the same keepalived with `vrrp_version 2` (instance golden4
/// alone, captured the same way): VRID 51, priority 150, auth type 0, Adver Int 1 s, VIPs
/// 192.0.2.100 and 192.0.2.101, eight zero bytes of authentication data, checksum over the
/// message alone. keepalived's IP identification starts at 1 here too.
const KEEPALIVED_V2_ADVERT: [u8; 58] = [
    0x01, 0x00, 0x5e, 0x00, 0x00, 0x12, 0x00, 0x00, 0x5e, 0x00, 0x01, 0x33, 0x08, 0x00, 0x45, 0xc0,
    0x00, 0x2c, 0x00, 0x01, 0x00, 0x00, 0xff, 0x70, 0x18, 0x8d, 0xc0, 0x00, 0x02, 0x01, 0xe0, 0x00,
    0x00, 0x12, 0x21, 0x33, 0x96, 0x02, 0x00, 0x01, 0xc3, 0xfe, 0xc0, 0x00, 0x02, 0x64, 0xc0, 0x00,
    0x02, 0x65, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
];

/// The VRRPv2 priority-0 advert that keepalived sent on SIGTERM (IP identification 5).
const KEEPALIVED_V2_RESIGN: [u8; 58] = [
    0x01, 0x00, 0x5e, 0x00, 0x00, 0x12, 0x00, 0x00, 0x5e, 0x00, 0x01, 0x33, 0x08, 0x00, 0x45, 0xc0,
    0x00, 0x2c, 0x00, 0x05, 0x00, 0x00, 0xff, 0x70, 0x18, 0x89, 0xc0, 0x00, 0x02, 0x01, 0xe0, 0x00,
    0x00, 0x12, 0x21, 0x33, 0x00, 0x02, 0x00, 0x01, 0x59, 0xff, 0xc0, 0x00, 0x02, 0x64, 0xc0, 0x00,
    0x02, 0x65, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
];

/// Gratuitous ARP for 192.0.2.100 (keepalived puts the broadcast address in the target
/// hardware field, the pre-erratum-7949 behaviour).
const KEEPALIVED_GARP: [u8; 42] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x5e, 0x00, 0x01, 0x33, 0x08, 0x06, 0x00, 0x01,
    0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x00, 0x00, 0x5e, 0x00, 0x01, 0x33, 0xc0, 0x00, 0x02, 0x64,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xc0, 0x00, 0x02, 0x64,
];

/// Unsolicited NA for fe80::100 (keepalived sets only the Override flag here: the
/// namespace does not forward, so it leaves Router clear).
const KEEPALIVED_NA_LINK_LOCAL: [u8; 86] = [
    0x33, 0x33, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x5e, 0x00, 0x02, 0x34, 0x86, 0xdd, 0x60, 0x00,
    0x00, 0x00, 0x00, 0x20, 0x3a, 0xff, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x88, 0x00, 0xf7, 0x69, 0x20, 0x00, 0x00, 0x00, 0xfe, 0x80,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x02, 0x01,
    0x00, 0x00, 0x5e, 0x00, 0x02, 0x34,
];

/// Unsolicited NA for 2001:db8::100.
const KEEPALIVED_NA_GLOBAL: [u8; 86] = [
    0x33, 0x33, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x5e, 0x00, 0x02, 0x34, 0x86, 0xdd, 0x60, 0x00,
    0x00, 0x00, 0x00, 0x20, 0x3a, 0xff, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x88, 0x00, 0x98, 0xf9, 0x20, 0x00, 0x00, 0x00, 0x20, 0x01,
    0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x02, 0x01,
    0x00, 0x00, 0x5e, 0x00, 0x02, 0x34,
];

const ETHERNET: usize = 14;
const KEEPALIVED_SOURCE_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const KEEPALIVED_SOURCE_V6: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);
const VIPS_V4: [Ipv4Addr; 2] = [Ipv4Addr::new(192, 0, 2, 100), Ipv4Addr::new(192, 0, 2, 101)];
const VIPS_V6: [Ipv6Addr; 2] = [
    Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0x100),
    Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x100),
];

/// Every byte of `ours` equals `theirs` except at the `expected_differences` offsets.
#[track_caller]
fn assert_equal_except(ours: &[u8], theirs: &[u8], expected_differences: &[usize]) {
    assert_eq!(ours.len(), theirs.len(), "frame lengths");
    let mut masked_ours = ours.to_vec();
    let mut masked_theirs = theirs.to_vec();
    for &offset in expected_differences {
        masked_ours[offset] = 0;
        masked_theirs[offset] = 0;
    }
    assert_bytes_eq(&masked_ours, &masked_theirs);
}

#[test]
fn keepalived_ipv4_advert_decodes_to_the_configured_fields() {
    let advert = Advert::decode_ipv4_packet(&KEEPALIVED_V4_ADVERT[ETHERNET..]).unwrap();
    assert_eq!(advert.version(), 3);
    assert_eq!(advert.kind(), 1);
    assert_eq!(advert.vrid(), 51);
    assert_eq!(advert.priority(), 150);
    assert_eq!(advert.address_count(), 2);
    assert_eq!(advert.max_advert_interval_cs(), 100);
    assert_eq!(advert.checksum(), 0x1107);
    assert_eq!(advert.context().source(), IpAddr::V4(KEEPALIVED_SOURCE_V4));
    assert_eq!(advert.context().destination(), IpAddr::V4(VRRP_GROUP_V4));
    assert!(advert.addresses().eq(VIPS_V4.map(IpAddr::V4)));
    // RFC 9568 §5.2.8 with the IPv4 pseudo-header: the sum over everything is zero.
    assert_eq!(advert.context().checksum(advert.message()), 0);
}

#[test]
fn keepalived_ipv6_advert_decodes_to_the_configured_fields() {
    let advert = Advert::decode_ipv6_packet(&KEEPALIVED_V6_ADVERT[ETHERNET..]).unwrap();
    assert_eq!(advert.version(), 3);
    assert_eq!(advert.kind(), 1);
    assert_eq!(advert.vrid(), 52);
    assert_eq!(advert.priority(), 150);
    assert_eq!(advert.address_count(), 2);
    assert_eq!(advert.max_advert_interval_cs(), 100);
    assert_eq!(advert.checksum(), 0x0bfc);
    assert_eq!(advert.context().source(), IpAddr::V6(KEEPALIVED_SOURCE_V6));
    assert_eq!(advert.context().destination(), IpAddr::V6(VRRP_GROUP_V6));
    assert!(advert.addresses().eq(VIPS_V6.map(IpAddr::V6)));
    assert_eq!(advert.context().checksum(advert.message()), 0);
}

#[test]
fn keepalived_resign_adverts_carry_priority_zero() {
    let v4 = Advert::decode_ipv4_packet(&KEEPALIVED_V4_RESIGN[ETHERNET..]).unwrap();
    let v6 = Advert::decode_ipv6_packet(&KEEPALIVED_V6_RESIGN[ETHERNET..]).unwrap();
    assert_eq!((v4.vrid(), v4.priority(), v4.checksum()), (51, 0, 0xa707));
    assert_eq!((v6.vrid(), v6.priority(), v6.checksum()), (52, 0, 0xa1fc));
}

#[test]
fn reencoding_keepalived_ipv4_adverts_gives_identical_bytes() {
    for frame in [&KEEPALIVED_V4_ADVERT, &KEEPALIVED_V4_RESIGN] {
        let advert = Advert::decode_ipv4_packet(&frame[ETHERNET..]).unwrap();
        let IpContext::V4 {
            source,
            destination,
            ..
        } = *advert.context()
        else {
            panic!("IPv4 context expected");
        };
        let mut buf = [0; 64];
        let len = encode_ipv4(&mut buf, &advert.params(), source, destination, &VIPS_V4).unwrap();
        assert_bytes_eq(&buf[..len], &frame[ETHERNET + 20..]);
    }
}

#[test]
fn reencoding_keepalived_ipv6_adverts_gives_identical_bytes() {
    for frame in [&KEEPALIVED_V6_ADVERT, &KEEPALIVED_V6_RESIGN] {
        let advert = Advert::decode_ipv6_packet(&frame[ETHERNET..]).unwrap();
        let IpContext::V6 {
            source,
            destination,
            ..
        } = *advert.context()
        else {
            panic!("IPv6 context expected");
        };
        let mut buf = [0; 64];
        let len = encode_ipv6(&mut buf, &advert.params(), &source, &destination, &VIPS_V6).unwrap();
        assert_bytes_eq(&buf[..len], &frame[ETHERNET + 40..]);
    }
}

#[test]
fn our_ipv4_advert_frame_matches_keepalived_but_for_the_ip_identification() {
    let params = AdvertParams {
        vrid: 51,
        priority: 150,
        max_advert_interval_cs: 100,
    };
    let mut buf = [0; 128];
    let len = build_ipv4_advert(&mut buf, &params, KEEPALIVED_SOURCE_V4, &VIPS_V4).unwrap();
    // keepalived numbers its packets (identification 1) where we send 0, which also changes
    // the IPv4 header checksum (bytes 24..26).
    assert_equal_except(&buf[..len], &KEEPALIVED_V4_ADVERT, &[18, 19, 24, 25]);
}

#[test]
fn our_ipv6_advert_frame_matches_keepalived_but_for_the_flow_label() {
    let params = AdvertParams {
        vrid: 52,
        priority: 150,
        max_advert_interval_cs: 100,
    };
    let mut buf = [0; 128];
    let len = build_ipv6_advert(&mut buf, &params, &KEEPALIVED_SOURCE_V6, &VIPS_V6).unwrap();
    // keepalived sets a flow label (low nibble of byte 15, bytes 16..18); we send 0.
    assert_equal_except(&buf[..len], &KEEPALIVED_V6_ADVERT, &[15, 16, 17]);
}

#[test]
fn our_gratuitous_arp_matches_keepalived_but_for_the_target_hardware_address() {
    let mut buf = [0; 64];
    let len = build_gratuitous_arp(&mut buf, 51, VIPS_V4[0]).unwrap();
    // RFC 9568 erratum 7949: target hardware = virtual MAC; keepalived 2.2.7 sends broadcast.
    assert_equal_except(&buf[..len], &KEEPALIVED_GARP, &[32, 33, 34, 35, 36, 37]);
    assert_eq!(buf[32..38], [0x00, 0x00, 0x5e, 0x00, 0x01, 51]);
}

#[test]
fn keepalived_neighbor_advertisements_verify_with_our_icmpv6_checksum() {
    for frame in [&KEEPALIVED_NA_LINK_LOCAL, &KEEPALIVED_NA_GLOBAL] {
        let source = Ipv6Addr::from(<[u8; 16]>::try_from(&frame[22..38]).unwrap());
        let message = &frame[ETHERNET + 40..];
        assert_eq!(
            ipv6_pseudo_header_checksum(&source, &ALL_NODES_V6, IPPROTO_ICMPV6, message),
            0
        );
    }
}

#[test]
fn our_neighbor_advertisement_matches_keepalived_but_for_the_router_flag() {
    for (frame, vip) in [
        (&KEEPALIVED_NA_LINK_LOCAL, VIPS_V6[0]),
        (&KEEPALIVED_NA_GLOBAL, VIPS_V6[1]),
    ] {
        let mut buf = [0; 128];
        // keepalived sends each NA from the VIP itself.
        let len = build_unsolicited_na(&mut buf, 52, &vip, &vip).unwrap();
        // Byte 58 holds the flags: we set Router (RFC 9568 §8.2.2) as well as Override, which
        // also changes the ICMPv6 checksum (bytes 56..58).
        assert_equal_except(&buf[..len], frame, &[56, 57, 58]);
        assert_eq!(buf[58], 0xa0);
    }
}

#[test]
fn each_ipv4_checksum_style_accepts_its_golden_frame_and_names_the_other() {
    let rfc = &KEEPALIVED_V4_ADVERT[ETHERNET..];
    let without = &WITHOUT_PSEUDO_HEADER_V4_ADVERT[ETHERNET..];
    let decode = |packet, style| Advert::decode_ipv4_packet_with(packet, style).map(|_| ());
    let other = |sender| Err(DecodeError::ChecksumOtherStyle { sender });
    assert_eq!(decode(rfc, ChecksumStyle::Rfc9568), Ok(()));
    assert_eq!(
        decode(rfc, ChecksumStyle::WithoutPseudoHeader),
        other(ChecksumStyle::Rfc9568)
    );
    assert_eq!(decode(rfc, ChecksumStyle::AcceptBoth), Ok(()));
    assert_eq!(decode(without, ChecksumStyle::WithoutPseudoHeader), Ok(()));
    assert_eq!(
        decode(without, ChecksumStyle::Rfc9568),
        other(ChecksumStyle::WithoutPseudoHeader)
    );
    assert_eq!(decode(without, ChecksumStyle::AcceptBoth), Ok(()));
    // The default decoder is RFC 9568.
    assert_eq!(
        Advert::decode_ipv4_packet(without).map(|_| ()),
        other(ChecksumStyle::WithoutPseudoHeader)
    );
    let advert = Advert::decode_ipv4_packet_with(without, ChecksumStyle::AcceptBoth).unwrap();
    assert_eq!(advert.checksum(), 0xb39b);
    assert!(advert.addresses().eq(VIPS_V4.map(IpAddr::V4)));
}

#[test]
fn our_ipv4_advert_frame_in_each_style_matches_its_golden_frame() {
    let params = AdvertParams {
        vrid: 51,
        priority: 150,
        max_advert_interval_cs: 100,
    };
    for (style, golden) in [
        (ChecksumStyle::Rfc9568, &KEEPALIVED_V4_ADVERT),
        (ChecksumStyle::AcceptBoth, &KEEPALIVED_V4_ADVERT),
        (
            ChecksumStyle::WithoutPseudoHeader,
            &WITHOUT_PSEUDO_HEADER_V4_ADVERT,
        ),
    ] {
        let mut buf = [0; 128];
        let len = build_ipv4_advert_with(&mut buf, &params, KEEPALIVED_SOURCE_V4, &VIPS_V4, style)
            .unwrap();
        // Identification and the IPv4 header checksum differ, as in the test above.
        assert_equal_except(&buf[..len], golden, &[18, 19, 24, 25]);
    }
}

/// The IPv4 packet (no link layer) of [`KEEPALIVED_V4_ADVERT`] sent as unicast to 192.0.2.2,
/// identification 0 (the kernel picks one): the VRRP checksum 0x2f17 covers a pseudo-header
/// naming 192.0.2.2 (RFC 9568 §5.2.8), where the multicast frame's 0x1107 names 224.0.0.18.
/// Summed by hand (a Python one's complement sum), not by our code.
const UNICAST_V4_ADVERT: [u8; 36] = [
    0x45, 0xc0, 0x00, 0x24, 0x00, 0x00, 0x00, 0x00, 0xff, 0x70, 0x36, 0xa6, 0xc0, 0x00, 0x02, 0x01,
    0xc0, 0x00, 0x02, 0x02, 0x31, 0x33, 0x96, 0x02, 0x00, 0x64, 0x2f, 0x17, 0xc0, 0x00, 0x02, 0x64,
    0xc0, 0x00, 0x02, 0x65,
];

/// The IPv6 packet of [`KEEPALIVED_V6_ADVERT`] sent as unicast to fe80::2, flow label 0: the
/// checksum 0x0c8e covers a pseudo-header naming fe80::2. Summed by hand as above.
const UNICAST_V6_ADVERT: [u8; 80] = [
    0x6c, 0x00, 0x00, 0x00, 0x00, 0x28, 0x70, 0xff, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x31, 0x34, 0x96, 0x02, 0x00, 0x64, 0x0c, 0x8e,
    0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
    0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
];

#[test]
fn unicast_adverts_sum_the_peer_address_into_their_checksum() {
    let peer_v4 = Ipv4Addr::new(192, 0, 2, 2);
    let peer_v6 = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 2);
    let mut buf = [0; 128];
    let params = AdvertParams {
        vrid: 51,
        priority: 150,
        max_advert_interval_cs: 100,
    };
    let len = build_ipv4_advert_packet(
        &mut buf,
        &params,
        KEEPALIVED_SOURCE_V4,
        peer_v4,
        &VIPS_V4,
        ChecksumStyle::Rfc9568,
    )
    .unwrap();
    assert_bytes_eq(&buf[..len], &UNICAST_V4_ADVERT);
    let params = AdvertParams { vrid: 52, ..params };
    let len =
        build_ipv6_advert_packet(&mut buf, &params, &KEEPALIVED_SOURCE_V6, &peer_v6, &VIPS_V6)
            .unwrap();
    // The flow label is ours to choose (0); the rest is the golden packet.
    assert_bytes_eq(&buf[..len], &UNICAST_V6_ADVERT);

    let advert = Advert::decode_ipv4_packet(&UNICAST_V4_ADVERT).unwrap();
    assert_eq!(advert.context().destination(), IpAddr::V4(peer_v4));
    assert_eq!(advert.checksum(), 0x2f17);
    assert!(Advert::decode_ipv6_packet(&UNICAST_V6_ADVERT).is_ok());
}

#[test]
fn a_unicast_advert_summed_over_the_multicast_group_is_a_bad_checksum() {
    // The interop bug keepalived once had: the pseudo-header named 224.0.0.18 while the
    // packet went to the peer. Such an advert is discarded like any bad checksum.
    let mut packet = UNICAST_V4_ADVERT;
    packet[26..28].copy_from_slice(&KEEPALIVED_V4_ADVERT[ETHERNET + 26..ETHERNET + 28]);
    assert_eq!(
        Advert::decode_ipv4_packet(&packet).map(|_| ()),
        Err(DecodeError::BadChecksum {
            received: 0x1107,
            expected: 0x2f17,
        })
    );
}

/// keepalived 2.2.7 (`vrrp_version 3`, `unicast_src_ip 192.0.2.2`, `unicast_peer {
/// 192.0.2.1 }`, VRID 51, priority 200, advert_int 0.10, VIP 192.0.2.100), captured on the
/// switch port by `unicast_peers_interoperate_with_keepalived_unicast_peer`: from its
/// interface's own MAC to the peer's, and its checksum 0xbfdb sums the unicast destination
/// into the pseudo-header, as ours does.
const KEEPALIVED_UNICAST_V4_ADVERT: [u8; 46] = [
    0x1e, 0xd2, 0xbf, 0xc0, 0xe9, 0x97, 0x2a, 0x90, 0x95, 0xe1, 0x1c, 0xff, 0x08, 0x00, 0x45, 0xc0,
    0x00, 0x20, 0x00, 0x06, 0x00, 0x00, 0xff, 0x70, 0x36, 0xa4, 0xc0, 0x00, 0x02, 0x02, 0xc0, 0x00,
    0x02, 0x01, 0x31, 0x33, 0xc8, 0x01, 0x00, 0x0a, 0xbf, 0xdb, 0xc0, 0x00, 0x02, 0x64,
];

#[test]
fn keepalived_unicast_advert_verifies_and_matches_ours_but_for_the_ip_identification() {
    let packet = &KEEPALIVED_UNICAST_V4_ADVERT[ETHERNET..];
    let advert = Advert::decode_ipv4_packet(packet).unwrap();
    assert_eq!(
        advert.context().destination(),
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))
    );
    assert_eq!(
        (advert.priority(), advert.max_advert_interval_cs()),
        (200, 10)
    );
    let params = AdvertParams {
        vrid: 51,
        priority: 200,
        max_advert_interval_cs: 10,
    };
    let mut buf = [0; 64];
    let len = build_ipv4_advert_packet(
        &mut buf,
        &params,
        Ipv4Addr::new(192, 0, 2, 2),
        Ipv4Addr::new(192, 0, 2, 1),
        &[Ipv4Addr::new(192, 0, 2, 100)],
        ChecksumStyle::Rfc9568,
    )
    .unwrap();
    // Identification (the kernel fills in ours) and with it the IPv4 header checksum.
    assert_equal_except(&buf[..len], packet, &[4, 5, 10, 11]);
}

/// A golden VRRPv2 frame decoded for an instance that speaks `versions`.
fn decode_v2_golden(frame: &[u8], versions: VersionMode) -> Result<Advert<'_>, DecodeError> {
    Advert::decode_ipv4_packet_accepting(&frame[ETHERNET..], ChecksumStyle::Rfc9568, versions)
}

#[test]
fn keepalived_v2_adverts_decode_to_the_configured_fields() {
    for versions in [VersionMode::V2, VersionMode::V2AndV3] {
        let advert = decode_v2_golden(&KEEPALIVED_V2_ADVERT, versions).unwrap();
        assert_eq!((advert.version(), advert.kind()), (2, 1));
        assert_eq!((advert.vrid(), advert.priority()), (51, 150));
        assert_eq!(advert.max_advert_interval_cs(), 100);
        assert_eq!(advert.checksum(), 0xc3fe);
        assert_eq!(advert.context().source(), IpAddr::V4(KEEPALIVED_SOURCE_V4));
        assert!(advert.addresses().eq(VIPS_V4.map(IpAddr::V4)));
        let resign = decode_v2_golden(&KEEPALIVED_V2_RESIGN, versions).unwrap();
        assert_eq!((resign.priority(), resign.checksum()), (0, 0x59ff));
    }
    // A VRRPv3-only instance reports the peer instead.
    assert_eq!(
        decode_v2_golden(&KEEPALIVED_V2_ADVERT, VersionMode::V3).map(|_| ()),
        Err(DecodeError::Version2 {
            vrid: 51,
            priority: 150,
            advert_interval_seconds: 1
        })
    );
}

#[test]
fn reencoding_keepalived_v2_adverts_gives_identical_bytes() {
    for frame in [&KEEPALIVED_V2_ADVERT, &KEEPALIVED_V2_RESIGN] {
        let advert = decode_v2_golden(frame, VersionMode::V2).unwrap();
        let mut buf = [0; 64];
        let len = encode_ipv4_v2(&mut buf, &advert.params(), &VIPS_V4).unwrap();
        assert_bytes_eq(&buf[..len], &frame[ETHERNET + 20..]);
    }
}

#[test]
fn our_v2_advert_frame_matches_keepalived_but_for_the_ip_identification() {
    let params = AdvertParams {
        vrid: 51,
        priority: 150,
        max_advert_interval_cs: 100,
    };
    let mut buf = [0; 128];
    let len = build_ipv4_advert_v2(&mut buf, &params, KEEPALIVED_SOURCE_V4, &VIPS_V4).unwrap();
    assert_equal_except(&buf[..len], &KEEPALIVED_V2_ADVERT, &[18, 19, 24, 25]);
}
