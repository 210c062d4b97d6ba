//! Checks of `[instance.router_advertisement]` (RFC 4861 §6.2.1 ranges and defaults).

use std::net::Ipv6Addr;
use std::time::Duration;

use toml::Spanned;
use vrrp_common::router_advert::{
    PrefixInformation, RouterPreference, domain_wire_len, router_advert_message_len,
};

use super::Validator;
use crate::config::error::{ConfigErrorKind, Severity};
use crate::config::router_advert::{RawPrefix, RawRouterAdvert, RouterAdvertProblem};
use crate::config::{AddressFamily, RawInstance, RouterAdvertConfig};

/// MaxRtrAdvInterval (RFC 4861 §6.2.1), seconds.
const MAX_INTERVAL_S: (i64, i64) = (4, 1800);
const DEFAULT_MAX_INTERVAL_S: i64 = 600;
/// MinRtrAdvInterval's floor.
const MIN_INTERVAL_FLOOR_S: i64 = 3;
/// AdvDefaultLifetime's ceiling.
const MAX_ROUTER_LIFETIME_S: i64 = 9000;
/// AdvCurHopLimit: the IANA default TTL (RFC 4861 §6.2.1 asks for it).
const DEFAULT_HOP_LIMIT: i64 = 64;
/// An MTU option below the IPv6 minimum link MTU (RFC 8200 §5) would be ignored.
const MTU: (i64, i64) = (1280, 65_535);
/// AdvValidLifetime and AdvPreferredLifetime defaults (RFC 4861 §6.2.1): 30 and 7 days.
const DEFAULT_VALID_LIFETIME_S: i64 = 2_592_000;
const DEFAULT_PREFERRED_LIFETIME_S: i64 = 604_800;
/// 0xffffffff is infinity.
const LIFETIME_S: (i64, i64) = (0, u32::MAX as i64);
/// The ICMPv6 message must fit the IPv6 minimum MTU (1280) after the 40-byte IPv6 header.
const MAX_MESSAGE_BYTES: usize = 1280 - 40;

