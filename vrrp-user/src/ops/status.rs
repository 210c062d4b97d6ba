//! The read-only status the daemon publishes for the operations layer, and its rendering for
//! `xvrrp status`.
//!
//! The event loop builds a [`StatusSnapshot`] after state changes and once a second (never per
//! advert) and sends it on a `watch` channel; the control socket and the metrics endpoint only
//! ever read the newest one. The JSON form is the `--json` output and part of the documented,
//! versioned protocol (docs/OPERATIONS.md): fields are only ever added.

use std::{collections::BTreeMap, fmt::Write as _, net::IpAddr};

use serde::{Deserialize, Serialize};

use super::{journal::EventRecord, protocol::Requester};
use crate::proto::{DivergenceKind, RouterCounters, State, router_advert::RouterAdvertCounters};

/// What the event loop knows, at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusSnapshot {
    /// When it was taken (Unix time, milliseconds).
    pub taken_at_ms: u64,
    /// Every configured virtual router, in configuration order.
    pub instances: Vec<InstanceStatus>,
    /// Every VRRP interface, by name.
    pub interfaces: Vec<InterfaceStatus>,
    /// Why the data plane's pins are private to the daemon's mount namespace (they die with
    /// it: no crash fail-safe, invisible to the host's bpftool), or `None` when they are the
    /// host's.
    #[serde(default)]
    pub private_pins: Option<String>,
}

/// One virtual router.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceStatus {
    /// Instance name from the configuration.
    pub name: String,
    /// The redundancy group label (`group` in the configuration; the name by default).
    pub group: String,
    /// VRRP interface.
    pub interface: String,
    /// `IPv4` or `IPv6`.
    pub family: String,
    /// Virtual router id.
    pub vrid: u8,
    /// The VRRP versions it speaks: `"3"`, `"2"` or `"2+3"` (`version` in the configuration).
    #[serde(default)]
    pub vrrp_version: String,
    /// Where adverts go instead of the multicast group (`unicast_peers`; empty: multicast).
    #[serde(default)]
    pub unicast_peers: Vec<IpAddr>,
    /// Current state.
    pub state: State,
    /// The virtual addresses, in advert order.
    pub virtual_addresses: Vec<IpAddr>,
    /// The virtual MAC, `00:00:5e:00:01:XX` (IPv4) or `00:00:5e:00:02:XX` (IPv6).
    pub virtual_mac: String,
    /// Configured priority.
    pub configured_priority: u8,
    /// Priority in use (advertised while Master).
    pub effective_priority: u8,
    /// Tracked interfaces that are down now, with the weight each subtracts: why the two
    /// priorities differ.
    pub tracked_down: Vec<TrackedDown>,
    /// The operator's priority override (it wins over tracking), who set it and when.
    #[serde(default)]
    pub priority_override: Option<PriorityOverride>,
    /// Demoted by an operator (maintenance mode: stays Backup until promoted), by whom and
    /// when.
    #[serde(default)]
    pub demoted: Option<OperatorMark>,
    /// Preempt_Mode.
    pub preempt: bool,
    /// Preemption delay, milliseconds.
    pub preempt_delay_ms: u64,
    /// Accept_Mode (the owner always accepts).
    pub accept_mode: bool,
    /// Advertisement_Interval configured, milliseconds.
    pub advert_interval_ms: u64,
    /// Master_Adver_Interval: learned from the Master while Backup, milliseconds.
    pub master_advert_interval_ms: u64,
    /// Master_Down_Interval, microseconds (it is not a whole number of milliseconds).
    pub master_down_interval_us: u64,
    /// Skew_Time, microseconds.
    pub skew_time_us: u64,
    /// The current Master, if known.
    pub master: Option<MasterStatus>,
    /// The state machine's counters.
    pub counters: RouterCounters,
    /// The data plane's counters for this virtual router by stable name (docs/ARCHITECTURE.md),
    /// empty if they could not be read.
    pub dataplane: BTreeMap<String, u64>,
    /// Disagreements with peers active now, by peer then kind.
    #[serde(default)]
    pub divergences: Vec<DivergenceStatus>,
    /// Peers the divergence table forgot to make room for new sources.
    #[serde(default)]
    pub divergence_evictions: u64,
    /// IPv6 Router Advertisements (`[instance.router_advertisement]`), if configured.
    #[serde(default)]
    pub router_adverts: Option<RouterAdvertCounters>,
}

