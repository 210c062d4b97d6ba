//! On-wire header layouts.
//!
//! Every struct is `#[repr(C)]` and made only of `u8` and `[u8; N]` fields, so it has
//! alignment 1, no padding and every bit pattern is valid. That makes a bounds-checked pointer
//! cast at any offset of a frame sound (what the XDP program does), and lets [`header`] /
//! [`header_mut`] view a byte slice as a header without copying. Multi-byte integers stay in
//! network byte order; their field names end in `_be`, and accessors convert.

/// Marker for the header types of this module.
///
/// # Safety
/// Implementors are `#[repr(C)]`, have alignment 1 and no padding, and every bit pattern is a
/// valid value (only `u8` and `[u8; N]` fields). The const assertions below check the first two.
pub unsafe trait WireHeader: Sized {}

/// Views the start of `bytes` as a `T`, or `None` if `bytes` is shorter than `T`.
pub fn header<T: WireHeader>(bytes: &[u8]) -> Option<&T> {
    let prefix = bytes.get(..size_of::<T>())?;
    // SAFETY: `prefix` holds exactly size_of::<T>() initialised bytes; T has alignment 1 and
    // accepts every bit pattern (WireHeader contract), and the borrow keeps `bytes` alive.
    Some(unsafe { &*prefix.as_ptr().cast::<T>() })
}

/// Views the start of `bytes` as a mutable `T`, or `None` if `bytes` is shorter than `T`.
pub fn header_mut<T: WireHeader>(bytes: &mut [u8]) -> Option<&mut T> {
    let prefix = bytes.get_mut(..size_of::<T>())?;
    // SAFETY: as in `header`, and the exclusive borrow of `bytes` makes the reference unique.
    Some(unsafe { &mut *prefix.as_mut_ptr().cast::<T>() })
}

/// Ethernet II header (IEEE 802.3 without VLAN tags).
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                  Destination MAC (6 octets)                   |
/// +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                               |                               |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
/// |                    Source MAC (6 octets)                      |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |           EtherType           |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EthernetHeader {
    /// Destination MAC address.
    pub destination: [u8; 6],
    /// Source MAC address.
    pub source: [u8; 6],
    /// EtherType, big-endian.
    pub ethertype_be: [u8; 2],
}

impl EthernetHeader {
    /// The EtherType.
    pub const fn ethertype(&self) -> u16 {
        u16::from_be_bytes(self.ethertype_be)
    }
}

/// IPv4 header without options (RFC 791 §3.1).
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |Version|  IHL  |Type of Service|          Total Length         |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |         Identification        |Flags|      Fragment Offset    |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |  Time to Live |    Protocol   |         Header Checksum       |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                       Source Address                          |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                    Destination Address                        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv4Header {
    /// Version (high nibble, 4) and header length in 32-bit words (low nibble).
    pub version_ihl: u8,
    /// Type of service / DSCP and ECN.
    pub type_of_service: u8,
    /// Length of header and payload in bytes, big-endian.
    pub total_length_be: [u8; 2],
    /// Identification, big-endian.
    pub identification_be: [u8; 2],
    /// Flags (3 bits) and fragment offset (13 bits), big-endian.
    pub flags_fragment_offset_be: [u8; 2],
    /// Time to live.
    pub ttl: u8,
    /// Protocol of the payload.
    pub protocol: u8,
    /// Header checksum, big-endian.
    pub header_checksum_be: [u8; 2],
    /// Source address.
    pub source: [u8; 4],
    /// Destination address.
    pub destination: [u8; 4],
}

impl Ipv4Header {
    /// The IP version nibble (4 for a valid header).
    pub const fn version(&self) -> u8 {
        self.version_ihl >> 4
    }

    /// Header length in bytes (IHL * 4).
    pub const fn header_len(&self) -> usize {
        (self.version_ihl & 0x0f) as usize * 4
    }

    /// Total length of header and payload in bytes.
    pub const fn total_length(&self) -> u16 {
        u16::from_be_bytes(self.total_length_be)
    }
}

/// IPv6 fixed header (RFC 8200 §3).
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |Version| Traffic Class |           Flow Label                  |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |         Payload Length        |  Next Header  |   Hop Limit   |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                                                               |
/// +                     Source Address (16 octets)                +
/// |                                                               |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                                                               |
/// +                  Destination Address (16 octets)              +
/// |                                                               |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv6Header {
    /// Version (4 bits, 6), traffic class (8 bits) and flow label (20 bits), big-endian.
    pub version_class_flow_be: [u8; 4],
    /// Length of the payload after this header in bytes, big-endian.
    pub payload_length_be: [u8; 2],
    /// Protocol of the next header.
    pub next_header: u8,
    /// Hop limit.
    pub hop_limit: u8,
    /// Source address.
    pub source: [u8; 16],
    /// Destination address.
    pub destination: [u8; 16],
}

