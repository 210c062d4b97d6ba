//! Complete Ethernet frames a Master sends: adverts (RFC 9568 §5.1, §7.2, §7.3), gratuitous
//! ARP (§6.4.1, §6.4.2, erratum 7949) and unsolicited Neighbor Advertisements (§6.4.1, §6.4.2).
//! The daemon sends them on an AF_PACKET socket; the XDP program's in-place replies mirror
//! their layout. Adverts to unicast peers are IP packets without the link layer
//! ([`build_ipv4_advert_packet`], [`build_ipv6_advert_packet`]), which the frame builders
//! wrap. Each builder writes into `buf` and returns the frame (or packet) length.
//!
//! Frames are not padded to the 60-byte Ethernet minimum: the NIC or driver pads short frames.
//! Advert IP headers carry DSCP CS6 (type of service 0xc0, "internetwork control") as keepalived
//! does for routing protocol traffic; NAs carry traffic class 0 as the Linux ND code does. The
//! RFCs leave both open.

use core::net::{Ipv4Addr, Ipv6Addr};

use crate::{
    advert::{
        AdvertParams, ChecksumStyle, EncodeError, encode_ipv4_v2, encode_ipv4_with, encode_ipv6,
    },
    checksum::{internet_checksum, ipv6_pseudo_header_checksum},
    consts::{
        ALL_NODES_MAC_V6, ALL_NODES_V6, BROADCAST_MAC, ETHERNET_HEADER_LEN, ETHERTYPE_ARP,
        ETHERTYPE_IPV4, ETHERTYPE_IPV6, IPPROTO_ICMPV6, IPPROTO_VRRP, IPV4_HEADER_LEN,
        IPV6_HEADER_LEN, VRRP_GROUP_MAC_V4, VRRP_GROUP_MAC_V6, VRRP_GROUP_V4, VRRP_GROUP_V6,
        VRRP_HEADER_LEN, VRRP_TTL, virtual_mac_v4, virtual_mac_v6,
    },
    wire::{
        ARP_HARDWARE_ETHERNET, ARP_OPERATION_REQUEST, ArpEthernetIpv4, EthernetHeader,
        ICMPV6_NEIGHBOR_ADVERTISEMENT, Icmpv6Header, Ipv4Header, Ipv6Header,
        LinkLayerAddressOption, NA_FLAG_OVERRIDE, NA_FLAG_ROUTER, ND_OPTION_TARGET_LINK_LAYER,
        NeighborMessage, WireHeader, header_mut,
    },
};

/// DSCP CS6 in the type-of-service / traffic-class byte.
const TRAFFIC_CLASS_CS6: u8 = 0xc0;
/// Default traffic class, for Neighbor Discovery.
const TRAFFIC_CLASS_DEFAULT: u8 = 0;

/// Length of a gratuitous ARP frame.
pub const GRATUITOUS_ARP_LEN: usize = ETHERNET_HEADER_LEN + size_of::<ArpEthernetIpv4>();

/// Length of the ICMPv6 part of an unsolicited NA: header, body, one link-layer option.
const NA_MESSAGE_LEN: usize =
    size_of::<Icmpv6Header>() + size_of::<NeighborMessage>() + size_of::<LinkLayerAddressOption>();

/// Length of an unsolicited Neighbor Advertisement frame.
pub const UNSOLICITED_NA_LEN: usize = ETHERNET_HEADER_LEN + IPV6_HEADER_LEN + NA_MESSAGE_LEN;

/// Builds an IPv4 advert frame: Ethernet from the virtual MAC to 01:00:5e:00:00:12, then
/// [`build_ipv4_advert_packet`] to 224.0.0.18 with its RFC 9568 checksum.
pub fn build_ipv4_advert(
    buf: &mut [u8],
    params: &AdvertParams,
    source: Ipv4Addr,
    addresses: &[Ipv4Addr],
) -> Result<usize, EncodeError> {
    build_ipv4_advert_with(buf, params, source, addresses, ChecksumStyle::Rfc9568)
}

/// [`build_ipv4_advert`] with the checksum `style` sends.
pub fn build_ipv4_advert_with(
    buf: &mut [u8],
    params: &AdvertParams,
    source: Ipv4Addr,
    addresses: &[Ipv4Addr],
    style: ChecksumStyle,
) -> Result<usize, EncodeError> {
    let header = ethernet_header(
        VRRP_GROUP_MAC_V4,
        virtual_mac_v4(params.vrid),
        ETHERTYPE_IPV4,
    );
    after_ethernet(buf, header, |packet| {
        build_ipv4_advert_packet(packet, params, source, VRRP_GROUP_V4, addresses, style)
    })
}

