//! One table of defective adverts: every discard class of RFC 9568 §7.1 and what a broken or
//! hostile sender adds (runts, MTU-sized padding, IP options, fragments, extension headers),
//! each built from an advert that would win if it were accepted, with the XDP counter it must
//! land in. Three suites read it: the daemon battery (`malformed_adverts`) injects each at a
//! Master and at a Backup, `xdp_verdicts` runs each through the program, and the codec test
//! below decodes each.

use std::net::{Ipv4Addr, Ipv6Addr};

use vrrp_common::counters::Counter;

use crate::{
    frames::{
        Advert, VRRP_GROUP_V4, VRRP_GROUP_V6, VRRP_MAC_V4, VRRP_MAC_V6, ethernet, ipv4, ipv6,
    },
    vrrp::Family,
};

const PROTO_VRRP: u8 = 112;
const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
/// IPv6 next-header values of the extension headers the cases put in front of VRRP.
const NEXT_HEADER_HOP_BY_HOP: u8 = 0;
const NEXT_HEADER_FRAGMENT: u8 = 44;
/// IPv4 "more fragments" flag in the flags/offset field.
const MORE_FRAGMENTS: u16 = 0x2000;
/// The largest IP packet the lab's links carry (Ethernet MTU).
const MTU: usize = 1500;

/// Who sends the defective adverts, and the virtual address they carry.
#[derive(Clone, Copy, Debug)]
pub enum Sender {
    /// An IPv4 advert from `source`.
    V4 {
        /// Ethernet source.
        mac: [u8; 6],
        /// IP source.
        source: Ipv4Addr,
        /// The address in the advert.
        vip: Ipv4Addr,
    },
    /// An IPv6 advert from `source` (link-local).
    V6 {
        /// Ethernet source.
        mac: [u8; 6],
        /// IP source.
        source: Ipv6Addr,
        /// The address in the advert.
        vip: Ipv6Addr,
    },
}

impl Sender {
    /// The family it sends.
    pub fn family(&self) -> Family {
        match self {
            Self::V4 { .. } => Family::V4,
            Self::V6 { .. } => Family::V6,
        }
    }

    fn vip_bytes(&self) -> Vec<u8> {
        match self {
            Self::V4 { vip, .. } => vip.octets().to_vec(),
            Self::V6 { vip, .. } => vip.octets().to_vec(),
        }
    }

    /// An address of the other family, as an advert of this family must not carry.
    fn other_family_address(&self) -> Vec<u8> {
        match self {
            Self::V4 { .. } => Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x100)
                .octets()
                .to_vec(),
            Self::V6 { .. } => Ipv4Addr::new(192, 0, 2, 100).octets().to_vec(),
        }
    }

    /// `advert`'s message with `address_bytes` as its list, checksummed for this sender.
    fn message(&self, advert: &Advert, address_bytes: &[u8]) -> Vec<u8> {
        match self {
            Self::V4 { source, .. } => advert.message_v4_raw(*source, address_bytes),
            Self::V6 { source, .. } => advert.message_v6_raw(*source, address_bytes),
        }
    }

    /// An IP packet (protocol / next header 112, TTL / hop limit `ttl`) around `payload`.
    fn packet(&self, ttl: u8, payload: &[u8]) -> Vec<u8> {
        match self {
            Self::V4 { source, .. } => ipv4(*source, VRRP_GROUP_V4, ttl, PROTO_VRRP, payload),
            Self::V6 { source, .. } => ipv6(*source, VRRP_GROUP_V6, ttl, PROTO_VRRP, payload),
        }
    }

    /// `packet` in an Ethernet frame to the VRRP group's MAC.
    fn frame(&self, packet: &[u8]) -> Vec<u8> {
        match self {
            Self::V4 { mac, .. } => ethernet(VRRP_MAC_V4, *mac, ETHERTYPE_IPV4, packet),
            Self::V6 { mac, .. } => ethernet(VRRP_MAC_V6, *mac, ETHERTYPE_IPV6, packet),
        }
    }

    /// `advert` as a well-formed frame (its own fields may still be defective).
    pub fn advert_frame(&self, advert: &Advert) -> Vec<u8> {
        let message = self.message(advert, &self.vip_bytes());
        self.frame(&self.packet(advert.ttl, &message))
    }

    /// Offset of the IP length field in a frame (IPv4 total length, IPv6 payload length).
    fn length_field_at(&self) -> usize {
        match self {
            Self::V4 { .. } => 14 + 2,
            Self::V6 { .. } => 14 + 4,
        }
    }
}