/// A divergence active now (docs/OPERATIONS.md lists the kinds).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DivergenceStatus {
    /// What the peer disagrees on.
    pub kind: DivergenceKind,
    /// The peer's address.
    pub peer: IpAddr,
    /// In words.
    pub detail: String,
    /// How long it has been active, milliseconds.
    pub for_ms: u64,
}

/// Who set an operator's state, and when.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorMark {
    /// Who asked.
    pub by: Requester,
    /// When (Unix time, milliseconds).
    pub at_ms: u64,
}

/// An operator's priority override.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriorityOverride {
    /// The priority in use instead of the configured one.
    pub priority: u8,
    /// Who set it.
    pub by: Requester,
    /// When (Unix time, milliseconds).
    pub at_ms: u64,
}

/// A tracked interface that is down.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackedDown {
    /// Interface name.
    pub interface: String,
    /// Priority subtracted while it is down.
    pub weight: u8,
}

/// Who is Master, as this router sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MasterStatus {
    /// Its primary address.
    pub address: IpAddr,
    /// True when this router is the Master.
    pub local: bool,
    /// Its advertised priority.
    pub priority: Option<u8>,
    /// Its advert interval, milliseconds.
    pub advert_interval_ms: u64,
    /// How long ago its last advert arrived (absorbed in the kernel or handled by the daemon),
    /// milliseconds; absent while this router is Master.
    pub last_heard_ms_ago: Option<u64>,
}

/// One VRRP interface.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterfaceStatus {
    /// Interface name.
    pub name: String,
    /// Where the ingress data plane runs: `native_xdp`, `generic_xdp` or `tc`.
    pub ingress_hook: String,
    /// The interface-wide data-plane counters (invalid adverts by reason and the advert total
    /// live here: they cannot be attributed to a virtual router), empty if unreadable.
    pub dataplane: BTreeMap<String, u64>,
}

/// The `status` reply: the snapshot plus what the operations layer adds from its event log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusReport {
    /// Daemon version.
    pub version: String,
    /// Daemon process id.
    pub pid: u32,
    /// When the daemon started (Unix time, milliseconds).
    pub started_at_ms: u64,
    /// The snapshot, filtered to the asked instance if any.
    pub snapshot: StatusSnapshot,
    /// The last transition of each instance in `snapshot` during this run, by instance name.
    pub last_transitions: BTreeMap<String, EventRecord>,
}

/// Width the human table must fit (a classic terminal is 80, operators' are 100+).
pub const TABLE_WIDTH: usize = 100;
/// Column where values start.
const LABEL_WIDTH: usize = 22;

/// Renders `report` for a terminal at `now_ms`: one block per instance, every line at most
/// [`TABLE_WIDTH`] columns.
pub fn render(report: &StatusReport, now_ms: u64) -> String {
    let mut out = String::new();
    let _infallible = writeln!(
        out,
        "xvrrp {} (pid {}), up {}",
        report.version,
        report.pid,
        human_duration_ms(now_ms.saturating_sub(report.started_at_ms))
    );
    if let Some(reason) = &report.snapshot.private_pins {
        Lines::new(&mut out).field("WARNING pins private", reason);
    }
    for interface in &report.snapshot.interfaces {
        let mut line = Lines::new(&mut out);
        line.field(
            &format!("Interface {}", interface.name),
            &format!("ingress hook {}", hook_label(&interface.ingress_hook)),
        );
        let invalid = interface_invalid(&interface.dataplane);
        if !invalid.is_empty() {
            line.field("  Invalid adverts", &invalid);
        }
    }
    for instance in &report.snapshot.instances {
        out.push('\n');
        render_instance(
            &mut out,
            instance,
            report.last_transitions.get(&instance.name),
            now_ms,
        );
    }
    out
}