/// Builds an IPv4 advert packet (no link layer): IPv4 from `source` (the interface's primary
/// address, RFC 9568 §5.1.1.1) to `destination` (the VRRP group, or a unicast peer) with TTL
/// 255 and protocol 112, then the VRRPv3 message, its checksum in `style` over a pseudo-header
/// naming `destination` (RFC 9568 §5.2.8). Returns the packet length.
pub fn build_ipv4_advert_packet(
    buf: &mut [u8],
    params: &AdvertParams,
    source: Ipv4Addr,
    destination: Ipv4Addr,
    addresses: &[Ipv4Addr],
    style: ChecksumStyle,
) -> Result<usize, EncodeError> {
    build_ipv4_packet(buf, source, destination, addresses.len() * 4, |rest| {
        encode_ipv4_with(rest, params, source, destination, addresses, style)
    })
}

/// [`build_ipv4_advert`] for VRRPv2 (RFC 3768 §5): the same Ethernet and IPv4 headers (RFC
/// 3768 §5.2), then the VRRPv2 message ([`encode_ipv4_v2`]).
pub fn build_ipv4_advert_v2(
    buf: &mut [u8],
    params: &AdvertParams,
    source: Ipv4Addr,
    addresses: &[Ipv4Addr],
) -> Result<usize, EncodeError> {
    let header = ethernet_header(
        VRRP_GROUP_MAC_V4,
        virtual_mac_v4(params.vrid),
        ETHERTYPE_IPV4,
    );
    after_ethernet(buf, header, |packet| {
        build_ipv4_advert_v2_packet(packet, params, source, VRRP_GROUP_V4, addresses)
    })
}

/// [`build_ipv4_advert_packet`] for VRRPv2: its checksum covers the message alone, so the
/// destination (the group or a unicast peer) is only the IP header's.
pub fn build_ipv4_advert_v2_packet(
    buf: &mut [u8],
    params: &AdvertParams,
    source: Ipv4Addr,
    destination: Ipv4Addr,
    addresses: &[Ipv4Addr],
) -> Result<usize, EncodeError> {
    // The list and the 8 bytes of authentication data after it.
    build_ipv4_packet(buf, source, destination, addresses.len() * 4 + 8, |rest| {
        encode_ipv4_v2(rest, params, addresses)
    })
}

/// An IPv4 advert packet around the message `encode` writes (`list_len` bytes after its fixed
/// header).
fn build_ipv4_packet(
    buf: &mut [u8],
    source: Ipv4Addr,
    destination: Ipv4Addr,
    list_len: usize,
    encode: impl FnOnce(&mut [u8]) -> Result<usize, EncodeError>,
) -> Result<usize, EncodeError> {
    let message_len = encode_after(buf, IPV4_HEADER_LEN, list_len, encode)?;
    let packet_len = IPV4_HEADER_LEN + message_len;
    let available = buf.len();
    let ip = buf
        .first_chunk_mut::<IPV4_HEADER_LEN>()
        .ok_or(too_small(packet_len, available))?;
    write_ipv4_header(ip, source, destination, packet_len);
    Ok(packet_len)
}

/// Builds an IPv6 advert frame: Ethernet from the virtual MAC to 33:33:00:00:00:12, then
/// [`build_ipv6_advert_packet`] to ff02::12.
pub fn build_ipv6_advert(
    buf: &mut [u8],
    params: &AdvertParams,
    source: &Ipv6Addr,
    addresses: &[Ipv6Addr],
) -> Result<usize, EncodeError> {
    let header = ethernet_header(
        VRRP_GROUP_MAC_V6,
        virtual_mac_v6(params.vrid),
        ETHERTYPE_IPV6,
    );
    after_ethernet(buf, header, |packet| {
        build_ipv6_advert_packet(packet, params, source, &VRRP_GROUP_V6, addresses)
    })
}

/// Builds an IPv6 advert packet (no link layer): IPv6 from `source` (the interface's
/// link-local address, RFC 9568 §5.1.2.1) to `destination` (the VRRP group, or a unicast
/// peer) with hop limit 255 and next header 112, then the VRRPv3 message, its checksum over a
/// pseudo-header naming `destination`. Returns the packet length.
pub fn build_ipv6_advert_packet(
    buf: &mut [u8],
    params: &AdvertParams,
    source: &Ipv6Addr,
    destination: &Ipv6Addr,
    addresses: &[Ipv6Addr],
) -> Result<usize, EncodeError> {
    let message_len = encode_after(buf, IPV6_HEADER_LEN, addresses.len() * 16, |rest| {
        encode_ipv6(rest, params, source, destination, addresses)
    })?;
    let packet_len = IPV6_HEADER_LEN + message_len;
    let available = buf.len();
    let ip = header_mut::<Ipv6Header>(buf).ok_or(too_small(packet_len, available))?;
    *ip = ipv6_header(
        source,
        destination,
        IPPROTO_VRRP,
        TRAFFIC_CLASS_CS6,
        message_len,
    );
    Ok(packet_len)
}

