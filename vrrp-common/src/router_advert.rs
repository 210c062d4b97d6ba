//! Router Advertisements a Master sends for its virtual router (RFC 9568 §6.4.3, §8.2.3;
//! RFC 4861 §4.2, §6.2), and the checks of the Router Solicitations it answers (RFC 4861
//! §4.1, §6.1.1).
//!
//! The frame goes from the virtual MAC, from the virtual router's link-local address, to
//! ff02::1 with hop limit 255, and carries a Source Link-Layer Address option with the virtual
//! MAC, so hosts resolve the router to the virtual MAC without asking. Options follow in the
//! order of RFC 4861 §4.2 and its extensions: SLLA, MTU (§4.6.4), Prefix Information (§4.6.2),
//! RDNSS and DNSSL (RFC 8106 §5).
//!
//! [`NdOptions`] walks the options of any Neighbor Discovery message (RFC 4861 §4.6); it is how
//! the daemon validates solicitations and how tests read captured advertisements.

use core::net::Ipv6Addr;

use crate::{
    advert::EncodeError,
    checksum::{Checksum, ipv6_pseudo_header_checksum},
    consts::{
        ALL_NODES_MAC_V6, ALL_NODES_V6, ETHERNET_HEADER_LEN, ETHERTYPE_IPV6, IPPROTO_ICMPV6,
        IPV6_HEADER_LEN, virtual_mac_v6,
    },
    frames::{ethernet_header, ipv6_header},
    wire::{ND_OPTION_SOURCE_LINK_LAYER, header_mut},
};

/// ICMPv6 type of a Router Solicitation (RFC 4861 §4.1).
pub const ICMPV6_ROUTER_SOLICITATION: u8 = 133;
/// ICMPv6 type of a Router Advertisement (RFC 4861 §4.2).
pub const ICMPV6_ROUTER_ADVERTISEMENT: u8 = 134;
/// Prefix Information option type (RFC 4861 §4.6.2).
pub const ND_OPTION_PREFIX_INFORMATION: u8 = 3;
/// MTU option type (RFC 4861 §4.6.4).
pub const ND_OPTION_MTU: u8 = 5;
/// Recursive DNS Server option type (RFC 8106 §5.1).
pub const ND_OPTION_RDNSS: u8 = 25;
/// DNS Search List option type (RFC 8106 §5.2).
pub const ND_OPTION_DNSSL: u8 = 31;

/// RA flags byte: Managed address configuration (RFC 4861 §4.2).
pub const RA_FLAG_MANAGED: u8 = 0x80;
/// RA flags byte: Other configuration (RFC 4861 §4.2).
pub const RA_FLAG_OTHER: u8 = 0x40;
/// Prefix Information flags: on-link (L, RFC 4861 §4.6.2).
pub const PREFIX_FLAG_ON_LINK: u8 = 0x80;
/// Prefix Information flags: autonomous address configuration (A, RFC 4861 §4.6.2).
pub const PREFIX_FLAG_AUTONOMOUS: u8 = 0x40;

/// Length of the RA's ICMPv6 header and fixed body: type, code, checksum, hop limit, flags,
/// router lifetime, reachable time, retrans timer.
pub const RA_FIXED_LEN: usize = 16;
/// Length of a Router Solicitation's fixed part (type, code, checksum, reserved).
pub const RS_FIXED_LEN: usize = 8;
/// Domain names are at most this long in wire form (RFC 1035 §3.1).
const MAX_DOMAIN_WIRE_LEN: usize = 255;
/// A label is at most this long (RFC 1035 §2.3.4).
const MAX_LABEL_LEN: usize = 63;

/// Default Router Preference (RFC 4191 §2.2), bits 3-4 of the RA flags byte.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RouterPreference {
    /// 11.
    Low,
    /// 00, the only value RFC 4861 routers send.
    #[default]
    Medium,
    /// 01.
    High,
}

impl RouterPreference {
    /// The preference bits in place in the flags byte.
    pub const fn flag_bits(self) -> u8 {
        match self {
            Self::Low => 0x18,
            Self::Medium => 0x00,
            Self::High => 0x08,
        }
    }
}

/// One Prefix Information option (RFC 4861 §4.6.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrefixInformation {
    /// The prefix; bits after `length` must be zero (the config checks).
    pub prefix: Ipv6Addr,
    /// Prefix length, 0..=128.
    pub length: u8,
    /// L flag.
    pub on_link: bool,
    /// A flag.
    pub autonomous: bool,
    /// Valid lifetime in seconds (0xffffffff = infinity).
    pub valid_lifetime_s: u32,
    /// Preferred lifetime in seconds, at most the valid lifetime.
    pub preferred_lifetime_s: u32,
}

