//! Zero-copy decoding and encoding of VRRPv3 advertisements (RFC 9568 §5) over IPv4 and IPv6,
//! and of VRRPv2 advertisements (RFC 3768 §5) over IPv4 for the instances that speak it
//! ([`VersionMode`]); for the others a VRRPv2 peer is recognised and reported.
//!
//! Decoding is total: any input gives an [`Advert`] or a [`DecodeError`] naming the RFC 9568
//! §7.1 discard reason, never a panic. The header checks are [`check_header`], which the XDP
//! program runs too, so the kernel never hands the daemon a message the codec rejects. Checks
//! that need configuration (is the VRID configured here, does the address list match) belong
//! to the XDP program's instance lookup and to the daemon.
//!
//! The encoder never writes what the decoder would reject, so encode then decode round-trips.

use core::{
    iter::FusedIterator,
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    slice::ChunksExact,
};

use crate::{
    checksum::Checksum,
    consts::{
        ADVERT_INTERVAL_MAX_CS, ADVERT_INTERVAL_MIN_CS, IPPROTO_VRRP, VRRP_HEADER_LEN, VRRP_TTL,
        VRRP_TYPE_ADVERTISEMENT, VRRP_VERSION_2, VRRP_VERSION_3,
    },
    counters::Counter,
    maps::AddressFamily,
    wire::{Ipv4Header, Ipv6Header, VrrpHeader, header, header_mut},
};

/// Which VRRP checksum an instance sends and accepts. RFC 9568 §5.2.8 sums the IPv4 (or IPv6)
/// pseudo-header with the message; several IPv4 implementations sum the message alone, as
/// VRRPv2 did (Cisco IOS-XE, Arista EOS, keepalived's `v3_checksum_as_v2`, FRR with
/// `checksum-with-ipv4-pseudoheader` off; docs/INTEROP.md). Each side then discards the
/// other's adverts. IPv6 has only the RFC style: every implementation includes its
/// pseudo-header, and [`check_header`] treats IPv6 as [`Self::Rfc9568`] whatever it is given.
#[repr(u8)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ChecksumStyle {
    /// Pseudo-header included (RFC 9568 §5.2.8), sent and required.
    #[default]
    Rfc9568 = 0,
    /// The VRRP message alone, sent and required (IPv4 only).
    WithoutPseudoHeader = 1,
    /// Sends [`Self::Rfc9568`] and accepts either style: for migrating a mixed group.
    AcceptBoth = 2,
}

impl ChecksumStyle {
    /// Every style, for parsing and tests.
    pub const ALL: [Self; 3] = [Self::Rfc9568, Self::WithoutPseudoHeader, Self::AcceptBoth];

    /// The style stored as `value` (`Instance::checksum_style`), if valid.
    pub const fn from_u8(value: u8) -> Option<Self> {
        match value {
            0 => Some(Self::Rfc9568),
            1 => Some(Self::WithoutPseudoHeader),
            2 => Some(Self::AcceptBoth),
            _ => None,
        }
    }

    /// The configuration value (`ipv4_checksum = "…"`), also used in logs.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Rfc9568 => "rfc9568",
            Self::WithoutPseudoHeader => "without-pseudo-header",
            Self::AcceptBoth => "accept-both",
        }
    }

    /// The style named `name` ([`Self::name`]).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|style| style.name() == name)
    }

    /// Whether sent adverts include the pseudo-header in their checksum.
    pub const fn sends_pseudo_header(self) -> bool {
        !matches!(self, Self::WithoutPseudoHeader)
    }
}

/// Which VRRP versions an IPv4 instance sends and accepts (`version = 3 | 2 | "2+3"`). IPv6
/// has only VRRPv3: [`check_header`] discards VRRPv2 over IPv6 whatever it is given.
#[repr(u8)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum VersionMode {
    /// VRRPv3 only (RFC 9568).
    #[default]
    V3 = 0,
    /// VRRPv2 only (RFC 3768): auth type 0, Adver_Int in whole seconds.
    V2 = 1,
    /// RFC 9568 §8.4: sends both a VRRPv2 and a VRRPv3 advert each interval and accepts both.
    V2AndV3 = 2,
}

impl VersionMode {
    /// Every mode, for parsing and tests.
    pub const ALL: [Self; 3] = [Self::V3, Self::V2, Self::V2AndV3];

    /// The mode stored as `value` (`Instance::versions`), if valid.
    pub const fn from_u8(value: u8) -> Option<Self> {
        match value {
            0 => Some(Self::V3),
            1 => Some(Self::V2),
            2 => Some(Self::V2AndV3),
            _ => None,
        }
    }

    /// The configuration value (`version = "…"`), also used in logs.
    pub const fn name(self) -> &'static str {
        match self {
            Self::V3 => "3",
            Self::V2 => "2",
            Self::V2AndV3 => "2+3",
        }
    }

    /// The mode named `name` ([`Self::name`]).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|mode| mode.name() == name)
    }

    /// Whether VRRPv3 adverts are sent and accepted.
    pub const fn speaks_v3(self) -> bool {
        !matches!(self, Self::V2)
    }

    /// Whether VRRPv2 adverts are sent and accepted.
    pub const fn speaks_v2(self) -> bool {
        !matches!(self, Self::V3)
    }
}

/// The two halves of a VRRP checksum, each a folded one's complement sum
/// ([`Checksum::folded`]): the pseudo-header, and the whole message with its checksum field.
/// Kept apart so one pass over the message verifies it in either [`ChecksumStyle`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MessageSums {
    /// Sum of the IPv4 / IPv6 pseudo-header.
    pub pseudo_header: u16,
    /// Sum of the message, checksum field included.
    pub message: u16,
}

impl MessageSums {
    /// The sums of `message` received in `context`.
    pub fn of(context: &IpContext, message: &[u8]) -> Self {
        Self {
            pseudo_header: context.pseudo_header(message.len()).folded(),
            message: Checksum::new().add_bytes(message).folded(),
        }
    }

    /// The checksum over everything in the style that does (`with_pseudo_header`) or does not
    /// include the pseudo-header: 0 when the message verifies in that style.
    #[inline(always)]
    pub fn residue(&self, with_pseudo_header: bool) -> u16 {
        if with_pseudo_header {
            let sum = u32::from(self.pseudo_header) + u32::from(self.message);
            // One fold suffices for the sum of two 16-bit values.
            !(((sum & 0xffff) + (sum >> 16)) as u16)
        } else {
            !self.message
        }
    }
}

