//! The daemon configuration: the TOML file model, loading, and the validated [`Config`].
//!
//! A file has an optional `[global]` table and one `[[instance]]` table per virtual router, that
//! is per (interface, VRID, address family). An array of tables rather than `[instance.<name>]`
//! keeps each router's block self-contained and lets the name be an ordinary key that is checked
//! like the others:
//!
//! ```toml
//! [global]
//! log_format = "json"                  # "text" (default) or "json"
//! # bpffs = "/sys/fs/bpf/xvrrp"        # where the XDP maps are pinned
//! # control_socket = "/run/xvrrp.sock"
//! # journal = "/var/lib/xvrrp/events.jsonl"   # event history, JSON Lines
//! # journal_max_bytes = 1048576        # rotated to <journal>.1 beyond this; 4096..=1 GiB
//! # metrics = false                    # Prometheus /metrics over HTTP
//! # metrics_listen = "127.0.0.1:9568"
//! # realtime_priority = 10             # SCHED_FIFO for the event loop; 0: ordinary scheduling
//! # lock_memory = true                 # mlockall(MCL_ONFAULT): no page-ins in the loop
//!
//! [[global.hook]]                      # run on every instance's transitions (any number)
//! command = ["/usr/local/bin/on-vrrp", "--site", "a"]   # absolute program, fixed arguments
//! timeout_ms = 10000                   # killed beyond this; default 10000
//! states = ["Master", "Backup"]        # only transitions to these; default all
//!
//! [global.webhook]                     # POST every event record as JSON
//! url = "https://alerts.example.net/vrrp"
//! # timeout_ms = 5000, retries = 3, queue = 100
//!
//! [[instance]]
//! name = "lan-v4"                      # 1..=32 of A-Z a-z 0-9 . _ -, unique
//! interface = "eth0"
//! vrid = 51                            # 1..=255, unique per interface and family
//! priority = 200                       # 1..=254, or 255 for the address owner; default 100
//! advert_interval_ms = 1000            # multiple of 10 in 10..=40950; default 1000
//! preempt = true                       # default true
//! preempt_delay_ms = 0                 # default 0
//! accept_mode = false                  # default false
//! virtual_addresses = ["192.0.2.1"]    # one family; IPv6 starts with a fe80::/10 address
//! track = [{ interface = "eth1", weight = 50 }]  # priority - weight while eth1 is down
//! allowed_peers = []                   # advert sources accepted (at most 16); empty = any
//! unicast_peers = []                   # send adverts to these instead of the multicast group;
//!                                      # only they (and allowed_peers) are heard
//! lan_announcements = true             # gratuitous ARP / unsolicited NA on becoming Master
//! ipv4_checksum = "rfc9568"            # or "without-pseudo-header" (Cisco, Arista) or
//!                                      # "accept-both" (sends RFC 9568); IPv4 only
//! version = 3                          # VRRP version: 3, 2 (RFC 3768) or "2+3" (RFC 9568
//!                                      # §8.4); 2 and "2+3" IPv4 only, whole seconds
//! group = "lan-v4"                     # metrics label of the redundancy group; default: name
//! # [instance.router_advertisement]    # IPv6: RAs while Master (see `router_advert`)
//!
//! [[instance.hook]]                    # this instance's own hooks, same keys as global ones
//! command = ["/usr/local/bin/lan-v4-changed"]
//! ```
//!
//! Unknown keys are errors, so a typo never silently falls back to a default. [`load`] reports
//! every problem it finds, each with file, line, instance and field; problems found by looking at
//! the host (an absent interface) depend on [`Mode`].

pub mod check;
mod error;
mod host;
pub mod peer;
pub mod router_advert;
mod validate;

use std::collections::BTreeMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use toml::Spanned;
pub use vrrp_common::advert::{ChecksumStyle, VersionMode};

pub use crate::proto::AddressFamily;
use crate::proto::{Centiseconds, OWNER_PRIORITY, State};
pub use error::{ConfigError, ConfigErrorKind, Location, Severity, UnusableReason};
pub use host::{HostInterfaces, InterfaceAddress, SystemInterfaces};
use router_advert::RawRouterAdvert;
pub use router_advert::RouterAdvertConfig;

