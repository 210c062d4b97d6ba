//! Semantic checks: from the parsed file model to a [`Config`], collecting every problem.

mod notify;
mod router_advert;

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;

use super::error::{ConfigError, ConfigErrorKind, Location, Severity, UnusableReason};
use super::host::{HostInterfaces, InterfaceAddress, OncePerInterface};
use crate::proto::Centiseconds;
use vrrp_common::{
    consts::{IPV4_HEADER_LEN, IPV6_HEADER_LEN, VRRP_HEADER_LEN},
    maps::{MAX_PEERS, MAX_PEERS_PER_INSTANCE},
};

use super::{
    AddressFamily, ChecksumStyle, Config, DEFAULT_PRIORITY, GlobalConfig, HookConfig,
    InstanceConfig, LoadError, Loaded, Mode, NotifyConfig, OWNER_PRIORITY, RawFile, RawGlobal,
    RawInstance, RawVersion, TrackedInterface, VersionMode,
};

/// Linux IFNAMSIZ (16) minus the terminating NUL.
const MAX_INTERFACE_NAME_BYTES: usize = 15;
/// Long enough for descriptive names, short enough for one log column.
const MAX_INSTANCE_NAME_CHARS: usize = 32;
/// RFC 9568 §5.2.7: 1..=4095 centiseconds, configured in milliseconds.
const ADVERT_INTERVAL_MS: (i64, i64) = (10, 40_950);
/// An hour: beyond that a delay is a way of spelling `preempt = false`.
const MAX_PREEMPT_DELAY_MS: i64 = 3_600_000;
/// Journal rotation size: at least a few records, at most what a history read at start can
/// afford.
const JOURNAL_MAX_BYTES: (i64, i64) = (4096, 1 << 30);
/// `realtime_priority`: 0 (off) or a SCHED_FIFO priority.
const REALTIME_PRIORITY: (i64, i64) = (0, 99);

/// Parses and validates `text`; see [`super::parse`].
pub(super) fn validate(
    text: &str,
    file: &Path,
    host: &dyn HostInterfaces,
    mode: Mode,
) -> Result<Loaded, LoadError> {
    let host = OncePerInterface::new(host);
    let mut validator = Validator {
        file,
        line_starts: line_starts(text),
        host: &host,
        mode,
        problems: Vec::new(),
    };
    let config = match toml::from_str::<RawFile>(text) {
        Ok(raw) => validator.file(&raw),
        Err(error) => {
            let message = error.message().to_owned();
            validator.push(
                Severity::Error,
                error.span(),
                None,
                None,
                ConfigErrorKind::Syntax { message },
            );
            None
        }
    };
    let mut problems = validator.problems;
    // Stable: problems on one line keep the order they were found in.
    problems.sort_by_key(|problem| problem.location.line);
    match config {
        Some(config) if problems.iter().all(|p| p.severity == Severity::Warning) => Ok(Loaded {
            config,
            warnings: problems,
        }),
        _ => Err(LoadError::Invalid { problems }),
    }
}

/// Byte offsets where lines start, for span-to-line conversion.
fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(text.match_indices('\n').map(|(offset, _)| offset + 1))
        .collect()
}

struct Validator<'a> {
    file: &'a Path,
    line_starts: Vec<usize>,
    host: &'a dyn HostInterfaces,
    mode: Mode,
    problems: Vec<ConfigError>,
}

/// The parts of a validated instance that cross-instance checks point at.
struct Checked<'r> {
    config: InstanceConfig,
    raw: &'r RawInstance,
    /// Its own hooks, which live in [`NotifyConfig`].
    hooks: Vec<HookConfig>,
}