/// Builds a case's frames from the sender and the winning advert.
pub type BuildFrames = fn(&Sender, &Advert) -> Vec<Vec<u8>>;

/// One defective advert.
pub struct BadAdvert {
    /// What is wrong with it (and the checklist item, where there is one).
    pub name: &'static str,
    /// The family it exists in (`None`: both).
    pub only: Option<Family>,
    /// The frames that carry it (a fragmented advert takes two).
    pub frames: BuildFrames,
    /// The XDP counter every frame lands in; `None` when the program does not see an advert at
    /// all (IPv6 with an extension header first: passed to the kernel, which has no VRRP
    /// listener; xvrrp's adverts never carry one).
    pub counter: Option<Counter>,
}

impl BadAdvert {
    /// Whether the case exists for `family`.
    pub fn applies_to(&self, family: Family) -> bool {
        self.only.is_none_or(|only| only == family)
    }
}

/// `advert` with one header field changed by `edit`, in a well-formed frame.
fn edited(sender: &Sender, advert: &Advert, edit: impl Fn(&mut Advert)) -> Vec<Vec<u8>> {
    let mut advert = advert.clone();
    edit(&mut advert);
    vec![sender.advert_frame(&advert)]
}

/// A well-formed frame whose message carries `address_bytes` as its list.
fn with_addresses(sender: &Sender, advert: &Advert, address_bytes: &[u8]) -> Vec<Vec<u8>> {
    let message = sender.message(advert, address_bytes);
    vec![sender.frame(&sender.packet(advert.ttl, &message))]
}