/// Where [`check_header`] gets the checksum of the message it checks: summed from the frame in
/// the XDP program, from the received bytes in the codec. A trait rather than a closure so the
/// XDP program's sum is inlined (the verifier rejects the call frame a closure becomes).
pub trait MessageChecksum {
    /// Why the sum could not be taken (the XDP program's own failure), or a [`Discard`].
    type Error: From<Discard>;

    /// The sums of the pseudo-header and of the whole message, field included.
    fn sums(self) -> Result<MessageSums, Self::Error>;
}

/// The codec's [`MessageChecksum`]: the received message in its IP context.
struct ReceivedMessage<'a> {
    context: &'a IpContext,
    message: &'a [u8],
}

impl MessageChecksum for ReceivedMessage<'_> {
    type Error = DecodeError;

    fn sums(self) -> Result<MessageSums, DecodeError> {
        Ok(MessageSums::of(self.context, self.message))
    }
}

/// Why [`check_header`] discards a VRRP message: the RFC 9568 §7.1 (and, for VRRPv2, RFC 3768
/// §7.1) reasons that need no configuration. The XDP program counts it ([`Discard::counter`]); the codec reports it as
/// the [`DecodeError`] of the same name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Discard {
    /// TTL / hop limit is not 255.
    BadTtl {
        /// TTL or hop limit received.
        ttl: u8,
    },
    /// Version is not one the instance speaks (3 unless it accepts VRRPv2 too).
    BadVersion {
        /// Version nibble received.
        version: u8,
    },
    /// Type is not 1 (ADVERTISEMENT).
    BadType {
        /// Type nibble received.
        kind: u8,
    },
    /// Count is 0.
    NoAddresses {
        /// VRID of the advert.
        vrid: u8,
    },
    /// The message is not the fixed part plus count addresses.
    AddressCountMismatch {
        /// Count field.
        count: u8,
        /// Message length the count implies.
        expected_len: usize,
        /// Message length received.
        actual_len: usize,
    },
    /// The checksum does not verify.
    BadChecksum {
        /// Checksum field received.
        received: u16,
        /// Checksum the message should carry.
        expected: u16,
    },
    /// The IPv4 checksum verifies only in the style the instance does not accept: the sender
    /// includes (or leaves out) the pseudo-header where we do not. Discarded like a bad
    /// checksum, but worth telling the operator which setting would interoperate.
    ChecksumOtherStyle {
        /// The sender's style: [`ChecksumStyle::Rfc9568`] or
        /// [`ChecksumStyle::WithoutPseudoHeader`].
        sender: ChecksumStyle,
    },
    /// Max Adver Int (VRRPv2: Adver Int) is 0.
    ZeroInterval {
        /// VRID of the advert.
        vrid: u8,
    },
    /// VRRPv2 with an authentication type other than 0 (RFC 3768 §5.3.6): types 1 and 2 were
    /// removed by RFC 3768 and are never configured here, so §7.1's "auth type matches the
    /// configured method" fails.
    AuthType {
        /// Auth Type received.
        auth_type: u8,
    },
}

impl Discard {
    /// The counter the XDP program bumps for this reason.
    pub const fn counter(&self) -> Counter {
        match self {
            Self::BadTtl { .. } => Counter::InvalidTtl,
            Self::BadVersion { .. } => Counter::InvalidVersion,
            Self::BadType { .. } => Counter::InvalidType,
            Self::NoAddresses { .. } | Self::AddressCountMismatch { .. } => Counter::InvalidLength,
            Self::BadChecksum { .. } => Counter::InvalidChecksum,
            Self::ChecksumOtherStyle { .. } => Counter::ChecksumOtherStyle,
            Self::ZeroInterval { .. } => Counter::ZeroInterval,
            Self::AuthType { .. } => Counter::AuthTypeMismatch,
        }
    }
}

impl From<Discard> for DecodeError {
    fn from(discard: Discard) -> Self {
        match discard {
            Discard::BadTtl { ttl } => Self::BadTtl { ttl },
            Discard::BadVersion { version } => Self::BadVersion { version },
            Discard::BadType { kind } => Self::BadType { kind },
            Discard::NoAddresses { vrid } => Self::NoAddresses { vrid },
            Discard::AddressCountMismatch {
                count,
                expected_len,
                actual_len,
            } => Self::AddressCountMismatch {
                count,
                expected_len,
                actual_len,
            },
            Discard::BadChecksum { received, expected } => Self::BadChecksum { received, expected },
            Discard::ChecksumOtherStyle { sender } => Self::ChecksumOtherStyle { sender },
            Discard::ZeroInterval { vrid } => Self::ZeroInterval { vrid },
            Discard::AuthType { auth_type } => Self::AuthType { auth_type },
        }
    }
}

/// The RFC 9568 §7.1 checks of a VRRPv3 message that need no configuration, in its order:
/// TTL / hop limit 255, version 3, type 1 (§5.2.2), length, checksum, Max Adver Int not 0
/// (erratum 8301). Shared by the XDP program and the codec, so both discard the same messages
/// for the same reason.
///
/// An IPv4 instance whose `versions` speak VRRPv2 gets RFC 3768 §7.1's checks for version 2
/// in the same order: the message is 8 + 4 × count + 8 bytes (the authentication data), its
/// checksum covers the message alone whatever `style` says (RFC 3768 §5.3.8), the auth type
/// is 0 and Adver Int is not 0. A version the instance does not speak is
/// [`Discard::BadVersion`].
///
/// `message_len` is the IP payload length; the caller has checked that the payload is present
/// and holds at least the fixed header. Length: count 0 is ignored (§5.2.5, erratum 8299), and
/// the message must be exactly the fixed part plus count addresses. §7.1 asks for the complete
/// message (a lower bound), and §5.2.5 makes Count the number of addresses the advert
/// contains; VRRPv3 has nothing after them (VRRPv2's authentication data is gone), so extra
/// bytes mean a malformed message. Exactness also bounds every valid message by
/// 8 + 255 × 16 bytes and makes its length a multiple of 4.
///
/// The checksum comes from `checksum`, asked only once the length is right (the XDP program may
/// read that many bytes then), and must verify in `style` (the instance's; RFC 9568 for IPv6
/// and for VRIDs not configured). An IPv4 message that verifies only in the other style is
/// [`Discard::ChecksumOtherStyle`].
#[inline(always)]
pub fn check_header<C: MessageChecksum>(
    hop_limit: u8,
    header: &VrrpHeader,
    message_len: usize,
    family: AddressFamily,
    style: ChecksumStyle,
    versions: VersionMode,
    checksum: C,
) -> Result<(), C::Error> {
    if hop_limit != VRRP_TTL {
        return Err(Discard::BadTtl { ttl: hop_limit }.into());
    }
    let version = header.version();
    let v2 = version == VRRP_VERSION_2 && family == AddressFamily::Ipv4 && versions.speaks_v2();
    let v3 = version == VRRP_VERSION_3 && versions.speaks_v3();
    if !(v2 || v3) {
        return Err(Discard::BadVersion { version }.into());
    }
    if header.kind() != VRRP_TYPE_ADVERTISEMENT {
        return Err(Discard::BadType {
            kind: header.kind(),
        }
        .into());
    }
    if v2 {
        check_length(header, message_len, 4, V2_AUTHENTICATION_LEN)?;
        check_residue(header, checksum.sums()?.residue(false))?;
        if header.v2_auth_type() != 0 {
            return Err(Discard::AuthType {
                auth_type: header.v2_auth_type(),
            }
            .into());
        }
    } else {
        check_length(header, message_len, family.address_len(), 0)?;
        check_checksum(header, family, style, &checksum.sums()?)?;
    }
    if header.advert_interval_cs() == 0 {
        return Err(Discard::ZeroInterval { vrid: header.vrid }.into());
    }
    Ok(())
}

