//! The XDP program and the codec must agree on every advert: random frames, most of them
//! mutations of valid ones (TTL, version, type, count, address list, IP length, checksum and
//! its style, truncation, VRID, interval, and the VRRPv2 layout with its auth type), go through
//! `BPF_PROG_TEST_RUN` and through `Advert::decode_ipv4_packet_accepting` /
//! `decode_ipv6_packet` with the VRID's checksum style and VRRP versions;
//! the program's counter must be the codec's discard reason, and what it delivers must be
//! exactly what the codec accepts.

use std::{
    cell::RefCell,
    collections::BTreeMap,
    net::{Ipv4Addr, Ipv6Addr},
};

use proptest::{
    prelude::*,
    test_runner::{Config, TestRunner},
};
use vrrp_common::{
    advert::{Advert, ChecksumStyle, DecodeError, VersionMode},
    checksum::{internet_checksum, ipv4_pseudo_header_checksum, ipv6_pseudo_header_checksum},
    counters::Counter,
    maps::{AddressFamily, Role},
};
use vrrp_tests::xdp::TEST_HEARTBEAT_TIMEOUT;
use vrrp_tests::{
    frames::{VRRP_GROUP_V4, VRRP_GROUP_V6, VRRP_MAC_V4, VRRP_MAC_V6, ethernet, ipv4, ipv6},
    privilege::require_root,
    xdp::{XdpUnderTest, io_runtime},
};
use vrrp_user::dataplane::{AdvertEvents, InstanceSettings};

const XDP_DROP: u32 = 1;
const PEER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];
const PEER4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
/// VRIDs configured (Master, so every valid advert for them is delivered), each with its IPv4
/// checksum style and VRRP versions (IPv6 is always VRRPv3); 3 and 0 are not (checked as RFC
/// 9568 VRRPv3).
const CONFIGURED: [(u8, ChecksumStyle, VersionMode); 5] = [
    (1, ChecksumStyle::Rfc9568, VersionMode::V3),
    (2, ChecksumStyle::WithoutPseudoHeader, VersionMode::V3),
    (4, ChecksumStyle::AcceptBoth, VersionMode::V3),
    (5, ChecksumStyle::Rfc9568, VersionMode::V2),
    (6, ChecksumStyle::WithoutPseudoHeader, VersionMode::V2AndV3),
];

/// The checksum style and IPv4 VRRP versions VRID `vrid` accepts.
fn accepts(vrid: u8) -> (ChecksumStyle, VersionMode) {
    CONFIGURED
        .into_iter()
        .find(|(configured, ..)| *configured == vrid)
        .map_or(
            (ChecksumStyle::Rfc9568, VersionMode::V3),
            |(_, style, versions)| (style, versions),
        )
}

fn configured(vrid: u8) -> bool {
    CONFIGURED
        .iter()
        .any(|(configured, ..)| *configured == vrid)
}

fn peer6() -> Ipv6Addr {
    "fe80::2".parse().unwrap()
}

/// One random advert frame: a valid advert's fields, each mutated with some probability.
#[derive(Clone, Debug)]
struct Case {
    ipv6: bool,
    ttl: u8,
    version: u8,
    /// Laid out as VRRPv2 (RFC 3768 §5.1): auth type and Adver Int in seconds in the second
    /// word, eight bytes of authentication data after the addresses.
    v2_layout: bool,
    auth_type: u8,
    kind: u8,
    vrid: u8,
    count: u8,
    interval_cs: u16,
    /// Addresses actually in the message.
    addresses: usize,
    /// Bytes after the addresses.
    trailing: usize,
    /// Added to the IP length field (clamped so the IP header itself stays intact).
    ip_len_delta: i32,
    /// The sender sums the pseudo-header into the checksum (RFC 9568) or not.
    pseudo_header: bool,
    /// XORed into the correct checksum.
    checksum_error: u16,
    /// Bytes cut from the end of the frame (never into the IP header).
    truncate: usize,
    /// Ethernet padding after the IP packet.
    padding: usize,
}

