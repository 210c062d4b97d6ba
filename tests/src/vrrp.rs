//! A two-router VRRP lab for daemon tests: config files for `xvrrp run`, and what the routers
//! put on the wire, decoded with the project's codec.

use std::{
    net::IpAddr,
    time::{Duration, Instant},
};

use vrrp_common::{
    advert::{Advert, ChecksumStyle, VersionMode},
    consts::{ETHERNET_HEADER_LEN, ETHERTYPE_IPV4, ETHERTYPE_IPV6},
};

use crate::capture::Captured;

/// The IPv4 virtual address every daemon test protects.
pub const VIP4: &str = "192.0.2.100";
/// The VRID of the IPv4 tests.
pub const VRID: u8 = 51;
/// The IPv6 virtual addresses: link-local first (RFC 9568 §5.2.9), then a global one.
pub const VIPS6: [&str; 2] = ["fe80::100", "2001:db8::100"];
/// The VRID of the IPv6 tests.
pub const VRID6: u8 = 52;

/// The address family a test runs VRRP for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// VRID 51, 192.0.2.100.
    V4,
    /// VRID 52, fe80::100 and 2001:db8::100.
    V6,
}

impl Family {
    /// The VRID used for this family.
    pub fn vrid(self) -> u8 {
        match self {
            Self::V4 => VRID,
            Self::V6 => VRID6,
        }
    }

    /// The virtual addresses of this family, as TOML array items.
    fn addresses_toml(self) -> String {
        match self {
            Self::V4 => addresses_toml(&[VIP4]),
            Self::V6 => addresses_toml(&VIPS6),
        }
    }
}

/// One router's instance settings for a test.
#[derive(Clone, Debug)]
pub struct RouterSpec {
    /// Priority (1..=255).
    pub priority: u8,
    /// Advert interval in milliseconds.
    pub interval_ms: u32,
    /// Preempt_Mode.
    pub preempt: bool,
    /// Preempt delay in milliseconds.
    pub preempt_delay_ms: u32,
    /// Accept_Mode.
    pub accept_mode: bool,
    /// A tracked interface and its weight.
    pub track: Option<(&'static str, u8)>,
    /// IPv4 or IPv6.
    pub family: Family,
    /// More lines of the instance table (`allowed_peers = [...]`, `ipv4_checksum = "..."`).
    pub instance_extra: String,
}

impl RouterSpec {
    /// Priority `priority`, 100 ms adverts (fast tests), RFC defaults otherwise.
    pub fn new(priority: u8) -> Self {
        Self {
            priority,
            interval_ms: 100,
            preempt: true,
            preempt_delay_ms: 0,
            accept_mode: false,
            track: None,
            family: Family::V4,
            instance_extra: String::new(),
        }
    }

    /// Master_Down_Interval of this router for its own interval (RFC 9568 §6.1), with the
    /// state machine's microsecond truncation.
    pub fn master_down_interval(&self) -> Duration {
        let interval = Duration::from_millis(u64::from(self.interval_ms));
        interval * 3 + self.skew_time()
    }

    /// Skew_Time = ((256 - Priority) * Master_Adver_Interval) / 256.
    pub fn skew_time(&self) -> Duration {
        let interval_us = u64::from(self.interval_ms) * 1000;
        Duration::from_micros((256 - u64::from(self.priority)) * interval_us / 256)
    }

    /// The `xvrrp run` configuration of this router, pinning its maps under `bpffs`.
    pub fn config(&self, bpffs: &str) -> String {
        format!(
            "{}{}",
            global_toml(bpffs),
            self.instance_toml("lan", self.family.vrid(), &self.family.addresses_toml())
        )
    }

    /// The configuration with both an IPv4 instance `lan` and an IPv6 instance `lan6` of this
    /// router (`family` is ignored).
    pub fn config_both_families(&self, bpffs: &str) -> String {
        self.config_both_families_with(bpffs, &[VIP4], &VIPS6)
    }

    /// [`Self::config_both_families`] protecting `ipv4` in `lan` and `ipv6` in `lan6`.
    pub fn config_both_families_with(&self, bpffs: &str, ipv4: &[&str], ipv6: &[&str]) -> String {
        format!(
            "{}{}{}",
            global_toml(bpffs),
            self.instance_toml("lan", VRID, &addresses_toml(ipv4)),
            self.instance_toml("lan6", VRID6, &addresses_toml(ipv6))
        )
    }