impl Ipv6Header {
    /// The IP version nibble (6 for a valid header).
    pub const fn version(&self) -> u8 {
        self.version_class_flow_be[0] >> 4
    }

    /// Length of the payload after this header in bytes.
    pub const fn payload_length(&self) -> u16 {
        u16::from_be_bytes(self.payload_length_be)
    }
}

/// VRRPv3 fixed header (RFC 5798 §5.1, RFC 9568 §5.1); the address list follows it.
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |Version| Type  | Virtual Rtr ID|   Priority    |Count IPvX Addr|
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |(rsvd) |     Max Adver Int     |          Checksum             |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                       IPvX Address(es)                        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
///
/// VRRPv2 (RFC 3768 §5.1) shares the first four bytes; its second word is Auth Type (8 bits),
/// Adver Int in seconds (8 bits) and the checksum, and 8 bytes of authentication data follow
/// the addresses.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VrrpHeader {
    /// Version (high nibble) and type (low nibble).
    pub version_type: u8,
    /// Virtual router ID.
    pub vrid: u8,
    /// Priority.
    pub priority: u8,
    /// Number of addresses in the list.
    pub address_count: u8,
    /// Reserved (4 bits) and Max Adver Int in centiseconds (12 bits), big-endian.
    /// In VRRPv2: Auth Type (first byte) and Adver Int in seconds (second byte).
    pub reserved_interval_be: [u8; 2],
    /// Checksum, big-endian.
    pub checksum_be: [u8; 2],
}

impl VrrpHeader {
    /// The version nibble.
    pub const fn version(&self) -> u8 {
        self.version_type >> 4
    }

    /// The type nibble.
    pub const fn kind(&self) -> u8 {
        self.version_type & 0x0f
    }

    /// The 12-bit Max Adver Int in centiseconds (VRRPv3).
    pub const fn max_advert_interval(&self) -> u16 {
        u16::from_be_bytes(self.reserved_interval_be) & 0x0fff
    }

    /// The checksum field.
    pub const fn checksum(&self) -> u16 {
        u16::from_be_bytes(self.checksum_be)
    }

    /// VRRPv2's authentication type (RFC 3768 §5.3.6), where VRRPv3 has its reserved nibble.
    pub const fn v2_auth_type(&self) -> u8 {
        self.reserved_interval_be[0]
    }

    /// The advert interval in centiseconds whatever the version: VRRPv3's 12-bit Max Adver
    /// Int, or VRRPv2's 8-bit Adver Int in seconds (RFC 3768 §5.3.7) converted as RFC 9568
    /// §8.4 says (× 100, at most 25500).
    pub const fn advert_interval_cs(&self) -> u16 {
        if self.version() == crate::consts::VRRP_VERSION_2 {
            self.reserved_interval_be[1] as u16 * 100
        } else {
            self.max_advert_interval()
        }
    }
}

/// ARP packet for Ethernet hardware and IPv4 protocol addresses (RFC 826).
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |         Hardware Type         |         Protocol Type         |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |  HW Addr Len  | Proto Addr Len|           Operation           |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                 Sender Hardware Address (6 octets)            |
/// +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                               | Sender Protocol Address (4)   |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
/// |                               |                               |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
/// |                 Target Hardware Address (6 octets)            |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                 Target Protocol Address (4 octets)            |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArpEthernetIpv4 {
    /// Hardware type (1 = Ethernet), big-endian.
    pub hardware_type_be: [u8; 2],
    /// Protocol type (0x0800 = IPv4), big-endian.
    pub protocol_type_be: [u8; 2],
    /// Hardware address length (6).
    pub hardware_len: u8,
    /// Protocol address length (4).
    pub protocol_len: u8,
    /// Operation (1 = request, 2 = reply), big-endian.
    pub operation_be: [u8; 2],
    /// Sender hardware address.
    pub sender_hardware: [u8; 6],
    /// Sender protocol address.
    pub sender_protocol: [u8; 4],
    /// Target hardware address.
    pub target_hardware: [u8; 6],
    /// Target protocol address.
    pub target_protocol: [u8; 4],
}

/// ARP hardware type of Ethernet.
pub const ARP_HARDWARE_ETHERNET: u16 = 1;
/// ARP operation: request.
pub const ARP_OPERATION_REQUEST: u16 = 1;
/// ARP operation: reply.
pub const ARP_OPERATION_REPLY: u16 = 2;

/// ICMPv6 header (RFC 4443 §2.1); the message body follows.
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |     Type      |     Code      |          Checksum             |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Icmpv6Header {
    /// Message type.
    pub kind: u8,
    /// Message code.
    pub code: u8,
    /// Checksum over the pseudo-header and the message, big-endian.
    pub checksum_be: [u8; 2],
}