fn render_instance(
    out: &mut String,
    instance: &InstanceStatus,
    last: Option<&EventRecord>,
    now_ms: u64,
) {
    let since = last.map_or(String::new(), |record| {
        format!(
            " for {}",
            human_duration_ms(now_ms.saturating_sub(record.at_ms))
        )
    });
    let mut lines = Lines::new(out);
    lines.wrapped(&format!(
        "{} ({}, {} VRID {}, group {}): {}{since}",
        instance.name,
        instance.interface,
        instance.family,
        instance.vrid,
        instance.group,
        instance.state
    ));
    let addresses: Vec<String> = instance
        .virtual_addresses
        .iter()
        .map(ToString::to_string)
        .collect();
    lines.field("  Virtual addresses", &addresses.join(" "));
    lines.field("  Virtual MAC", &instance.virtual_mac);
    lines.field("  Priority", &priority_text(instance));
    if let Some(mark) = &instance.demoted {
        lines.field(
            "  Demoted",
            &format!(
                "by {} {} ago: stays Backup until `xvrrp promote`",
                mark.by,
                human_duration_ms(now_ms.saturating_sub(mark.at_ms))
            ),
        );
    }
    lines.field(
        "  Preempt",
        &format!(
            "{}, delay {} ms; accept mode {}",
            yes_no(instance.preempt),
            instance.preempt_delay_ms,
            yes_no(instance.accept_mode)
        ),
    );
    lines.field("  Adverts", &adverts_text(instance));
    lines.field(
        "  Advert interval",
        &format!(
            "{} ms configured, {} ms learned",
            instance.advert_interval_ms, instance.master_advert_interval_ms
        ),
    );
    lines.field(
        "  Master_Down",
        &format!(
            "{} ms, Skew_Time {} ms",
            micros_as_ms(instance.master_down_interval_us),
            micros_as_ms(instance.skew_time_us)
        ),
    );
    lines.field("  Master", &master_text(instance.master.as_ref()));
    if let Some(ra) = &instance.router_adverts {
        lines.field(
            "  Router adverts",
            &format!(
                "{} announced, {} withdrawn (lifetime 0), {} solicitations",
                ra.announced, ra.withdrawn, ra.solicitations
            ),
        );
    }
    if let Some(record) = last {
        lines.field("  Last transition", &record.summary());
    }
    let c = &instance.counters;
    let dataplane = |name: &str| instance.dataplane.get(name).copied().unwrap_or(0);
    lines.field(
        "  Adverts",
        &format!(
            "sent {} (priority 0: {}), received {} (absorbed in kernel {}, to daemon {}, \
             priority 0: {})",
            c.adverts_sent,
            c.priority_zero_sent,
            dataplane("adverts_absorbed") + dataplane("adverts_to_userspace"),
            dataplane("adverts_absorbed"),
            dataplane("adverts_to_userspace"),
            c.priority_zero_received
        ),
    );
    lines.field(
        "  Mismatched adverts",
        &format!(
            "interval {}, address list {} (invalid adverts: see the interface)",
            c.interval_mismatch, c.address_list_mismatch
        ),
    );
    let (other_style, not_allowed) = (
        dataplane("checksum_other_style"),
        dataplane("peer_not_allowed"),
    );
    if other_style + not_allowed > 0 {
        lines.field(
            "  Discarded adverts",
            &format!(
                "checksum in the other style {other_style} (see ipv4_checksum), peer not in \
                 allowed_peers {not_allowed}"
            ),
        );
    }
    lines.field(
        "  Transitions",
        &format!(
            "became Master {}, released Master {}",
            c.became_master, c.released_master
        ),
    );
    if instance.divergences.is_empty() {
        lines.field("  Divergences", "none");
    }
    for divergence in &instance.divergences {
        lines.field(
            "  Divergence",
            &format!(
                "{} from {} for {}: {}",
                divergence.kind,
                divergence.peer,
                human_duration_ms(divergence.for_ms),
                divergence.detail
            ),
        );
    }
    if instance.dataplane.is_empty() {
        lines.field("  Data plane", "counters unreadable");
    } else {
        lines.field(
            "  Data plane",
            &format!(
                "vMAC dropped {}, vMAC accepted {}, ARP answered {}, NA answered {}, \
                 ring losses {}, stale heartbeat {}",
                dataplane("vmac_dropped_backup"),
                dataplane("vmac_accepted_master"),
                dataplane("arp_replies"),
                dataplane("na_replies"),
                dataplane("ringbuf_full"),
                dataplane("heartbeat_stale")
            ),
        );
    }
}