/// Why a received packet is not a usable VRRP advert. Each variant is one discard reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The bytes end before a header, or before the length an IP header announces.
    #[error("truncated: need {needed} bytes, have {available}")]
    Truncated {
        /// Bytes the headers call for.
        needed: usize,
        /// Bytes present.
        available: usize,
    },
    /// The IP version nibble is not the family being decoded.
    #[error("wrong address family: expected IP version {expected}, found {found}")]
    WrongFamily {
        /// IP version expected (4 or 6).
        expected: u8,
        /// IP version in the packet.
        found: u8,
    },
    /// The IPv4 header length field is below the 20-byte minimum.
    #[error("IPv4 header length {header_len} is below 20 bytes")]
    BadIpv4HeaderLength {
        /// Header length the IHL field gives, in bytes.
        header_len: usize,
    },
    /// The IP protocol / next header is not VRRP (112). IPv6 extension headers also land here:
    /// adverts never carry them.
    #[error("IP protocol {protocol} is not VRRP (112)")]
    NotVrrp {
        /// Protocol or next header found.
        protocol: u8,
    },
    /// RFC 9568 §7.1 (and §5.1.1.3, §5.1.2.3): TTL / hop limit must be 255.
    #[error("TTL/hop limit {ttl} is not 255")]
    BadTtl {
        /// TTL or hop limit received.
        ttl: u8,
    },
    /// RFC 9568 §7.1: the version must be 3 (or 2 for an instance that speaks VRRPv2).
    #[error("VRRP version {version} is not accepted here")]
    BadVersion {
        /// Version nibble received.
        version: u8,
    },
    /// A valid VRRPv2 (RFC 3768) advert for an instance that speaks VRRPv3 only: the sender
    /// is a v2 router, worth reporting as such.
    #[error(
        "VRRPv2 advert from a v2 peer (VRID {vrid}, priority {priority}, interval {advert_interval_seconds}s)"
    )]
    Version2 {
        /// Its VRID.
        vrid: u8,
        /// Its priority.
        priority: u8,
        /// Its advert interval in seconds.
        advert_interval_seconds: u8,
    },
    /// RFC 9568 §5.2.2, §7.1: the type must be 1 (ADVERTISEMENT).
    #[error("VRRP type {kind} is not ADVERTISEMENT (1)")]
    BadType {
        /// Type nibble received.
        kind: u8,
    },
    /// RFC 9568 §5.2.5 (erratum 8299): an advert with no addresses is ignored.
    #[error("VRID {vrid}: advert carries no addresses")]
    NoAddresses {
        /// VRID of the advert.
        vrid: u8,
    },
    /// RFC 9568 §7.1: the message length must be the fixed part plus count addresses.
    #[error("address count {count} needs a {expected_len}-byte message, got {actual_len}")]
    AddressCountMismatch {
        /// Count field.
        count: u8,
        /// Message length the count implies.
        expected_len: usize,
        /// Message length received.
        actual_len: usize,
    },
    /// RFC 9568 §5.2.8, §7.1: the checksum does not verify.
    #[error("bad checksum {received:#06x}, expected {expected:#06x}")]
    BadChecksum {
        /// Checksum field received.
        received: u16,
        /// Checksum the message should carry.
        expected: u16,
    },
    /// The IPv4 checksum verifies only in the style this instance does not accept.
    #[error("the checksum verifies only in the {} style, which this instance does not accept", sender.name())]
    ChecksumOtherStyle {
        /// The sender's style.
        sender: ChecksumStyle,
    },
    /// RFC 9568 §5.2.3: VRID 0 is never valid.
    #[error("VRID 0 is invalid")]
    ZeroVrid,
    /// RFC 9568 §7.1 (erratum 8301): Max Adver Int 0 is discarded (VRRPv2: Adver Int 0).
    #[error("VRID {vrid}: Max Adver Int is 0")]
    ZeroInterval {
        /// VRID of the advert.
        vrid: u8,
    },
    /// RFC 3768 §5.3.6, §7.1: a VRRPv2 auth type other than 0 (none).
    #[error(
        "VRRPv2 auth type {auth_type} is not 0 (none): simple-text and IP AH authentication were removed by RFC 3768"
    )]
    AuthType {
        /// Auth Type received.
        auth_type: u8,
    },
}

/// Why an advert or frame could not be encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The output buffer is shorter than the message or frame.
    #[error("buffer too small: need {needed} bytes, have {available}")]
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
    /// RFC 9568 §5.2.3: VRID 0 is invalid.
    #[error("VRID 0 is invalid")]
    ZeroVrid,
    /// RFC 9568 §5.2.7: the interval must be 1..=4095 centiseconds.
    #[error("Max Adver Int {interval_cs} cs is outside 1..=4095")]
    IntervalOutOfRange {
        /// Interval asked for, in centiseconds.
        interval_cs: u16,
    },
    /// RFC 3768 §5.3.7: a VRRPv2 Adver Int is a whole number of seconds, 1..=255.
    #[error("Adver Int {interval_cs} cs is not a whole number of seconds in 1..=255 (VRRPv2)")]
    IntervalNotWholeSeconds {
        /// Interval asked for, in centiseconds.
        interval_cs: u16,
    },
    /// RFC 9568 §5.2.5: receivers ignore an advert without addresses, so none is sent.
    #[error("an advert needs at least one address")]
    NoAddresses,
    /// The count field has 8 bits.
    #[error("{count} addresses exceed the limit of 255")]
    TooManyAddresses {
        /// Addresses given.
        count: usize,
    },
}