impl Validator<'_> {
    /// 1-based line of a byte offset.
    fn line(&self, offset: usize) -> usize {
        self.line_starts.partition_point(|&start| start <= offset)
    }

    fn push(
        &mut self,
        severity: Severity,
        span: Option<Range<usize>>,
        instance: Option<&str>,
        field: Option<&'static str>,
        kind: ConfigErrorKind,
    ) {
        let line = span.map(|span| self.line(span.start));
        self.problems.push(ConfigError {
            severity,
            location: Location {
                file: self.file.to_owned(),
                line,
            },
            instance: instance.map(str::to_owned),
            field,
            kind,
        });
    }

    fn error_count(&self) -> usize {
        self.problems
            .iter()
            .filter(|problem| problem.severity == Severity::Error)
            .count()
    }

    fn file(&mut self, raw: &RawFile) -> Option<Config> {
        let mut global = self.global(&raw.global);
        if raw.instances.is_empty() {
            self.push(
                Severity::Error,
                None,
                None,
                None,
                ConfigErrorKind::NoInstances,
            );
        }
        let checked: Vec<Checked<'_>> = raw
            .instances
            .iter()
            .filter_map(|instance| self.instance(instance.get_ref()))
            .collect();
        self.unique_names(raw);
        self.unique_routers_and_addresses(&checked);
        self.peers_per_interface(&checked);
        let mut instances = Vec::with_capacity(checked.len());
        for Checked { config, hooks, .. } in checked {
            if !hooks.is_empty() {
                global
                    .notify
                    .instance_hooks
                    .insert(config.name.clone(), hooks);
            }
            instances.push(config);
        }
        (instances.len() == raw.instances.len()).then_some(Config { global, instances })
    }

    fn global(&mut self, raw: &RawGlobal) -> GlobalConfig {
        let defaults = GlobalConfig::default();
        GlobalConfig {
            bpffs: self.absolute_path("bpffs", raw.bpffs.as_ref(), defaults.bpffs),
            log_format: raw.log_format.unwrap_or(defaults.log_format),
            control_socket: self.absolute_path(
                "control_socket",
                raw.control_socket.as_ref(),
                defaults.control_socket,
            ),
            journal: self.absolute_path("journal", raw.journal.as_ref(), defaults.journal),
            journal_max_bytes: raw
                .journal_max_bytes
                .as_ref()
                .and_then(|value| {
                    let (min, max) = JOURNAL_MAX_BYTES;
                    self.in_range(None, "journal_max_bytes", value, min, max)
                })
                .and_then(|value| u64::try_from(value).ok())
                .unwrap_or(defaults.journal_max_bytes),
            metrics_listen: self.metrics_listen(raw),
            realtime_priority: match raw.realtime_priority.as_ref() {
                None => defaults.realtime_priority,
                Some(value) => {
                    let (min, max) = REALTIME_PRIORITY;
                    self.in_range(None, "realtime_priority", value, min, max)
                        .and_then(|priority| u8::try_from(priority).ok())
                        .and_then(|priority| (priority > 0).then_some(priority))
                }
            },
            lock_memory: raw.lock_memory.unwrap_or(defaults.lock_memory),
            notify: NotifyConfig {
                hooks: self.hooks(None, &raw.hook),
                instance_hooks: BTreeMap::new(),
                webhook: self.webhook(raw.webhook.as_ref()),
            },
        }
    }

    /// Where metrics listen: `metrics_listen` (default 127.0.0.1:9568) when `metrics = true`.
    fn metrics_listen(&mut self, raw: &RawGlobal) -> Option<SocketAddr> {
        let configured = raw.metrics_listen.as_ref();
        let listen = match configured {
            None => crate::ops::DEFAULT_METRICS_LISTEN.parse().ok(),
            Some(text) => {
                let parsed = text.get_ref().parse::<SocketAddr>().ok();
                if parsed.is_none() {
                    self.push(
                        Severity::Error,
                        Some(text.span()),
                        None,
                        Some("metrics_listen"),
                        ConfigErrorKind::InvalidListenAddress {
                            value: text.get_ref().clone(),
                        },
                    );
                }
                parsed
            }
        };
        if raw.metrics == Some(true) {
            return listen;
        }
        if let Some(text) = configured {
            self.push(
                Severity::Warning,
                Some(text.span()),
                None,
                Some("metrics_listen"),
                ConfigErrorKind::MetricsListenWithoutMetrics,
            );
        }
        None
    }

    fn absolute_path(
        &mut self,
        field: &'static str,
        configured: Option<&Spanned<PathBuf>>,
        default: PathBuf,
    ) -> PathBuf {
        let Some(path) = configured else {
            return default;
        };
        if !path.get_ref().is_absolute() {
            self.push(
                Severity::Error,
                Some(path.span()),
                None,
                Some(field),
                ConfigErrorKind::RelativePath {
                    field,
                    path: path.get_ref().clone(),
                },
            );
        }
        path.get_ref().clone()
    }

    /// Checks one instance on its own; `None` when it has errors.
    fn instance<'r>(&mut self, raw: &'r RawInstance) -> Option<Checked<'r>> {
        let errors_before = self.error_count();
        let name = raw.name.get_ref().as_str();
        if !is_valid_instance_name(name) {
            self.push(
                Severity::Error,
                Some(raw.name.span()),
                Some(name),
                Some("name"),
                ConfigErrorKind::InvalidName {
                    name: name.to_owned(),
                },
            );
        }
        let interface_addresses = self.interface(name, &raw.interface);
        let vrid = self.in_range(Some(name), "vrid", &raw.vrid, 1, 255);
        let priority = raw
            .priority
            .as_ref()
            .map_or(Some(i64::from(DEFAULT_PRIORITY)), |value| {
                self.in_range(Some(name), "priority", value, 1, i64::from(OWNER_PRIORITY))
            });
        let advert_interval = self.advert_interval(name, raw);
        let preempt = raw.preempt.unwrap_or(true);
        let preempt_delay_ms = raw.preempt_delay_ms.as_ref().map_or(Some(0), |value| {
            self.in_range(
                Some(name),
                "preempt_delay_ms",
                value,
                0,
                MAX_PREEMPT_DELAY_MS,
            )
        });
        if let (false, Some(delay)) = (preempt, &raw.preempt_delay_ms)
            && *delay.get_ref() > 0
        {
            self.push(
                Severity::Warning,
                Some(delay.span()),
                Some(name),
                Some("preempt_delay_ms"),
                ConfigErrorKind::PreemptDelayWithoutPreempt,
            );
        }
        let virtual_addresses = self.virtual_addresses(name, raw, interface_addresses.as_deref());
        let family = virtual_addresses
            .first()
            .map(|&address| AddressFamily::of(address));
        if priority == Some(i64::from(OWNER_PRIORITY)) {
            self.owner(
                name,
                raw,
                &virtual_addresses,
                interface_addresses.as_deref(),
            );
        }
        let track = self.track(name, raw);
        let allowed_peers = self.allowed_peers(name, raw, family);
        let unicast_peers = self.unicast_peers(
            name,
            raw,
            family,
            interface_addresses.as_deref(),
            &virtual_addresses,
            &allowed_peers,
        );
        let ipv4_checksum = self.ipv4_checksum(name, raw, family);
        let version = self.version(name, raw, family, advert_interval);
        let group = self.group(name, raw);
        let hooks = self.hooks(Some(name), &raw.hook);
        let router_advertisement = self.router_advertisement(name, raw, family);

        if self.error_count() > errors_before {
            return None;
        }
        // No new errors means every part above was checked into range.
        let config = InstanceConfig {
            name: name.to_owned(),
            interface: raw.interface.get_ref().clone(),
            vrid: u8::try_from(vrid?).ok()?,
            family: family?,
            priority: u8::try_from(priority?).ok()?,
            advert_interval,
            preempt,
            preempt_delay: Duration::from_millis(u64::try_from(preempt_delay_ms?).ok()?),
            accept_mode: raw.accept_mode.unwrap_or(false),
            virtual_addresses,
            track,
            allowed_peers,
            unicast_peers,
            lan_announcements: raw.lan_announcements.unwrap_or(true),
            ipv4_checksum,
            version,
            group,
            router_advertisement,
        };
        Some(Checked { config, raw, hooks })
    }

    /// The redundancy group label: as configured, or the instance name.
    fn group(&mut self, name: &str, raw: &RawInstance) -> String {
        let Some(group) = raw.group.as_ref() else {
            return name.to_owned();
        };
        if !is_valid_instance_name(group.get_ref()) {
            self.push(
                Severity::Error,
                Some(group.span()),
                Some(name),
                Some("group"),
                ConfigErrorKind::InvalidGroup {
                    group: group.get_ref().clone(),
                },
            );
        }
        group.get_ref().clone()
    }

    /// Checks the interface name and looks the interface up; its addresses when it exists.
    fn interface(
        &mut self,
        instance: &str,
        interface: &Spanned<String>,
    ) -> Option<Vec<InterfaceAddress>> {
        let name = interface.get_ref();
        if !is_valid_interface_name(name) {
            self.push(
                Severity::Error,
                Some(interface.span()),
                Some(instance),
                Some("interface"),
                ConfigErrorKind::InvalidInterfaceName {
                    field: "interface",
                    interface: name.clone(),
                },
            );
            return None;
        }
        match self.host.addresses(name) {
            Ok(Some(addresses)) => Some(addresses),
            Ok(None) => {
                let interface_name = name.clone();
                let kind = match self.mode {
                    Mode::Check => ConfigErrorKind::UnknownInterface {
                        interface: interface_name,
                    },
                    Mode::Run => ConfigErrorKind::AwaitedInterface {
                        interface: interface_name,
                    },
                };
                self.push(
                    Severity::Warning,
                    Some(interface.span()),
                    Some(instance),
                    Some("interface"),
                    kind,
                );
                None
            }
            Err(error) => {
                self.push(
                    Severity::Error,
                    Some(interface.span()),
                    Some(instance),
                    Some("interface"),
                    ConfigErrorKind::InterfaceQuery {
                        interface: name.clone(),
                        reason: error.to_string(),
                    },
                );
                None
            }
        }
    }

    /// `value` if it lies in `min..=max`; reports it otherwise.
    fn in_range(
        &mut self,
        instance: Option<&str>,
        field: &'static str,
        value: &Spanned<i64>,
        min: i64,
        max: i64,
    ) -> Option<i64> {
        let number = *value.get_ref();
        if (min..=max).contains(&number) {
            return Some(number);
        }
        self.push(
            Severity::Error,
            Some(value.span()),
            instance,
            Some(field),
            ConfigErrorKind::OutOfRange {
                field,
                value: number,
                min,
                max,
            },
        );
        None
    }

    /// The interval in centiseconds; the default when absent or invalid (invalid is reported).
    fn advert_interval(&mut self, instance: &str, raw: &RawInstance) -> Centiseconds {
        let Some(configured) = raw.advert_interval_ms.as_ref() else {
            return Centiseconds::DEFAULT;
        };
        let (min, max) = ADVERT_INTERVAL_MS;
        let Some(milliseconds) =
            self.in_range(Some(instance), "advert_interval_ms", configured, min, max)
        else {
            return Centiseconds::DEFAULT;
        };
        // RFC 9568 §5.2.7: the wire field counts centiseconds.
        if milliseconds % 10 != 0 {
            self.push(
                Severity::Error,
                Some(configured.span()),
                Some(instance),
                Some("advert_interval_ms"),
                ConfigErrorKind::IntervalNotCentiseconds {
                    value: milliseconds,
                },
            );
            return Centiseconds::DEFAULT;
        }
        u16::try_from(milliseconds / 10)
            .ok()
            .and_then(|centiseconds| Centiseconds::new(centiseconds).ok())
            .unwrap_or(Centiseconds::DEFAULT)
    }

    /// The parsed virtual addresses that passed every check, in order.
    fn virtual_addresses(
        &mut self,
        instance: &str,
        raw: &RawInstance,
        interface_addresses: Option<&[InterfaceAddress]>,
    ) -> Vec<IpAddr> {
        const FIELD: &str = "virtual_addresses";
        let listed = raw.virtual_addresses.get_ref();
        if listed.is_empty() {
            self.push(
                Severity::Error,
                Some(raw.virtual_addresses.span()),
                Some(instance),
                Some(FIELD),
                ConfigErrorKind::NoVirtualAddresses,
            );
        }
        let mut family = None;
        let mut accepted = Vec::new();
        for (index, text) in listed.iter().enumerate() {
            let Some(address) = self.parse_address(instance, FIELD, text) else {
                continue;
            };
            let span = Some(text.span());
            let error = |validator: &mut Self, kind: ConfigErrorKind| {
                validator.push(
                    Severity::Error,
                    span.clone(),
                    Some(instance),
                    Some(FIELD),
                    kind,
                );
            };
            let address_family = AddressFamily::of(address);
            let first_family = *family.get_or_insert(address_family);
            if accepted.contains(&address) {
                error(self, ConfigErrorKind::RepeatedVirtualAddress { address });
            } else if address_family != first_family {
                error(
                    self,
                    ConfigErrorKind::MixedFamilies {
                        address,
                        family: first_family,
                    },
                );
            } else if let Some(reason) = unusable_reason(address, interface_addresses) {
                error(self, ConfigErrorKind::UnusableAddress { address, reason });
            } else if index == 0
                && let IpAddr::V6(v6) = address
                && !v6.is_unicast_link_local()
            {
                // RFC 9568 §5.2.9: for IPv6 the first address is the link-local VIP.
                error(self, ConfigErrorKind::Ipv6FirstNotLinkLocal { address });
            } else {
                accepted.push(address);
            }
        }
        self.advert_fits(instance, raw, &accepted);
        accepted
    }

    /// One advert carries every virtual address (RFC 9568 §5.2.6), and must fit the
    /// interface's MTU when we know it (adverts are never fragmented: TTL 255, one link).
    fn advert_fits(&mut self, instance: &str, raw: &RawInstance, addresses: &[IpAddr]) {
        const MAX_ADDRESSES: usize = 255;
        let Some(first) = addresses.first() else {
            return;
        };
        let (ip_header, address_len) = match first {
            IpAddr::V4(_) => (IPV4_HEADER_LEN, 4),
            IpAddr::V6(_) => (IPV6_HEADER_LEN, 16),
        };
        let count = addresses.len();
        let size = ip_header + VRRP_HEADER_LEN + count * address_len;
        let interface = raw.interface.get_ref();
        let kind = if count > MAX_ADDRESSES {
            ConfigErrorKind::TooManyVirtualAddresses {
                count,
                limit: MAX_ADDRESSES,
            }
        } else if let Some(mtu) = self.host.mtu(interface)
            && size > mtu as usize
        {
            ConfigErrorKind::AdvertExceedsMtu {
                count,
                size,
                interface: interface.clone(),
                mtu,
                limit: (mtu as usize).saturating_sub(ip_header + VRRP_HEADER_LEN) / address_len,
            }
        } else {
            return;
        };
        self.push(
            Severity::Error,
            Some(raw.virtual_addresses.span()),
            Some(instance),
            Some("virtual_addresses"),
            kind,
        );
    }

    /// Parses an address, reporting text that is not one.
    fn parse_address(
        &mut self,
        instance: &str,
        field: &'static str,
        text: &Spanned<String>,
    ) -> Option<IpAddr> {
        let parsed = text.get_ref().parse().ok();
        if parsed.is_none() {
            self.push(
                Severity::Error,
                Some(text.span()),
                Some(instance),
                Some(field),
                ConfigErrorKind::InvalidAddress {
                    field,
                    text: text.get_ref().clone(),
                },
            );
        }
        parsed
    }

    /// RFC 9568 §5.2.4: priority 255 is for the router that owns the addresses, i.e. has them
    /// configured on the interface. Checked only when the interface exists here.
    fn owner(
        &mut self,
        instance: &str,
        raw: &RawInstance,
        virtual_addresses: &[IpAddr],
        interface_addresses: Option<&[InterfaceAddress]>,
    ) {
        if let Some(track) = raw
            .track
            .as_ref()
            .filter(|track| !track.get_ref().is_empty())
        {
            self.push(
                Severity::Error,
                Some(track.span()),
                Some(instance),
                Some("track"),
                ConfigErrorKind::OwnerTracks,
            );
        }
        let Some(interface_addresses) = interface_addresses else {
            return;
        };
        for &address in virtual_addresses {
            if !interface_addresses
                .iter()
                .any(|have| have.address == address)
            {
                self.push(
                    Severity::Error,
                    Some(raw.priority.as_ref().map_or(raw.name.span(), Spanned::span)),
                    Some(instance),
                    Some("priority"),
                    ConfigErrorKind::OwnerAddressMissing {
                        interface: raw.interface.get_ref().clone(),
                        address,
                    },
                );
            }
        }
    }

    fn track(&mut self, instance: &str, raw: &RawInstance) -> Vec<TrackedInterface> {
        const FIELD: &str = "track";
        let Some(entries) = raw.track.as_ref() else {
            return Vec::new();
        };
        let mut tracked: Vec<TrackedInterface> = Vec::new();
        for entry in entries.get_ref() {
            let entry = entry.get_ref();
            let interface = entry.interface.get_ref();
            let span = Some(entry.interface.span());
            let weight = self.in_range(Some(instance), "track.weight", &entry.weight, 1, 254);
            if !is_valid_interface_name(interface) {
                self.push(
                    Severity::Error,
                    span,
                    Some(instance),
                    Some(FIELD),
                    ConfigErrorKind::InvalidInterfaceName {
                        field: "track.interface",
                        interface: interface.clone(),
                    },
                );
                continue;
            }
            if tracked.iter().any(|t| &t.interface == interface) {
                self.push(
                    Severity::Error,
                    span,
                    Some(instance),
                    Some(FIELD),
                    ConfigErrorKind::RepeatedTrack {
                        interface: interface.clone(),
                    },
                );
                continue;
            }
            match self.host.addresses(interface) {
                Ok(Some(_)) => {}
                // Interfaces may come and go (VLANs, tunnels); the daemon treats an absent
                // one as down, so this is only a warning even when running.
                Ok(None) => self.push(
                    Severity::Warning,
                    span.clone(),
                    Some(instance),
                    Some(FIELD),
                    ConfigErrorKind::UnknownTrackedInterface {
                        interface: interface.clone(),
                    },
                ),
                Err(error) => self.push(
                    Severity::Error,
                    span.clone(),
                    Some(instance),
                    Some(FIELD),
                    ConfigErrorKind::InterfaceQuery {
                        interface: interface.clone(),
                        reason: error.to_string(),
                    },
                ),
            }
            if let Some(weight) = weight.and_then(|weight| u8::try_from(weight).ok()) {
                tracked.push(TrackedInterface {
                    interface: interface.clone(),
                    weight,
                });
            }
        }
        tracked
    }

    fn allowed_peers(
        &mut self,
        instance: &str,
        raw: &RawInstance,
        family: Option<AddressFamily>,
    ) -> Vec<IpAddr> {
        self.peer_list(instance, "allowed_peers", &raw.allowed_peers, family)
            .into_iter()
            .map(|(address, _)| address)
            .collect()
    }

    /// `unicast_peers`: unicast addresses of the instance's family, each once, none of them
    /// ours (the interface's addresses, when known, and the virtual addresses). IPv6 peers
    /// may be global (adverts go to them routed on the link), but adverts still come from the
    /// sender's link-local address (RFC 9568 §5.1.2.1), so a global one needs the peers'
    /// link-local addresses in `allowed_peers`, or nothing would be heard. A peer outside the
    /// interface's subnets (when known) is a warning: adverts must reach it unrouted (TTL 255).
    fn unicast_peers(
        &mut self,
        instance: &str,
        raw: &RawInstance,
        family: Option<AddressFamily>,
        interface_addresses: Option<&[InterfaceAddress]>,
        virtual_addresses: &[IpAddr],
        allowed_peers: &[IpAddr],
    ) -> Vec<IpAddr> {
        const FIELD: &str = "unicast_peers";
        let own: Vec<IpAddr> = interface_addresses
            .iter()
            .copied()
            .flatten()
            .map(|address| address.address)
            .chain(virtual_addresses.iter().copied())
            .collect();
        let mut peers = Vec::new();
        for (address, span) in self.peer_list(instance, FIELD, &raw.unicast_peers, family) {
            let kind = if peers.contains(&address) {
                ConfigErrorKind::RepeatedUnicastPeer { address }
            } else if own.contains(&address) {
                ConfigErrorKind::UnicastPeerIsOurs { address }
            } else if matches!(address, IpAddr::V6(v6) if !v6.is_unicast_link_local())
                && allowed_peers.is_empty()
            {
                ConfigErrorKind::GlobalUnicastPeerUnheard { address }
            } else {
                if let Some(subnets) = interface_addresses
                    && !is_link_local(address)
                    && !subnets
                        .iter()
                        .any(|&subnet| subnet_host(address, subnet).is_some())
                {
                    self.push(
                        Severity::Warning,
                        Some(span),
                        Some(instance),
                        Some(FIELD),
                        ConfigErrorKind::UnicastPeerOffLink {
                            address,
                            interface: raw.interface.get_ref().clone(),
                        },
                    );
                }
                peers.push(address);
                continue;
            };
            self.push(
                Severity::Error,
                Some(span),
                Some(instance),
                Some(FIELD),
                kind,
            );
        }
        let mut accepted = allowed_peers.to_vec();
        accepted.extend(peers.iter().filter(|peer| !allowed_peers.contains(peer)));
        if accepted.len() > MAX_PEERS_PER_INSTANCE && !peers.is_empty() {
            self.push(
                Severity::Error,
                raw.unicast_peers.first().map(Spanned::span),
                Some(instance),
                Some(FIELD),
                ConfigErrorKind::TooManyPeers {
                    field: "allowed_peers and unicast_peers",
                    count: accepted.len(),
                    max: MAX_PEERS_PER_INSTANCE,
                },
            );
        }
        peers
    }

    /// The addresses of peer list `field` (with their spans) that are of the instance's
    /// `family` and could be the source of an advert; IPv6 ones of `allowed_peers` must be
    /// link-local (RFC 9568 §5.1.2.1). At most [`MAX_PEERS_PER_INSTANCE`].
    fn peer_list(
        &mut self,
        instance: &str,
        field: &'static str,
        list: &[Spanned<String>],
        family: Option<AddressFamily>,
    ) -> Vec<(IpAddr, Range<usize>)> {
        let mut peers = Vec::new();
        for text in list {
            let Some(address) = self.parse_address(instance, field, text) else {
                continue;
            };
            let kind = if let Some(family) = family
                && AddressFamily::of(address) != family
            {
                ConfigErrorKind::PeerFamily {
                    field,
                    address,
                    family,
                }
            } else if !is_unicast(address) {
                ConfigErrorKind::PeerNotUnicast { field, address }
            } else if let IpAddr::V6(v6) = address
                && !v6.is_unicast_link_local()
                && field == "allowed_peers"
            {
                ConfigErrorKind::PeerNotLinkLocal { address }
            } else {
                peers.push((address, text.span()));
                continue;
            };
            self.push(
                Severity::Error,
                Some(text.span()),
                Some(instance),
                Some(field),
                kind,
            );
        }
        if list.len() > MAX_PEERS_PER_INSTANCE {
            self.push(
                Severity::Error,
                list.first().map(Spanned::span),
                Some(instance),
                Some(field),
                ConfigErrorKind::TooManyPeers {
                    field,
                    count: list.len(),
                    max: MAX_PEERS_PER_INSTANCE,
                },
            );
        }
        peers
    }

    /// The checksum style: IPv4 only, one of the named styles; RFC 9568 unless configured.
    fn ipv4_checksum(
        &mut self,
        instance: &str,
        raw: &RawInstance,
        family: Option<AddressFamily>,
    ) -> ChecksumStyle {
        const FIELD: &str = "ipv4_checksum";
        let Some(text) = raw.ipv4_checksum.as_ref() else {
            return ChecksumStyle::Rfc9568;
        };
        let kind = match ChecksumStyle::from_name(text.get_ref()) {
            None => ConfigErrorKind::UnknownChecksumStyle {
                value: text.get_ref().clone(),
            },
            Some(_) if family == Some(AddressFamily::Ipv6) => ConfigErrorKind::ChecksumStyleOnIpv6,
            Some(style) => return style,
        };
        self.push(
            Severity::Error,
            Some(text.span()),
            Some(instance),
            Some(FIELD),
            kind,
        );
        ChecksumStyle::Rfc9568
    }

    /// The VRRP version: 3 unless configured; 2 and "2+3" only for IPv4, with an interval of
    /// whole seconds (RFC 3768 §5.3.7: VRRPv2's Adver Int counts seconds).
    fn version(
        &mut self,
        instance: &str,
        raw: &RawInstance,
        family: Option<AddressFamily>,
        advert_interval: Centiseconds,
    ) -> VersionMode {
        const FIELD: &str = "version";
        let Some(configured) = raw.version.as_ref() else {
            return VersionMode::V3;
        };
        let text = match configured.get_ref() {
            RawVersion::Number(number) => number.to_string(),
            RawVersion::Text(text) => text.clone(),
        };
        let kind = match VersionMode::from_name(&text) {
            None => ConfigErrorKind::UnknownVersion { value: text },
            Some(VersionMode::V3) => return VersionMode::V3,
            Some(_) if family == Some(AddressFamily::Ipv6) => {
                ConfigErrorKind::Version2OnIpv6 { value: text }
            }
            Some(_) if !advert_interval.get().is_multiple_of(100) => {
                ConfigErrorKind::Version2Interval {
                    value: text,
                    interval_ms: u32::from(advert_interval.get()) * 10,
                }
            }
            Some(mode) => return mode,
        };
        self.push(
            Severity::Error,
            Some(configured.span()),
            Some(instance),
            Some(FIELD),
            kind,
        );
        VersionMode::V3
    }

    /// Instance names are unique; checked on every instance, valid or not.
    fn unique_names(&mut self, raw: &RawFile) {
        let mut first_lines: HashMap<&str, usize> = HashMap::new();
        for instance in &raw.instances {
            let name = instance.get_ref().name.get_ref().as_str();
            let span = instance.get_ref().name.span();
            let line = self.line(span.start);
            if let Some(&first_line) = first_lines.get(name) {
                self.push(
                    Severity::Error,
                    Some(span),
                    Some(name),
                    Some("name"),
                    ConfigErrorKind::DuplicateName {
                        name: name.to_owned(),
                        first_line,
                    },
                );
            } else {
                first_lines.insert(name, line);
            }
        }
    }

    /// One instance per (interface, VRID, family), and each virtual address in one instance.
    /// A link-local address only means something on its link, so `fe80::1` may be a virtual
    /// address on several interfaces (once per interface).
    fn unique_routers_and_addresses(&mut self, checked: &[Checked<'_>]) {
        let mut routers: HashMap<(&str, u8, AddressFamily), &str> = HashMap::new();
        let mut owners: HashMap<(Option<&str>, IpAddr), &str> = HashMap::new();
        for Checked { config, raw, .. } in checked {
            let key = (config.interface.as_str(), config.vrid, config.family);
            if let Some(other) = routers.insert(key, &config.name) {
                self.push(
                    Severity::Error,
                    Some(raw.vrid.span()),
                    Some(&config.name),
                    Some("vrid"),
                    ConfigErrorKind::DuplicateVirtualRouter {
                        interface: config.interface.clone(),
                        vrid: config.vrid,
                        family: config.family,
                        other: other.to_owned(),
                    },
                );
                // Keep pointing later duplicates at the first instance.
                routers.insert(key, other);
            }
            // A valid instance had no rejected address, so the parsed and the raw lists line up.
            let spans = raw.virtual_addresses.get_ref().iter().map(Spanned::span);
            for (&address, text) in config.virtual_addresses.iter().zip(spans) {
                let link = match address {
                    IpAddr::V6(v6) if v6.is_unicast_link_local() => Some(config.interface.as_str()),
                    _ => None,
                };
                match owners.get(&(link, address)) {
                    Some(other) => self.push(
                        Severity::Error,
                        Some(text),
                        Some(&config.name),
                        Some("virtual_addresses"),
                        ConfigErrorKind::SharedVirtualAddress {
                            address,
                            other: (*other).to_owned(),
                        },
                    ),
                    None => {
                        owners.insert((link, address), &config.name);
                    }
                }
            }
        }
    }
}

