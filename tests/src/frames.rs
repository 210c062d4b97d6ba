//! Frame fixtures for the XDP tests and the benchmark: transit traffic, VRRP adverts (valid and
//! malformed on purpose, which the codec's encoder refuses to build), ARP and Neighbor
//! Discovery, plus the solicited replies the XDP program must produce. Built independently of
//! the program's own code so the comparison means something; checksums come from the codec.

use std::net::{Ipv4Addr, Ipv6Addr};

pub use vrrp_common::checksum::internet_checksum;

/// The router's physical MAC in the fixtures (locally administered).
pub const ROUTER_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01];
/// A host's MAC in the fixtures.
pub const HOST_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x0a];
/// Destination MAC of IPv4 adverts (224.0.0.18, RFC 1112 mapping).
pub const VRRP_MAC_V4: [u8; 6] = [0x01, 0x00, 0x5e, 0x00, 0x00, 0x12];
/// Destination MAC of IPv6 adverts (ff02::12, RFC 2464 mapping).
pub const VRRP_MAC_V6: [u8; 6] = [0x33, 0x33, 0x00, 0x00, 0x00, 0x12];
/// IPv4 VRRP group (RFC 5798 §5.1.1.2).
pub const VRRP_GROUP_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// IPv6 VRRP group (RFC 5798 §5.1.2.2).
pub const VRRP_GROUP_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_ARP: u16 = 0x0806;
const PROTO_UDP: u8 = 17;
const PROTO_VRRP: u8 = 112;
const PROTO_ICMPV6: u8 = 58;

/// An Ethernet II frame.
pub fn ethernet(destination: [u8; 6], source: [u8; 6], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(14 + payload.len());
    frame.extend_from_slice(&destination);
    frame.extend_from_slice(&source);
    frame.extend_from_slice(&ethertype.to_be_bytes());
    frame.extend_from_slice(payload);
    frame
}

/// An IPv4 packet (no options) with a valid header checksum.
pub fn ipv4(
    source: Ipv4Addr,
    destination: Ipv4Addr,
    ttl: u8,
    protocol: u8,
    payload: &[u8],
) -> Vec<u8> {
    let total_len = u16::try_from(20 + payload.len()).expect("IPv4 packet fits");
    let mut header = vec![0x45, 0x00];
    header.extend_from_slice(&total_len.to_be_bytes());
    header.extend_from_slice(&[0, 0, 0x40, 0, ttl, protocol, 0, 0]);
    header.extend_from_slice(&source.octets());
    header.extend_from_slice(&destination.octets());
    let checksum = internet_checksum(&header);
    header[10..12].copy_from_slice(&checksum.to_be_bytes());
    header.extend_from_slice(payload);
    header
}

/// An IPv6 packet (no extension headers).
pub fn ipv6(
    source: Ipv6Addr,
    destination: Ipv6Addr,
    hop_limit: u8,
    next_header: u8,
    payload: &[u8],
) -> Vec<u8> {
    let payload_len = u16::try_from(payload.len()).expect("IPv6 payload fits");
    let mut packet = vec![0x60, 0, 0, 0];
    packet.extend_from_slice(&payload_len.to_be_bytes());
    packet.extend_from_slice(&[next_header, hop_limit]);
    packet.extend_from_slice(&source.octets());
    packet.extend_from_slice(&destination.octets());
    packet.extend_from_slice(payload);
    packet
}

fn pseudo_header_v4(source: Ipv4Addr, destination: Ipv4Addr, protocol: u8, len: usize) -> Vec<u8> {
    let mut pseudo = Vec::new();
    pseudo.extend_from_slice(&source.octets());
    pseudo.extend_from_slice(&destination.octets());
    pseudo.extend_from_slice(&[0, protocol]);
    pseudo.extend_from_slice(&u16::try_from(len).expect("fits").to_be_bytes());
    pseudo
}

fn pseudo_header_v6(
    source: Ipv6Addr,
    destination: Ipv6Addr,
    next_header: u8,
    len: usize,
) -> Vec<u8> {
    let mut pseudo = Vec::new();
    pseudo.extend_from_slice(&source.octets());
    pseudo.extend_from_slice(&destination.octets());
    pseudo.extend_from_slice(&u32::try_from(len).expect("fits").to_be_bytes());
    pseudo.extend_from_slice(&[0, 0, 0, next_header]);
    pseudo
}

