//! One named, hand-built negative case per discard reason (RFC 9568 §7.1 and the errata), and
//! per encoder refusal. Each case changes one field of a valid advert and, where the checksum
//! is not the point, reseals the checksum so only that defect remains.

mod common;

use std::net::{Ipv4Addr, Ipv6Addr};

use common::{
    CONTEXT_V4, CONTEXT_V6, PARAMS, SOURCE_V4, good_ipv4_packet, good_ipv6_packet, ipv4_packet,
    message_v4, reseal,
};
use vrrp_common::{
    advert::{
        Advert, AdvertParams, ChecksumStyle, DecodeError, EncodeError, VersionMode, encode_ipv4,
        encode_ipv4_v2, encode_ipv6,
    },
    checksum::internet_checksum,
    consts::{IPPROTO_VRRP, VRRP_GROUP_V4, VRRP_GROUP_V6, VRRP_TTL},
    frames::{build_gratuitous_arp, build_ipv4_advert, build_unsolicited_na},
};

const VIP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 100);

/// A valid IPv4 message with one change made by `edit`, checksum resealed.
fn edited_v4(edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut message = message_v4(&PARAMS, &[VIP]);
    edit(&mut message);
    reseal(&mut message, &CONTEXT_V4);
    message
}

#[test]
fn truncated_ipv4_header() {
    let packet = good_ipv4_packet();
    assert_eq!(
        Advert::decode_ipv4_packet(&packet[..19]),
        Err(DecodeError::Truncated {
            needed: 20,
            available: 19
        })
    );
}

#[test]
fn truncated_ipv4_payload_shorter_than_total_length() {
    let packet = good_ipv4_packet();
    let short = &packet[..packet.len() - 1];
    assert_eq!(
        Advert::decode_ipv4_packet(short),
        Err(DecodeError::Truncated {
            needed: packet.len(),
            available: packet.len() - 1
        })
    );
}

#[test]
fn truncated_ipv6_payload_shorter_than_payload_length() {
    let packet = good_ipv6_packet();
    assert_eq!(
        Advert::decode_ipv6_packet(&packet[..50]),
        Err(DecodeError::Truncated {
            needed: packet.len(),
            available: 50
        })
    );
}

#[test]
fn truncated_vrrp_header() {
    assert_eq!(
        Advert::decode_message(&[0x31, 7, 100], CONTEXT_V4),
        Err(DecodeError::Truncated {
            needed: 8,
            available: 3
        })
    );
}

#[test]
fn ethernet_padding_after_the_ip_packet_is_ignored() {
    let mut packet = good_ipv4_packet();
    packet.extend_from_slice(&[0; 14]);
    assert_eq!(
        Advert::decode_ipv4_packet(&packet).unwrap().vrid(),
        PARAMS.vrid
    );
}

#[test]
fn wrong_family_ipv6_packet_decoded_as_ipv4() {
    assert_eq!(
        Advert::decode_ipv4_packet(&good_ipv6_packet()),
        Err(DecodeError::WrongFamily {
            expected: 4,
            found: 6
        })
    );
}

#[test]
fn wrong_family_ipv4_packet_decoded_as_ipv6() {
    let mut packet = good_ipv4_packet();
    packet.resize(64, 0);
    assert_eq!(
        Advert::decode_ipv6_packet(&packet),
        Err(DecodeError::WrongFamily {
            expected: 6,
            found: 4
        })
    );
}

#[test]
fn bad_ipv4_header_length() {
    let mut packet = good_ipv4_packet();
    packet[0] = 0x44;
    assert_eq!(
        Advert::decode_ipv4_packet(&packet),
        Err(DecodeError::BadIpv4HeaderLength { header_len: 16 })
    );
}

#[test]
fn not_vrrp_ipv4_protocol() {
    let packet = ipv4_packet(&message_v4(&PARAMS, &[VIP]), VRRP_TTL, 17);
    assert_eq!(
        Advert::decode_ipv4_packet(&packet),
        Err(DecodeError::NotVrrp { protocol: 17 })
    );
}

#[test]
fn not_vrrp_ipv6_extension_header() {
    let mut packet = good_ipv6_packet();
    packet[6] = 0; // hop-by-hop options
    assert_eq!(
        Advert::decode_ipv6_packet(&packet),
        Err(DecodeError::NotVrrp { protocol: 0 })
    );
}

