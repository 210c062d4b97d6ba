//! Typed configuration problems. Each names the file, the line, the instance and the field, so
//! that `xvrrp check-config` can print every problem in one pass.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;

use serde::Serialize;

use super::AddressFamily;
use super::host::InterfaceAddress;

/// How bad a problem is. Warnings are printed and the configuration is still used; errors make
/// it unusable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Suspicious but usable (for example an interface that is absent while checking a file).
    Warning,
    /// The configuration cannot be used.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Warning => "warning",
            Self::Error => "error",
        })
    }
}

/// Where a problem is: the file and, when known, the 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Location {
    /// The configuration file as given on the command line.
    pub file: PathBuf,
    /// 1-based line number; `None` for problems of the whole file.
    pub line: Option<usize>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}", self.file.display()),
            None => write!(f, "{}", self.file.display()),
        }
    }
}

/// One problem found in a configuration file, displayed as
/// `examples/x.toml:12: instance "lan": vrid 0 is out of range 1..=255`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{location}: {}{kind}", instance_prefix(.instance.as_deref()))]
pub struct ConfigError {
    /// Whether the configuration is still usable.
    pub severity: Severity,
    /// File and line.
    pub location: Location,
    /// The `name` of the instance the problem is in, when it is in one and the name is known.
    pub instance: Option<String>,
    /// The TOML key at fault (`vrid`, `track`, …), when there is a single one.
    pub field: Option<&'static str>,
    /// What is wrong.
    pub kind: ConfigErrorKind,
}

fn instance_prefix(instance: Option<&str>) -> String {
    instance.map_or_else(String::new, |name| format!("instance {name:?}: "))
}