fn priority_text(instance: &InstanceStatus) -> String {
    let mut text = format!(
        "{} (configured {})",
        instance.effective_priority, instance.configured_priority
    );
    // The override wins; tracking still moves the priority a reset returns to.
    let why: Vec<String> = instance
        .priority_override
        .iter()
        .map(|set| format!("override {} by {}", set.priority, set.by))
        .chain(
            (!instance.tracked_down.is_empty()).then(|| tracked_down_text(&instance.tracked_down)),
        )
        .collect();
    if !why.is_empty() {
        let _infallible = write!(text, ": {}", why.join(", "));
    }
    text
}

/// `eth1 down -50, eth2 down -20`: why the priority is lowered.
pub(crate) fn tracked_down_text(tracked_down: &[TrackedDown]) -> String {
    tracked_down
        .iter()
        .map(|down| format!("{} down -{}", down.interface, down.weight))
        .collect::<Vec<_>>()
        .join(", ")
}

/// "VRRPv3 to the multicast group", "VRRPv2 and VRRPv3 to 192.0.2.2, 192.0.2.3".
fn adverts_text(instance: &InstanceStatus) -> String {
    let versions = match instance.vrrp_version.as_str() {
        "2" => "VRRPv2",
        "2+3" => "VRRPv2 and VRRPv3",
        _ => "VRRPv3",
    };
    if instance.unicast_peers.is_empty() {
        return format!("{versions} to the multicast group");
    }
    let peers: Vec<String> = instance
        .unicast_peers
        .iter()
        .map(IpAddr::to_string)
        .collect();
    format!("{versions} to {}", peers.join(", "))
}

fn master_text(master: Option<&MasterStatus>) -> String {
    let Some(master) = master else {
        return "unknown".to_owned();
    };
    let priority = master
        .priority
        .map_or("priority unknown".to_owned(), |p| format!("priority {p}"));
    let who = if master.local {
        format!("{} (this router)", master.address)
    } else {
        master.address.to_string()
    };
    let heard = master.last_heard_ms_ago.map_or(String::new(), |ago| {
        format!(", heard {} ago", human_duration_ms(ago))
    });
    format!(
        "{who}, {priority}, interval {} ms{heard}",
        master.advert_interval_ms
    )
}