#[test]
fn bad_ttl_ipv4() {
    // RFC 9568 §7.1, checklist C-24.
    let packet = ipv4_packet(&message_v4(&PARAMS, &[VIP]), 254, IPPROTO_VRRP);
    assert_eq!(
        Advert::decode_ipv4_packet(&packet),
        Err(DecodeError::BadTtl { ttl: 254 })
    );
}

#[test]
fn bad_hop_limit_ipv6() {
    let mut packet = good_ipv6_packet();
    packet[7] = 64;
    assert_eq!(
        Advert::decode_ipv6_packet(&packet),
        Err(DecodeError::BadTtl { ttl: 64 })
    );
}

#[test]
fn bad_version() {
    // Checklist C-25 uses version 2 in the v3 layout; over IPv4 that is a v2 question (see
    // below), so a foreign version shows the plain rejection.
    let message = edited_v4(|message| message[0] = 0x41);
    assert_eq!(
        Advert::decode_message(&message, CONTEXT_V4),
        Err(DecodeError::BadVersion { version: 4 })
    );
}

#[test]
fn bad_version_two_over_ipv6() {
    // VRRPv2 is IPv4-only (RFC 3768), so version 2 over IPv6 is just a bad version.
    let vip = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0x100);
    let mut message = common::message_v6(&PARAMS, &[vip]);
    message[0] = 0x21;
    reseal(&mut message, &CONTEXT_V6);
    assert_eq!(
        Advert::decode_message(&message, CONTEXT_V6),
        Err(DecodeError::BadVersion { version: 2 })
    );
}

/// A VRRPv2 advert (RFC 3768 §5.1): VRID 9, priority 120, one address, auth type 0,
/// interval 3 s, 8 bytes of zero authentication data, checksum over the message alone.
fn v2_message() -> Vec<u8> {
    let mut message = vec![0x21, 9, 120, 1, 0, 3, 0, 0];
    message.extend_from_slice(&VIP.octets());
    message.extend_from_slice(&[0; 8]);
    let checksum = internet_checksum(&message);
    message[6..8].copy_from_slice(&checksum.to_be_bytes());
    message
}

#[test]
fn version2_peer_is_recognised() {
    let packet = ipv4_packet(&v2_message(), VRRP_TTL, IPPROTO_VRRP);
    assert_eq!(
        Advert::decode_ipv4_packet(&packet),
        Err(DecodeError::Version2 {
            vrid: 9,
            priority: 120,
            advert_interval_seconds: 3
        })
    );
}

/// Decodes `message` for an instance with `version = 2` (or `"2+3"`).
fn decode_v2(message: &[u8], versions: VersionMode) -> Result<Advert<'_>, DecodeError> {
    Advert::decode_message_accepting(message, CONTEXT_V4, ChecksumStyle::Rfc9568, versions)
}

/// [`v2_message`] with one change made by `edit`, checksum resealed (RFC 3768: over the
/// message alone).
fn edited_v2(edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut message = v2_message();
    edit(&mut message);
    message[6..8].copy_from_slice(&[0, 0]);
    let checksum = internet_checksum(&message);
    message[6..8].copy_from_slice(&checksum.to_be_bytes());
    message
}

#[test]
fn version2_advert_decodes_its_fields() {
    let message = v2_message();
    for versions in [VersionMode::V2, VersionMode::V2AndV3] {
        let advert = decode_v2(&message, versions).unwrap();
        assert_eq!(
            (
                advert.version(),
                advert.vrid(),
                advert.priority(),
                advert.address_count()
            ),
            (2, 9, 120, 1)
        );
        // 3 s in centiseconds (RFC 9568 §8.4).
        assert_eq!(advert.max_advert_interval_cs(), 300);
        assert!(advert.addresses().eq([std::net::IpAddr::V4(VIP)]));
    }
}