impl Validator<'_> {
    /// The validated section; `None` when absent, disabled or invalid (invalid is reported).
    pub(super) fn router_advertisement(
        &mut self,
        instance: &str,
        raw: &RawInstance,
        family: Option<AddressFamily>,
    ) -> Option<RouterAdvertConfig> {
        let section = raw.router_advertisement.as_ref()?;
        let span = section.span();
        let section = section.get_ref();
        if !section.enabled.unwrap_or(true) {
            return None;
        }
        if family == Some(AddressFamily::Ipv4) {
            self.ra_problem(
                instance,
                span,
                "router_advertisement",
                RouterAdvertProblem::NotIpv6,
            );
            return None;
        }
        let errors_before = self.error_count();
        let config = self.ra_settings(instance, section);
        if self.error_count() > errors_before {
            return None;
        }
        let bytes = router_advert_message_len(&config.advert(1));
        if bytes > MAX_MESSAGE_BYTES {
            let problem = RouterAdvertProblem::TooLarge {
                bytes,
                limit: MAX_MESSAGE_BYTES,
            };
            self.ra_problem(instance, span, "router_advertisement", problem);
            return None;
        }
        Some(config)
    }

    fn ra_settings(&mut self, instance: &str, raw: &RawRouterAdvert) -> RouterAdvertConfig {
        let (min, max) = MAX_INTERVAL_S;
        let max_s = self
            .optional_in_range(
                instance,
                "max_interval_s",
                raw.max_interval_s.as_ref(),
                min,
                max,
            )
            .unwrap_or(DEFAULT_MAX_INTERVAL_S);
        let min_ceiling = max_s * 3 / 4;
        let min_s = match raw.min_interval_s.as_ref() {
            // RFC 4861 §6.2.1: 0.33 × max, within the allowed range.
            None => (max_s * 33 / 100).clamp(MIN_INTERVAL_FLOOR_S, min_ceiling),
            Some(value) => {
                let min = *value.get_ref();
                if !(MIN_INTERVAL_FLOOR_S..=min_ceiling).contains(&min) {
                    let problem = RouterAdvertProblem::MinInterval {
                        min,
                        max: max_s.unsigned_abs(),
                    };
                    self.ra_problem(instance, value.span(), "min_interval_s", problem);
                }
                min
            }
        };
        let lifetime = match raw.router_lifetime_s.as_ref() {
            None => (3 * max_s).min(MAX_ROUTER_LIFETIME_S),
            Some(value) => {
                let lifetime = *value.get_ref();
                if lifetime != 0 && !(max_s..=MAX_ROUTER_LIFETIME_S).contains(&lifetime) {
                    let problem = RouterAdvertProblem::RouterLifetime {
                        lifetime,
                        max: max_s.unsigned_abs(),
                    };
                    self.ra_problem(instance, value.span(), "router_lifetime_s", problem);
                }
                lifetime
            }
        };
        let hop_limit = self
            .optional_in_range(instance, "hop_limit", raw.hop_limit.as_ref(), 0, 255)
            .unwrap_or(DEFAULT_HOP_LIMIT);
        let mtu = raw.mtu.as_ref().and_then(|value| {
            let (min, max) = MTU;
            self.in_range(Some(instance), "mtu", value, min, max)
        });
        let dns_lifetime_s = self
            .optional_in_range(
                instance,
                "dns_lifetime_s",
                raw.dns_lifetime_s.as_ref(),
                LIFETIME_S.0,
                LIFETIME_S.1,
            )
            // RFC 8106 §5.1: by default at least 3 × MaxRtrAdvInterval.
            .unwrap_or(3 * max_s);
        RouterAdvertConfig {
            min_interval: seconds(min_s),
            max_interval: seconds(max_s),
            router_lifetime_s: u16::try_from(lifetime).unwrap_or(0),
            preference: self.ra_preference(instance, raw.preference.as_ref()),
            managed: raw.managed.unwrap_or(false),
            other_config: raw.other_config.unwrap_or(false),
            hop_limit: u8::try_from(hop_limit).unwrap_or(0),
            mtu: mtu.and_then(|mtu| u32::try_from(mtu).ok()),
            prefixes: raw
                .prefixes
                .iter()
                .filter_map(|prefix| self.ra_prefix(instance, prefix))
                .collect(),
            dns_servers: raw
                .dns_servers
                .iter()
                .filter_map(|server| self.dns_server(instance, server))
                .collect(),
            search_domains: raw
                .search_domains
                .iter()
                .filter_map(|domain| self.search_domain(instance, domain))
                .collect(),
            dns_lifetime_s: u32::try_from(dns_lifetime_s).unwrap_or(u32::MAX),
        }
    }

    fn optional_in_range(
        &mut self,
        instance: &str,
        field: &'static str,
        value: Option<&Spanned<i64>>,
        min: i64,
        max: i64,
    ) -> Option<i64> {
        self.in_range(Some(instance), field, value?, min, max)
    }

    fn ra_preference(&mut self, instance: &str, raw: Option<&Spanned<String>>) -> RouterPreference {
        let Some(text) = raw else {
            return RouterPreference::Medium;
        };
        match text.get_ref().as_str() {
            "low" => RouterPreference::Low,
            "medium" => RouterPreference::Medium,
            "high" => RouterPreference::High,
            other => {
                let problem = RouterAdvertProblem::Preference {
                    value: other.to_owned(),
                };
                self.ra_problem(instance, text.span(), "preference", problem);
                RouterPreference::Medium
            }
        }
    }

    fn ra_prefix(&mut self, instance: &str, raw: &Spanned<RawPrefix>) -> Option<PrefixInformation> {
        let raw = raw.get_ref();
        let text = raw.prefix.get_ref();
        let span = raw.prefix.span();
        let Some((prefix, length)) = parse_prefix(text) else {
            let problem = RouterAdvertProblem::Prefix {
                value: text.clone(),
            };
            self.ra_problem(instance, span, "prefixes", problem);
            return None;
        };
        if prefix.is_unicast_link_local() || prefix.is_multicast() {
            let problem = RouterAdvertProblem::PrefixScope {
                value: text.clone(),
            };
            self.ra_problem(instance, span, "prefixes", problem);
            return None;
        }
        let (min, max) = LIFETIME_S;
        let valid = self
            .optional_in_range(
                instance,
                "valid_lifetime_s",
                raw.valid_lifetime_s.as_ref(),
                min,
                max,
            )
            .unwrap_or(DEFAULT_VALID_LIFETIME_S);
        let preferred = self
            .optional_in_range(
                instance,
                "preferred_lifetime_s",
                raw.preferred_lifetime_s.as_ref(),
                min,
                max,
            )
            .unwrap_or(DEFAULT_PREFERRED_LIFETIME_S.min(valid));
        let (valid, preferred) = (u32::try_from(valid).ok()?, u32::try_from(preferred).ok()?);
        if preferred > valid {
            let problem = RouterAdvertProblem::PreferredAboveValid { preferred, valid };
            self.ra_problem(instance, span, "preferred_lifetime_s", problem);
            return None;
        }
        Some(PrefixInformation {
            prefix,
            length,
            on_link: raw.on_link.unwrap_or(true),
            autonomous: raw.autonomous.unwrap_or(true),
            valid_lifetime_s: valid,
            preferred_lifetime_s: preferred,
        })
    }

    fn dns_server(&mut self, instance: &str, raw: &Spanned<String>) -> Option<Ipv6Addr> {
        let parsed = raw
            .get_ref()
            .parse::<Ipv6Addr>()
            .ok()
            .filter(|address| !address.is_unspecified() && !address.is_multicast());
        if parsed.is_none() {
            let problem = RouterAdvertProblem::DnsServer {
                value: raw.get_ref().clone(),
            };
            self.ra_problem(instance, raw.span(), "dns_servers", problem);
        }
        parsed
    }

    fn search_domain(&mut self, instance: &str, raw: &Spanned<String>) -> Option<String> {
        match domain_wire_len(raw.get_ref()) {
            Ok(_) => Some(raw.get_ref().clone()),
            Err(reason) => {
                let problem = RouterAdvertProblem::Domain {
                    value: raw.get_ref().clone(),
                    reason,
                };
                self.ra_problem(instance, raw.span(), "search_domains", problem);
                None
            }
        }
    }

    fn ra_problem(
        &mut self,
        instance: &str,
        span: std::ops::Range<usize>,
        field: &'static str,
        problem: RouterAdvertProblem,
    ) {
        self.push(
            Severity::Error,
            Some(span),
            Some(instance),
            Some(field),
            ConfigErrorKind::RouterAdvertisement(problem),
        );
    }
}

fn seconds(value: i64) -> Duration {
    Duration::from_secs(value.unsigned_abs())
}

/// `address/length` with no bits set past `length`.
fn parse_prefix(text: &str) -> Option<(Ipv6Addr, u8)> {
    let (address, length) = text.split_once('/')?;
    let address: Ipv6Addr = address.parse().ok()?;
    let length: u8 = length.parse().ok().filter(|length| *length <= 128)?;
    let host_mask = u128::MAX.checked_shr(u32::from(length)).unwrap_or(0);
    (u128::from(address) & host_mask == 0).then_some((address, length))
}