/// What is wrong, one variant per rule. The messages name the field and, where an RFC rule is
/// the reason, the section.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigErrorKind {
    /// The file is not valid TOML or does not fit the schema (unknown key, wrong type, missing
    /// key). The message is the TOML parser's.
    #[error("{message}")]
    Syntax {
        /// The parser's description.
        message: String,
    },
    /// The file defines no `[[instance]]`.
    #[error("no [[instance]] is defined; the daemon would have nothing to do")]
    NoInstances,
    /// A number outside its allowed range.
    #[error("{field} {value} is out of range {min}..={max}")]
    OutOfRange {
        /// The TOML key.
        field: &'static str,
        /// The configured value.
        value: i64,
        /// The smallest allowed value.
        min: i64,
        /// The largest allowed value.
        max: i64,
    },
    /// An advertisement interval that the centisecond wire field cannot carry.
    #[error(
        "advert_interval_ms {value} is not a multiple of 10 \
         (the wire carries centiseconds, RFC 9568 §5.2.7)"
    )]
    IntervalNotCentiseconds {
        /// The configured value in milliseconds.
        value: i64,
    },
    /// An instance name that cannot be used in logs, metrics and commands as is.
    #[error("name {name:?} must be 1..=32 characters from A-Z a-z 0-9 . _ -")]
    InvalidName {
        /// The configured name.
        name: String,
    },
    /// Two instances share a name.
    #[error("name {name:?} is already used by the instance at line {first_line}")]
    DuplicateName {
        /// The shared name.
        name: String,
        /// Line of the first instance with that name.
        first_line: usize,
    },
    /// Not something Linux accepts as an interface name.
    #[error(
        "{field} {interface:?} is not a valid interface name \
         (1..=15 bytes, no '/', ':' or whitespace)"
    )]
    InvalidInterfaceName {
        /// `interface` or `track.interface`.
        field: &'static str,
        /// The configured name.
        interface: String,
    },
    /// The instance's interface is absent (`xvrrp check-config`: the file may be meant for
    /// another host).
    #[error("interface {interface:?} does not exist on this host")]
    UnknownInterface {
        /// The configured name.
        interface: String,
    },
    /// The instance's interface is absent (`xvrrp run`): its instances wait for it.
    #[error("interface {interface:?} does not exist yet; its instances start when it appears")]
    AwaitedInterface {
        /// The configured name.
        interface: String,
    },
    /// A tracked interface is absent; the daemon treats it as down.
    #[error("tracked interface {interface:?} does not exist on this host; it counts as down")]
    UnknownTrackedInterface {
        /// The configured name.
        interface: String,
    },
    /// Reading the host's interfaces failed.
    #[error("cannot read the addresses of interface {interface:?}: {reason}")]
    InterfaceQuery {
        /// The interface looked up.
        interface: String,
        /// The OS error, as text so that the error stays `Clone`.
        reason: String,
    },
    /// A string that is not an IP address.
    #[error("{field}: {text:?} is not an IP address")]
    InvalidAddress {
        /// `virtual_addresses` or `allowed_peers`.
        field: &'static str,
        /// The configured text.
        text: String,
    },
    /// An instance without virtual addresses.
    #[error("virtual_addresses is empty; at least one address is required")]
    NoVirtualAddresses,
    /// Virtual addresses of both families in one instance.
    #[error(
        "virtual_addresses mixes families: {address} is not {family} like the first address; \
         use one instance per family (RFC 9568 §5.2.9)"
    )]
    MixedFamilies {
        /// The address of the other family.
        address: IpAddr,
        /// The family of the first address.
        family: AddressFamily,
    },
    /// An IPv6 instance whose first virtual address is not link-local.
    #[error(
        "the first IPv6 virtual address must be link-local (fe80::/10), found {address} \
         (RFC 9568 §5.2.9)"
    )]
    Ipv6FirstNotLinkLocal {
        /// The configured first address.
        address: IpAddr,
    },
    /// A virtual address that cannot be a host address.
    #[error("{address} cannot be a virtual address: it is {reason}")]
    UnusableAddress {
        /// The configured address.
        address: IpAddr,
        /// Why not.
        reason: UnusableReason,
    },
    /// More virtual addresses than one advert carries (RFC 9568 §5.2.6: Count IPvX Addr is
    /// one byte).
    #[error(
        "{count} virtual addresses: an advert carries at most {limit} (Count IPvX Addr is 8 bits, \
         RFC 9568 §5.2.6)"
    )]
    TooManyVirtualAddresses {
        /// How many are configured.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// An advert with every virtual address does not fit the interface MTU.
    #[error(
        "{count} virtual addresses make a {size}-byte advert, more than the MTU {mtu} of \
         {interface}; at most {limit} fit"
    )]
    AdvertExceedsMtu {
        /// How many are configured.
        count: usize,
        /// The IP packet size of the advert.
        size: usize,
        /// The interface.
        interface: String,
        /// Its MTU.
        mtu: u32,
        /// How many addresses would fit.
        limit: usize,
    },
    /// The same virtual address twice in one instance.
    #[error("virtual address {address} is listed twice")]
    RepeatedVirtualAddress {
        /// The repeated address.
        address: IpAddr,
    },
    /// The same virtual address in two instances.
    #[error("virtual address {address} is also a virtual address of instance {other:?}")]
    SharedVirtualAddress {
        /// The shared address.
        address: IpAddr,
        /// The instance that has it first.
        other: String,
    },
    /// Two instances for the same virtual router.
    #[error("vrid {vrid} is already used for {family} on {interface} by instance {other:?}")]
    DuplicateVirtualRouter {
        /// The interface.
        interface: String,
        /// The VRID.
        vrid: u8,
        /// The family.
        family: AddressFamily,
        /// The instance that has it first.
        other: String,
    },
    /// Priority 255 claims ownership of addresses the interface does not have.
    #[error(
        "priority 255 means this router owns its virtual addresses, but {address} is not \
         configured on {interface} (RFC 9568 §5.2.4)"
    )]
    OwnerAddressMissing {
        /// The interface.
        interface: String,
        /// The virtual address it lacks.
        address: IpAddr,
    },
    /// Tracking on the address owner, whose priority must stay 255.
    #[error("track cannot lower the priority of an address owner (priority 255, RFC 9568 §5.2.4)")]
    OwnerTracks,
    /// The same interface tracked twice in one instance.
    #[error("tracked interface {interface:?} is listed twice")]
    RepeatedTrack {
        /// The interface.
        interface: String,
    },
    /// A peer (`allowed_peers`, `unicast_peers`) of the other family.
    #[error("{field}: {address} is not {family} like the virtual addresses")]
    PeerFamily {
        /// The list it is in.
        field: &'static str,
        /// The configured peer.
        address: IpAddr,
        /// The instance's family.
        family: AddressFamily,
    },
    /// A peer that can never be an advert source.
    #[error("{field}: {address} is not a unicast address")]
    PeerNotUnicast {
        /// The list it is in.
        field: &'static str,
        /// The configured peer.
        address: IpAddr,
    },
    /// An IPv6 allowed peer that can never be an advert source.
    #[error(
        "allowed_peers: {address} is not link-local, but IPv6 adverts come from the sender's \
         link-local address (RFC 9568 §5.1.2.1)"
    )]
    PeerNotLinkLocal {
        /// The configured peer.
        address: IpAddr,
    },
    /// More allowed peers than the data plane holds per instance.
    #[error("{field} lists {count} peers; at most {max} are supported")]
    TooManyPeers {
        /// The list (or lists) counted.
        field: &'static str,
        /// Peers configured.
        count: usize,
        /// The limit (`vrrp_common::maps::MAX_PEERS_PER_INSTANCE`).
        max: usize,
    },
    /// A unicast peer listed twice.
    #[error("unicast_peers: {address} is listed twice")]
    RepeatedUnicastPeer {
        /// The configured peer.
        address: IpAddr,
    },
    /// A unicast peer that is one of our own addresses (interface or virtual).
    #[error(
        "unicast_peers: {address} is an address of this router (its interface or a virtual address)"
    )]
    UnicastPeerIsOurs {
        /// The configured peer.
        address: IpAddr,
    },
    /// A unicast peer in none of the interface's subnets.
    #[error(
        "unicast_peers: {address} is in none of {interface}'s subnets; adverts reach only peers \
         on the link (TTL 255, RFC 9568 §7.1)"
    )]
    UnicastPeerOffLink {
        /// The configured peer.
        address: IpAddr,
        /// The instance's interface.
        interface: String,
    },
    /// A global IPv6 unicast peer whose adverts nothing would accept.
    #[error(
        "unicast_peers: {address} is global, but IPv6 adverts come from the sender's link-local \
         address (RFC 9568 §5.1.2.1): list the peers' link-local addresses in allowed_peers"
    )]
    GlobalUnicastPeerUnheard {
        /// The configured peer.
        address: IpAddr,
    },
    /// More allowed peers on one interface than its data plane holds.
    #[error(
        "the instances on {interface} list more than {max} allowed_peers together, the most \
         its data plane holds"
    )]
    TooManyPeersOnInterface {
        /// The interface.
        interface: String,
        /// The limit (`vrrp_common::maps::MAX_PEERS`).
        max: usize,
    },
    /// An `ipv4_checksum` value that is not one of the styles.
    #[error(
        "ipv4_checksum {value:?} is not one of \"rfc9568\", \"without-pseudo-header\", \"accept-both\""
    )]
    UnknownChecksumStyle {
        /// The configured text.
        value: String,
    },
    /// `ipv4_checksum` on an IPv6 instance.
    #[error(
        "ipv4_checksum applies to IPv4 instances only: every VRRPv3 implementation includes the \
         IPv6 pseudo-header (RFC 9568 §5.2.8)"
    )]
    ChecksumStyleOnIpv6,
    /// A `version` value that is not one of the modes.
    #[error("version {value:?} is not one of 3, 2, \"2+3\"")]
    UnknownVersion {
        /// The configured value.
        value: String,
    },
    /// VRRPv2 on an IPv6 instance.
    #[error(
        "version {value:?} applies to IPv4 instances only: VRRPv2 (RFC 3768) has no IPv6, use \
         version = 3"
    )]
    Version2OnIpv6 {
        /// The configured value.
        value: String,
    },
    /// VRRPv2 with an interval that is not whole seconds.
    #[error(
        "version {value:?} sends VRRPv2, whose Adver Int counts whole seconds (RFC 3768 \
         §5.3.7): advert_interval_ms {interval_ms} must be a multiple of 1000"
    )]
    Version2Interval {
        /// The configured value.
        value: String,
        /// The configured interval.
        interval_ms: u32,
    },
    /// A preemption delay that cannot take effect.
    #[error("preempt_delay_ms has no effect with preempt = false")]
    PreemptDelayWithoutPreempt,
    /// A group label that cannot be used as is.
    #[error("group {group:?} must be 1..=32 characters from A-Z a-z 0-9 . _ -")]
    InvalidGroup {
        /// The configured group.
        group: String,
    },
    /// `metrics_listen` is not an address and port.
    #[error("metrics_listen {value:?} is not an address:port (e.g. \"127.0.0.1:9568\")")]
    InvalidListenAddress {
        /// The configured value.
        value: String,
    },
    /// `metrics_listen` without `metrics = true`.
    #[error("metrics_listen has no effect without metrics = true")]
    MetricsListenWithoutMetrics,
    /// A hook without a program.
    #[error("hook command is empty; it starts with the program's absolute path")]
    EmptyHookCommand,
    /// A hook program given by a relative path or a bare name.
    #[error(
        "hook program {program:?} must be an absolute path (hooks run without a shell or a \
         PATH search)"
    )]
    RelativeHookProgram {
        /// The configured program.
        program: String,
    },
    /// A hook program that cannot run on this host (it may be meant for another).
    #[error("hook program {program:?} {reason}")]
    UnusableHookProgram {
        /// The configured program.
        program: String,
        /// "does not exist on this host", "is not an executable file".
        reason: &'static str,
    },
    /// A NUL byte, which no program argument can hold.
    #[error("hook command argument {index} contains a NUL byte")]
    NulInHookCommand {
        /// 0 for the program, 1.. for the arguments.
        index: usize,
    },
    /// A state name that is not one.
    #[error("states: {value:?} is not a state (Initialize, Backup or Master)")]
    UnknownState {
        /// The configured text.
        value: String,
    },
    /// A webhook URL the client cannot post to.
    #[error("webhook url {url:?} {reason}")]
    InvalidWebhookUrl {
        /// The configured URL.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A path that must not depend on the working directory.
    #[error("{field} {path:?} must be an absolute path")]
    RelativePath {
        /// `bpffs`, `control_socket` or `journal`.
        field: &'static str,
        /// The configured path.
        path: PathBuf,
    },
    /// A `[instance.router_advertisement]` setting.
    #[error(transparent)]
    RouterAdvertisement(#[from] super::router_advert::RouterAdvertProblem),
}

/// Why an address cannot be a virtual address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnusableReason {
    /// `0.0.0.0` or `::`.
    Unspecified,
    /// A multicast group.
    Multicast,
    /// `255.255.255.255`.
    LimitedBroadcast,
    /// `127.0.0.0/8` or `::1`.
    Loopback,
    /// `::ffff:0:0/96`: an IPv4 address in IPv6 clothing.
    Ipv4Mapped,
    /// All host bits zero in a subnet of the interface (IPv4 network address, IPv6
    /// Subnet-Router anycast, RFC 4291 §2.6.1).
    NetworkAddress {
        /// The interface address whose subnet it is.
        subnet: InterfaceAddress,
    },
    /// All host bits one in an IPv4 subnet of the interface.
    SubnetBroadcast {
        /// The interface address whose subnet it is.
        subnet: InterfaceAddress,
    },
}

impl fmt::Display for UnusableReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unspecified => f.write_str("the unspecified address"),
            Self::Multicast => f.write_str("a multicast address"),
            Self::LimitedBroadcast => f.write_str("the limited broadcast address"),
            Self::Loopback => f.write_str("a loopback address"),
            Self::Ipv4Mapped => f.write_str("an IPv4-mapped IPv6 address"),
            Self::NetworkAddress { subnet } => {
                write!(f, "the network address of the interface subnet {subnet}")
            }
            Self::SubnetBroadcast { subnet } => {
                write!(f, "the broadcast address of the interface subnet {subnet}")
            }
        }
    }
}
