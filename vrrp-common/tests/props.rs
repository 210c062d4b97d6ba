//! Randomised properties: decoding is total, encode -> decode round-trips for both families,
//! encoded checksums verify, and the frame builders' output decodes.

mod common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use common::{CONTEXT_V4, CONTEXT_V6, PARAMS, good_ipv4_packet, good_ipv6_packet};
use proptest::prelude::*;
use vrrp_common::{
    advert::{
        Advert, AdvertParams, ChecksumStyle, IpContext, VersionMode, encode_ipv4, encode_ipv4_v2,
        encode_ipv6,
    },
    checksum::{internet_checksum, ipv6_pseudo_header_checksum},
    consts::{
        ALL_NODES_V6, ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, IPPROTO_ICMPV6,
        MAX_ADDRESSES_V4, MAX_ADDRESSES_V6, VRRP_GROUP_MAC_V4, VRRP_GROUP_MAC_V6, VRRP_GROUP_V4,
        VRRP_GROUP_V6, virtual_mac_v4, virtual_mac_v6,
    },
    frames::{
        GRATUITOUS_ARP_LEN, UNSOLICITED_NA_LEN, build_gratuitous_arp, build_ipv4_advert,
        build_ipv6_advert, build_unsolicited_na,
    },
    wire::{ArpEthernetIpv4, EthernetHeader, NeighborMessage, header},
};

fn params() -> impl Strategy<Value = AdvertParams> {
    (1..=255u8, any::<u8>(), 1..=4095u16).prop_map(|(vrid, priority, max_advert_interval_cs)| {
        AdvertParams {
            vrid,
            priority,
            max_advert_interval_cs,
        }
    })
}

fn ipv4() -> impl Strategy<Value = Ipv4Addr> {
    any::<[u8; 4]>().prop_map(Ipv4Addr::from)
}

fn ipv6() -> impl Strategy<Value = Ipv6Addr> {
    any::<[u8; 16]>().prop_map(Ipv6Addr::from)
}

/// Runs every decoder on `bytes`; only panics matter.
fn decode_everything(bytes: &[u8], context: IpContext) {
    let results = [
        Advert::decode_ipv4_packet(bytes),
        Advert::decode_ipv6_packet(bytes),
        Advert::decode_message(bytes, context),
        Advert::decode_message_accepting(
            bytes,
            context,
            ChecksumStyle::Rfc9568,
            VersionMode::V2AndV3,
        ),
    ];
    for advert in results.into_iter().flatten() {
        assert_eq!(
            advert.addresses().len(),
            usize::from(advert.address_count())
        );
    }
}

/// Asserts `advert` carries `params` and `addresses`, and its checksum verifies.
fn assert_advert(advert: &Advert<'_>, params: &AdvertParams, addresses: &[IpAddr]) {
    assert_eq!((advert.version(), advert.kind()), (3, 1));
    assert_eq!(advert.params(), *params);
    assert_eq!(usize::from(advert.address_count()), addresses.len());
    assert!(advert.addresses().eq(addresses.iter().copied()));
    assert_eq!(advert.context().checksum(advert.message()), 0);
}