impl Validator<'_> {
    /// The data plane holds [`MAX_PEERS`] allowed peers per interface, all instances together.
    fn peers_per_interface(&mut self, checked: &[Checked<'_>]) {
        let mut listed: HashMap<&str, usize> = HashMap::new();
        for Checked { config, raw, .. } in checked {
            let count = listed.entry(config.interface.as_str()).or_insert(0);
            let accepted = config.accepted_peers().len();
            *count += accepted;
            if *count > MAX_PEERS as usize && accepted > 0 {
                self.push(
                    Severity::Error,
                    raw.allowed_peers
                        .first()
                        .or(raw.unicast_peers.first())
                        .map(Spanned::span),
                    Some(&config.name),
                    Some("allowed_peers"),
                    ConfigErrorKind::TooManyPeersOnInterface {
                        interface: config.interface.clone(),
                        max: MAX_PEERS as usize,
                    },
                );
            }
        }
    }
}

/// Why `address` cannot be a virtual address, looking at the interface's subnets when known.
fn unusable_reason(
    address: IpAddr,
    interface_addresses: Option<&[InterfaceAddress]>,
) -> Option<UnusableReason> {
    if address.is_unspecified() {
        return Some(UnusableReason::Unspecified);
    }
    if address.is_multicast() {
        return Some(UnusableReason::Multicast);
    }
    if address.is_loopback() {
        return Some(UnusableReason::Loopback);
    }
    match address {
        IpAddr::V4(v4) if v4.is_broadcast() => return Some(UnusableReason::LimitedBroadcast),
        IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some() => {
            return Some(UnusableReason::Ipv4Mapped);
        }
        _ => {}
    }
    interface_addresses?
        .iter()
        .find_map(|&subnet| subnet_edge(address, subnet))
}

