//! `[instance.router_advertisement]`: the Router Advertisements a Master sends for an IPv6
//! virtual router (RFC 9568 §8.2.3, RFC 4861 §6.2.1, RFC 4191, RFC 8106).
//!
//! ```toml
//! [instance.router_advertisement]
//! enabled = true                # default true once the section is there; no section: no RAs
//! max_interval_s = 600          # MaxRtrAdvInterval, 4..=1800
//! min_interval_s = 198          # MinRtrAdvInterval, 3..=0.75 × max; default 0.33 × max (>= 3)
//! router_lifetime_s = 1800      # 0 or max_interval_s..=9000; default 3 × max_interval_s
//! preference = "medium"         # RFC 4191: "low", "medium" or "high"
//! managed = false               # M flag
//! other_config = false          # O flag
//! hop_limit = 64                # Cur Hop Limit, 0 = unspecified
//! mtu = 1500                    # MTU option, 1280..=65535; none by default
//! prefixes = [{ prefix = "2001:db8:1::/64", on_link = true, autonomous = true,
//!               valid_lifetime_s = 2592000, preferred_lifetime_s = 604800 }]
//! dns_servers = ["2001:db8::53"]           # RDNSS (RFC 8106)
//! search_domains = ["example.com"]         # DNSSL (RFC 8106)
//! dns_lifetime_s = 1800                    # both options; default 3 × max_interval_s
//! ```

use std::net::Ipv6Addr;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;
pub use vrrp_common::router_advert::RouterPreference;
use vrrp_common::router_advert::{DomainNameError, PrefixInformation, RouterAdvert};

/// A validated `[instance.router_advertisement]` with `enabled = true`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouterAdvertConfig {
    /// MinRtrAdvInterval.
    pub min_interval: Duration,
    /// MaxRtrAdvInterval.
    pub max_interval: Duration,
    /// AdvDefaultLifetime in seconds.
    pub router_lifetime_s: u16,
    /// AdvDefaultPreference.
    pub preference: RouterPreference,
    /// AdvManagedFlag.
    pub managed: bool,
    /// AdvOtherConfigFlag.
    pub other_config: bool,
    /// AdvCurHopLimit.
    pub hop_limit: u8,
    /// AdvLinkMTU, if sent.
    pub mtu: Option<u32>,
    /// AdvPrefixList.
    pub prefixes: Vec<PrefixInformation>,
    /// RDNSS addresses.
    pub dns_servers: Vec<Ipv6Addr>,
    /// DNSSL domains.
    pub search_domains: Vec<String>,
    /// Lifetime of the RDNSS and DNSSL options in seconds.
    pub dns_lifetime_s: u32,
}

impl RouterAdvertConfig {
    /// The advertisement's contents, with this router lifetime in seconds (0 for the final
    /// one).
    pub fn advert(&self, router_lifetime_s: u16) -> RouterAdvert<'_, String> {
        RouterAdvert {
            cur_hop_limit: self.hop_limit,
            managed: self.managed,
            other_config: self.other_config,
            preference: self.preference,
            router_lifetime_s,
            reachable_time_ms: 0,
            retrans_timer_ms: 0,
            mtu: self.mtu,
            prefixes: &self.prefixes,
            dns_servers: (self.dns_lifetime_s, &self.dns_servers),
            search_domains: (self.dns_lifetime_s, &self.search_domains),
        }
    }
}

/// What is wrong with a router advertisement setting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouterAdvertProblem {
    /// RAs are IPv6.
    #[error("router_advertisement applies to IPv6 instances only")]
    NotIpv6,
    /// RFC 4861 §6.2.1: MinRtrAdvInterval is at most 0.75 × MaxRtrAdvInterval.
    #[error("min_interval_s {min} must be 3..=0.75 × max_interval_s ({max}) (RFC 4861 §6.2.1)")]
    MinInterval {
        /// Configured min.
        min: i64,
        /// Max in effect.
        max: u64,
    },
    /// RFC 4861 §6.2.1: 0, or between MaxRtrAdvInterval and 9000 s.
    #[error(
        "router_lifetime_s {lifetime} must be 0 or max_interval_s ({max})..=9000 (RFC 4861 §6.2.1)"
    )]
    RouterLifetime {
        /// Configured lifetime.
        lifetime: i64,
        /// Max in effect.
        max: u64,
    },
    /// Not one of the RFC 4191 values.
    #[error("preference {value:?} is not \"low\", \"medium\" or \"high\"")]
    Preference {
        /// Configured text.
        value: String,
    },
    /// Not `address/length` with the host bits clear.
    #[error("prefix {value:?} is not an IPv6 prefix (address/length, host bits zero)")]
    Prefix {
        /// Configured text.
        value: String,
    },
    /// Hosts do not autoconfigure from link-local or multicast prefixes.
    #[error("prefix {value:?} is link-local or multicast")]
    PrefixScope {
        /// Configured text.
        value: String,
    },
    /// RFC 4861 §4.6.2: preferred must not exceed valid.
    #[error("preferred_lifetime_s {preferred} exceeds valid_lifetime_s {valid}")]
    PreferredAboveValid {
        /// Preferred lifetime.
        preferred: u32,
        /// Valid lifetime.
        valid: u32,
    },
    /// A DNS server that is not a usable IPv6 unicast address.
    #[error("dns_servers: {value:?} is not an IPv6 unicast address")]
    DnsServer {
        /// Configured text.
        value: String,
    },
    /// A domain that cannot go into DNSSL.
    #[error("search_domains: {value:?}: {reason}")]
    Domain {
        /// Configured text.
        value: String,
        /// RFC 1035 limit broken.
        reason: DomainNameError,
    },
    /// The RA would not fit the IPv6 minimum MTU unfragmented.
    #[error(
        "the router advertisement would be {bytes} bytes, more than the {limit} an IPv6 link \
         carries unfragmented (fewer prefixes, servers or domains)"
    )]
    TooLarge {
        /// ICMPv6 message size.
        bytes: usize,
        /// 1280 − 40.
        limit: usize,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRouterAdvert {
    pub(super) enabled: Option<bool>,
    pub(super) min_interval_s: Option<Spanned<i64>>,
    pub(super) max_interval_s: Option<Spanned<i64>>,
    pub(super) router_lifetime_s: Option<Spanned<i64>>,
    pub(super) preference: Option<Spanned<String>>,
    pub(super) managed: Option<bool>,
    pub(super) other_config: Option<bool>,
    pub(super) hop_limit: Option<Spanned<i64>>,
    pub(super) mtu: Option<Spanned<i64>>,
    #[serde(default)]
    pub(super) prefixes: Vec<Spanned<RawPrefix>>,
    #[serde(default)]
    pub(super) dns_servers: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) search_domains: Vec<Spanned<String>>,
    pub(super) dns_lifetime_s: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPrefix {
    pub(super) prefix: Spanned<String>,
    pub(super) on_link: Option<bool>,
    pub(super) autonomous: Option<bool>,
    pub(super) valid_lifetime_s: Option<Spanned<i64>>,
    pub(super) preferred_lifetime_s: Option<Spanned<i64>>,
}
