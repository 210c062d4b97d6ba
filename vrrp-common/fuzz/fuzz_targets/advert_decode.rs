//! Decodes arbitrary bytes as an IPv4 and as an IPv6 packet. Whatever decodes must re-encode
//! to a message that decodes to the same fields, and that equals the input except for the
//! reserved nibble (sent as zero) and the checksum (0x0000 and 0xffff are equivalent in one's
//! complement, the encoder writes the canonical one).
#![no_main]

use std::net::IpAddr;

use libfuzzer_sys::fuzz_target;
use vrrp_common::advert::{Advert, IpContext, encode_ipv4, encode_ipv6};

fuzz_target!(|data: &[u8]| {
    if let Ok(advert) = Advert::decode_ipv4_packet(data) {
        check_round_trip(&advert);
    }
    if let Ok(advert) = Advert::decode_ipv6_packet(data) {
        check_round_trip(&advert);
    }
});

fn check_round_trip(advert: &Advert<'_>) {
    let mut buf = [0u8; 8 + 255 * 16];
    let len = match *advert.context() {
        IpContext::V4 {
            source,
            destination,
            ..
        } => {
            let addresses: Vec<_> = advert
                .addresses()
                .map(|address| match address {
                    IpAddr::V4(address) => address,
                    IpAddr::V6(_) => panic!("IPv6 address in an IPv4 advert"),
                })
                .collect();
            encode_ipv4(&mut buf, &advert.params(), source, destination, &addresses)
        }
        IpContext::V6 {
            source,
            destination,
            ..
        } => {
            let addresses: Vec<_> = advert
                .addresses()
                .map(|address| match address {
                    IpAddr::V6(address) => address,
                    IpAddr::V4(_) => panic!("IPv4 address in an IPv6 advert"),
                })
                .collect();
            encode_ipv6(
                &mut buf,
                &advert.params(),
                &source,
                &destination,
                &addresses,
            )
        }
    }
    .expect("a decoded advert re-encodes");
    let encoded = &buf[..len];
    let original = advert.message();
    assert_eq!(encoded.len(), original.len());
    assert_eq!(encoded[0], original[0]);
    assert_eq!(encoded[1..4], original[1..4]);
    assert_eq!(
        encoded[4],
        original[4] & 0x0f,
        "only the reserved nibble may differ"
    );
    assert_eq!(encoded[5], original[5]);
    assert_eq!(encoded[8..], original[8..]);
    assert_eq!(
        advert.context().checksum(encoded),
        0,
        "re-encoded checksum verifies"
    );
    let again = Advert::decode_message(encoded, *advert.context()).expect("re-encoded decodes");
    assert_eq!(again.params(), advert.params());
    assert!(again.addresses().eq(advert.addresses()));
}