    /// A configuration with one IPv4 instance of this router per VRID of `vrids`, each with
    /// its own virtual address (`vip_of`); `family` is ignored.
    pub fn config_per_vrid(
        &self,
        bpffs: &str,
        vrids: std::ops::RangeInclusive<u8>,
        vip_of: impl Fn(u8) -> std::net::Ipv4Addr,
    ) -> String {
        vrids.fold(global_toml(bpffs), |mut config, vrid| {
            config.push_str(&self.instance_toml(
                &format!("vr{vrid}"),
                vrid,
                &format!("\"{}\"", vip_of(vrid)),
            ));
            config
        })
    }

    fn instance_toml(&self, name: &str, vrid: u8, addresses: &str) -> String {
        let track = self.track.map_or(String::new(), |(interface, weight)| {
            format!("track = [{{ interface = \"{interface}\", weight = {weight} }}]\n")
        });
        format!(
            "\n[[instance]]\nname = \"{name}\"\ninterface = \"eth0\"\n\
             vrid = {vrid}\npriority = {}\nadvert_interval_ms = {}\npreempt = {}\n\
             preempt_delay_ms = {}\naccept_mode = {}\nvirtual_addresses = [{addresses}]\n{track}{}\n",
            self.priority,
            self.interval_ms,
            self.preempt,
            self.preempt_delay_ms,
            self.accept_mode,
            self.instance_extra,
        )
    }
}

/// `addresses` as the items of a TOML array of strings.
fn addresses_toml(addresses: &[&str]) -> String {
    addresses
        .iter()
        .map(|address| format!("\"{address}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

fn global_toml(bpffs: &str) -> String {
    format!("[global]\nbpffs = \"{bpffs}\"\n")
}

/// An advert seen on the wire.
#[derive(Clone, Debug)]
pub struct SeenAdvert {
    /// When it was captured.
    pub at: Instant,
    /// IP source: the sender's primary address.
    pub source: IpAddr,
    /// IP destination: the VRRP group, or a unicast peer.
    pub destination: IpAddr,
    /// Ethernet source MAC.
    pub source_mac: [u8; 6],
    /// Advertised priority.
    pub priority: u8,
    /// VRID.
    pub vrid: u8,
    /// VRRP version: 3, or 2 (RFC 3768).
    pub version: u8,
}

/// Every valid VRRPv3 or (IPv4) VRRPv2 advert among `frames`, in capture order.
pub fn adverts(frames: &[Captured]) -> Vec<SeenAdvert> {
    adverts_with(frames, ChecksumStyle::Rfc9568)
}

/// [`adverts`] for an observer whose IPv4 checksums are checked in `style`.
pub fn adverts_with(frames: &[Captured], style: ChecksumStyle) -> Vec<SeenAdvert> {
    frames
        .iter()
        .filter_map(|frame| {
            let data = &frame.data;
            let ethertype = u16::from_be_bytes([*data.get(12)?, *data.get(13)?]);
            let packet = data.get(ETHERNET_HEADER_LEN..)?;
            let advert = match ethertype {
                ETHERTYPE_IPV4 => {
                    Advert::decode_ipv4_packet_accepting(packet, style, VersionMode::V2AndV3)
                        .ok()?
                }
                ETHERTYPE_IPV6 => Advert::decode_ipv6_packet(packet).ok()?,
                _ => return None,
            };
            Some(SeenAdvert {
                at: frame.at,
                source: advert.context().source(),
                destination: advert.context().destination(),
                source_mac: data.get(6..12)?.try_into().ok()?,
                priority: advert.priority(),
                vrid: advert.vrid(),
                version: advert.version(),
            })
        })
        .collect()
}

/// The adverts from `source` among `frames`.
pub fn adverts_from(frames: &[Captured], source: &str) -> Vec<SeenAdvert> {
    let source: IpAddr = source.parse().expect("address");
    adverts(frames)
        .into_iter()
        .filter(|advert| advert.source == source)
        .collect()
}