/// The interface counters that mean an advert was discarded, nonzero ones only.
fn interface_invalid(counters: &BTreeMap<String, u64>) -> String {
    const INVALID: [(&str, &str); 10] = [
        ("invalid_ttl", "TTL"),
        ("invalid_version", "version"),
        ("invalid_type", "type"),
        ("invalid_length", "length"),
        ("invalid_checksum", "checksum"),
        ("unknown_vrid", "unknown VRID"),
        ("zero_interval", "zero interval"),
        ("checksum_other_style", "checksum in the other style"),
        ("peer_not_allowed", "peer not allowed"),
        ("auth_type_mismatch", "VRRPv2 auth type"),
    ];
    INVALID
        .iter()
        .filter_map(|(name, label)| {
            let value = counters.get(*name).copied().unwrap_or(0);
            (value > 0).then(|| format!("{label} {value}"))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn hook_label(hook: &str) -> &str {
    match hook {
        "native_xdp" => "native XDP",
        "generic_xdp" => "generic XDP",
        "tc" => "TC ingress",
        other => other,
    }
}

/// `00:00:5e:00:01:33`: a MAC address as `status` and `plan` show it.
pub fn mac_text(mac: [u8; 6]) -> String {
    mac.map(|byte| format!("{byte:02x}")).join(":")
}

pub(crate) fn yes_no(value: bool) -> &'static str {
    if value { "yes" } else { "no" }
}

/// `321875` µs as `321.875`.
fn micros_as_ms(micros: u64) -> String {
    let (ms, rest) = (micros / 1000, micros % 1000);
    if rest == 0 {
        ms.to_string()
    } else {
        format!("{ms}.{rest:03}")
    }
}

/// `1h02m`, `3m04s`, `5.21 s`, `40 ms`: the precision an operator reads at a glance.
pub fn human_duration_ms(ms: u64) -> String {
    let seconds = ms / 1000;
    match seconds {
        0 => format!("{ms} ms"),
        1..60 => format!("{seconds}.{:02} s", (ms % 1000) / 10),
        60..3600 => format!("{}m{:02}s", seconds / 60, seconds % 60),
        3600..86_400 => format!("{}h{:02}m", seconds / 3600, (seconds % 3600) / 60),
        _ => format!("{}d{:02}h", seconds / 86_400, (seconds % 86_400) / 3600),
    }
}

/// Appends lines to a string, wrapping at [`TABLE_WIDTH`].
struct Lines<'a> {
    out: &'a mut String,
}

impl<'a> Lines<'a> {
    fn new(out: &'a mut String) -> Self {
        Self { out }
    }

    /// `label` padded to the value column, then `value` wrapped with the value column as
    /// indent.
    fn field(&mut self, label: &str, value: &str) {
        let first = if label.len() + 1 >= LABEL_WIDTH {
            // A long label (an interface name) gets the value on its own line.
            self.out.push_str(label);
            self.out.push('\n');
            " ".repeat(LABEL_WIDTH)
        } else {
            format!("{label:<LABEL_WIDTH$}")
        };
        self.wrap(&first, &" ".repeat(LABEL_WIDTH), value);
    }

    /// A line of its own, continuation lines indented by four.
    fn wrapped(&mut self, text: &str) {
        self.wrap("", "    ", text);
    }

    fn wrap(&mut self, first_prefix: &str, prefix: &str, text: &str) {
        let mut line = first_prefix.to_owned();
        let mut at_start = true;
        for word in text.split_whitespace() {
            // A word longer than a line (never an address or a name) is cut into pieces.
            for piece in pieces(word, TABLE_WIDTH - prefix.len()) {
                if !at_start && line.len() + 1 + piece.len() > TABLE_WIDTH {
                    self.out.push_str(&line);
                    self.out.push('\n');
                    line = prefix.to_owned();
                    at_start = true;
                }
                if !at_start {
                    line.push(' ');
                }
                line.push_str(piece);
                at_start = false;
            }
        }
        self.out.push_str(line.trim_end());
        self.out.push('\n');
    }
}

/// `word` cut into pieces of at most `width` bytes, on character boundaries.
fn pieces(word: &str, width: usize) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut rest = word;
    while rest.len() > width {
        let cut = (1..=width)
            .rev()
            .find(|at| rest.is_char_boundary(*at))
            .unwrap_or(rest.len());
        let (head, tail) = rest.split_at(cut);
        pieces.push(head);
        rest = tail;
    }
    pieces.push(rest);
    pieces
}

