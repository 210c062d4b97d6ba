//! Protocol numbers, addresses and limits of VRRPv3 (RFC 9568, which obsoletes RFC 5798 and
//! keeps its section numbers) and of the ARP/ND frames a Master sends.

use core::net::{Ipv4Addr, Ipv6Addr};

/// IP protocol / IPv6 next header number of VRRP (RFC 5798 §5.1.1.4, §5.1.2.4).
pub const IPPROTO_VRRP: u8 = 112;
/// IPv6 next header number of ICMPv6 (RFC 4443).
pub const IPPROTO_ICMPV6: u8 = 58;

/// The VRRP version this crate speaks (RFC 5798 §5.2.1).
pub const VRRP_VERSION_3: u8 = 3;
/// VRRPv2 (RFC 3768), recognised on receive so a v2 peer can be reported.
pub const VRRP_VERSION_2: u8 = 2;
/// The only VRRP message type, ADVERTISEMENT (RFC 5798 §5.2.2).
pub const VRRP_TYPE_ADVERTISEMENT: u8 = 1;

/// TTL / hop limit adverts are sent with and must arrive with (RFC 5798 §5.1.1.3, §5.1.2.3).
pub const VRRP_TTL: u8 = 255;

/// IPv4 multicast group of adverts, 224.0.0.18 (RFC 5798 §5.1.1.2).
pub const VRRP_GROUP_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// IPv6 multicast group of adverts, ff02::12 (RFC 5798 §5.1.2.2).
pub const VRRP_GROUP_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
/// Ethernet address of [`VRRP_GROUP_V4`] (RFC 1112 §6.4 mapping).
pub const VRRP_GROUP_MAC_V4: [u8; 6] = [0x01, 0x00, 0x5e, 0x00, 0x00, 0x12];
/// Ethernet address of [`VRRP_GROUP_V6`] (RFC 2464 §7 mapping).
pub const VRRP_GROUP_MAC_V6: [u8; 6] = [0x33, 0x33, 0x00, 0x00, 0x00, 0x12];

/// IPv6 all-nodes group ff02::1 (RFC 4291 §2.7.1): where unsolicited NAs go (RFC 4861 §7.2.6).
pub const ALL_NODES_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
/// Ethernet address of [`ALL_NODES_V6`] (RFC 2464 §7 mapping).
pub const ALL_NODES_MAC_V6: [u8; 6] = [0x33, 0x33, 0x00, 0x00, 0x00, 0x01];
/// Ethernet broadcast address: where gratuitous ARPs go.
pub const BROADCAST_MAC: [u8; 6] = [0xff; 6];

/// EtherType of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// EtherType of IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
/// EtherType of ARP.
pub const ETHERTYPE_ARP: u16 = 0x0806;

/// The first three bytes of every virtual MAC, the IANA OUI (RFC 5798 §7.3).
const VIRTUAL_MAC_PREFIX: [u8; 4] = [0x00, 0x00, 0x5e, 0x00];

/// Virtual MAC of an IPv4 virtual router: 00:00:5e:00:01:VRID (RFC 5798 §7.3).
pub const fn virtual_mac_v4(vrid: u8) -> [u8; 6] {
    virtual_mac(0x01, vrid)
}

/// Virtual MAC of an IPv6 virtual router: 00:00:5e:00:02:VRID (RFC 5798 §7.3).
pub const fn virtual_mac_v6(vrid: u8) -> [u8; 6] {
    virtual_mac(0x02, vrid)
}

const fn virtual_mac(family_byte: u8, vrid: u8) -> [u8; 6] {
    let [a, b, c, d] = VIRTUAL_MAC_PREFIX;
    [a, b, c, d, family_byte, vrid]
}

/// Smallest valid VRID (RFC 5798 §5.2.3).
pub const VRID_MIN: u8 = 1;
/// Largest valid VRID (RFC 5798 §5.2.3).
pub const VRID_MAX: u8 = 255;

/// Smallest Max Adver Int, in centiseconds (RFC 5798 §5.2.7; 0 is discarded, erratum 8301).
pub const ADVERT_INTERVAL_MIN_CS: u16 = 1;
/// Largest Max Adver Int, in centiseconds: the field has 12 bits (RFC 5798 §5.2.7).
pub const ADVERT_INTERVAL_MAX_CS: u16 = 0x0fff;

/// Priority of the address owner (RFC 5798 §5.2.4).
pub const PRIORITY_OWNER: u8 = 255;
/// Priority a Master sends when it stops (RFC 5798 §5.2.4, §6.4.3).
pub const PRIORITY_RESIGN: u8 = 0;

/// Length of the fixed VRRPv3 header before the address list (RFC 5798 §5.1).
pub const VRRP_HEADER_LEN: usize = 8;
/// Ethernet MTU the address-count limits are computed for.
pub const ETHERNET_MTU: usize = 1500;
/// Length of an IPv4 header without options.
pub const IPV4_HEADER_LEN: usize = 20;
/// Length of the fixed IPv6 header.
pub const IPV6_HEADER_LEN: usize = 40;
/// Length of an Ethernet header without VLAN tags.
pub const ETHERNET_HEADER_LEN: usize = 14;

/// Most IPv4 addresses one advert can carry: the 8-bit count field is the limit, since
/// 255 addresses (1028 bytes) fit a 1500-byte MTU.
pub const MAX_ADDRESSES_V4: usize = min(
    u8::MAX as usize,
    (ETHERNET_MTU - IPV4_HEADER_LEN - VRRP_HEADER_LEN) / 4,
);
/// Most IPv6 addresses one advert can carry in a 1500-byte MTU: 90.
pub const MAX_ADDRESSES_V6: usize = min(
    u8::MAX as usize,
    (ETHERNET_MTU - IPV6_HEADER_LEN - VRRP_HEADER_LEN) / 16,
);

const fn min(a: usize, b: usize) -> usize {
    if a < b { a } else { b }
}

const _: () = assert!(MAX_ADDRESSES_V4 == 255 && MAX_ADDRESSES_V6 == 90);