/// The contents of one Router Advertisement, borrowed from the configuration; `D` is how the
/// search domains are held.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouterAdvert<'a, D: AsRef<str> = &'a str> {
    /// Cur Hop Limit (0 = unspecified).
    pub cur_hop_limit: u8,
    /// M flag.
    pub managed: bool,
    /// O flag.
    pub other_config: bool,
    /// RFC 4191 preference; sent as Medium when `router_lifetime_s` is 0 (RFC 4191 §2.2).
    pub preference: RouterPreference,
    /// Router Lifetime in seconds; 0 = not a default router (the final advertisement).
    pub router_lifetime_s: u16,
    /// Reachable Time in ms (0 = unspecified).
    pub reachable_time_ms: u32,
    /// Retrans Timer in ms (0 = unspecified).
    pub retrans_timer_ms: u32,
    /// MTU option, if any.
    pub mtu: Option<u32>,
    /// Prefix Information options.
    pub prefixes: &'a [PrefixInformation],
    /// RDNSS option (RFC 8106 §5.1): lifetime in seconds and servers; none if empty.
    pub dns_servers: (u32, &'a [Ipv6Addr]),
    /// DNSSL option (RFC 8106 §5.2): lifetime in seconds and domains; none if empty.
    pub search_domains: (u32, &'a [D]),
}

/// Why a domain name cannot go into a DNSSL option.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DomainNameError {
    /// An empty label (leading, trailing or doubled dot).
    #[error("empty label")]
    EmptyLabel,
    /// A label over 63 bytes.
    #[error("a label is longer than 63 bytes")]
    LabelTooLong,
    /// The whole name over 255 bytes in wire form.
    #[error("longer than 255 bytes in wire form")]
    NameTooLong,
}

/// Length of `name` in DNS wire form (labels with length bytes, then the root label), checking
/// RFC 1035's limits. A trailing dot is allowed.
pub fn domain_wire_len(name: &str) -> Result<usize, DomainNameError> {
    let name = name.strip_suffix('.').unwrap_or(name);
    let mut len = 1;
    for label in name.split('.') {
        if label.is_empty() {
            return Err(DomainNameError::EmptyLabel);
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(DomainNameError::LabelTooLong);
        }
        len += 1 + label.len();
    }
    if len > MAX_DOMAIN_WIRE_LEN {
        return Err(DomainNameError::NameTooLong);
    }
    Ok(len)
}

/// Length of `advert`'s ICMPv6 message: fixed part, SLLA, MTU, prefixes, RDNSS and DNSSL
/// (domains that are not valid names are left out, as [`build_router_advert`] does).
pub fn router_advert_message_len(advert: &RouterAdvert<'_, impl AsRef<str>>) -> usize {
    const OPTION_HEADER: usize = 8;
    let names: usize = advert
        .search_domains
        .1
        .iter()
        .filter_map(|name| domain_wire_len(name.as_ref()).ok())
        .sum();
    let servers = advert.dns_servers.1.len();
    RA_FIXED_LEN
        + OPTION_HEADER
        + advert.mtu.map_or(0, |_| OPTION_HEADER)
        + 32 * advert.prefixes.len()
        + if servers == 0 {
            0
        } else {
            OPTION_HEADER + 16 * servers
        }
        + if names == 0 {
            0
        } else {
            OPTION_HEADER + names.next_multiple_of(8)
        }
}

/// Writes options into the message buffer, tracking the length.
struct OptionWriter<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl OptionWriter<'_> {
    fn bytes(&mut self, bytes: &[u8]) -> Result<(), EncodeError> {
        let end = self.len + bytes.len();
        let available = self.buf.len();
        self.buf
            .get_mut(self.len..end)
            .ok_or(EncodeError::BufferTooSmall {
                needed: end,
                available,
            })?
            .copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }

    /// An option header for `body_len` bytes after type and length, which must make the option
    /// a multiple of 8 bytes.
    fn header(&mut self, kind: u8, body_len: usize) -> Result<(), EncodeError> {
        let units = u8::try_from((body_len + 2) / 8).map_err(|_| EncodeError::BufferTooSmall {
            needed: body_len + 2,
            available: 255 * 8,
        })?;
        self.bytes(&[kind, units])
    }

    /// Zero bytes up to the next multiple of 8 from `start` (options are 8-byte units).
    fn pad_from(&mut self, start: usize) -> Result<(), EncodeError> {
        let padding = (8 - (self.len - start) % 8) % 8;
        self.bytes(&[0; 8][..padding])
    }
}

