//! Helpers shared by the codec test binaries: wrapping VRRP messages in IP packets and
//! comparing bytes with a readable diff.
#![allow(dead_code, reason = "each test binary uses a subset of these helpers")]

use std::{
    fmt::Write as _,
    net::{Ipv4Addr, Ipv6Addr},
};

use vrrp_common::{
    advert::{AdvertParams, IpContext, encode_ipv4, encode_ipv6},
    checksum::internet_checksum,
    consts::{IPPROTO_VRRP, VRRP_GROUP_V4, VRRP_GROUP_V6, VRRP_TTL},
};

/// Sender used by hand-built adverts.
pub(crate) const SOURCE_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
/// Link-local sender used by hand-built IPv6 adverts.
pub(crate) const SOURCE_V6: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);

/// The context of a well-formed IPv4 advert from [`SOURCE_V4`].
pub(crate) const CONTEXT_V4: IpContext = IpContext::V4 {
    source: SOURCE_V4,
    destination: VRRP_GROUP_V4,
    ttl: VRRP_TTL,
};
/// The context of a well-formed IPv6 advert from [`SOURCE_V6`].
pub(crate) const CONTEXT_V6: IpContext = IpContext::V6 {
    source: SOURCE_V6,
    destination: VRRP_GROUP_V6,
    hop_limit: VRRP_TTL,
};

/// Parameters of the hand-built adverts.
pub(crate) const PARAMS: AdvertParams = AdvertParams {
    vrid: 7,
    priority: 100,
    max_advert_interval_cs: 100,
};

/// A valid IPv4 VRRPv3 message with `addresses`.
pub(crate) fn message_v4(params: &AdvertParams, addresses: &[Ipv4Addr]) -> Vec<u8> {
    let mut buf = vec![0; 8 + 4 * addresses.len()];
    let len = encode_ipv4(&mut buf, params, SOURCE_V4, VRRP_GROUP_V4, addresses).unwrap();
    buf.truncate(len);
    buf
}

/// A valid IPv6 VRRPv3 message with `addresses`.
pub(crate) fn message_v6(params: &AdvertParams, addresses: &[Ipv6Addr]) -> Vec<u8> {
    let mut buf = vec![0; 8 + 16 * addresses.len()];
    let len = encode_ipv6(&mut buf, params, &SOURCE_V6, &VRRP_GROUP_V6, addresses).unwrap();
    buf.truncate(len);
    buf
}

/// Recomputes the checksum of `message` for `context`, so a test can change one field and
/// keep the checksum valid.
pub(crate) fn reseal(message: &mut [u8], context: &IpContext) {
    message[6..8].fill(0);
    let checksum = context.checksum(message);
    message[6..8].copy_from_slice(&checksum.to_be_bytes());
}

/// `message` in an IPv4 packet from [`SOURCE_V4`] to 224.0.0.18 with `ttl` and `protocol`.
pub(crate) fn ipv4_packet(message: &[u8], ttl: u8, protocol: u8) -> Vec<u8> {
    let total = u16::try_from(20 + message.len()).unwrap();
    let mut packet = vec![0x45, 0xc0];
    packet.extend_from_slice(&total.to_be_bytes());
    packet.extend_from_slice(&[0, 0, 0, 0, ttl, protocol, 0, 0]);
    packet.extend_from_slice(&SOURCE_V4.octets());
    packet.extend_from_slice(&VRRP_GROUP_V4.octets());
    let checksum = internet_checksum(&packet);
    packet[10..12].copy_from_slice(&checksum.to_be_bytes());
    packet.extend_from_slice(message);
    packet
}

/// `message` in an IPv6 packet from [`SOURCE_V6`] to ff02::12 with `hop_limit` and
/// `next_header`.
pub(crate) fn ipv6_packet(message: &[u8], hop_limit: u8, next_header: u8) -> Vec<u8> {
    let payload = u16::try_from(message.len()).unwrap();
    let mut packet = vec![0x60, 0, 0, 0];
    packet.extend_from_slice(&payload.to_be_bytes());
    packet.extend_from_slice(&[next_header, hop_limit]);
    packet.extend_from_slice(&SOURCE_V6.octets());
    packet.extend_from_slice(&VRRP_GROUP_V6.octets());
    packet.extend_from_slice(message);
    packet
}

/// A well-formed IPv4 advert packet.
pub(crate) fn good_ipv4_packet() -> Vec<u8> {
    ipv4_packet(
        &message_v4(&PARAMS, &[Ipv4Addr::new(192, 0, 2, 100)]),
        VRRP_TTL,
        IPPROTO_VRRP,
    )
}

/// A well-formed IPv6 advert packet.
pub(crate) fn good_ipv6_packet() -> Vec<u8> {
    let vip = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0x100);
    ipv6_packet(&message_v6(&PARAMS, &[vip]), VRRP_TTL, IPPROTO_VRRP)
}

/// Asserts `actual == expected`, printing both as offset-annotated hex on failure.
#[track_caller]
pub(crate) fn assert_bytes_eq(actual: &[u8], expected: &[u8]) {
    if actual != expected {
        panic!(
            "bytes differ\n  actual:   {}\n  expected: {}\n  first difference at offset {:?}",
            hex(actual),
            hex(expected),
            actual.iter().zip(expected).position(|(a, b)| a != b),
        );
    }
}

/// `bytes` as hex, a space every 4 bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut out = String::new();
    for (index, byte) in bytes.iter().enumerate() {
        if index > 0 && index % 4 == 0 {
            out.push(' ');
        }
        write!(out, "{byte:02x}").unwrap();
    }
    out
}