/// Writes the Ethernet `header`, then the packet `build` writes after it, reporting a short
/// buffer in whole-frame terms. Returns the frame length.
fn after_ethernet(
    buf: &mut [u8],
    header: EthernetHeader,
    build: impl FnOnce(&mut [u8]) -> Result<usize, EncodeError>,
) -> Result<usize, EncodeError> {
    let available = buf.len();
    let (ethernet, packet) = buf
        .split_at_mut_checked(ETHERNET_HEADER_LEN)
        .ok_or(too_small(ETHERNET_HEADER_LEN, available))?;
    let packet_len = build(packet).map_err(|error| match error {
        EncodeError::BufferTooSmall { needed, .. } => {
            too_small(ETHERNET_HEADER_LEN + needed, available)
        }
        other => other,
    })?;
    *header_mut::<EthernetHeader>(ethernet).ok_or(too_small(ETHERNET_HEADER_LEN, available))? =
        header;
    Ok(ETHERNET_HEADER_LEN + packet_len)
}

/// Builds a gratuitous ARP for `vip` of virtual router `vrid`: a broadcast ARP request from the
/// virtual MAC whose sender hardware address is the virtual MAC and whose sender and target
/// protocol addresses are both the VIP (RFC 9568 §6.4.1, §8.1.2). Erratum 7949 to RFC 9568:
/// the target hardware address is the virtual MAC too.
pub fn build_gratuitous_arp(buf: &mut [u8], vrid: u8, vip: Ipv4Addr) -> Result<usize, EncodeError> {
    let vmac = virtual_mac_v4(vrid);
    let (ethernet, arp) = split_headers::<ArpEthernetIpv4>(buf, GRATUITOUS_ARP_LEN)?;
    *ethernet = ethernet_header(BROADCAST_MAC, vmac, ETHERTYPE_ARP);
    *arp = ArpEthernetIpv4 {
        hardware_type_be: ARP_HARDWARE_ETHERNET.to_be_bytes(),
        protocol_type_be: ETHERTYPE_IPV4.to_be_bytes(),
        hardware_len: 6,
        protocol_len: 4,
        operation_be: ARP_OPERATION_REQUEST.to_be_bytes(),
        sender_hardware: vmac,
        sender_protocol: vip.octets(),
        target_hardware: vmac,
        target_protocol: vip.octets(),
    };
    Ok(GRATUITOUS_ARP_LEN)
}

/// Builds an unsolicited Neighbor Advertisement for `vip` of virtual router `vrid`, from
/// `source` (an address of the interface, RFC 4861 §4.4) to ff02::1 with hop limit 255
/// (RFC 4861 §7.1.2): Router=1, Solicited=0, Override=1, target = VIP, and a Target
/// Link-Layer Address option carrying the virtual MAC (RFC 9568 §6.4.1, §6.4.2, §8.2.2).
pub fn build_unsolicited_na(
    buf: &mut [u8],
    vrid: u8,
    source: &Ipv6Addr,
    vip: &Ipv6Addr,
) -> Result<usize, EncodeError> {
    let vmac = virtual_mac_v6(vrid);
    let (ethernet, rest) =
        split_headers::<[u8; IPV6_HEADER_LEN + NA_MESSAGE_LEN]>(buf, UNSOLICITED_NA_LEN)?;
    *ethernet = ethernet_header(ALL_NODES_MAC_V6, vmac, ETHERTYPE_IPV6);
    let (ip, message) = rest.split_at_mut(IPV6_HEADER_LEN);
    let too_small = too_small(UNSOLICITED_NA_LEN, UNSOLICITED_NA_LEN);
    *header_mut::<Ipv6Header>(ip).ok_or(too_small)? = ipv6_header(
        source,
        &ALL_NODES_V6,
        IPPROTO_ICMPV6,
        TRAFFIC_CLASS_DEFAULT,
        NA_MESSAGE_LEN,
    );
    let (icmp, body) = message.split_at_mut(size_of::<Icmpv6Header>());
    let (neighbor, option) = body.split_at_mut(size_of::<NeighborMessage>());
    *header_mut::<NeighborMessage>(neighbor).ok_or(too_small)? = NeighborMessage {
        flags_reserved: [NA_FLAG_ROUTER | NA_FLAG_OVERRIDE, 0, 0, 0],
        target: vip.octets(),
    };
    *header_mut::<LinkLayerAddressOption>(option).ok_or(too_small)? = LinkLayerAddressOption {
        kind: ND_OPTION_TARGET_LINK_LAYER,
        length_units: 1,
        address: vmac,
    };
    *header_mut::<Icmpv6Header>(icmp).ok_or(too_small)? = Icmpv6Header {
        kind: ICMPV6_NEIGHBOR_ADVERTISEMENT,
        code: 0,
        checksum_be: [0; 2],
    };
    // RFC 4443 §2.3: the checksum covers the pseudo-header and the message, field zeroed.
    let checksum = ipv6_pseudo_header_checksum(source, &ALL_NODES_V6, IPPROTO_ICMPV6, message);
    message[2..4].copy_from_slice(&checksum.to_be_bytes());
    Ok(UNSOLICITED_NA_LEN)
}

