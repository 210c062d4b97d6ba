//! `xvrrp plan`: the configured virtual routers and, when the daemon answers, who is Master
//! now, as Markdown for network documentation or as JSON.
//!
//! Pure: [`Plan::new`] takes the validated configuration and what the control socket said (or
//! why it said nothing); `main.rs` does the reading and the connecting. The JSON is the
//! [`Plan`] structure, documented in docs/OPERATIONS.md; fields are only ever added.

use std::{fmt::Write as _, net::IpAddr};

use serde::{Deserialize, Serialize};

use super::{
    status::{
        InstanceStatus, MasterStatus, StatusReport, TrackedDown, human_duration_ms, mac_text,
        tracked_down_text, yes_no,
    },
    time::format_rfc3339,
};
use crate::{
    config::{Config, InstanceConfig},
    daemon::contract_family,
    dataplane::virtual_mac,
    proto::State,
};

/// What `xvrrp plan` reports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// This router's host name, when known.
    pub host: Option<String>,
    /// The configuration file the plan is made of.
    pub config: String,
    /// Every configured virtual router, in file order.
    pub instances: Vec<PlannedInstance>,
    /// The running daemon's view, or why there is none.
    pub daemon: DaemonView,
}

/// One configured virtual router.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedInstance {
    /// Instance name.
    pub name: String,
    /// Redundancy group label.
    pub group: String,
    /// VRRP interface.
    pub interface: String,
    /// `IPv4` or `IPv6`.
    pub family: String,
    /// Virtual router id.
    pub vrid: u8,
    /// `00:00:5e:00:01:VRID` (IPv4) or `00:00:5e:00:02:VRID` (IPv6).
    pub virtual_mac: String,
    /// The virtual addresses, in advert order.
    pub virtual_addresses: Vec<IpAddr>,
    /// Configured priority (255: the address owner).
    pub priority: u8,
    /// Priority 255: this router owns the virtual addresses.
    pub address_owner: bool,
    /// Advertisement_Interval, milliseconds.
    pub advert_interval_ms: u64,
    /// Preempt_Mode.
    pub preempt: bool,
    /// Preemption delay, milliseconds.
    pub preempt_delay_ms: u64,
    /// Accept_Mode as it applies (the owner always accepts).
    pub accept_mode: bool,
    /// Tracked interfaces and the priority each subtracts while down.
    pub track: Vec<TrackedDown>,
    /// Advert sources accepted (`allowed_peers` and `unicast_peers`); empty: any.
    pub allowed_peers: Vec<IpAddr>,
}

/// The running daemon as the control socket described it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DaemonView {
    /// It answered.
    Running(LiveDaemon),
    /// It did not.
    Unreachable {
        /// The control socket tried.
        socket: String,
        /// Why not.
        reason: String,
    },
}

/// What the daemon said.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveDaemon {
    /// Daemon version.
    pub version: String,
    /// Daemon process id.
    pub pid: u32,
    /// When its status snapshot was taken (Unix milliseconds).
    pub observed_at_ms: u64,
    /// Every instance it runs.
    pub instances: Vec<LiveInstance>,
}

/// One running instance: its state, and the Master it sees.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveInstance {
    /// Instance name.
    pub name: String,
    /// Current state.
    pub state: State,
    /// Priority in use.
    pub effective_priority: u8,
    /// Tracked interfaces that are down now.
    pub tracked_down: Vec<TrackedDown>,
    /// The Master: this router, or the peer whose adverts it hears (a Backup is silent, so the
    /// Master is the only peer a router sees).
    pub master: Option<MasterStatus>,
}

impl Plan {
    /// The plan of `config` (read from `config_path`) with the daemon's `status` answer, or the
    /// reason there is none.
    pub fn new(
        config: &Config,
        config_path: &str,
        host: Option<String>,
        status: Result<&StatusReport, (String, String)>,
    ) -> Self {
        let daemon = match status {
            Ok(report) => DaemonView::Running(LiveDaemon {
                version: report.version.clone(),
                pid: report.pid,
                observed_at_ms: report.snapshot.taken_at_ms,
                instances: report.snapshot.instances.iter().map(live).collect(),
            }),
            Err((socket, reason)) => DaemonView::Unreachable { socket, reason },
        };
        Self {
            host,
            config: config_path.to_owned(),
            instances: config.instances.iter().map(planned).collect(),
            daemon,
        }
    }
}