/// The configuration file the packaged systemd unit runs with (the default of `xvrrp plan`).
pub const DEFAULT_CONFIG: &str = "/etc/xvrrp/xvrrp.toml";
/// Where the XDP maps are pinned unless `[global] bpffs` says otherwise.
pub const DEFAULT_BPFFS: &str = "/sys/fs/bpf/xvrrp";
/// The control socket path unless `[global] control_socket` says otherwise.
pub const DEFAULT_CONTROL_SOCKET: &str = "/run/xvrrp.sock";
/// The event journal unless `[global] journal` says otherwise.
pub const DEFAULT_JOURNAL: &str = "/var/lib/xvrrp/events.jsonl";
/// Journal size before rotation unless `[global] journal_max_bytes` says otherwise.
pub const DEFAULT_JOURNAL_MAX_BYTES: u64 = 1 << 20;
/// SCHED_FIFO priority of the event loop by default: low in the real-time range, so that
/// interrupt threads (priority 50 on PREEMPT_RT kernels) still come first.
pub const DEFAULT_REALTIME_PRIORITY: u8 = 10;
/// RFC 9568 §5.2.4: the default priority of a router that is not the address owner.
pub const DEFAULT_PRIORITY: u8 = 100;

/// A validated configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Daemon-wide settings.
    pub global: GlobalConfig,
    /// The virtual routers, in file order.
    pub instances: Vec<InstanceConfig>,
}

/// Daemon-wide settings (`[global]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalConfig {
    /// bpffs directory the XDP maps are pinned under.
    pub bpffs: PathBuf,
    /// Log output format.
    pub log_format: LogFormat,
    /// Unix socket of the operations interface.
    pub control_socket: PathBuf,
    /// The JSON Lines event journal.
    pub journal: PathBuf,
    /// Journal size at which it is rotated to `<journal>.1`.
    pub journal_max_bytes: u64,
    /// Where `/metrics` listens; `None`: metrics are off.
    pub metrics_listen: Option<SocketAddr>,
    /// SCHED_FIFO priority of the event loop (`realtime_priority`, 0 in the file: `None`, off).
    pub realtime_priority: Option<u8>,
    /// Lock the daemon's memory (`lock_memory`).
    pub lock_memory: bool,
    /// What the operations layer runs or posts on events. Per-instance hooks are here too, so
    /// that a reload that changes them is told they wait for a restart like the rest.
    pub notify: NotifyConfig,
}

/// Hooks and the webhook (`[[global.hook]]`, `[[instance.hook]]`, `[global.webhook]`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotifyConfig {
    /// Run on the transitions of every instance, before the instance's own.
    pub hooks: Vec<HookConfig>,
    /// Each instance's own hooks, by instance name (instances without any are absent).
    pub instance_hooks: BTreeMap<String, Vec<HookConfig>>,
    /// Where event records are posted, if anywhere.
    pub webhook: Option<WebhookConfig>,
}

/// An executable run on transitions, without a shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookConfig {
    /// The absolute program path, then its fixed arguments (no NUL in any).
    pub command: Vec<String>,
    /// Killed, with its process group, when it runs longer.
    pub timeout: Duration,
    /// Run only on transitions to these states; empty: every transition.
    pub states: Vec<State>,
}

impl HookConfig {
    /// Whether a transition to `to` runs this hook.
    pub fn wants(&self, to: State) -> bool {
        self.states.is_empty() || self.states.contains(&to)
    }
}

/// HTTP(S) POST of every event record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookConfig {
    /// An `http://` or `https://` URL.
    pub url: String,
    /// Limit of one attempt (connect, send, response headers).
    pub timeout: Duration,
    /// Attempts after the first failed one, with backoff.
    pub retries: u32,
    /// Records waiting for delivery; more are dropped and counted.
    pub queue: usize,
}