fn too_small(needed: usize, available: usize) -> EncodeError {
    EncodeError::BufferTooSmall { needed, available }
}

/// Encodes a message with `encode` after `headers` bytes of `buf`, reporting a short buffer in
/// whole-frame terms. `list_len` is the size of the address list, for that report.
fn encode_after(
    buf: &mut [u8],
    headers: usize,
    list_len: usize,
    encode: impl FnOnce(&mut [u8]) -> Result<usize, EncodeError>,
) -> Result<usize, EncodeError> {
    let available = buf.len();
    let frame_len = headers + VRRP_HEADER_LEN + list_len;
    let rest = buf
        .get_mut(headers..)
        .ok_or(too_small(frame_len, available))?;
    encode(rest).map_err(|error| match error {
        EncodeError::BufferTooSmall { .. } => too_small(frame_len, available),
        other => other,
    })
}

/// The Ethernet header and the `T` after it, in the first `frame_len` bytes of `buf`.
fn split_headers<T: WireHeader>(
    buf: &mut [u8],
    frame_len: usize,
) -> Result<(&mut EthernetHeader, &mut T), EncodeError> {
    let available = buf.len();
    let error = too_small(
        frame_len.max(ETHERNET_HEADER_LEN + size_of::<T>()),
        available,
    );
    let frame = buf.get_mut(..frame_len).ok_or(error)?;
    let (ethernet, rest) = frame
        .split_at_mut_checked(ETHERNET_HEADER_LEN)
        .ok_or(error)?;
    Ok((
        header_mut(ethernet).ok_or(error)?,
        header_mut(rest).ok_or(error)?,
    ))
}

pub(crate) const fn ethernet_header(
    destination: [u8; 6],
    source: [u8; 6],
    ethertype: u16,
) -> EthernetHeader {
    EthernetHeader {
        destination,
        source,
        ethertype_be: ethertype.to_be_bytes(),
    }
}

/// Writes an IPv4 VRRP header (no options, TTL 255, not fragmented) with its checksum.
fn write_ipv4_header(
    ip: &mut [u8; IPV4_HEADER_LEN],
    source: Ipv4Addr,
    destination: Ipv4Addr,
    total_length: usize,
) {
    let header = Ipv4Header {
        version_ihl: 0x45,
        type_of_service: TRAFFIC_CLASS_CS6,
        total_length_be: length_be(total_length),
        identification_be: [0; 2],
        flags_fragment_offset_be: [0; 2],
        ttl: VRRP_TTL,
        protocol: IPPROTO_VRRP,
        header_checksum_be: [0; 2],
        source: source.octets(),
        destination: destination.octets(),
    };
    if let Some(slot) = header_mut::<Ipv4Header>(ip) {
        *slot = header;
    }
    let checksum = internet_checksum(ip);
    ip[10..12].copy_from_slice(&checksum.to_be_bytes());
}

/// An IPv6 header with hop limit 255 (RFC 9568 §5.1.2.3, RFC 4861 §7.1.2) and flow label 0.
pub(crate) fn ipv6_header(
    source: &Ipv6Addr,
    destination: &Ipv6Addr,
    next_header: u8,
    traffic_class: u8,
    payload_length: usize,
) -> Ipv6Header {
    let version_class_flow = (6u32 << 28) | (u32::from(traffic_class) << 20);
    Ipv6Header {
        version_class_flow_be: version_class_flow.to_be_bytes(),
        payload_length_be: length_be(payload_length),
        next_header,
        hop_limit: VRRP_TTL,
        source: source.octets(),
        destination: destination.octets(),
    }
}

/// A length field. Our frames are at most 14 + 40 + 8 + 255 * 16 bytes, so the saturation
/// never happens.
fn length_be(len: usize) -> [u8; 2] {
    u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes()
}