proptest! {
    #[test]
    fn decoding_arbitrary_bytes_never_panics(
        bytes in proptest::collection::vec(any::<u8>(), 0..200),
        ttl in any::<u8>(),
    ) {
        let context = IpContext::V4 { source: common::SOURCE_V4, destination: VRRP_GROUP_V4, ttl };
        decode_everything(&bytes, context);
        decode_everything(&bytes, CONTEXT_V6);
    }

    #[test]
    fn decoding_mutated_adverts_never_panics(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        // Near-valid inputs reach the deeper checks that random bytes rarely get past.
        for mut packet in [good_ipv4_packet(), good_ipv6_packet()] {
            for (index, value) in &edits {
                let at = index.index(packet.len());
                packet[at] = *value;
            }
            let len = cut.index(packet.len() + 1);
            decode_everything(&packet[..len], CONTEXT_V4);
        }
    }

    #[test]
    fn ipv4_adverts_round_trip(
        params in params(),
        source in ipv4(),
        destination in ipv4(),
        addresses in proptest::collection::vec(ipv4(), 1..=MAX_ADDRESSES_V4),
    ) {
        let mut buf = [0; 8 + 4 * 255];
        let len = encode_ipv4(&mut buf, &params, source, destination, &addresses).unwrap();
        prop_assert_eq!(len, 8 + 4 * addresses.len());
        let context = IpContext::V4 { source, destination, ttl: 255 };
        let advert = Advert::decode_message(&buf[..len], context).unwrap();
        let expected: Vec<IpAddr> = addresses.iter().copied().map(IpAddr::V4).collect();
        assert_advert(&advert, &params, &expected);
    }

    #[test]
    fn ipv6_adverts_round_trip(
        params in params(),
        source in ipv6(),
        destination in ipv6(),
        addresses in proptest::collection::vec(ipv6(), 1..=MAX_ADDRESSES_V6),
    ) {
        let mut buf = [0; 8 + 16 * 255];
        let len = encode_ipv6(&mut buf, &params, &source, &destination, &addresses).unwrap();
        prop_assert_eq!(len, 8 + 16 * addresses.len());
        let context = IpContext::V6 { source, destination, hop_limit: 255 };
        let advert = Advert::decode_message(&buf[..len], context).unwrap();
        let expected: Vec<IpAddr> = addresses.iter().copied().map(IpAddr::V6).collect();
        assert_advert(&advert, &params, &expected);
    }

    #[test]
    fn ipv4_v2_adverts_round_trip(
        vrid in 1..=255u8,
        priority in any::<u8>(),
        seconds in 1..=255u16,
        source in ipv4(),
        addresses in proptest::collection::vec(ipv4(), 1..=MAX_ADDRESSES_V4),
    ) {
        let params = AdvertParams { vrid, priority, max_advert_interval_cs: seconds * 100 };
        let mut buf = [0; 16 + 4 * 255];
        let len = encode_ipv4_v2(&mut buf, &params, &addresses).unwrap();
        prop_assert_eq!(len, 16 + 4 * addresses.len());
        let context = IpContext::V4 { source, destination: VRRP_GROUP_V4, ttl: 255 };
        let expected: Vec<IpAddr> = addresses.iter().copied().map(IpAddr::V4).collect();
        for versions in [VersionMode::V2, VersionMode::V2AndV3] {
            let advert =
                Advert::decode_message_accepting(&buf[..len], context, ChecksumStyle::Rfc9568, versions)
                    .unwrap();
            prop_assert_eq!((advert.version(), advert.kind()), (2, 1));
            prop_assert_eq!(advert.params(), params);
            prop_assert!(advert.addresses().eq(expected.iter().copied()));
        }
        // A v3-only instance sees a VRRPv2 peer, never an advert.
        let v3_only = Advert::decode_message(&buf[..len], context);
        prop_assert!(
            matches!(v3_only, Err(vrrp_common::advert::DecodeError::Version2 { .. })),
            "{:?}", v3_only
        );
    }

    #[test]
    fn any_single_bit_flip_in_a_v2_advert_is_discarded(bit in 0..(20 * 8usize)) {
        let params = AdvertParams { max_advert_interval_cs: 100, ..PARAMS };
        let mut buf = [0; 20];
        encode_ipv4_v2(&mut buf, &params, &[Ipv4Addr::new(192, 0, 2, 100)]).unwrap();
        buf[bit / 8] ^= 1 << (bit % 8);
        let decoded = Advert::decode_message_accepting(
            &buf,
            CONTEXT_V4,
            ChecksumStyle::Rfc9568,
            VersionMode::V2,
        );
        prop_assert!(decoded.is_err(), "bit {} flipped still decodes: {:?}", bit, decoded);
    }

    #[test]
    fn any_single_bit_flip_in_an_encoded_advert_fails_the_checksum_or_a_field_check(
        bit in 0..(12 * 8usize),
    ) {
        let message = common::message_v4(&PARAMS, &[Ipv4Addr::new(192, 0, 2, 100)]);
        let mut flipped = message.clone();
        flipped[bit / 8] ^= 1 << (bit % 8);
        let decoded = Advert::decode_message(&flipped, CONTEXT_V4);
        prop_assert!(decoded.is_err(), "bit {} flipped still decodes: {:?}", bit, decoded);
    }

    #[test]
    fn ipv4_advert_frames_decode(
        params in params(),
        source in ipv4(),
        addresses in proptest::collection::vec(ipv4(), 1..=MAX_ADDRESSES_V4),
    ) {
        let mut buf = [0; 1500];
        let len = build_ipv4_advert(&mut buf, &params, source, &addresses).unwrap();
        let frame = &buf[..len];
        let ethernet = header::<EthernetHeader>(frame).unwrap();
        prop_assert_eq!(ethernet.destination, VRRP_GROUP_MAC_V4);
        prop_assert_eq!(ethernet.source, virtual_mac_v4(params.vrid));
        prop_assert_eq!(ethernet.ethertype(), ETHERTYPE_IPV4);
        // The IPv4 header checksum verifies, and TTL is 255 (RFC 9568 §5.1.1.3).
        prop_assert_eq!(internet_checksum(&frame[14..34]), 0);
        let advert = Advert::decode_ipv4_packet(&frame[14..]).unwrap();
        prop_assert_eq!(advert.context().source(), IpAddr::V4(source));
        prop_assert_eq!(advert.context().destination(), IpAddr::V4(VRRP_GROUP_V4));
        let expected: Vec<IpAddr> = addresses.iter().copied().map(IpAddr::V4).collect();
        assert_advert(&advert, &params, &expected);
    }

    #[test]
    fn ipv6_advert_frames_decode(
        params in params(),
        source in ipv6(),
        addresses in proptest::collection::vec(ipv6(), 1..=MAX_ADDRESSES_V6),
    ) {
        let mut buf = [0; 1514];
        let len = build_ipv6_advert(&mut buf, &params, &source, &addresses).unwrap();
        prop_assert!(len <= 1514, "fits a 1500-byte MTU");
        let frame = &buf[..len];
        let ethernet = header::<EthernetHeader>(frame).unwrap();
        prop_assert_eq!(ethernet.destination, VRRP_GROUP_MAC_V6);
        prop_assert_eq!(ethernet.source, virtual_mac_v6(params.vrid));
        prop_assert_eq!(ethernet.ethertype(), ETHERTYPE_IPV6);
        let advert = Advert::decode_ipv6_packet(&frame[14..]).unwrap();
        prop_assert_eq!(advert.context().source(), IpAddr::V6(source));
        prop_assert_eq!(advert.context().destination(), IpAddr::V6(VRRP_GROUP_V6));
        let expected: Vec<IpAddr> = addresses.iter().copied().map(IpAddr::V6).collect();
        assert_advert(&advert, &params, &expected);
    }

    #[test]
    fn gratuitous_arps_announce_the_vip_from_the_virtual_mac(vrid in 1..=255u8, vip in ipv4()) {
        let mut buf = [0; 64];
        prop_assert_eq!(build_gratuitous_arp(&mut buf, vrid, vip).unwrap(), GRATUITOUS_ARP_LEN);
        let ethernet = header::<EthernetHeader>(&buf).unwrap();
        let vmac = virtual_mac_v4(vrid);
        prop_assert_eq!(ethernet.destination, [0xff; 6]);
        prop_assert_eq!(ethernet.source, vmac);
        prop_assert_eq!(ethernet.ethertype(), ETHERTYPE_ARP);
        let arp = header::<ArpEthernetIpv4>(&buf[14..]).unwrap();
        // Checklist C-47/C-48: sha = tha = vMAC, spa = tpa = VIP, a request.
        prop_assert_eq!(arp.operation_be, [0, 1]);
        prop_assert_eq!(arp.sender_hardware, vmac);
        prop_assert_eq!(arp.target_hardware, vmac);
        prop_assert_eq!(arp.sender_protocol, vip.octets());
        prop_assert_eq!(arp.target_protocol, vip.octets());
    }

    #[test]
    fn unsolicited_nas_verify_and_carry_the_virtual_mac(
        vrid in 1..=255u8,
        source in ipv6(),
        vip in ipv6(),
    ) {
        let mut buf = [0; 128];
        prop_assert_eq!(
            build_unsolicited_na(&mut buf, vrid, &source, &vip).unwrap(),
            UNSOLICITED_NA_LEN
        );
        let frame = &buf[..UNSOLICITED_NA_LEN];
        let ethernet = header::<EthernetHeader>(frame).unwrap();
        prop_assert_eq!(ethernet.destination, [0x33, 0x33, 0, 0, 0, 1]);
        prop_assert_eq!(ethernet.source, virtual_mac_v6(vrid));
        // Hop limit 255 (RFC 4861 §7.1.2), next header ICMPv6, to ff02::1.
        prop_assert_eq!((frame[20], frame[21]), (IPPROTO_ICMPV6, 255));
        prop_assert_eq!(&frame[38..54], &ALL_NODES_V6.octets());
        let message = &frame[54..];
        prop_assert_eq!(
            ipv6_pseudo_header_checksum(&source, &ALL_NODES_V6, IPPROTO_ICMPV6, message),
            0
        );
        let neighbor = header::<NeighborMessage>(&message[4..]).unwrap();
        // Checklist C-49: R=1, S=0, O=1, target = VIP, TLLA option = vMAC.
        prop_assert_eq!(neighbor.flags_reserved, [0xa0, 0, 0, 0]);
        prop_assert_eq!(neighbor.target, vip.octets());
        prop_assert_eq!(&message[24..26], &[2, 1]);
        prop_assert_eq!(&message[26..32], &virtual_mac_v6(vrid));
    }
}