/// The IP header facts a VRRP message is checked against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IpContext {
    /// Carried in IPv4.
    V4 {
        /// IPv4 source: the sender's primary address (RFC 9568 §5.1.1.1).
        source: Ipv4Addr,
        /// IPv4 destination.
        destination: Ipv4Addr,
        /// TTL.
        ttl: u8,
    },
    /// Carried in IPv6.
    V6 {
        /// IPv6 source: the sender's link-local address (RFC 9568 §5.1.2.1).
        source: Ipv6Addr,
        /// IPv6 destination.
        destination: Ipv6Addr,
        /// Hop limit.
        hop_limit: u8,
    },
}

impl IpContext {
    /// The IP source address.
    pub const fn source(&self) -> IpAddr {
        match *self {
            Self::V4 { source, .. } => IpAddr::V4(source),
            Self::V6 { source, .. } => IpAddr::V6(source),
        }
    }

    /// The IP destination address.
    pub const fn destination(&self) -> IpAddr {
        match *self {
            Self::V4 { destination, .. } => IpAddr::V4(destination),
            Self::V6 { destination, .. } => IpAddr::V6(destination),
        }
    }

    /// TTL or hop limit.
    pub const fn ttl(&self) -> u8 {
        match *self {
            Self::V4 { ttl, .. } => ttl,
            Self::V6 { hop_limit, .. } => hop_limit,
        }
    }

    /// The address family of the IP header.
    pub const fn family(&self) -> AddressFamily {
        match self {
            Self::V4 { .. } => AddressFamily::Ipv4,
            Self::V6 { .. } => AddressFamily::Ipv6,
        }
    }

    /// Length of one address of this family.
    pub const fn address_len(&self) -> usize {
        self.family().address_len()
    }

    /// The pseudo-header checksum of `message` in this context (RFC 9568 §5.2.8).
    pub fn checksum(&self, message: &[u8]) -> u16 {
        self.pseudo_header(message.len())
            .add_bytes(message)
            .finish()
    }

    /// The sum of the pseudo-header for a VRRP message of `len` bytes.
    fn pseudo_header(&self, len: usize) -> Checksum {
        let mut sum = Checksum::new();
        match self {
            Self::V4 {
                source,
                destination,
                ..
            } => {
                // Saturates: no IPv4 payload exceeds u16, and a longer one cannot verify.
                let length = u16::try_from(len).unwrap_or(u16::MAX);
                sum.add_ipv4_pseudo_header(*source, *destination, IPPROTO_VRRP, length);
            }
            Self::V6 {
                source,
                destination,
                ..
            } => {
                let length = u32::try_from(len).unwrap_or(u32::MAX);
                sum.add_ipv6_pseudo_header(source, destination, IPPROTO_VRRP, length);
            }
        }
        sum
    }
}

/// The header fields a sender chooses; what [`encode_ipv4`] and [`encode_ipv6`] write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AdvertParams {
    /// Virtual router ID, 1..=255.
    pub vrid: u8,
    /// Priority: 255 owner, 1..=254 backup, 0 resign (RFC 9568 §5.2.4).
    pub priority: u8,
    /// Max Adver Int in centiseconds, 1..=4095 (RFC 9568 §5.2.7).
    pub max_advert_interval_cs: u16,
}

/// A validated VRRP advert, borrowing the received bytes: VRRPv3, or VRRPv2 over IPv4 when
/// decoded for an instance that speaks it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Advert<'a> {
    context: IpContext,
    header: &'a VrrpHeader,
    message: &'a [u8],
}

impl<'a> Advert<'a> {
    /// Decodes an IPv4 packet (starting at the IPv4 header) carrying an advert. Bytes after
    /// the IPv4 total length (Ethernet padding) are ignored. The IPv4 header checksum is not
    /// checked: the VRRP checksum covers the addresses through the pseudo-header.
    pub fn decode_ipv4_packet(packet: &'a [u8]) -> Result<Self, DecodeError> {
        let (context, message) = ipv4_payload(packet)?;
        Self::decode_message(message, context)
    }

    /// Decodes an IPv6 packet (starting at the IPv6 header) carrying an advert directly after
    /// the fixed header. Bytes after the payload length are ignored.
    pub fn decode_ipv6_packet(packet: &'a [u8]) -> Result<Self, DecodeError> {
        let (context, message) = ipv6_payload(packet)?;
        Self::decode_message(message, context)
    }

    /// Decodes a VRRP message (the whole IP payload) received in `context`. A VRRPv2 message
    /// over IPv4 is reported as [`DecodeError::Version2`] when it decodes as one.
    pub fn decode_message(message: &'a [u8], context: IpContext) -> Result<Self, DecodeError> {
        Self::decode_message_with(message, context, ChecksumStyle::Rfc9568)
    }

    /// [`Self::decode_ipv4_packet`] for an instance that accepts checksums in `style`.
    pub fn decode_ipv4_packet_with(
        packet: &'a [u8],
        style: ChecksumStyle,
    ) -> Result<Self, DecodeError> {
        let (context, message) = ipv4_payload(packet)?;
        Self::decode_message_with(message, context, style)
    }

    /// [`Self::decode_message`] for an instance that accepts checksums in `style`.
    pub fn decode_message_with(
        message: &'a [u8],
        context: IpContext,
        style: ChecksumStyle,
    ) -> Result<Self, DecodeError> {
        Self::decode_message_accepting(message, context, style, VersionMode::V3)
    }

    /// [`Self::decode_ipv4_packet_with`] for an instance that speaks `versions`.
    pub fn decode_ipv4_packet_accepting(
        packet: &'a [u8],
        style: ChecksumStyle,
        versions: VersionMode,
    ) -> Result<Self, DecodeError> {
        let (context, message) = ipv4_payload(packet)?;
        Self::decode_message_accepting(message, context, style, versions)
    }