/// `valid` most of the time, else anything `other` yields.
fn mostly<T: Clone + std::fmt::Debug + 'static>(
    valid: T,
    other: impl Strategy<Value = T> + 'static,
) -> BoxedStrategy<T> {
    prop_oneof![3 => Just(valid), 1 => other].boxed()
}

fn case() -> impl Strategy<Value = Case> {
    let fields = (
        any::<bool>(),
        mostly(255u8, any::<u8>()),
        mostly(3u8, 0u8..16),
        mostly(1u8, 0u8..16),
        prop_oneof![
            8 => prop::sample::select(vec![1u8, 2, 4, 5, 6]),
            1 => Just(0u8),
            1 => Just(3u8)
        ],
        1usize..=4,
        mostly(100u16, prop_oneof![Just(0u16), 1u16..=0x0fff]),
        any::<bool>(),
        mostly(0u8, 1u8..4),
        any::<bool>(),
    );
    let mutations = (
        mostly(None, (0u8..=6).prop_map(Some)),
        mostly(0usize, 1usize..=6),
        mostly(0i32, -12i32..=12),
        mostly(0u16, any::<u16>()),
        mostly(0usize, 1usize..=12),
        mostly(0usize, 1usize..=20),
        mostly(None, (0usize..=5).prop_map(Some)),
        any::<bool>(),
    );
    (fields, mutations).prop_map(
        |(
            (ipv6, ttl, version, kind, vrid, addresses, interval_cs, v2_layout, auth_type, coin),
            (
                count,
                trailing,
                ip_len_delta,
                checksum_error,
                truncate,
                padding,
                listed,
                pseudo_header,
            ),
        )| Case {
            // VRRPv2 frames mostly over IPv4 and for the instances that speak it (VRIDs 1 and
            // 2 become 5 and 6; 4 stays VRRPv3-only, 0 and 3 unconfigured), else they would
            // rarely reach the checks after the checksum.
            ipv6: ipv6 && (!v2_layout || coin),
            ttl,
            // The VRRPv2 layout carries version 2 unless the version is mutated.
            version: if v2_layout && version == 3 {
                2
            } else {
                version
            },
            v2_layout,
            auth_type,
            kind,
            vrid: match (v2_layout, vrid) {
                (true, 1) => 5,
                (true, 2) => 6,
                _ => vrid,
            },
            // Either the count field or the list is mutated relative to the other.
            count: count.unwrap_or(addresses as u8),
            interval_cs,
            addresses: listed.unwrap_or(addresses),
            trailing,
            ip_len_delta,
            // RFC 3768 §5.3.8: a VRRPv2 checksum never includes the pseudo-header.
            pseudo_header: pseudo_header && !v2_layout,
            checksum_error,
            truncate,
            padding,
        },
    )
}

impl Case {
    fn frame(&self) -> Vec<u8> {
        let address_len = if self.ipv6 { 16 } else { 4 };
        let mut message = vec![(self.version << 4) | self.kind, self.vrid, 100, self.count];
        if self.v2_layout {
            message.extend_from_slice(&[self.auth_type, (self.interval_cs / 100) as u8]);
        } else {
            message.extend_from_slice(&self.interval_cs.to_be_bytes());
        }
        message.extend_from_slice(&[0, 0]);
        for index in 0..self.addresses * address_len {
            message.push(0x20 + index as u8);
        }
        if self.v2_layout {
            message.extend_from_slice(&[0; 8]);
        }
        message.extend(std::iter::repeat_n(0xee, self.trailing));
        let checksum = if !self.pseudo_header {
            internet_checksum(&message)
        } else if self.ipv6 {
            ipv6_pseudo_header_checksum(&peer6(), &VRRP_GROUP_V6, 112, &message)
        } else {
            ipv4_pseudo_header_checksum(PEER4, VRRP_GROUP_V4, 112, &message)
        } ^ self.checksum_error;
        message[6..8].copy_from_slice(&checksum.to_be_bytes());
        let (mut frame, length_at, header_len) = if self.ipv6 {
            let packet = ipv6(peer6(), VRRP_GROUP_V6, self.ttl, 112, &message);
            (ethernet(VRRP_MAC_V6, PEER_MAC, 0x86dd, &packet), 14 + 4, 0)
        } else {
            let packet = ipv4(PEER4, VRRP_GROUP_V4, self.ttl, 112, &message);
            (ethernet(VRRP_MAC_V4, PEER_MAC, 0x0800, &packet), 14 + 2, 20)
        };
        let length = u16::from_be_bytes([frame[length_at], frame[length_at + 1]]);
        let length = (i32::from(length) + self.ip_len_delta).max(header_len);
        frame[length_at..length_at + 2].copy_from_slice(&(length as u16).to_be_bytes());
        frame.extend(std::iter::repeat_n(0, self.padding));
        let ip_end = 14 + if self.ipv6 { 40 } else { 20 };
        frame.truncate((frame.len() - self.truncate).max(ip_end));
        frame
    }
}