/// A UDP datagram from a host to the router's neighbour, IPv4 (transit for the XDP program).
pub fn udp_v4(payload_len: usize) -> Vec<u8> {
    let mut udp = vec![0x30, 0x39, 0x00, 0x35];
    udp.extend_from_slice(&u16::try_from(8 + payload_len).expect("fits").to_be_bytes());
    udp.extend_from_slice(&[0, 0]);
    udp.resize(8 + payload_len, 0xab);
    ethernet(
        ROUTER_MAC,
        HOST_MAC,
        ETHERTYPE_IPV4,
        &ipv4(
            Ipv4Addr::new(192, 0, 2, 10),
            Ipv4Addr::new(198, 51, 100, 7),
            64,
            PROTO_UDP,
            &udp,
        ),
    )
}

/// A UDP datagram, IPv6 (transit).
pub fn udp_v6(payload_len: usize) -> Vec<u8> {
    let source: Ipv6Addr = "2001:db8::a".parse().expect("address");
    let destination: Ipv6Addr = "2001:db8:1::7".parse().expect("address");
    let mut udp = vec![0x30, 0x39, 0x00, 0x35];
    udp.extend_from_slice(&u16::try_from(8 + payload_len).expect("fits").to_be_bytes());
    udp.extend_from_slice(&[0, 0]);
    udp.resize(8 + payload_len, 0xab);
    let checksum = internet_checksum(
        &[
            pseudo_header_v6(source, destination, PROTO_UDP, udp.len()),
            udp.clone(),
        ]
        .concat(),
    );
    udp[6..8].copy_from_slice(&checksum.to_be_bytes());
    ethernet(
        ROUTER_MAC,
        HOST_MAC,
        ETHERTYPE_IPV6,
        &ipv6(source, destination, 64, PROTO_UDP, &udp),
    )
}

/// The fields of a VRRPv3 advert fixture; [`Advert::frame_v4`] / [`Advert::frame_v6`] build it.
#[derive(Clone, Debug)]
pub struct Advert {
    /// Version nibble (3 is valid).
    pub version: u8,
    /// Type nibble (1 is valid).
    pub kind: u8,
    /// Virtual router id.
    pub vrid: u8,
    /// Priority.
    pub priority: u8,
    /// Count field (normally the number of addresses).
    pub count: u8,
    /// Max Advertise Interval, centiseconds (12 bits).
    pub interval_cs: u16,
    /// TTL / hop limit.
    pub ttl: u8,
    /// Added to the correct checksum (0 keeps it valid).
    pub checksum_error: u16,
    /// The checksum covers the pseudo-header (RFC 9568) or the message alone (Cisco IOS-XE,
    /// Arista EOS, `ipv4_checksum = "without-pseudo-header"`; IPv4).
    pub pseudo_header: bool,
}

impl Advert {
    /// A valid advert for `vrid` with `priority`, interval 1 s, one address.
    pub fn new(vrid: u8, priority: u8) -> Self {
        Self {
            version: 3,
            kind: 1,
            vrid,
            priority,
            count: 1,
            interval_cs: 100,
            ttl: 255,
            checksum_error: 0,
            pseudo_header: true,
        }
    }

    fn message(&self, addresses: &[u8], pseudo: &[u8]) -> Vec<u8> {
        let mut message = vec![
            (self.version << 4) | (self.kind & 0x0f),
            self.vrid,
            self.priority,
            self.count,
        ];
        message.extend_from_slice(&(self.interval_cs & 0x0fff).to_be_bytes());
        message.extend_from_slice(&[0, 0]);
        message.extend_from_slice(addresses);
        let pseudo: &[u8] = if self.pseudo_header { pseudo } else { &[] };
        let checksum =
            internet_checksum(&[pseudo, &message].concat()).wrapping_add(self.checksum_error);
        message[6..8].copy_from_slice(&checksum.to_be_bytes());
        message
    }

    /// The VRRP message with `address_bytes` as its address list (of either family, any
    /// length), its checksum over the IPv4 pseudo-header from `source` to 224.0.0.18.
    pub fn message_v4_raw(&self, source: Ipv4Addr, address_bytes: &[u8]) -> Vec<u8> {
        let pseudo = pseudo_header_v4(source, VRRP_GROUP_V4, PROTO_VRRP, 8 + address_bytes.len());
        self.message(address_bytes, &pseudo)
    }