fn planned(config: &InstanceConfig) -> PlannedInstance {
    PlannedInstance {
        name: config.name.clone(),
        group: config.group.clone(),
        interface: config.interface.clone(),
        family: config.family.to_string(),
        vrid: config.vrid,
        virtual_mac: mac_text(virtual_mac(contract_family(config.family), config.vrid)),
        virtual_addresses: config.virtual_addresses.clone(),
        priority: config.priority,
        address_owner: config.is_owner(),
        advert_interval_ms: millis(config.advert_interval.as_duration()),
        preempt: config.preempt,
        preempt_delay_ms: millis(config.preempt_delay),
        accept_mode: config.accept_mode || config.is_owner(),
        track: config
            .track
            .iter()
            .map(|tracked| TrackedDown {
                interface: tracked.interface.clone(),
                weight: tracked.weight,
            })
            .collect(),
        allowed_peers: config.accepted_peers(),
    }
}

fn millis(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn live(status: &InstanceStatus) -> LiveInstance {
    LiveInstance {
        name: status.name.clone(),
        state: status.state,
        effective_priority: status.effective_priority,
        tracked_down: status.tracked_down.clone(),
        master: status.master.clone(),
    }
}

/// The plan as Markdown: a heading, the source, the configured virtual routers and, when the
/// daemon answered, the live state.
pub fn render_markdown(plan: &Plan) -> String {
    let mut out = String::new();
    let _infallible = match &plan.host {
        Some(host) => writeln!(out, "# VRRP plan of {host}\n"),
        None => writeln!(out, "# VRRP plan\n"),
    };
    let _infallible = writeln!(out, "Configuration: `{}`  ", plan.config);
    let _infallible = match &plan.daemon {
        DaemonView::Running(daemon) => writeln!(
            out,
            "Daemon: xvrrp {} (pid {}), state observed {}",
            daemon.version,
            daemon.pid,
            format_rfc3339(daemon.observed_at_ms)
        ),
        DaemonView::Unreachable { socket, reason } => writeln!(
            out,
            "Daemon: not reachable at `{socket}`: {reason}. The live state is not included."
        ),
    };
    out.push_str("\n## Virtual routers\n\n");
    table(
        &mut out,
        &[
            "Instance",
            "Interface",
            "Family",
            "VRID",
            "Virtual MAC",
            "Virtual addresses",
            "Priority",
            "Advert interval",
            "Preempt",
            "Accept mode",
            "Tracking",
            "Allowed peers",
            "Group",
        ],
        plan.instances.iter().map(|instance| {
            vec![
                instance.name.clone(),
                instance.interface.clone(),
                instance.family.clone(),
                instance.vrid.to_string(),
                format!("`{}`", instance.virtual_mac),
                joined(&instance.virtual_addresses, "<br>"),
                if instance.address_owner {
                    format!("{} (address owner)", instance.priority)
                } else {
                    instance.priority.to_string()
                },
                format!("{} ms", instance.advert_interval_ms),
                match (instance.preempt, instance.preempt_delay_ms) {
                    (false, _) => "no".to_owned(),
                    (true, 0) => "yes".to_owned(),
                    (true, delay) => format!("yes, after {delay} ms"),
                },
                yes_no(instance.accept_mode).to_owned(),
                tracking(&instance.track),
                if instance.allowed_peers.is_empty() {
                    "any".to_owned()
                } else {
                    joined(&instance.allowed_peers, "<br>")
                },
                instance.group.clone(),
            ]
        }),
    );
    if let DaemonView::Running(daemon) = &plan.daemon {
        out.push_str("\n## Live state\n\n");
        table(
            &mut out,
            &[
                "Instance",
                "State",
                "Priority now",
                "Master",
                "Master priority",
                "Master last heard",
            ],
            plan.instances
                .iter()
                .map(|instance| live_row(&instance.name, daemon))
                .chain(
                    // Running but no longer in the file: a reload is pending.
                    daemon
                        .instances
                        .iter()
                        .filter(|live| !plan.instances.iter().any(|i| i.name == live.name))
                        .map(|live| live_row(&live.name, daemon)),
                ),
        );
        out.push_str(
            "\nA Backup does not advertise, so a router sees only the Master: run `xvrrp plan` \
             on every router of a group for the whole picture.\n",
        );
    }
    out
}

fn live_row(name: &str, daemon: &LiveDaemon) -> Vec<String> {
    let Some(live) = daemon.instances.iter().find(|live| live.name == name) else {
        return vec![
            name.to_owned(),
            "not running (configuration not reloaded yet?)".to_owned(),
        ];
    };
    let mut priority = live.effective_priority.to_string();
    if !live.tracked_down.is_empty() {
        let _infallible = write!(priority, " ({})", tracked_down_text(&live.tracked_down));
    }
    let (master, master_priority, heard) = match &live.master {
        None => ("unknown".to_owned(), String::new(), String::new()),
        Some(master) => (
            if master.local {
                format!("{} (this router)", master.address)
            } else {
                master.address.to_string()
            },
            master.priority.map_or(String::new(), |p| p.to_string()),
            master.last_heard_ms_ago.map_or(String::new(), |ago| {
                format!("{} ago", human_duration_ms(ago))
            }),
        ),
    };
    vec![
        live.name.clone(),
        live.state.to_string(),
        priority,
        master,
        master_priority,
        heard,
    ]
}

fn tracking(track: &[TrackedDown]) -> String {
    if track.is_empty() {
        return "none".to_owned();
    }
    track
        .iter()
        .map(|tracked| format!("{} -{}", tracked.interface, tracked.weight))
        .collect::<Vec<_>>()
        .join(", ")
}

fn joined(items: &[IpAddr], separator: &str) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(separator)
}