    /// [`Self::decode_message_with`] for an instance that speaks `versions`. A valid VRRPv2
    /// message for an instance that does not is [`DecodeError::Version2`].
    pub fn decode_message_accepting(
        message: &'a [u8],
        context: IpContext,
        style: ChecksumStyle,
        versions: VersionMode,
    ) -> Result<Self, DecodeError> {
        let vrrp = header::<VrrpHeader>(message).ok_or(DecodeError::Truncated {
            needed: VRRP_HEADER_LEN,
            available: message.len(),
        })?;
        let checksum = ReceivedMessage {
            context: &context,
            message,
        };
        match check_header(
            context.ttl(),
            vrrp,
            message.len(),
            context.family(),
            style,
            versions,
            checksum,
        ) {
            Ok(()) => {}
            Err(DecodeError::BadVersion {
                version: VRRP_VERSION_2,
            }) if matches!(context, IpContext::V4 { .. }) && !versions.speaks_v2() => {
                return Err(
                    match Self::decode_message_accepting(message, context, style, VersionMode::V2) {
                        Ok(v2) => DecodeError::Version2 {
                            vrid: v2.vrid(),
                            priority: v2.priority(),
                            advert_interval_seconds: v2.header.reserved_interval_be[1],
                        },
                        // Neither a v3 nor a valid v2 advert: the version is what is wrong with it.
                        Err(_) => DecodeError::BadVersion {
                            version: VRRP_VERSION_2,
                        },
                    },
                );
            }
            Err(error) => return Err(error),
        }
        if vrrp.vrid == 0 {
            return Err(DecodeError::ZeroVrid);
        }
        Ok(Self {
            context,
            header: vrrp,
            message,
        })
    }

    /// The IP header facts it arrived with.
    pub const fn context(&self) -> &IpContext {
        &self.context
    }

    /// The whole VRRP message as received.
    pub const fn message(&self) -> &'a [u8] {
        self.message
    }

    /// Version: 3, or 2 for a VRRPv2 advert.
    pub const fn version(&self) -> u8 {
        self.header.version()
    }

    /// Type (always 1, ADVERTISEMENT).
    pub const fn kind(&self) -> u8 {
        self.header.kind()
    }

    /// Virtual router ID (1..=255).
    pub const fn vrid(&self) -> u8 {
        self.header.vrid
    }

    /// Priority (0 = the Master resigns, 255 = owner).
    pub const fn priority(&self) -> u8 {
        self.header.priority
    }

    /// Count of addresses (at least 1, and matching the message length).
    pub const fn address_count(&self) -> u8 {
        self.header.address_count
    }

    /// Max Adver Int in centiseconds (1..=4095); a VRRPv2 Adver Int in seconds converted to
    /// centiseconds (RFC 9568 §8.4: 100..=25500).
    pub const fn max_advert_interval_cs(&self) -> u16 {
        self.header.advert_interval_cs()
    }

    /// The reserved nibble (sent as 0, ignored on receive: RFC 9568 §5.2.6); for VRRPv2 the
    /// high nibble of the auth type, 0.
    pub const fn reserved(&self) -> u8 {
        self.header.reserved_interval_be[0] >> 4
    }

    /// The checksum field (verified).
    pub const fn checksum(&self) -> u16 {
        self.header.checksum()
    }

    /// The fields to pass to [`encode_ipv4`] / [`encode_ipv6`] / [`encode_ipv4_v2`] to send
    /// the same advert.
    pub const fn params(&self) -> AdvertParams {
        AdvertParams {
            vrid: self.vrid(),
            priority: self.priority(),
            max_advert_interval_cs: self.max_advert_interval_cs(),
        }
    }

    /// The addresses, in the family of the IP header.
    pub fn addresses(&self) -> Addresses<'a> {
        // The length check guarantees the list is exactly count * address_len bytes, followed
        // by VRRPv2's authentication data.
        let end = VRRP_HEADER_LEN + usize::from(self.address_count()) * self.context.address_len();
        Addresses::new(
            self.message.get(VRRP_HEADER_LEN..end).unwrap_or_default(),
            self.context.address_len(),
        )
    }
}

/// Length of the authentication data that ends every VRRPv2 message (RFC 3768 §5.3.10).
const V2_AUTHENTICATION_LEN: usize = 8;

/// Iterator over the address list of an advert.
#[derive(Clone, Debug)]
pub struct Addresses<'a> {
    chunks: ChunksExact<'a, u8>,
}

impl<'a> Addresses<'a> {
    fn new(list: &'a [u8], address_len: usize) -> Self {
        Self {
            chunks: list.chunks_exact(address_len),
        }
    }
}

impl Iterator for Addresses<'_> {
    type Item = IpAddr;

    fn next(&mut self) -> Option<IpAddr> {
        let chunk = self.chunks.next()?;
        if let Ok(octets) = <[u8; 4]>::try_from(chunk) {
            Some(IpAddr::V4(Ipv4Addr::from(octets)))
        } else {
            <[u8; 16]>::try_from(chunk)
                .ok()
                .map(|octets| IpAddr::V6(Ipv6Addr::from(octets)))
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.chunks.size_hint()
    }
}

impl ExactSizeIterator for Addresses<'_> {}
impl FusedIterator for Addresses<'_> {}

/// Encodes a VRRPv3 advert sent from `source` to `destination` over IPv4 into `buf`, with its
/// RFC 9568 checksum. Returns the message length.
pub fn encode_ipv4(
    buf: &mut [u8],
    params: &AdvertParams,
    source: Ipv4Addr,
    destination: Ipv4Addr,
    addresses: &[Ipv4Addr],
) -> Result<usize, EncodeError> {
    encode_ipv4_with(
        buf,
        params,
        source,
        destination,
        addresses,
        ChecksumStyle::Rfc9568,
    )
}

/// [`encode_ipv4`] with the checksum `style` sends ([`ChecksumStyle::sends_pseudo_header`]).
pub fn encode_ipv4_with(
    buf: &mut [u8],
    params: &AdvertParams,
    source: Ipv4Addr,
    destination: Ipv4Addr,
    addresses: &[Ipv4Addr],
    style: ChecksumStyle,
) -> Result<usize, EncodeError> {
    let context = IpContext::V4 {
        source,
        destination,
        ttl: VRRP_TTL,
    };
    let format = Format::V3 {
        context: &context,
        pseudo_header: style.sends_pseudo_header(),
    };
    encode(buf, params, &format, addresses.len(), |list| {
        write_ipv4_list(list, addresses)
    })
}

