//! The per-virtual-router configuration the state machine runs with.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
pub use vrrp_common::advert::VersionMode;

use super::election::OWNER_PRIORITY;
use super::timing::Centiseconds;

/// The address family a virtual router protects (RFC 9568 §5.2.9: one family per instance).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum AddressFamily {
    /// IPv4: adverts to 224.0.0.18, gratuitous ARP on takeover.
    Ipv4,
    /// IPv6: adverts to ff02::12, unsolicited NA on takeover.
    Ipv6,
}

impl AddressFamily {
    /// The family of `address`.
    pub fn of(address: IpAddr) -> Self {
        match address {
            IpAddr::V4(_) => Self::Ipv4,
            IpAddr::V6(_) => Self::Ipv6,
        }
    }
}

impl fmt::Display for AddressFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Ipv4 => "IPv4",
            Self::Ipv6 => "IPv6",
        })
    }
}

/// Configuration of one virtual router (one VRID on one interface for one family).
///
/// Validation (ranges, family consistency) belongs to the configuration loader; the state
/// machine trusts these values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouterConfig {
    /// Virtual Router Identifier, 1..=255.
    pub vrid: u8,
    /// Protected address family.
    pub family: AddressFamily,
    /// Configured priority: 255 for the address owner, 1..=254 otherwise.
    pub priority: u8,
    /// Advertisement_Interval sent while Master and used until one is learned.
    pub advert_interval: Centiseconds,
    /// Preempt_Mode: whether a higher-priority Backup displaces a lower-priority Master.
    pub preempt: bool,
    /// How long a Backup keeps honouring a lower-priority Master before preempting it (see the
    /// module docs of `proto` for the exact semantics). Zero means the RFC behaviour.
    pub preempt_delay: Duration,
    /// Accept_Mode: whether a non-owner Master accepts packets addressed to the virtual addresses.
    pub accept_mode: bool,
    /// This router's primary address on the interface: the source of its adverts and the
    /// election tie-breaker.
    pub primary_address: IpAddr,
    /// The virtual addresses, in advert order (for IPv6 the link-local one first).
    pub virtual_addresses: Vec<IpAddr>,
    /// The VRRP versions it speaks: VRRPv3, VRRPv2 (RFC 3768: its timing, no interval
    /// learning) or both (RFC 9568 §8.4). Only IPv4 speaks VRRPv2.
    #[serde(with = "version_name")]
    pub version: VersionMode,
}

/// Serde for [`VersionMode`] by its configuration name (`"3"`, `"2"`, `"2+3"`).
mod version_name {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    use super::VersionMode;

    pub(super) fn serialize<S: Serializer>(
        mode: &VersionMode,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(mode.name())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<VersionMode, D::Error> {
        let name = String::deserialize(deserializer)?;
        VersionMode::from_name(&name)
            .ok_or_else(|| D::Error::custom(format!("unknown VRRP version {name:?}")))
    }
}

impl RouterConfig {
    /// True for the address owner (priority 255).
    pub fn is_owner(&self) -> bool {
        self.priority == OWNER_PRIORITY
    }

    /// Whether a Master accepts traffic addressed to the virtual addresses: the owner always
    /// does, others only with Accept_Mode (RFC 9568 §6.4.3).
    pub fn accepts_virtual_traffic(&self) -> bool {
        self.is_owner() || self.accept_mode
    }

    /// Effective Preempt_Mode: the owner always preempts (RFC 9568 §6.1, Preempt_Mode note).
    pub(crate) fn preempts(&self) -> bool {
        self.is_owner() || self.preempt
    }
}