#[test]
fn version2_discards_follow_rfc_3768() {
    let v2 = VersionMode::V2;
    // Auth types 1 (simple text) and 2 (IP AH), removed by RFC 3768 §5.3.6.
    for auth_type in [1, 2] {
        let message = edited_v2(|message| message[4] = auth_type);
        assert_eq!(
            decode_v2(&message, v2),
            Err(DecodeError::AuthType { auth_type })
        );
    }
    let zero = edited_v2(|message| message[5] = 0);
    assert_eq!(
        decode_v2(&zero, v2),
        Err(DecodeError::ZeroInterval { vrid: 9 })
    );
    // Without the authentication data.
    let short = edited_v2(|message| message.truncate(12));
    assert!(matches!(
        decode_v2(&short, v2),
        Err(DecodeError::AddressCountMismatch {
            count: 1,
            expected_len: 20,
            actual_len: 12
        })
    ));
    // A VRRPv2 checksum never includes the pseudo-header.
    let mut message = v2_message();
    let sum = CONTEXT_V4.checksum(&{
        let mut unsummed = message.clone();
        unsummed[6..8].copy_from_slice(&[0, 0]);
        unsummed
    });
    message[6..8].copy_from_slice(&sum.to_be_bytes());
    assert!(matches!(
        decode_v2(&message, v2),
        Err(DecodeError::BadChecksum { .. })
    ));
    // VRRPv3 for a v2-only instance.
    let v3 = message_v4(&PARAMS, &[VIP]);
    assert_eq!(
        decode_v2(&v3, v2),
        Err(DecodeError::BadVersion { version: 3 })
    );
    assert!(decode_v2(&v3, VersionMode::V2AndV3).is_ok());
}

#[test]
fn version2_encoder_refuses_intervals_that_are_not_whole_seconds() {
    let mut buf = [0; 64];
    for interval_cs in [0, 150, 25600, 40] {
        let params = AdvertParams {
            max_advert_interval_cs: interval_cs,
            ..PARAMS
        };
        assert_eq!(
            encode_ipv4_v2(&mut buf, &params, &[VIP]),
            Err(EncodeError::IntervalNotWholeSeconds { interval_cs })
        );
    }
}

#[test]
fn version2_with_bad_checksum_is_a_version_error_not_a_peer_report() {
    // Neither a v3 nor a valid v2 advert: discarded for its version, as the XDP program counts it.
    let mut message = v2_message();
    message[7] ^= 0xff;
    assert_eq!(
        Advert::decode_message(&message, CONTEXT_V4),
        Err(DecodeError::BadVersion { version: 2 })
    );
    assert!(matches!(
        decode_v2(&message, VersionMode::V2),
        Err(DecodeError::BadChecksum { .. })
    ));
}

#[test]
fn bad_type() {
    // RFC 9568 §7.1, checklist C-26.
    let message = edited_v4(|message| message[0] = 0x32);
    assert_eq!(
        Advert::decode_message(&message, CONTEXT_V4),
        Err(DecodeError::BadType { kind: 2 })
    );
}

#[test]
fn no_addresses_is_ignored() {
    // RFC 9568 erratum 8299, checklist C-30.
    let message = edited_v4(|message| {
        message[3] = 0;
        message.truncate(8);
    });
    assert_eq!(
        Advert::decode_message(&message, CONTEXT_V4),
        Err(DecodeError::NoAddresses { vrid: PARAMS.vrid })
    );
}

#[test]
fn address_count_larger_than_the_list() {
    // Checklist C-28: count 3 with one address, checksum valid over the bytes present.
    let message = edited_v4(|message| message[3] = 3);
    assert_eq!(
        Advert::decode_message(&message, CONTEXT_V4),
        Err(DecodeError::AddressCountMismatch {
            count: 3,
            expected_len: 20,
            actual_len: 12
        })
    );
}

#[test]
fn address_count_smaller_than_the_list() {
    let message = edited_v4(|message| message.extend_from_slice(&[192, 0, 2, 101]));
    assert_eq!(
        Advert::decode_message(&message, CONTEXT_V4),
        Err(DecodeError::AddressCountMismatch {
            count: 1,
            expected_len: 12,
            actual_len: 16
        })
    );
}

#[test]
fn bad_checksum() {
    // Checklist C-27: checksum ^ 0x5a5a.
    let mut message = message_v4(&PARAMS, &[VIP]);
    let good = u16::from_be_bytes([message[6], message[7]]);
    let bad = good ^ 0x5a5a;
    message[6..8].copy_from_slice(&bad.to_be_bytes());
    assert_eq!(
        Advert::decode_message(&message, CONTEXT_V4),
        Err(DecodeError::BadChecksum {
            received: bad,
            expected: good
        })
    );
}