/// Encodes a VRRPv2 advert (RFC 3768 §5) with `addresses` into `buf`: auth type 0, the
/// interval in whole seconds (`params.max_advert_interval_cs` must be a multiple of 100 up to
/// 255 s), zero authentication data, the checksum over the message alone. Returns the message
/// length.
pub fn encode_ipv4_v2(
    buf: &mut [u8],
    params: &AdvertParams,
    addresses: &[Ipv4Addr],
) -> Result<usize, EncodeError> {
    encode(buf, params, &Format::V2, addresses.len(), |list| {
        write_ipv4_list(list, addresses)
    })
}

/// Writes `addresses` into an IPv4 address list.
fn write_ipv4_list(list: &mut [u8], addresses: &[Ipv4Addr]) {
    for (slot, address) in list.chunks_exact_mut(4).zip(addresses) {
        slot.copy_from_slice(&address.octets());
    }
}

/// Encodes a VRRPv3 advert sent from `source` to `destination` over IPv6 into `buf`, with its
/// checksum. RFC 9568 §5.2.9: the first address should be the link-local VIP; that is the
/// caller's configuration to get right. Returns the message length.
pub fn encode_ipv6(
    buf: &mut [u8],
    params: &AdvertParams,
    source: &Ipv6Addr,
    destination: &Ipv6Addr,
    addresses: &[Ipv6Addr],
) -> Result<usize, EncodeError> {
    let context = IpContext::V6 {
        source: *source,
        destination: *destination,
        hop_limit: VRRP_TTL,
    };
    let format = Format::V3 {
        context: &context,
        pseudo_header: true,
    };
    encode(buf, params, &format, addresses.len(), |list| {
        for (slot, address) in list.chunks_exact_mut(16).zip(addresses) {
            slot.copy_from_slice(&address.octets());
        }
    })
}

/// How [`encode`] lays out and sums a message.
enum Format<'c> {
    /// VRRPv3 in `context`, its checksum over the pseudo-header too if `pseudo_header`.
    V3 {
        context: &'c IpContext,
        pseudo_header: bool,
    },
    /// VRRPv2 (IPv4): Adver Int in seconds, authentication data, checksum over the message.
    V2,
}

/// The family- and version-independent part of encoding: validate, write the header, let
/// `write_addresses` fill the list, then the checksum.
fn encode(
    buf: &mut [u8],
    params: &AdvertParams,
    format: &Format<'_>,
    count: usize,
    write_addresses: impl FnOnce(&mut [u8]),
) -> Result<usize, EncodeError> {
    if params.vrid == 0 {
        return Err(EncodeError::ZeroVrid);
    }
    let interval_cs = params.max_advert_interval_cs;
    let (version, interval_field, address_len, trailer_len) = match format {
        Format::V3 { context, .. } => {
            if !(ADVERT_INTERVAL_MIN_CS..=ADVERT_INTERVAL_MAX_CS).contains(&interval_cs) {
                return Err(EncodeError::IntervalOutOfRange { interval_cs });
            }
            // RFC 9568 §5.2.6: the reserved nibble is sent as zero; the range check keeps the
            // interval within 12 bits.
            let field = interval_cs.to_be_bytes();
            (VRRP_VERSION_3, field, context.address_len(), 0)
        }
        Format::V2 => {
            let seconds = match u8::try_from(interval_cs / 100) {
                Ok(seconds) if seconds != 0 && interval_cs.is_multiple_of(100) => seconds,
                _ => return Err(EncodeError::IntervalNotWholeSeconds { interval_cs }),
            };
            // Auth Type 0 (none), RFC 3768 §5.3.6.
            (VRRP_VERSION_2, [0, seconds], 4, V2_AUTHENTICATION_LEN)
        }
    };
    let address_count = match u8::try_from(count) {
        Ok(0) => return Err(EncodeError::NoAddresses),
        Ok(address_count) => address_count,
        Err(_) => return Err(EncodeError::TooManyAddresses { count }),
    };
    let list_end = VRRP_HEADER_LEN + count * address_len;
    let len = list_end + trailer_len;
    let available = buf.len();
    let message = buf.get_mut(..len).ok_or(EncodeError::BufferTooSmall {
        needed: len,
        available,
    })?;
    let (fixed, rest) = message.split_at_mut(VRRP_HEADER_LEN);
    let (list, trailer) = rest.split_at_mut(list_end - VRRP_HEADER_LEN);
    write_addresses(list);
    // RFC 3768 §5.3.10: the authentication data is zero with auth type 0.
    trailer.fill(0);
    let vrrp = header_mut::<VrrpHeader>(fixed).ok_or(EncodeError::BufferTooSmall {
        needed: VRRP_HEADER_LEN,
        available,
    })?;
    *vrrp = VrrpHeader {
        version_type: (version << 4) | VRRP_TYPE_ADVERTISEMENT,
        vrid: params.vrid,
        priority: params.priority,
        address_count,
        reserved_interval_be: interval_field,
        checksum_be: [0; 2],
    };
    let checksum = match format {
        Format::V3 {
            context,
            pseudo_header: true,
        } => context.checksum(message),
        _ => Checksum::new().add_bytes(message).finish(),
    };
    if let Some(vrrp) = header_mut::<VrrpHeader>(message) {
        vrrp.checksum_be = checksum.to_be_bytes();
    }
    Ok(len)
}

/// Splits an IPv4 packet into its context and VRRP payload.
fn ipv4_payload(packet: &[u8]) -> Result<(IpContext, &[u8]), DecodeError> {
    let ip = header::<Ipv4Header>(packet).ok_or(DecodeError::Truncated {
        needed: size_of::<Ipv4Header>(),
        available: packet.len(),
    })?;
    if ip.version() != 4 {
        return Err(DecodeError::WrongFamily {
            expected: 4,
            found: ip.version(),
        });
    }
    let header_len = ip.header_len();
    if header_len < size_of::<Ipv4Header>() {
        return Err(DecodeError::BadIpv4HeaderLength { header_len });
    }
    let total = usize::from(ip.total_length());
    let payload = packet
        .get(header_len..total)
        .ok_or(DecodeError::Truncated {
            needed: total.max(header_len),
            available: packet.len(),
        })?;
    if ip.protocol != IPPROTO_VRRP {
        return Err(DecodeError::NotVrrp {
            protocol: ip.protocol,
        });
    }
    let context = IpContext::V4 {
        source: Ipv4Addr::from(ip.source),
        destination: Ipv4Addr::from(ip.destination),
        ttl: ip.ttl,
    };
    Ok((context, payload))
}