impl Default for GlobalConfig {
    fn default() -> Self {
        Self {
            bpffs: PathBuf::from(DEFAULT_BPFFS),
            log_format: LogFormat::default(),
            control_socket: PathBuf::from(DEFAULT_CONTROL_SOCKET),
            journal: PathBuf::from(DEFAULT_JOURNAL),
            journal_max_bytes: DEFAULT_JOURNAL_MAX_BYTES,
            metrics_listen: None,
            realtime_priority: Some(DEFAULT_REALTIME_PRIORITY),
            lock_memory: true,
            notify: NotifyConfig::default(),
        }
    }
}

/// Log output format, from `[global] log_format` or `xvrrp run --log-format`.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// One validated virtual router. Field names match the state machine's `RouterConfig`; the
/// primary address is not here because it is read from the interface at run time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceConfig {
    /// Unique instance name, used in logs and commands.
    pub name: String,
    /// The interface the virtual router runs on.
    pub interface: String,
    /// Virtual Router Identifier, 1..=255.
    pub vrid: u8,
    /// The family of all `virtual_addresses`.
    pub family: AddressFamily,
    /// Configured priority: 1..=254, or 255 for the address owner.
    pub priority: u8,
    /// Advertisement_Interval in centiseconds, 1..=4095.
    pub advert_interval: Centiseconds,
    /// Preempt_Mode.
    pub preempt: bool,
    /// How long a Backup waits before preempting a lower-priority Master.
    pub preempt_delay: Duration,
    /// Accept_Mode.
    pub accept_mode: bool,
    /// The virtual addresses in advert order; for IPv6 the first is link-local.
    pub virtual_addresses: Vec<IpAddr>,
    /// Interfaces whose link state lowers the priority.
    pub track: Vec<TrackedInterface>,
    /// Advert sources accepted; empty accepts any. Enforced in the data plane.
    pub allowed_peers: Vec<IpAddr>,
    /// Where adverts go as unicast IP instead of the VRRP multicast group; empty: multicast.
    /// Listing them also lists them as accepted sources ([`Self::accepted_peers`]).
    pub unicast_peers: Vec<IpAddr>,
    /// Whether a new Master announces its addresses on the LAN (gratuitous ARP, unsolicited
    /// NA); off where a hook moves the address instead (clouds).
    pub lan_announcements: bool,
    /// The VRRPv3 checksum sent and accepted (IPv4; always RFC 9568 for IPv6).
    pub ipv4_checksum: ChecksumStyle,
    /// The VRRP versions sent and accepted (VRRPv2 for IPv4 only).
    pub version: VersionMode,
    /// The redundancy group, a metrics label shared by the routers that back each other up
    /// (the instance name unless configured).
    pub group: String,
    /// Router Advertisements sent while Master (IPv6; `None`: none).
    pub router_advertisement: Option<RouterAdvertConfig>,
}

impl InstanceConfig {
    /// The advert sources the instance accepts, `allowed_peers` then `unicast_peers` without
    /// repeats; empty accepts any. The data plane and the daemon's screening enforce this list.
    pub fn accepted_peers(&self) -> Vec<IpAddr> {
        let mut peers = self.allowed_peers.clone();
        for peer in &self.unicast_peers {
            if !peers.contains(peer) {
                peers.push(*peer);
            }
        }
        peers
    }

    /// Whether adverts from `source` are accepted ([`Self::accepted_peers`]), without
    /// building the list.
    pub fn accepts_source(&self, source: IpAddr) -> bool {
        (self.allowed_peers.is_empty() && self.unicast_peers.is_empty())
            || self.allowed_peers.contains(&source)
            || self.unicast_peers.contains(&source)
    }

    /// True for the address owner (priority 255).
    pub fn is_owner(&self) -> bool {
        self.priority == OWNER_PRIORITY
    }

    /// The priority to advertise given the link state of the tracked interfaces: the configured
    /// priority minus the weight of every tracked interface that is down, never below 1 (0 would
    /// mean "Master is stopping", RFC 9568 §5.2.4).
    pub fn effective_priority(&self, is_up: impl Fn(&str) -> bool) -> u8 {
        let lowered = self
            .track
            .iter()
            .filter(|tracked| !is_up(&tracked.interface))
            .fold(self.priority, |priority, tracked| {
                priority.saturating_sub(tracked.weight)
            });
        lowered.max(1)
    }
}