    /// [`Self::message_v4_raw`] over the IPv6 pseudo-header from `source` to ff02::12.
    pub fn message_v6_raw(&self, source: Ipv6Addr, address_bytes: &[u8]) -> Vec<u8> {
        let pseudo = pseudo_header_v6(source, VRRP_GROUP_V6, PROTO_VRRP, 8 + address_bytes.len());
        self.message(address_bytes, &pseudo)
    }

    /// The VRRP message alone (what the ring buffer record carries), IPv4.
    pub fn message_v4(&self, source: Ipv4Addr, addresses: &[Ipv4Addr]) -> Vec<u8> {
        let bytes: Vec<u8> = addresses.iter().flat_map(|a| a.octets()).collect();
        self.message_v4_raw(source, &bytes)
    }

    /// The VRRP message alone, IPv6.
    pub fn message_v6(&self, source: Ipv6Addr, addresses: &[Ipv6Addr]) -> Vec<u8> {
        let bytes: Vec<u8> = addresses.iter().flat_map(|a| a.octets()).collect();
        self.message_v6_raw(source, &bytes)
    }

    /// The advert as an Ethernet frame from `source` to 224.0.0.18.
    pub fn frame_v4(
        &self,
        source_mac: [u8; 6],
        source: Ipv4Addr,
        addresses: &[Ipv4Addr],
    ) -> Vec<u8> {
        let message = self.message_v4(source, addresses);
        ethernet(
            VRRP_MAC_V4,
            source_mac,
            ETHERTYPE_IPV4,
            &ipv4(source, VRRP_GROUP_V4, self.ttl, PROTO_VRRP, &message),
        )
    }

    /// The advert as an Ethernet frame from `source` to ff02::12.
    pub fn frame_v6(
        &self,
        source_mac: [u8; 6],
        source: Ipv6Addr,
        addresses: &[Ipv6Addr],
    ) -> Vec<u8> {
        let message = self.message_v6(source, addresses);
        ethernet(
            VRRP_MAC_V6,
            source_mac,
            ETHERTYPE_IPV6,
            &ipv6(source, VRRP_GROUP_V6, self.ttl, PROTO_VRRP, &message),
        )
    }
}

/// A VRRPv2 advert (RFC 3768 §5: authentication type 0, interval in seconds, checksum over the
/// message alone, 8 bytes of authentication data) for `vrid` from `source` to 224.0.0.18.
pub fn advert_v2_frame(
    source_mac: [u8; 6],
    source: Ipv4Addr,
    vrid: u8,
    priority: u8,
    interval_s: u8,
    addresses: &[Ipv4Addr],
) -> Vec<u8> {
    let count = u8::try_from(addresses.len()).expect("at most 255 addresses");
    let mut message = vec![0x21, vrid, priority, count, 0, interval_s, 0, 0];
    message.extend(addresses.iter().flat_map(|address| address.octets()));
    message.extend_from_slice(&[0; 8]);
    let checksum = internet_checksum(&message);
    message[6..8].copy_from_slice(&checksum.to_be_bytes());
    ethernet(
        VRRP_MAC_V4,
        source_mac,
        ETHERTYPE_IPV4,
        &ipv4(source, VRRP_GROUP_V4, 255, PROTO_VRRP, &message),
    )
}

fn arp(
    opcode: u16,
    sender_mac: [u8; 6],
    sender_ip: Ipv4Addr,
    target_mac: [u8; 6],
    target_ip: Ipv4Addr,
) -> Vec<u8> {
    let mut arp = vec![0x00, 0x01, 0x08, 0x00, 6, 4];
    arp.extend_from_slice(&opcode.to_be_bytes());
    arp.extend_from_slice(&sender_mac);
    arp.extend_from_slice(&sender_ip.octets());
    arp.extend_from_slice(&target_mac);
    arp.extend_from_slice(&target_ip.octets());
    arp
}

/// A broadcast ARP request from a host for `target`.
pub fn arp_request(sender_mac: [u8; 6], sender_ip: Ipv4Addr, target: Ipv4Addr) -> Vec<u8> {
    ethernet(
        [0xff; 6],
        sender_mac,
        ETHERTYPE_ARP,
        &arp(1, sender_mac, sender_ip, [0; 6], target),
    )
}