/// Splits an IPv6 packet into its context and VRRP payload.
fn ipv6_payload(packet: &[u8]) -> Result<(IpContext, &[u8]), DecodeError> {
    let ip = header::<Ipv6Header>(packet).ok_or(DecodeError::Truncated {
        needed: size_of::<Ipv6Header>(),
        available: packet.len(),
    })?;
    if ip.version() != 6 {
        return Err(DecodeError::WrongFamily {
            expected: 6,
            found: ip.version(),
        });
    }
    let end = size_of::<Ipv6Header>() + usize::from(ip.payload_length());
    let payload = packet
        .get(size_of::<Ipv6Header>()..end)
        .ok_or(DecodeError::Truncated {
            needed: end,
            available: packet.len(),
        })?;
    if ip.next_header != IPPROTO_VRRP {
        return Err(DecodeError::NotVrrp {
            protocol: ip.next_header,
        });
    }
    let context = IpContext::V6 {
        source: Ipv6Addr::from(ip.source),
        destination: Ipv6Addr::from(ip.destination),
        hop_limit: ip.hop_limit,
    };
    Ok((context, payload))
}

/// At least one address (RFC 9568 §5.2.5), and exactly `count` of them after the fixed header
/// plus `trailer_len` bytes (VRRPv2's authentication data); see [`check_header`].
#[inline(always)]
fn check_length(
    header: &VrrpHeader,
    message_len: usize,
    address_len: usize,
    trailer_len: usize,
) -> Result<(), Discard> {
    let count = header.address_count;
    if count == 0 {
        return Err(Discard::NoAddresses { vrid: header.vrid });
    }
    let expected_len = VRRP_HEADER_LEN + usize::from(count) * address_len + trailer_len;
    if message_len != expected_len {
        return Err(Discard::AddressCountMismatch {
            count,
            expected_len,
            actual_len: message_len,
        });
    }
    Ok(())
}

/// Whether `sums` verify in `style` (RFC 9568 for IPv6); see [`check_header`].
#[inline(always)]
fn check_checksum(
    header: &VrrpHeader,
    family: AddressFamily,
    style: ChecksumStyle,
    sums: &MessageSums,
) -> Result<(), Discard> {
    let style = match family {
        AddressFamily::Ipv4 => style,
        AddressFamily::Ipv6 => ChecksumStyle::Rfc9568,
    };
    let with = sums.residue(true) == 0;
    let without = sums.residue(false) == 0;
    let accepted = match style {
        ChecksumStyle::Rfc9568 => with,
        ChecksumStyle::WithoutPseudoHeader => without,
        ChecksumStyle::AcceptBoth => with || without,
    };
    if accepted {
        return Ok(());
    }
    if family == AddressFamily::Ipv4 && (with || without) {
        let sender = if with {
            ChecksumStyle::Rfc9568
        } else {
            ChecksumStyle::WithoutPseudoHeader
        };
        return Err(Discard::ChecksumOtherStyle { sender });
    }
    check_residue(header, sums.residue(style.sends_pseudo_header()))
}