/// A tracked interface and how much its being down lowers the priority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackedInterface {
    /// The interface whose link state is watched.
    pub interface: String,
    /// Subtracted from the priority while the link is down, 1..=254.
    pub weight: u8,
}

/// What the configuration is loaded for; it decides the severity of host-dependent problems.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `xvrrp check-config`: the file may be checked on another host, so an absent interface is
    /// a warning.
    Check,
    /// `xvrrp run`: an absent interface is a warning too; the daemon waits for it.
    Run,
}

/// A usable configuration and the warnings found on the way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    /// The validated configuration.
    pub config: Config,
    /// Problems of severity [`Severity::Warning`].
    pub warnings: Vec<ConfigError>,
}

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The file has at least one error; `problems` holds every error and warning, by line.
    #[error("{}", render_problems(problems))]
    Invalid {
        /// Errors and warnings in line order.
        problems: Vec<ConfigError>,
    },
}

fn render_problems(problems: &[ConfigError]) -> String {
    problems
        .iter()
        .map(|problem| format!("{}: {problem}", problem.severity))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Reads and validates the configuration file at `path`.
pub fn load(path: &Path, host: &dyn HostInterfaces, mode: Mode) -> Result<Loaded, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse(&text, path, host, mode)
}

/// Validates configuration `text`; `file` is only used to name the file in problems.
pub fn parse(
    text: &str,
    file: &Path,
    host: &dyn HostInterfaces,
    mode: Mode,
) -> Result<Loaded, LoadError> {
    validate::validate(text, file, host, mode)
}

/// The file as written, before semantic checks. Numbers stay `i64` (TOML's integer) so that an
/// out-of-range value gets our message with its field name rather than a serde type error.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    global: RawGlobal,
    #[serde(default, rename = "instance")]
    instances: Vec<Spanned<RawInstance>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGlobal {
    bpffs: Option<Spanned<PathBuf>>,
    log_format: Option<LogFormat>,
    control_socket: Option<Spanned<PathBuf>>,
    journal: Option<Spanned<PathBuf>>,
    journal_max_bytes: Option<Spanned<i64>>,
    metrics: Option<bool>,
    metrics_listen: Option<Spanned<String>>,
    realtime_priority: Option<Spanned<i64>>,
    lock_memory: Option<bool>,
    #[serde(default)]
    hook: Vec<Spanned<RawHook>>,
    webhook: Option<Spanned<RawWebhook>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHook {
    command: Spanned<Vec<Spanned<String>>>,
    timeout_ms: Option<Spanned<i64>>,
    states: Option<Vec<Spanned<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWebhook {
    url: Spanned<String>,
    timeout_ms: Option<Spanned<i64>>,
    retries: Option<Spanned<i64>>,
    queue: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInstance {
    name: Spanned<String>,
    interface: Spanned<String>,
    vrid: Spanned<i64>,
    priority: Option<Spanned<i64>>,
    advert_interval_ms: Option<Spanned<i64>>,
    preempt: Option<bool>,
    preempt_delay_ms: Option<Spanned<i64>>,
    accept_mode: Option<bool>,
    virtual_addresses: Spanned<Vec<Spanned<String>>>,
    track: Option<Spanned<Vec<Spanned<RawTrack>>>>,
    #[serde(default)]
    allowed_peers: Vec<Spanned<String>>,
    #[serde(default)]
    unicast_peers: Vec<Spanned<String>>,
    lan_announcements: Option<bool>,
    ipv4_checksum: Option<Spanned<String>>,
    version: Option<Spanned<RawVersion>>,
    group: Option<Spanned<String>>,
    #[serde(default)]
    hook: Vec<Spanned<RawHook>>,
    router_advertisement: Option<Spanned<RawRouterAdvert>>,
}

/// `version = 3`, `2`, `"3"`, `"2"` or `"2+3"`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawVersion {
    Number(i64),
    Text(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTrack {
    interface: Spanned<String>,
    weight: Spanned<i64>,
}

#[cfg(test)]
mod tests;