#[test]
fn checksum_covers_the_ipv4_pseudo_header() {
    // The same bytes from another source no longer verify (RFC 9568 §5.2.8).
    let message = message_v4(&PARAMS, &[VIP]);
    let elsewhere = vrrp_common::advert::IpContext::V4 {
        source: Ipv4Addr::new(192, 0, 2, 2),
        destination: VRRP_GROUP_V4,
        ttl: VRRP_TTL,
    };
    assert!(matches!(
        Advert::decode_message(&message, elsewhere),
        Err(DecodeError::BadChecksum { .. })
    ));
}

#[test]
fn zero_vrid() {
    let message = edited_v4(|message| message[1] = 0);
    assert_eq!(
        Advert::decode_message(&message, CONTEXT_V4),
        Err(DecodeError::ZeroVrid)
    );
}

#[test]
fn zero_interval() {
    // RFC 9568 erratum 8301, checklist C-31.
    let message = edited_v4(|message| message[4..6].fill(0));
    assert_eq!(
        Advert::decode_message(&message, CONTEXT_V4),
        Err(DecodeError::ZeroInterval { vrid: PARAMS.vrid })
    );
}

#[test]
fn reserved_bits_are_ignored_on_receive() {
    // RFC 9568 §5.2.6, checklist C-14.
    let message = edited_v4(|message| message[4] |= 0xf0);
    let advert = Advert::decode_message(&message, CONTEXT_V4).unwrap();
    assert_eq!(advert.reserved(), 0xf);
    assert_eq!(
        advert.max_advert_interval_cs(),
        PARAMS.max_advert_interval_cs
    );
}

#[test]
fn encode_into_a_short_buffer() {
    let mut buf = [0; 11];
    assert_eq!(
        encode_ipv4(&mut buf, &PARAMS, SOURCE_V4, VRRP_GROUP_V4, &[VIP]),
        Err(EncodeError::BufferTooSmall {
            needed: 12,
            available: 11
        })
    );
}

#[test]
fn encode_zero_vrid() {
    let params = AdvertParams { vrid: 0, ..PARAMS };
    assert_eq!(
        encode_ipv4(&mut [0; 64], &params, SOURCE_V4, VRRP_GROUP_V4, &[VIP]),
        Err(EncodeError::ZeroVrid)
    );
}

#[test]
fn encode_interval_out_of_range() {
    for interval_cs in [0, 4096] {
        let params = AdvertParams {
            max_advert_interval_cs: interval_cs,
            ..PARAMS
        };
        assert_eq!(
            encode_ipv4(&mut [0; 64], &params, SOURCE_V4, VRRP_GROUP_V4, &[VIP]),
            Err(EncodeError::IntervalOutOfRange { interval_cs })
        );
    }
}

#[test]
fn encode_without_addresses() {
    assert_eq!(
        encode_ipv6(
            &mut [0; 64],
            &PARAMS,
            &common::SOURCE_V6,
            &VRRP_GROUP_V6,
            &[]
        ),
        Err(EncodeError::NoAddresses)
    );
}

#[test]
fn encode_too_many_addresses() {
    let addresses = [VIP; 256];
    assert_eq!(
        encode_ipv4(
            &mut [0; 2048],
            &PARAMS,
            SOURCE_V4,
            VRRP_GROUP_V4,
            &addresses
        ),
        Err(EncodeError::TooManyAddresses { count: 256 })
    );
}

#[test]
fn frame_builders_report_short_buffers_in_frame_terms() {
    assert_eq!(
        build_ipv4_advert(&mut [0; 45], &PARAMS, SOURCE_V4, &[VIP]),
        Err(EncodeError::BufferTooSmall {
            needed: 46,
            available: 45
        })
    );
    assert_eq!(
        build_ipv4_advert(&mut [0; 20], &PARAMS, SOURCE_V4, &[VIP]),
        Err(EncodeError::BufferTooSmall {
            needed: 46,
            available: 20
        })
    );
    assert_eq!(
        build_gratuitous_arp(&mut [0; 41], 1, VIP),
        Err(EncodeError::BufferTooSmall {
            needed: 42,
            available: 41
        })
    );
    let vip = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
    assert_eq!(
        build_unsolicited_na(&mut [0; 85], 1, &common::SOURCE_V6, &vip),
        Err(EncodeError::BufferTooSmall {
            needed: 86,
            available: 85
        })
    );
}