/// Builds the Router Advertisement frame of virtual router `vrid` from `source` (its
/// link-local virtual address) to ff02::1; returns the frame length. A domain that is not a
/// valid name is left out (the config validates them first).
pub fn build_router_advert(
    buf: &mut [u8],
    vrid: u8,
    source: &Ipv6Addr,
    advert: &RouterAdvert<'_, impl AsRef<str>>,
) -> Result<usize, EncodeError> {
    const HEADERS: usize = ETHERNET_HEADER_LEN + IPV6_HEADER_LEN;
    let available = buf.len();
    let vmac = virtual_mac_v6(vrid);
    let message = buf.get_mut(HEADERS..).ok_or(EncodeError::BufferTooSmall {
        needed: HEADERS + RA_FIXED_LEN,
        available,
    })?;
    let message_len = encode_router_advert(message, vmac, advert).map_err(|error| match error {
        EncodeError::BufferTooSmall { needed, .. } => EncodeError::BufferTooSmall {
            needed: HEADERS + needed,
            available,
        },
        other => other,
    })?;
    let checksum = ipv6_pseudo_header_checksum(
        source,
        &ALL_NODES_V6,
        IPPROTO_ICMPV6,
        &message[..message_len],
    );
    message[2..4].copy_from_slice(&checksum.to_be_bytes());
    let (ethernet, ip) = buf.split_at_mut(ETHERNET_HEADER_LEN);
    let too_small = EncodeError::BufferTooSmall {
        needed: HEADERS,
        available,
    };
    *header_mut(ethernet).ok_or(too_small)? =
        ethernet_header(ALL_NODES_MAC_V6, vmac, ETHERTYPE_IPV6);
    // RFC 4861 §6.1.2: hop limit 255; traffic class 0 as for the NAs.
    *header_mut(ip).ok_or(too_small)? =
        ipv6_header(source, &ALL_NODES_V6, IPPROTO_ICMPV6, 0, message_len);
    Ok(HEADERS + message_len)
}

/// The ICMPv6 message with a zero checksum field; returns its length.
fn encode_router_advert(
    buf: &mut [u8],
    vmac: [u8; 6],
    advert: &RouterAdvert<'_, impl AsRef<str>>,
) -> Result<usize, EncodeError> {
    let mut out = OptionWriter { buf, len: 0 };
    let preference = if advert.router_lifetime_s == 0 {
        RouterPreference::Medium
    } else {
        advert.preference
    };
    let flags = (if advert.managed { RA_FLAG_MANAGED } else { 0 })
        | (if advert.other_config {
            RA_FLAG_OTHER
        } else {
            0
        })
        | preference.flag_bits();
    out.bytes(&[
        ICMPV6_ROUTER_ADVERTISEMENT,
        0,
        0,
        0,
        advert.cur_hop_limit,
        flags,
    ])?;
    out.bytes(&advert.router_lifetime_s.to_be_bytes())?;
    out.bytes(&advert.reachable_time_ms.to_be_bytes())?;
    out.bytes(&advert.retrans_timer_ms.to_be_bytes())?;

    out.header(ND_OPTION_SOURCE_LINK_LAYER, 6)?;
    out.bytes(&vmac)?;
    if let Some(mtu) = advert.mtu {
        out.header(ND_OPTION_MTU, 6)?;
        out.bytes(&[0, 0])?;
        out.bytes(&mtu.to_be_bytes())?;
    }
    for prefix in advert.prefixes {
        out.header(ND_OPTION_PREFIX_INFORMATION, 30)?;
        let flags = (if prefix.on_link {
            PREFIX_FLAG_ON_LINK
        } else {
            0
        }) | (if prefix.autonomous {
            PREFIX_FLAG_AUTONOMOUS
        } else {
            0
        });
        out.bytes(&[prefix.length, flags])?;
        out.bytes(&prefix.valid_lifetime_s.to_be_bytes())?;
        out.bytes(&prefix.preferred_lifetime_s.to_be_bytes())?;
        out.bytes(&[0; 4])?;
        out.bytes(&prefix.prefix.octets())?;
    }
    let (lifetime, servers) = advert.dns_servers;
    if !servers.is_empty() {
        out.header(ND_OPTION_RDNSS, 6 + 16 * servers.len())?;
        out.bytes(&[0, 0])?;
        out.bytes(&lifetime.to_be_bytes())?;
        for server in servers {
            out.bytes(&server.octets())?;
        }
    }
    let (lifetime, domains) = advert.search_domains;
    let names_len: usize = domains
        .iter()
        .filter_map(|name| domain_wire_len(name.as_ref()).ok())
        .sum();
    if names_len > 0 {
        let start = out.len;
        out.header(ND_OPTION_DNSSL, 6 + names_len.next_multiple_of(8))?;
        out.bytes(&[0, 0])?;
        out.bytes(&lifetime.to_be_bytes())?;
        for name in domains.iter().map(AsRef::as_ref) {
            if domain_wire_len(name).is_err() {
                continue;
            }
            let name = name.strip_suffix('.').unwrap_or(name);
            for label in name.split('.') {
                // domain_wire_len checked the label fits a length byte.
                out.bytes(&[label.len() as u8])?;
                out.bytes(label.as_bytes())?;
            }
            out.bytes(&[0])?;
        }
        out.pad_from(start)?;
    }
    Ok(out.len)
}