/// The table.
pub fn bad_adverts() -> Vec<BadAdvert> {
    let case = |name, only, frames, counter| BadAdvert {
        name,
        only,
        frames,
        counter: Some(counter),
    };
    vec![
        case(
            "TTL / hop limit 254 (C-24)",
            None,
            |s, a| edited(s, a, |a| a.ttl = 254),
            Counter::InvalidTtl,
        ),
        case(
            "TTL / hop limit 1",
            None,
            |s, a| edited(s, a, |a| a.ttl = 1),
            Counter::InvalidTtl,
        ),
        case(
            "version 2 (C-25)",
            None,
            |s, a| edited(s, a, |a| a.version = 2),
            Counter::InvalidVersion,
        ),
        case(
            "version 15",
            None,
            |s, a| edited(s, a, |a| a.version = 15),
            Counter::InvalidVersion,
        ),
        case(
            "type 2 (C-26)",
            None,
            |s, a| edited(s, a, |a| a.kind = 2),
            Counter::InvalidType,
        ),
        case(
            "bad checksum (C-27)",
            None,
            |s, a| edited(s, a, |a| a.checksum_error = 0x5a5a),
            Counter::InvalidChecksum,
        ),
        case(
            "count 3 with one address (C-28)",
            None,
            |s, a| edited(s, a, |a| a.count = 3),
            Counter::InvalidLength,
        ),
        case(
            "count 1 with two addresses",
            None,
            |s, a| {
                let mut addresses = s.vip_bytes();
                addresses.extend(s.vip_bytes().iter().map(|byte| byte ^ 1));
                with_addresses(s, a, &addresses)
            },
            Counter::InvalidLength,
        ),
        case(
            "count 0 without addresses",
            None,
            |s, a| {
                let mut advert = a.clone();
                advert.count = 0;
                with_addresses(s, &advert, &[])
            },
            Counter::InvalidLength,
        ),
        case(
            "an address of the other family",
            None,
            |s, a| with_addresses(s, a, &s.other_family_address()),
            Counter::InvalidLength,
        ),
        case(
            "truncated in the address list",
            None,
            |s, a| {
                let mut frame = s.advert_frame(a);
                frame.truncate(frame.len() - 2);
                vec![frame]
            },
            Counter::InvalidLength,
        ),
        case(
            "runt: 4 bytes of VRRP header",
            None,
            |s, a| {
                let message = s.message(a, &s.vip_bytes());
                vec![s.frame(&s.packet(a.ttl, &message[..4]))]
            },
            Counter::InvalidLength,
        ),
        case(
            "MTU-sized: the list padded to a 1500-byte packet",
            None,
            |s, a| {
                let header = match s {
                    Sender::V4 { .. } => 20,
                    Sender::V6 { .. } => 40,
                };
                let mut addresses = s.vip_bytes();
                addresses.resize(MTU - header - 8, 0);
                with_addresses(s, a, &addresses)
            },
            Counter::InvalidLength,
        ),
        case(
            "IP length longer than the frame",
            None,
            |s, a| {
                let mut frame = s.advert_frame(a);
                let at = s.length_field_at();
                let length = u16::from_be_bytes([frame[at], frame[at + 1]]) + 8;
                frame[at..at + 2].copy_from_slice(&length.to_be_bytes());
                vec![frame]
            },
            Counter::InvalidLength,
        ),
        case(
            "unknown VRID (C-29)",
            None,
            |s, a| edited(s, a, |a| a.vrid = a.vrid.wrapping_add(100)),
            Counter::UnknownVrid,
        ),
        case(
            "VRID 0",
            None,
            |s, a| edited(s, a, |a| a.vrid = 0),
            Counter::UnknownVrid,
        ),
        case(
            "interval 0 (C-31)",
            None,
            |s, a| edited(s, a, |a| a.interval_cs = 0),
            Counter::ZeroInterval,
        ),
        case(
            "IP options (router alert) before a bad checksum",
            Some(Family::V4),
            |s, a| {
                let mut advert = a.clone();
                advert.checksum_error = 0x5a5a;
                let message = s.message(&advert, &s.vip_bytes());
                vec![s.frame(&with_ipv4_header_len(&s.packet(a.ttl, &message), 24))]
            },
            Counter::InvalidChecksum,
        ),
        case(
            "IP fragments (8 + 4 bytes of the message)",
            Some(Family::V4),
            |s, a| {
                let message = s.message(a, &s.vip_bytes());
                let first = fragment_v4(&s.packet(a.ttl, &message[..8]), 0, true);
                let second = fragment_v4(&s.packet(a.ttl, &message[8..]), 1, false);
                vec![s.frame(&first), s.frame(&second)]
            },
            Counter::InvalidLength,
        ),
        BadAdvert {
            name: "IP header length beyond the packet",
            only: Some(Family::V4),
            frames: |s, a| {
                vec![s.frame(&with_ipv4_header_len(
                    &s.packet(a.ttl, &s.message(a, &s.vip_bytes())),
                    60,
                ))]
            },
            // Not even an IP packet to parse: passed to the kernel, which drops it.
            counter: Some(Counter::ParseErrors),
        },
        BadAdvert {
            name: "behind a hop-by-hop options header",
            only: Some(Family::V6),
            frames: |s, a| {
                // Next header 112, length 0 (8 bytes), one PadN option of 4 bytes.
                let extension = [PROTO_VRRP, 0, 1, 4, 0, 0, 0, 0];
                vec![behind_extension(s, a, NEXT_HEADER_HOP_BY_HOP, &extension)]
            },
            counter: None,
        },
        BadAdvert {
            name: "behind a fragment header (first fragment of more)",
            only: Some(Family::V6),
            frames: |s, a| {
                // Next header 112, offset 0 with "more fragments", an identification.
                let extension = [PROTO_VRRP, 0, 0, 1, 0x12, 0x34, 0x56, 0x78];
                vec![behind_extension(s, a, NEXT_HEADER_FRAGMENT, &extension)]
            },
            counter: None,
        },
    ]
}