/// A Markdown table; missing trailing cells stay empty, `|` in a cell is escaped.
fn table(out: &mut String, header: &[&str], rows: impl Iterator<Item = Vec<String>>) {
    let row = |out: &mut String, cells: &mut dyn Iterator<Item = String>| {
        let cells: Vec<String> = cells.map(|cell| cell.replace('|', "\\|")).collect();
        let _infallible = writeln!(out, "| {} |", cells.join(" | "));
    };
    row(out, &mut header.iter().map(|cell| (*cell).to_owned()));
    row(out, &mut header.iter().map(|_| "---".to_owned()));
    for cells in rows {
        let width = header.len().saturating_sub(cells.len());
        row(
            out,
            &mut cells
                .into_iter()
                .chain(std::iter::repeat_n(String::new(), width)),
        );
    }
}

#[cfg(test)]
mod tests {
    use std::{io, net::Ipv4Addr, path::Path};

    use super::*;
    use crate::{
        config::{InterfaceAddress, Mode, parse},
        ops::status::StatusSnapshot,
        proto::RouterCounters,
    };

    const CONFIG: &str = r#"
[[instance]]
name = "lan-v4"
interface = "eth0"
vrid = 51
priority = 200
preempt_delay_ms = 500
virtual_addresses = ["192.0.2.1", "192.0.2.5"]
track = [{ interface = "eth1", weight = 120 }]
group = "lan"

[[instance]]
name = "lan-v6"
interface = "eth0"
vrid = 51
preempt = false
accept_mode = true
advert_interval_ms = 100
virtual_addresses = ["fe80::1", "2001:db8::1"]
allowed_peers = ["fe80::3"]

[[instance]]
name = "owner"
interface = "eth0"
vrid = 7
priority = 255
virtual_addresses = ["198.51.100.1"]
"#;

    /// eth0 holds the owner's address, so the configuration is valid.
    fn host(name: &str) -> io::Result<Option<Vec<InterfaceAddress>>> {
        Ok((name == "eth0").then(|| {
            vec![InterfaceAddress {
                address: IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1)),
                prefix_len: 24,
            }]
        }))
    }

    fn config() -> Config {
        parse(CONFIG, Path::new("r1.toml"), &host, Mode::Check)
            .expect("valid configuration")
            .config
    }

    fn running(name: &str, state: State, priority: u8, master: MasterStatus) -> InstanceStatus {
        InstanceStatus {
            name: name.to_owned(),
            group: name.to_owned(),
            interface: "eth0".to_owned(),
            family: "IPv4".to_owned(),
            vrid: 51,
            vrrp_version: "3".to_owned(),
            unicast_peers: Vec::new(),
            state,
            virtual_addresses: Vec::new(),
            virtual_mac: String::new(),
            configured_priority: priority,
            effective_priority: priority,
            tracked_down: Vec::new(),
            priority_override: None,
            demoted: None,
            preempt: true,
            preempt_delay_ms: 0,
            accept_mode: false,
            advert_interval_ms: 1000,
            master_advert_interval_ms: 1000,
            master_down_interval_us: 0,
            skew_time_us: 0,
            master: Some(master),
            counters: RouterCounters::default(),
            dataplane: std::collections::BTreeMap::new(),
            divergences: Vec::new(),
            divergence_evictions: 0,
            router_adverts: None,
        }
    }

    fn report() -> StatusReport {
        let mut lan = running(
            "lan-v4",
            State::Backup,
            80,
            MasterStatus {
                address: "192.0.2.3".parse().unwrap(),
                local: false,
                priority: Some(100),
                advert_interval_ms: 1000,
                last_heard_ms_ago: Some(420),
            },
        );
        lan.configured_priority = 200;
        lan.tracked_down = vec![TrackedDown {
            interface: "eth1".to_owned(),
            weight: 120,
        }];
        let removed = running(
            "old",
            State::Master,
            100,
            MasterStatus {
                address: "192.0.2.2".parse().unwrap(),
                local: true,
                priority: Some(100),
                advert_interval_ms: 1000,
                last_heard_ms_ago: None,
            },
        );
        let mut owner = removed.clone();
        owner.name = "owner".to_owned();
        owner.effective_priority = 255;
        if let Some(master) = owner.master.as_mut() {
            master.priority = Some(255);
        }
        StatusReport {
            version: "0.1.0".to_owned(),
            pid: 4242,
            started_at_ms: 1_796_160_000_000,
            snapshot: StatusSnapshot {
                taken_at_ms: 1_796_163_015_123,
                instances: vec![lan, owner, removed],
                interfaces: Vec::new(),
                private_pins: None,
            },
            last_transitions: std::collections::BTreeMap::new(),
        }
    }

    const VIRTUAL_ROUTERS: &str = "\
## Virtual routers