/// `BadChecksum` unless `residue` (the checksum over everything, field included) is 0. The
/// report carries the value the field should hold: the field taken back out of the folded sum
/// (one's complement subtraction is addition of the complement).
#[inline(always)]
fn check_residue(header: &VrrpHeader, residue: u16) -> Result<(), Discard> {
    if residue == 0 {
        return Ok(());
    }
    let received = header.checksum();
    let sum = u32::from(!residue) + u32::from(!received);
    Err(Discard::BadChecksum {
        received,
        expected: !(((sum & 0xffff) + (sum >> 16)) as u16),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(count: u8, interval_cs: u16) -> VrrpHeader {
        VrrpHeader {
            version_type: 0x31,
            vrid: 7,
            priority: 100,
            address_count: count,
            reserved_interval_be: interval_cs.to_be_bytes(),
            checksum_be: [0x12, 0x34],
        }
    }

    /// A sum with a fixed residue that records whether it was asked.
    struct Fixed<'a> {
        residue: u16,
        asked: &'a core::cell::Cell<bool>,
    }

    impl MessageChecksum for Fixed<'_> {
        type Error = Discard;

        fn sums(self) -> Result<MessageSums, Discard> {
            self.asked.set(true);
            Ok(MessageSums {
                pseudo_header: 0,
                message: !self.residue,
            })
        }
    }

    fn check_with(ttl: u8, header: &VrrpHeader, len: usize, residue: u16) -> Result<(), Discard> {
        let asked = core::cell::Cell::new(false);
        let checksum = Fixed {
            residue,
            asked: &asked,
        };
        check_header(
            ttl,
            header,
            len,
            AddressFamily::Ipv6,
            ChecksumStyle::Rfc9568,
            VersionMode::V3,
            checksum,
        )
    }

    fn check(header: &VrrpHeader, len: usize, residue: u16) -> Result<(), Discard> {
        check_with(VRRP_TTL, header, len, residue)
    }

    #[test]
    fn the_checksum_is_summed_only_once_the_length_is_right() {
        let summed = core::cell::Cell::new(false);
        let checksum = Fixed {
            residue: 0,
            asked: &summed,
        };
        let result = check_header(
            VRRP_TTL,
            &header(2, 100),
            24,
            AddressFamily::Ipv4,
            ChecksumStyle::Rfc9568,
            VersionMode::V3,
            checksum,
        );
        assert_eq!(
            result,
            Err(Discard::AddressCountMismatch {
                count: 2,
                expected_len: 16,
                actual_len: 24
            })
        );
        assert!(!summed.get());
    }

    #[test]
    fn checks_run_in_rfc_order_and_map_to_their_counters() {
        // Every field wrong at once: TTL is reported first; fix one at a time.
        let bad = VrrpHeader {
            version_type: 0x22,
            ..header(0, 0)
        };
        assert_eq!(
            check_with(64, &bad, 9, 1).unwrap_err().counter(),
            Counter::InvalidTtl
        );
        assert_eq!(
            check(&bad, 9, 1).unwrap_err().counter(),
            Counter::InvalidVersion
        );
        let v3 = VrrpHeader {
            version_type: 0x32,
            ..bad
        };
        assert_eq!(
            check(&v3, 9, 1).unwrap_err().counter(),
            Counter::InvalidType
        );
        assert_eq!(
            check(&header(0, 0), 9, 1),
            Err(Discard::NoAddresses { vrid: 7 })
        );
        assert_eq!(
            check(&header(1, 0), 24, 1).unwrap_err().counter(),
            Counter::InvalidChecksum
        );
        assert_eq!(
            check(&header(1, 0), 24, 0),
            Err(Discard::ZeroInterval { vrid: 7 })
        );
        assert_eq!(check(&header(1, 100), 24, 0), Ok(()));
    }

    /// Sums whose pseudo-header part is not zero, so the two styles differ.
    struct Sums(MessageSums);

    impl MessageChecksum for Sums {
        type Error = Discard;

        fn sums(self) -> Result<MessageSums, Discard> {
            Ok(self.0)
        }
    }

    fn check_style(
        family: AddressFamily,
        style: ChecksumStyle,
        message: u16,
    ) -> Result<(), Discard> {
        let sums = Sums(MessageSums {
            pseudo_header: 0x1000,
            message,
        });
        let len = 8 + family.address_len();
        check_header(
            VRRP_TTL,
            &header(1, 100),
            len,
            family,
            style,
            VersionMode::V3,
            sums,
        )
    }

    #[test]
    fn each_style_accepts_its_own_checksum_and_names_the_other() {
        // 0x1000 + 0xefff folds to 0xffff: verifies with the pseudo-header; 0xffff alone
        // verifies without it; 0x1234 in neither.
        let (with, without, neither) = (0xefff, 0xffff, 0x1234);
        let v4 = AddressFamily::Ipv4;
        let other = |sender| Err(Discard::ChecksumOtherStyle { sender });
        assert_eq!(check_style(v4, ChecksumStyle::Rfc9568, with), Ok(()));
        assert_eq!(
            check_style(v4, ChecksumStyle::Rfc9568, without),
            other(ChecksumStyle::WithoutPseudoHeader)
        );
        assert_eq!(
            check_style(v4, ChecksumStyle::WithoutPseudoHeader, without),
            Ok(())
        );
        assert_eq!(
            check_style(v4, ChecksumStyle::WithoutPseudoHeader, with),
            other(ChecksumStyle::Rfc9568)
        );
        assert_eq!(check_style(v4, ChecksumStyle::AcceptBoth, with), Ok(()));
        assert_eq!(check_style(v4, ChecksumStyle::AcceptBoth, without), Ok(()));
        for style in ChecksumStyle::ALL {
            assert_eq!(
                check_style(v4, style, neither).unwrap_err().counter(),
                Counter::InvalidChecksum
            );
        }
        assert_eq!(
            other(ChecksumStyle::Rfc9568).unwrap_err().counter(),
            Counter::ChecksumOtherStyle
        );
        // IPv6 has only the RFC style, whatever the record says.
        let v6 = AddressFamily::Ipv6;
        for style in ChecksumStyle::ALL {
            assert_eq!(check_style(v6, style, with), Ok(()));
            assert_eq!(
                check_style(v6, style, without).unwrap_err().counter(),
                Counter::InvalidChecksum
            );
        }
    }

    fn check_v2(
        header: &VrrpHeader,
        len: usize,
        family: AddressFamily,
        versions: VersionMode,
        message: u16,
    ) -> Result<(), Discard> {
        let sums = Sums(MessageSums {
            pseudo_header: 0x1000,
            message,
        });
        check_header(
            VRRP_TTL,
            header,
            len,
            family,
            ChecksumStyle::Rfc9568,
            versions,
            sums,
        )
    }

    #[test]
    fn version_2_is_checked_by_rfc_3768_where_the_instance_speaks_it() {
        // Auth type 0, 1 s, one address: 8 + 4 + 8 bytes, summed without the pseudo-header
        // (message sum 0xffff; 0xefff verifies only with it, see above).
        let (without, with) = (0xffff, 0xefff);
        let v2 = VrrpHeader {
            version_type: 0x21,
            reserved_interval_be: [0, 1],
            ..header(1, 0)
        };
        let v4 = AddressFamily::Ipv4;
        for versions in [VersionMode::V2, VersionMode::V2AndV3] {
            assert_eq!(check_v2(&v2, 20, v4, versions, without), Ok(()));
            assert_eq!(
                check_v2(&v2, 12, v4, versions, without)
                    .unwrap_err()
                    .counter(),
                Counter::InvalidLength
            );
            assert_eq!(
                check_v2(&v2, 20, v4, versions, with).unwrap_err().counter(),
                Counter::InvalidChecksum
            );
            let simple_text = VrrpHeader {
                reserved_interval_be: [1, 1],
                ..v2
            };
            assert_eq!(
                check_v2(&simple_text, 20, v4, versions, without),
                Err(Discard::AuthType { auth_type: 1 })
            );
            let zero = VrrpHeader {
                reserved_interval_be: [0, 0],
                ..v2
            };
            assert_eq!(
                check_v2(&zero, 20, v4, versions, without),
                Err(Discard::ZeroInterval { vrid: 7 })
            );
        }
        let bad_version = |version| Err(Discard::BadVersion { version });
        // Not spoken: a v3-only instance, IPv6, and v3 for a v2-only instance.
        assert_eq!(
            check_v2(&v2, 20, v4, VersionMode::V3, without),
            bad_version(2)
        );
        let v6 = AddressFamily::Ipv6;
        assert_eq!(
            check_v2(&v2, 24, v6, VersionMode::V2AndV3, without),
            bad_version(2)
        );
        let v3 = header(1, 100);
        assert_eq!(check_v2(&v3, 12, v4, VersionMode::V2, with), bad_version(3));
        assert_eq!(check_v2(&v3, 12, v4, VersionMode::V2AndV3, with), Ok(()));
        assert_eq!(v2.advert_interval_cs(), 100);
        assert_eq!(
            Discard::AuthType { auth_type: 2 }.counter(),
            Counter::AuthTypeMismatch
        );
    }

    #[test]
    fn version_modes_round_trip_through_their_stored_value_and_name() {
        for mode in VersionMode::ALL {
            assert_eq!(VersionMode::from_u8(mode as u8), Some(mode));
            assert_eq!(VersionMode::from_name(mode.name()), Some(mode));
        }
        assert_eq!(VersionMode::from_u8(3), None);
        assert_eq!(VersionMode::from_name("4"), None);
    }

    #[test]
    fn styles_round_trip_through_their_stored_value_and_name() {
        for style in ChecksumStyle::ALL {
            assert_eq!(ChecksumStyle::from_u8(style as u8), Some(style));
            assert_eq!(ChecksumStyle::from_name(style.name()), Some(style));
        }
        assert_eq!(ChecksumStyle::from_u8(3), None);
        assert_eq!(ChecksumStyle::from_name("rfc5798"), None);
    }
}