/// The reply the Master must send for `vip` from `vmac` (RFC 5798 §8.1.2).
pub fn arp_reply(
    vmac: [u8; 6],
    vip: Ipv4Addr,
    requester_mac: [u8; 6],
    requester_ip: Ipv4Addr,
) -> Vec<u8> {
    ethernet(
        requester_mac,
        vmac,
        ETHERTYPE_ARP,
        &arp(2, vmac, vip, requester_mac, requester_ip),
    )
}

/// The solicited-node multicast address of `target` (RFC 4291 §2.7.1).
pub fn solicited_node(target: Ipv6Addr) -> Ipv6Addr {
    let t = target.octets();
    Ipv6Addr::from([
        0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, t[13], t[14], t[15],
    ])
}

/// A Neighbor Solicitation for `target` from `source` (with a source link-layer address
/// option unless `source` is unspecified, as RFC 4861 §4.3 requires for DAD).
pub fn neighbor_solicitation(source_mac: [u8; 6], source: Ipv6Addr, target: Ipv6Addr) -> Vec<u8> {
    let destination = solicited_node(target);
    let mut icmp = vec![135, 0, 0, 0, 0, 0, 0, 0];
    icmp.extend_from_slice(&target.octets());
    if !source.is_unspecified() {
        icmp.extend_from_slice(&[1, 1]);
        icmp.extend_from_slice(&source_mac);
    }
    let checksum = internet_checksum(
        &[
            pseudo_header_v6(source, destination, PROTO_ICMPV6, icmp.len()),
            icmp.clone(),
        ]
        .concat(),
    );
    icmp[2..4].copy_from_slice(&checksum.to_be_bytes());
    let d = destination.octets();
    let destination_mac = [0x33, 0x33, d[12], d[13], d[14], d[15]];
    ethernet(
        destination_mac,
        source_mac,
        ETHERTYPE_IPV6,
        &ipv6(source, destination, 255, PROTO_ICMPV6, &icmp),
    )
}

/// The solicited Neighbor Advertisement the Master must send for `vip` (RFC 5798 §8.2.2, RFC
/// 4861 §7.2.4): from `vmac` to the solicitor, Router + Solicited + Override flags, target
/// link-layer address option = `vmac`. (A DAD probe's answer is the codec's unsolicited NA.)
pub fn neighbor_advertisement(
    vmac: [u8; 6],
    vip: Ipv6Addr,
    solicitor_mac: [u8; 6],
    solicitor: Ipv6Addr,
) -> Vec<u8> {
    let (destination, destination_mac) = (solicitor, solicitor_mac);
    // Router, Solicited, Override.
    let mut icmp = vec![136, 0, 0, 0, 0xe0, 0, 0, 0];
    icmp.extend_from_slice(&vip.octets());
    icmp.extend_from_slice(&[2, 1]);
    icmp.extend_from_slice(&vmac);
    let checksum = internet_checksum(
        &[
            pseudo_header_v6(vip, destination, PROTO_ICMPV6, icmp.len()),
            icmp.clone(),
        ]
        .concat(),
    );
    icmp[2..4].copy_from_slice(&checksum.to_be_bytes());
    ethernet(
        destination_mac,
        vmac,
        ETHERTYPE_IPV6,
        &ipv6(vip, destination, 255, PROTO_ICMPV6, &icmp),
    )
}

/// `mac` as text, `02:00:00:00:00:01` (for ip and nft).
pub fn mac_text(mac: [u8; 6]) -> String {
    mac.map(|byte| format!("{byte:02x}")).join(":")
}

/// An ICMP echo request over IPv4 to `destination` with destination MAC `destination_mac`.
pub fn echo_v4(destination_mac: [u8; 6], destination: Ipv4Addr) -> Vec<u8> {
    let mut icmp = vec![8, 0, 0, 0, 0x12, 0x34, 0, 1];
    icmp.extend_from_slice(&[0x5a; 32]);
    let checksum = internet_checksum(&icmp);
    icmp[2..4].copy_from_slice(&checksum.to_be_bytes());
    ethernet(
        destination_mac,
        HOST_MAC,
        ETHERTYPE_IPV4,
        &ipv4(Ipv4Addr::new(192, 0, 2, 10), destination, 64, 1, &icmp),
    )
}