/// ICMPv6 type of a Neighbor Solicitation (RFC 4861 §4.3).
pub const ICMPV6_NEIGHBOR_SOLICITATION: u8 = 135;
/// ICMPv6 type of a Neighbor Advertisement (RFC 4861 §4.4).
pub const ICMPV6_NEIGHBOR_ADVERTISEMENT: u8 = 136;

/// Body of a Neighbor Solicitation or Advertisement after the [`Icmpv6Header`]
/// (RFC 4861 §4.3, §4.4); options follow. In a solicitation the first word is all reserved.
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |R|S|O|                     Reserved                            |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                                                               |
/// +                       Target Address (16 octets)              +
/// |                                                               |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |   Options ...
/// +-+-+-+-+-+-+-+-+-+-+-+-
/// ```
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NeighborMessage {
    /// Advertisement flags in the first byte ([`NA_FLAG_ROUTER`], [`NA_FLAG_SOLICITED`],
    /// [`NA_FLAG_OVERRIDE`]), then reserved; all reserved in a solicitation.
    pub flags_reserved: [u8; 4],
    /// Target address.
    pub target: [u8; 16],
}

/// Neighbor Advertisement Router flag (RFC 4861 §4.4).
pub const NA_FLAG_ROUTER: u8 = 0x80;
/// Neighbor Advertisement Solicited flag (RFC 4861 §4.4).
pub const NA_FLAG_SOLICITED: u8 = 0x40;
/// Neighbor Advertisement Override flag (RFC 4861 §4.4).
pub const NA_FLAG_OVERRIDE: u8 = 0x20;

/// Source/Target Link-Layer Address option for Ethernet (RFC 4861 §4.6.1).
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |     Type      |    Length     |    Link-Layer Address ...
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkLayerAddressOption {
    /// Option type ([`ND_OPTION_SOURCE_LINK_LAYER`] or [`ND_OPTION_TARGET_LINK_LAYER`]).
    pub kind: u8,
    /// Option length in units of 8 bytes (1 for Ethernet).
    pub length_units: u8,
    /// The Ethernet address.
    pub address: [u8; 6],
}

/// ND option type: Source Link-Layer Address (RFC 4861 §4.6.1).
pub const ND_OPTION_SOURCE_LINK_LAYER: u8 = 1;
/// ND option type: Target Link-Layer Address (RFC 4861 §4.6.1).
pub const ND_OPTION_TARGET_LINK_LAYER: u8 = 2;

// SAFETY: each type below is repr(C) with only u8 / [u8; N] fields (checked by review and by
// the alignment assertions), hence alignment 1, no padding, and every bit pattern valid.
unsafe impl WireHeader for EthernetHeader {}
unsafe impl WireHeader for Ipv4Header {}
unsafe impl WireHeader for Ipv6Header {}
unsafe impl WireHeader for VrrpHeader {}
unsafe impl WireHeader for ArpEthernetIpv4 {}
unsafe impl WireHeader for Icmpv6Header {}
unsafe impl WireHeader for NeighborMessage {}
unsafe impl WireHeader for LinkLayerAddressOption {}
// SAFETY: a byte array has alignment 1, no padding and accepts every bit pattern; it lets
// builders reserve a region and fill it field by field.
unsafe impl<const N: usize> WireHeader for [u8; N] {}

const _: () = {
    assert!(size_of::<EthernetHeader>() == 14 && align_of::<EthernetHeader>() == 1);
    assert!(size_of::<Ipv4Header>() == 20 && align_of::<Ipv4Header>() == 1);
    assert!(size_of::<Ipv6Header>() == 40 && align_of::<Ipv6Header>() == 1);
    assert!(size_of::<VrrpHeader>() == 8 && align_of::<VrrpHeader>() == 1);
    assert!(size_of::<ArpEthernetIpv4>() == 28 && align_of::<ArpEthernetIpv4>() == 1);
    assert!(size_of::<Icmpv6Header>() == 4 && align_of::<Icmpv6Header>() == 1);
    assert!(size_of::<NeighborMessage>() == 20 && align_of::<NeighborMessage>() == 1);
    assert!(size_of::<LinkLayerAddressOption>() == 8 && align_of::<LinkLayerAddressOption>() == 1);
    assert!(size_of::<EthernetHeader>() == crate::consts::ETHERNET_HEADER_LEN);
    assert!(size_of::<Ipv4Header>() == crate::consts::IPV4_HEADER_LEN);
    assert!(size_of::<Ipv6Header>() == crate::consts::IPV6_HEADER_LEN);
    assert!(size_of::<VrrpHeader>() == crate::consts::VRRP_HEADER_LEN);
};