/// Whether `address` is the network (all host bits zero) or, for IPv4, the broadcast (all host
/// bits one) address of `subnet`. Point-to-point prefixes (/31, /32, RFC 3021; /127, /128, RFC
/// 6164) have no such addresses.
fn subnet_edge(address: IpAddr, subnet: InterfaceAddress) -> Option<UnusableReason> {
    let (host, host_width, width) = subnet_host(address, subnet)?;
    if host_width < 2 {
        return None;
    }
    let host_mask = u128::MAX >> (128 - host_width);
    if host == 0 {
        Some(UnusableReason::NetworkAddress { subnet })
    } else if host == host_mask && width == 32 {
        Some(UnusableReason::SubnetBroadcast { subnet })
    } else {
        None
    }
}

/// The host part of `address` in `subnet`, the host part's width and the address width, when
/// `address` is in `subnet`.
fn subnet_host(address: IpAddr, subnet: InterfaceAddress) -> Option<(u128, u32, u32)> {
    let (address_bits, subnet_bits, width) = match (address, subnet.address) {
        (IpAddr::V4(a), IpAddr::V4(s)) => (u128::from(u32::from(a)), u128::from(u32::from(s)), 32),
        (IpAddr::V6(a), IpAddr::V6(s)) => (u128::from(a), u128::from(s), 128),
        _ => return None,
    };
    let host_width = width - u32::from(subnet.prefix_len).min(width);
    let host_mask = u128::MAX.checked_shr(128 - host_width).unwrap_or(0);
    (address_bits & !host_mask == subnet_bits & !host_mask).then_some((
        address_bits & host_mask,
        host_width,
        width,
    ))
}

fn is_link_local(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => v6.is_unicast_link_local(),
    }
}

/// Could be the source of an advert.
fn is_unicast(address: IpAddr) -> bool {
    let special = match address {
        IpAddr::V4(v4) => v4.is_broadcast(),
        IpAddr::V6(_) => false,
    };
    !(address.is_unspecified() || address.is_multicast() || address.is_loopback() || special)
}

fn is_valid_instance_name(name: &str) -> bool {
    (1..=MAX_INSTANCE_NAME_CHARS).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// Linux `dev_valid_name()`: 1..=15 bytes, not `.` or `..`, no `/`, `:` or whitespace.
fn is_valid_interface_name(name: &str) -> bool {
    (1..=MAX_INTERFACE_NAME_BYTES).contains(&name.len())
        && name != "."
        && name != ".."
        && !name
            .chars()
            .any(|c| c == '/' || c == ':' || c.is_whitespace())
}