/// The counter the XDP program must bump for what the codec says about the same packet.
fn expected_counter(decoded: &Result<Advert<'_>, DecodeError>) -> Counter {
    match decoded {
        Ok(advert) if configured(advert.vrid()) => Counter::AdvertsToUserspace,
        // The codec cannot know the configuration; VRID 0 is never configured.
        Ok(_) | Err(DecodeError::ZeroVrid) => Counter::UnknownVrid,
        Err(DecodeError::Truncated { .. })
        | Err(DecodeError::NoAddresses { .. })
        | Err(DecodeError::AddressCountMismatch { .. }) => Counter::InvalidLength,
        Err(DecodeError::BadTtl { .. }) => Counter::InvalidTtl,
        Err(DecodeError::BadVersion { .. }) | Err(DecodeError::Version2 { .. }) => {
            Counter::InvalidVersion
        }
        Err(DecodeError::BadType { .. }) => Counter::InvalidType,
        Err(DecodeError::BadChecksum { .. }) => Counter::InvalidChecksum,
        Err(DecodeError::ChecksumOtherStyle { .. }) => Counter::ChecksumOtherStyle,
        Err(DecodeError::ZeroInterval { .. }) => Counter::ZeroInterval,
        Err(DecodeError::AuthType { .. }) => Counter::AuthTypeMismatch,
        Err(error @ DecodeError::WrongFamily { .. })
        | Err(error @ DecodeError::BadIpv4HeaderLength { .. })
        | Err(error @ DecodeError::NotVrrp { .. }) => {
            panic!("the generator built a non-advert: {error}")
        }
    }
}

/// Runs one case through both and compares; returns the verdict they agree on, and whether
/// it was an accepted VRRPv2 advert.
fn agree(
    xdp: &mut XdpUnderTest,
    events: &mut AdvertEvents,
    case: &Case,
) -> Result<(Counter, bool), TestCaseError> {
    let frame = case.frame();
    let decoded = if case.ipv6 {
        Advert::decode_ipv6_packet(&frame[14..])
    } else {
        let (style, versions) = accepts(case.vrid);
        Advert::decode_ipv4_packet_accepting(&frame[14..], style, versions)
    };
    let accepted_v2 = decoded.as_ref().is_ok_and(|advert| advert.version() == 2);
    let expected = expected_counter(&decoded);
    let before = xdp.dataplane.counters().unwrap();
    let verdict = xdp.run(&frame);
    let after = xdp.dataplane.counters().unwrap();
    prop_assert_eq!(verdict.action, XDP_DROP);
    let moved: Vec<Counter> = Counter::ALL
        .into_iter()
        .filter(|counter| after.get(*counter) != before.get(*counter))
        .filter(|counter| *counter != Counter::AdvertsReceived)
        .collect();
    // A VRRPv2 advert over IPv4 is also handed up, for the daemon to report the peer.
    let version2_report = !case.ipv6 && case.version == 2 && expected == Counter::InvalidVersion;
    // One advert in the other checksum style per second and CPU is handed up as a sample, for
    // the daemon to name the peer and the setting.
    let other_style_sample = expected == Counter::ChecksumOtherStyle && configured(case.vrid);
    let delivered = events.try_next();
    if other_style_sample && delivered.is_some() {
        prop_assert_eq!(
            &moved,
            &[Counter::AdvertsToUserspace, Counter::ChecksumOtherStyle],
            "codec: {:?}",
            decoded
        );
        let message_len = usize::from(u16::from_be_bytes([frame[16], frame[17]])) - 20;
        prop_assert_eq!(
            delivered.map(|advert| advert.message),
            Some(frame[34..34 + message_len].to_vec())
        );
    } else if version2_report {
        prop_assert_eq!(
            &moved,
            &[Counter::AdvertsToUserspace, Counter::InvalidVersion],
            "codec: {:?}",
            decoded
        );
        prop_assert!(delivered.is_some());
    } else {
        prop_assert_eq!(&moved, &[expected], "codec: {:?}", decoded);
        let delivered = delivered.map(|advert| advert.message);
        let accepted = decoded
            .ok()
            .filter(|_| expected == Counter::AdvertsToUserspace)
            .map(|advert| advert.message().to_vec());
        prop_assert_eq!(delivered, accepted);
    }
    prop_assert!(events.try_next().is_none());
    Ok((
        expected,
        accepted_v2 && expected == Counter::AdvertsToUserspace,
    ))
}