| Instance | Interface | Family | VRID | Virtual MAC | Virtual addresses | Priority | Advert interval | Preempt | Accept mode | Tracking | Allowed peers | Group |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
| lan-v4 | eth0 | IPv4 | 51 | `00:00:5e:00:01:33` | 192.0.2.1<br>192.0.2.5 | 200 | 1000 ms | yes, after 500 ms | no | eth1 -120 | any | lan |
| lan-v6 | eth0 | IPv6 | 51 | `00:00:5e:00:02:33` | fe80::1<br>2001:db8::1 | 100 | 100 ms | no | yes | none | fe80::3 | lan-v6 |
| owner | eth0 | IPv4 | 7 | `00:00:5e:00:01:07` | 198.51.100.1 | 255 (address owner) | 1000 ms | yes | yes | none | any | owner |
";

    #[test]
    fn a_running_daemon_adds_the_live_state() {
        let plan = Plan::new(&config(), "r1.toml", Some("r1".to_owned()), Ok(&report()));
        let expected = format!(
            "\
# VRRP plan of r1

Configuration: `r1.toml`  
Daemon: xvrrp 0.1.0 (pid 4242), state observed 2026-12-01T22:10:15.123Z

{VIRTUAL_ROUTERS}
## Live state

| Instance | State | Priority now | Master | Master priority | Master last heard |
| --- | --- | --- | --- | --- | --- |
| lan-v4 | Backup | 80 (eth1 down -120) | 192.0.2.3 | 100 | 420 ms ago |
| lan-v6 | not running (configuration not reloaded yet?) |  |  |  |  |
| owner | Master | 255 | 192.0.2.2 (this router) | 255 |  |
| old | Master | 100 | 192.0.2.2 (this router) | 100 |  |

A Backup does not advertise, so a router sees only the Master: run `xvrrp plan` on every \
router of a group for the whole picture.
"
        );
        assert_eq!(render_markdown(&plan), expected);
    }

    #[test]
    fn without_a_daemon_the_plan_says_so_and_keeps_the_configuration() {
        let plan = Plan::new(
            &config(),
            "/etc/xvrrp/xvrrp.toml",
            None,
            Err((
                "/run/xvrrp.sock".to_owned(),
                "No such file or directory (os error 2)".to_owned(),
            )),
        );
        let expected = format!(
            "\
# VRRP plan

Configuration: `/etc/xvrrp/xvrrp.toml`  
Daemon: not reachable at `/run/xvrrp.sock`: No such file or directory (os error 2). The live \
state is not included.

{VIRTUAL_ROUTERS}"
        );
        assert_eq!(render_markdown(&plan), expected);
    }

    #[test]
    fn the_json_names_every_part() {
        let plan = Plan::new(&config(), "r1.toml", None, Ok(&report()));
        let json = serde_json::to_value(&plan).unwrap();
        assert_eq!(json["instances"][1]["virtual_mac"], "00:00:5e:00:02:33");
        assert_eq!(json["instances"][2]["address_owner"], true);
        assert_eq!(json["instances"][2]["accept_mode"], true);
        assert_eq!(json["instances"][0]["track"][0]["weight"], 120);
        let live = &json["daemon"]["running"]["instances"][0];
        assert_eq!(live["state"], "Backup");
        assert_eq!(live["master"]["priority"], 100);
        let back: Plan = serde_json::from_value(json).unwrap();
        assert_eq!(back, plan);
    }

    #[test]
    fn a_pipe_in_a_cell_does_not_split_it() {
        let mut out = String::new();
        table(
            &mut out,
            &["A", "B"],
            std::iter::once(vec!["x|y".to_owned()]),
        );
        assert_eq!(out, "| A | B |\n| --- | --- |\n| x\\|y |  |\n");
    }
}