#[cfg(test)]
pub(crate) mod tests {
    use std::net::Ipv6Addr;

    use super::*;
    use crate::ops::journal::EventKind;

    pub(crate) fn wide_instance(index: u16) -> InstanceStatus {
        InstanceStatus {
            name: format!("customer-{index:03}-very-long-name-x"),
            group: "a-group-name-that-is-also-quite-long-0123456789".to_owned(),
            interface: "vlan4094.longif".to_owned(),
            family: "IPv6".to_owned(),
            vrid: 255,
            vrrp_version: "3".to_owned(),
            unicast_peers: vec![IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 2))],
            state: State::Backup,
            virtual_addresses: (0..20)
                .map(|i| {
                    IpAddr::V6(Ipv6Addr::new(
                        0x2001, 0xdb8, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, i,
                    ))
                })
                .collect(),
            virtual_mac: "00:00:5e:00:02:ff".to_owned(),
            configured_priority: 254,
            effective_priority: 4,
            tracked_down: (0..6)
                .map(|i| TrackedDown {
                    interface: format!("uplink-ifname{i}"),
                    weight: 50,
                })
                .collect(),
            priority_override: Some(PriorityOverride {
                priority: 4,
                by: Requester {
                    uid: u32::MAX,
                    pid: Some(i32::MAX),
                },
                at_ms: 0,
            }),
            demoted: Some(OperatorMark {
                by: Requester {
                    uid: u32::MAX,
                    pid: Some(i32::MAX),
                },
                at_ms: 0,
            }),
            preempt: true,
            preempt_delay_ms: 3_600_000,
            accept_mode: true,
            advert_interval_ms: 40_950,
            master_advert_interval_ms: 40_950,
            master_down_interval_us: 122_850_159_960,
            skew_time_us: 159_960,
            master: Some(MasterStatus {
                address: IpAddr::V6(Ipv6Addr::new(
                    0xfe80, 0, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff,
                )),
                local: false,
                priority: Some(254),
                advert_interval_ms: 40_950,
                last_heard_ms_ago: Some(u64::MAX / 2),
            }),
            counters: RouterCounters {
                adverts_sent: u64::MAX,
                priority_zero_sent: u64::MAX,
                priority_zero_received: u64::MAX,
                became_master: u64::MAX,
                released_master: u64::MAX,
                interval_mismatch: u64::MAX,
                address_list_mismatch: u64::MAX,
            },
            dataplane: vrrp_common::counters::Counter::ALL
                .iter()
                .map(|c| (c.name().to_owned(), u64::MAX / 4))
                .collect(),
            divergences: vec![DivergenceStatus {
                kind: DivergenceKind::AddressListMismatch,
                peer: IpAddr::V6(Ipv6Addr::new(
                    0xfe80, 0, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xfffe,
                )),
                detail: "advertises [2001:db8:ffff:ffff:ffff:ffff:ffff:0, ... 20 in all], \
                         [2001:db8:ffff:ffff:ffff:ffff:ffff:1] configured"
                    .to_owned(),
                for_ms: u64::MAX,
            }],
            divergence_evictions: u64::MAX,
            router_adverts: Some(RouterAdvertCounters {
                announced: u64::MAX,
                withdrawn: u64::MAX,
                solicitations: u64::MAX,
            }),
        }
    }

    fn wide_report() -> StatusReport {
        let instances: Vec<InstanceStatus> = (0..3).map(wide_instance).collect();
        let last_transitions = instances
            .iter()
            .map(|instance| {
                let record = EventRecord {
                    at_ms: 1_700_000_000_000,
                    kind: EventKind::Transition,
                    instance: Some(instance.name.clone()),
                    interface: Some(instance.interface.clone()),
                    vrid: Some(instance.vrid),
                    from: Some(State::Master),
                    to: Some(State::Backup),
                    reason: Some(
                        "equal priority 254 from greater address fe80::ffff:ffff:ffff:ffff \
                         and some more words to make it wrap"
                            .to_owned(),
                    ),
                    peer: instance.master.as_ref().map(|m| m.address),
                    gap_us: Some(u64::MAX),
                    requester: None,
                    divergence: None,
                    lasted_us: None,
                };
                (instance.name.clone(), record)
            })
            .collect();
        StatusReport {
            version: "0.1.0".to_owned(),
            pid: u32::MAX,
            started_at_ms: 0,
            snapshot: StatusSnapshot {
                taken_at_ms: 1,
                instances,
                interfaces: vec![InterfaceStatus {
                    name: "vlan4094.longif".to_owned(),
                    ingress_hook: "generic_xdp".to_owned(),
                    dataplane: vrrp_common::counters::Counter::ALL
                        .iter()
                        .map(|c| (c.name().to_owned(), u64::MAX))
                        .collect(),
                }],
                private_pins: Some(
                    "this process runs in its own mount namespace and its /sys/fs/bpf is not \
                     the host's bpffs"
                        .to_owned(),
                ),
            },
            last_transitions,
        }
    }

    #[test]
    fn every_line_of_the_widest_status_fits_100_columns() {
        let text = render(&wide_report(), u64::MAX);
        for line in text.lines() {
            assert!(
                line.len() <= TABLE_WIDTH,
                "{} columns: {line:?}",
                line.len()
            );
        }
        // Wrapping keeps every word: all 20 addresses and the whole reason are there.
        for index in 0..20 {
            assert!(text.contains(&format!("2001:db8:ffff:ffff:ffff:ffff:ffff:{index:x}")));
        }
        assert!(text.contains("to make it wrap"), "{text}");
        assert!(text.contains("uplink-ifname5 down -50"), "{text}");
        assert!(
            text.contains("override 4 by uid 4294967295 (pid 2147483647)"),
            "{text}"
        );
        assert!(text.contains("stays Backup until"), "{text}");
    }

    #[test]
    fn status_shows_who_is_master_and_why_priorities_differ() {
        let mut report = wide_report();
        report.snapshot.instances.truncate(1);
        let instance = &mut report.snapshot.instances[0];
        instance.tracked_down.truncate(1);
        instance.priority_override = None;
        instance.master_down_interval_us = 321_875;
        instance.skew_time_us = 21_875;
        let text = render(&report, 1_700_000_062_000);
        assert!(text.contains("Backup for 1m02s"), "{text}");
        assert!(
            text.contains("4 (configured 254): uplink-ifname0 down -50"),
            "{text}"
        );
        assert!(text.contains("321.875 ms, Skew_Time 21.875 ms"), "{text}");
        assert!(
            text.contains("fe80:0:ffff:ffff:ffff:ffff:ffff:ffff, priority 254"),
            "{text}"
        );
        assert!(text.contains("ingress hook generic XDP"), "{text}");
        assert!(
            text.contains("  Divergence          address_list_mismatch from fe80:0:ffff"),
            "{text}"
        );
        report.snapshot.instances[0].divergences.clear();
        let text = render(&report, 1_700_000_062_000);
        assert!(text.contains("  Divergences         none"), "{text}");
    }

    #[test]
    fn durations_read_at_a_glance() {
        assert_eq!(human_duration_ms(40), "40 ms");
        assert_eq!(human_duration_ms(5_210), "5.21 s");
        assert_eq!(human_duration_ms(184_000), "3m04s");
        assert_eq!(human_duration_ms(3_720_000), "1h02m");
        assert_eq!(human_duration_ms(90_000_000), "1d01h");
        assert_eq!(micros_as_ms(321_875), "321.875");
        assert_eq!(micros_as_ms(300_000), "300");
    }
}
