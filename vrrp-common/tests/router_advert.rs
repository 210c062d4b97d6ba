//! Router Advertisement frames against bytes assembled independently of the codec (a Python
//! `struct.pack` of RFC 4861 §4.2 / §4.6, RFC 4191 §2.2 and RFC 8106 §5 field by field, with the
//! RFC 4443 checksum), and the Router Solicitation checks of RFC 4861 §6.1.1.

mod common;

use std::net::Ipv6Addr;

use common::assert_bytes_eq;
use vrrp_common::{
    consts::ALL_NODES_V6,
    router_advert::{
        BadOption, DomainNameError, ND_OPTION_DNSSL, ND_OPTION_MTU, ND_OPTION_PREFIX_INFORMATION,
        ND_OPTION_RDNSS, NdOptions, PrefixInformation, RouterAdvert, RouterPreference,
        SolicitationError, build_router_advert, check_router_solicitation, domain_wire_len,
        icmpv6_checksum_verifies,
    },
    wire::ND_OPTION_SOURCE_LINK_LAYER,
};

/// VRID 7 from fe80::7: hop limit 64, O=1, preference High, lifetime 1800 s, MTU 1500, prefix
/// 2001:db8:1::/64 (L, A, valid 86400 s, preferred 14400 s), RDNSS 2001:db8::53 and DNSSL
/// example.com (1200 s each).
const FULL_RA: [u8; 166] = [
    0x33, 0x33, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x5e, 0x00, 0x02, 0x07, 0x86, 0xdd, 0x60, 0x00,
    0x00, 0x00, 0x00, 0x70, 0x3a, 0xff, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x86, 0x00, 0x91, 0x74, 0x40, 0x48, 0x07, 0x08, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0x00, 0x5e, 0x00, 0x02, 0x07, 0x05, 0x01,
    0x00, 0x00, 0x00, 0x00, 0x05, 0xdc, 0x03, 0x04, 0x40, 0xc0, 0x00, 0x01, 0x51, 0x80, 0x00, 0x00,
    0x38, 0x40, 0x00, 0x00, 0x00, 0x00, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x19, 0x03, 0x00, 0x00, 0x00, 0x00, 0x04, 0xb0, 0x20, 0x01,
    0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x53, 0x1f, 0x03,
    0x00, 0x00, 0x00, 0x00, 0x04, 0xb0, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x03, 0x63,
    0x6f, 0x6d, 0x00, 0x00, 0x00, 0x00,
];

const SOURCE: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 7);
const PREFIXES: [PrefixInformation; 1] = [PrefixInformation {
    prefix: Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0),
    length: 64,
    on_link: true,
    autonomous: true,
    valid_lifetime_s: 86_400,
    preferred_lifetime_s: 14_400,
}];
const SERVERS: [Ipv6Addr; 1] = [Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x53)];

fn full() -> RouterAdvert<'static> {
    RouterAdvert {
        cur_hop_limit: 64,
        managed: false,
        other_config: true,
        preference: RouterPreference::High,
        router_lifetime_s: 1800,
        reachable_time_ms: 0,
        retrans_timer_ms: 0,
        mtu: Some(1500),
        prefixes: &PREFIXES,
        dns_servers: (1200, &SERVERS),
        search_domains: (1200, &["example.com."]),
    }
}

#[test]
fn full_advertisement_matches_the_independent_encoding() {
    let mut buf = [0u8; 512];
    let len = build_router_advert(&mut buf, 7, &SOURCE, &full()).unwrap();
    assert_bytes_eq(&buf[..len], &FULL_RA);
}

#[test]
fn full_advertisement_checksum_and_options_read_back() {
    let message = &FULL_RA[54..];
    assert!(icmpv6_checksum_verifies(&SOURCE, &ALL_NODES_V6, message));
    let kinds: Vec<u8> = NdOptions::new(&message[16..])
        .map(|option| option.unwrap().kind)
        .collect();
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
}

#[test]
fn final_advertisement_has_lifetime_zero_and_medium_preference() {
    // RFC 4191 §2.2: a router lifetime of 0 goes with preference 00.
    let mut buf = [0u8; 512];
    let advert = RouterAdvert {
        router_lifetime_s: 0,
        ..full()
    };
    let len = build_router_advert(&mut buf, 7, &SOURCE, &advert).unwrap();
    let mut expected = FULL_RA;
    expected[59] = 0x40;
    expected[60..62].copy_from_slice(&[0, 0]);
    // The checksum changes by the two fields' difference (RFC 1624): recompute by verifying.
    expected[56..58].copy_from_slice(&buf[56..58]);
    assert_bytes_eq(&buf[..len], &expected);
    assert!(icmpv6_checksum_verifies(
        &SOURCE,
        &ALL_NODES_V6,
        &buf[54..len]
    ));
}

#[test]
fn short_buffer_is_an_error_not_a_panic() {
    let mut buf = [0u8; 100];
    assert!(build_router_advert(&mut buf, 7, &SOURCE, &full()).is_err());
}

#[test]
fn domain_names_follow_rfc1035_limits() {
    assert_eq!(domain_wire_len("example.com"), Ok(13));
    assert_eq!(domain_wire_len("a..b"), Err(DomainNameError::EmptyLabel));
    assert_eq!(
        domain_wire_len(&"a".repeat(64)),
        Err(DomainNameError::LabelTooLong)
    );
    let long = vec!["a".repeat(63); 4].join(".");
    assert_eq!(domain_wire_len(&long), Err(DomainNameError::NameTooLong));
}

#[test]
fn solicitations_are_checked_as_rfc4861_6_1_1_says() {
    let host = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0x99);
    let plain = [133, 0, 0, 0, 0, 0, 0, 0];
    let with_slla = [133, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 0, 0, 0, 0, 0x99];
    assert_eq!(check_router_solicitation(&plain, 255, &host), Ok(()));
    assert_eq!(check_router_solicitation(&with_slla, 255, &host), Ok(()));
    assert_eq!(
        check_router_solicitation(&plain, 64, &host),
        Err(SolicitationError::HopLimit(64))
    );
    assert_eq!(
        check_router_solicitation(&[133, 1, 0, 0, 0, 0, 0, 0], 255, &host),
        Err(SolicitationError::NotSolicitation { kind: 133, code: 1 })
    );
    assert_eq!(
        check_router_solicitation(&plain[..4], 255, &host),
        Err(SolicitationError::TooShort(4))
    );
    assert_eq!(
        check_router_solicitation(&with_slla, 255, &Ipv6Addr::UNSPECIFIED),
        Err(SolicitationError::UnspecifiedWithLinkLayer)
    );
    let zero_length = [133, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0];
    assert_eq!(
        check_router_solicitation(&zero_length, 255, &host),
        Err(SolicitationError::BadOption(BadOption { offset: 0 }))
    );
    let past_end = [133, 0, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0, 0];
    assert!(check_router_solicitation(&past_end, 255, &host).is_err());
}