/// A malformed Neighbor Discovery option (RFC 4861 §4.6: length 0 or past the message).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed Neighbor Discovery option at byte {offset}")]
pub struct BadOption {
    /// Offset of the option in the options area.
    pub offset: usize,
}

/// One Neighbor Discovery option: its type and the bytes after type and length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NdOption<'a> {
    /// Option type.
    pub kind: u8,
    /// The option without its two header bytes.
    pub body: &'a [u8],
}

/// The options of an ND message, in order; yields one error and stops at a malformed one.
#[derive(Clone, Debug)]
pub struct NdOptions<'a> {
    rest: &'a [u8],
    offset: usize,
}

impl<'a> NdOptions<'a> {
    /// Options in `bytes` (the message after its fixed part).
    pub const fn new(bytes: &'a [u8]) -> Self {
        Self {
            rest: bytes,
            offset: 0,
        }
    }
}

impl<'a> Iterator for NdOptions<'a> {
    type Item = Result<NdOption<'a>, BadOption>;

    fn next(&mut self) -> Option<Self::Item> {
        let [kind, units, ..] = *self.rest else {
            if self.rest.is_empty() {
                return None;
            }
            return Some(Err(self.stop()));
        };
        let len = usize::from(units) * 8;
        if len == 0 || len > self.rest.len() {
            return Some(Err(self.stop()));
        }
        let (option, rest) = self.rest.split_at(len);
        self.rest = rest;
        self.offset += len;
        Some(Ok(NdOption {
            kind,
            body: &option[2..],
        }))
    }
}

impl NdOptions<'_> {
    fn stop(&mut self) -> BadOption {
        self.rest = &[];
        BadOption {
            offset: self.offset,
        }
    }
}

/// Why a Router Solicitation is silently discarded (RFC 4861 §6.1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SolicitationError {
    /// The IP hop limit is not 255: it did not come from this link.
    #[error("hop limit {0} is not 255")]
    HopLimit(u8),
    /// Not type 133, code 0.
    #[error("not a Router Solicitation (type {kind}, code {code})")]
    NotSolicitation {
        /// ICMPv6 type.
        kind: u8,
        /// ICMPv6 code.
        code: u8,
    },
    /// Shorter than 8 bytes.
    #[error("{0} bytes is shorter than a Router Solicitation")]
    TooShort(usize),
    /// An option of length 0 or past the end.
    #[error(transparent)]
    BadOption(#[from] BadOption),
    /// From the unspecified address with a Source Link-Layer Address option.
    #[error("source link-layer option from the unspecified address")]
    UnspecifiedWithLinkLayer,
}

/// Checks a received Router Solicitation (the ICMPv6 message, checksum already verified by the
/// kernel's raw socket) as RFC 4861 §6.1.1 asks.
pub fn check_router_solicitation(
    message: &[u8],
    hop_limit: u8,
    source: &Ipv6Addr,
) -> Result<(), SolicitationError> {
    if hop_limit != 255 {
        return Err(SolicitationError::HopLimit(hop_limit));
    }
    let [kind, code, ..] = *message else {
        return Err(SolicitationError::TooShort(message.len()));
    };
    if kind != ICMPV6_ROUTER_SOLICITATION || code != 0 {
        return Err(SolicitationError::NotSolicitation { kind, code });
    }
    let options = message
        .get(RS_FIXED_LEN..)
        .ok_or(SolicitationError::TooShort(message.len()))?;
    for option in NdOptions::new(options) {
        if option?.kind == ND_OPTION_SOURCE_LINK_LAYER && source.is_unspecified() {
            return Err(SolicitationError::UnspecifiedWithLinkLayer);
        }
    }
    Ok(())
}

/// Whether an ICMPv6 `message` from `source` to `destination` carries a correct checksum
/// (RFC 4443 §2.3), for reading captures.
pub fn icmpv6_checksum_verifies(source: &Ipv6Addr, destination: &Ipv6Addr, message: &[u8]) -> bool {
    let length = u32::try_from(message.len()).unwrap_or(u32::MAX);
    Checksum::new()
        .add_ipv6_pseudo_header(source, destination, IPPROTO_ICMPV6, length)
        .add_bytes(message)
        .verifies()
}