/// An IPv4 `packet` (no options) rewritten with a header of `header_len` bytes: option bytes
/// (router alert, then end-of-options padding) inserted when they fit in the packet, else only
/// the header length field raised; the total length and header checksum follow.
fn with_ipv4_header_len(packet: &[u8], header_len: usize) -> Vec<u8> {
    let mut rebuilt = packet[..20].to_vec();
    rebuilt[0] = 0x40 | u8::try_from(header_len / 4).expect("IHL fits");
    if header_len <= 24 {
        rebuilt.extend_from_slice(&[0x94, 0x04, 0, 0][..header_len - 20]);
        let total = u16::try_from(packet.len() + header_len - 20).expect("fits");
        rebuilt[2..4].copy_from_slice(&total.to_be_bytes());
    }
    rebuilt.extend_from_slice(&packet[20..]);
    refresh_ipv4_checksum(&mut rebuilt, header_len.min(24));
    rebuilt
}

/// An IPv4 `packet` marked as the fragment at `offset_units` (8-byte units).
fn fragment_v4(packet: &[u8], offset_units: u16, more: bool) -> Vec<u8> {
    let mut fragment = packet.to_vec();
    let field = offset_units | if more { MORE_FRAGMENTS } else { 0 };
    fragment[6..8].copy_from_slice(&field.to_be_bytes());
    refresh_ipv4_checksum(&mut fragment, 20);
    fragment
}

fn refresh_ipv4_checksum(packet: &mut [u8], header_len: usize) {
    packet[10..12].fill(0);
    let checksum = crate::frames::internet_checksum(&packet[..header_len]);
    packet[10..12].copy_from_slice(&checksum.to_be_bytes());
}

/// `advert` (valid in itself) behind one IPv6 extension header of type `next_header`.
fn behind_extension(
    sender: &Sender,
    advert: &Advert,
    next_header: u8,
    extension: &[u8],
) -> Vec<u8> {
    let Sender::V6 { source, .. } = sender else {
        panic!("IPv6 extension headers need an IPv6 sender");
    };
    let message = sender.message(advert, &sender.vip_bytes());
    let payload = [extension, &message].concat();
    sender.frame(&ipv6(
        *source,
        VRRP_GROUP_V6,
        advert.ttl,
        next_header,
        &payload,
    ))
}

/// The third suite of the table: the codec alone (no root, no kernel) discards every case
/// for the same reason the XDP program counts (`xdp_verdicts`) and the daemons survive
/// (`malformed_adverts`). One validation, `check_header`, serves both; this pins the table
/// to it.
#[cfg(test)]
mod codec {
    use vrrp_common::advert::{Advert, ChecksumStyle, VersionMode};

    use super::*;
    use crate::differential::expected_counter;

    #[test]
    fn the_codec_discards_every_case_for_the_counter_the_table_names() {
        // VRID 1 is one the differential harness configures, so "unknown VRID" (101) is not.
        let winning = crate::frames::Advert::new(1, 254);
        let senders = [
            Sender::V4 {
                mac: [0x02, 0, 0, 0, 0, 0x09],
                source: Ipv4Addr::new(192, 0, 2, 9),
                vip: Ipv4Addr::new(192, 0, 2, 100),
            },
            Sender::V6 {
                mac: [0x02, 0, 0, 0, 0, 0x09],
                source: Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 9),
                vip: Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0x100),
            },
        ];
        let mut checked = 0;
        for sender in senders {
            let family = sender.family();
            for case in bad_adverts().iter().filter(|case| case.applies_to(family)) {
                // Frames the program hands to the kernel unparsed are not the codec's.
                let Some(counter) = case.counter.filter(|c| *c != Counter::ParseErrors) else {
                    continue;
                };
                for frame in (case.frames)(&sender, &winning) {
                    let packet = &frame[14..];
                    let decoded = match family {
                        Family::V4 => Advert::decode_ipv4_packet_accepting(
                            packet,
                            ChecksumStyle::Rfc9568,
                            VersionMode::V3,
                        ),
                        Family::V6 => Advert::decode_ipv6_packet(packet),
                    };
                    assert_eq!(
                        expected_counter(&decoded),
                        counter,
                        "{family:?} {}: codec says {decoded:?}",
                        case.name
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked >= 30, "only {checked} frames checked");
    }
}