#[test]
fn xdp_and_codec_agree_on_every_verdict() {
    if !require_root("xdp_and_codec_agree_on_every_verdict") {
        return;
    }
    let runtime = io_runtime();
    let _runtime = runtime.enter();
    let mut xdp = XdpUnderTest::new();
    let events = xdp.dataplane.take_events().unwrap();
    for (vrid, checksum_style, ipv4_versions) in CONFIGURED {
        for (family, master_address, versions) in [
            (AddressFamily::Ipv4, PEER4.into(), ipv4_versions),
            (AddressFamily::Ipv6, peer6().into(), VersionMode::V3),
        ] {
            let settings = InstanceSettings {
                role: Role::Master,
                accept: false,
                master_address,
                master_priority: 100,
                master_interval_cs: 100,
                owner: false,
                heartbeat_timeout: TEST_HEARTBEAT_TIMEOUT,
                checksum_style,
                peers_listed: false,
                versions,
            };
            xdp.dataplane.set_instance(family, vrid, &settings).unwrap();
        }
    }
    let mut runner = TestRunner::new(Config {
        cases: 4000,
        failure_persistence: None,
        ..Config::default()
    });
    // The runner takes a `Fn`; the program, its ring and the tally are used one case at a time.
    let state = RefCell::new((xdp, events, BTreeMap::new()));
    let result = runner.run(&case(), |case| {
        let (xdp, events, verdicts) = &mut *state.borrow_mut();
        let (verdict, accepted_v2) = agree(xdp, events, &case)?;
        *verdicts.entry(verdict.name()).or_insert(0u32) += 1;
        if accepted_v2 {
            *verdicts.entry("accepted VRRPv2").or_insert(0u32) += 1;
        }
        Ok(())
    });
    let (_xdp, _events, verdicts) = state.into_inner();
    if let Err(failure) = result {
        panic!("{failure}");
    }
    // Not vacuous: every verdict the mutations aim at was reached.
    for counter in [
        Counter::AdvertsToUserspace,
        Counter::UnknownVrid,
        Counter::InvalidLength,
        Counter::InvalidTtl,
        Counter::InvalidVersion,
        Counter::InvalidType,
        Counter::InvalidChecksum,
        Counter::ChecksumOtherStyle,
        Counter::ZeroInterval,
        Counter::AuthTypeMismatch,
    ] {
        assert!(
            verdicts.get(counter.name()).is_some_and(|n| *n >= 5),
            "{} reached too rarely: {verdicts:?}",
            counter.name()
        );
    }
    assert!(
        verdicts.get("accepted VRRPv2").is_some_and(|n| *n >= 5),
        "VRRPv2 adverts accepted too rarely: {verdicts:?}"
    );
}
