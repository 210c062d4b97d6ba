//! keepalived's `vrrp_instance` blocks as xvrrp `[[instance]]` tables. Everything that has no
//! xvrrp equivalent, or only an approximate one, becomes a [`Note`] with its file and line:
//! nothing is dropped silently.

use std::net::IpAddr;

use serde::Serialize;
use vrrp_common::advert::ChecksumStyle;

use super::parse::{Location, Statement};

/// Something the operator must know about the translation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// Where the construct is.
    pub at: Location,
    /// What happened to it.
    pub message: String,
}

impl std::fmt::Display for Note {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.at, self.message)
    }
}

/// The xvrrp configuration, ready for `toml::to_string`.
#[derive(Debug, Default, Serialize)]
pub(super) struct Translated {
    pub(super) instance: Vec<Instance>,
}

/// One `[[instance]]`, in the field order of the xvrrp examples.
#[derive(Debug, Serialize)]
pub(super) struct Instance {
    name: String,
    interface: String,
    vrid: u8,
    priority: u8,
    advert_interval_ms: u32,
    preempt: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    preempt_delay_ms: Option<u32>,
    accept_mode: bool,
    virtual_addresses: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    track: Vec<Track>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    unicast_peers: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ipv4_checksum: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<u8>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hook: Vec<Hook>,
}

/// An `[[instance.hook]]` from a keepalived notify script.
#[derive(Debug, Serialize)]
struct Hook {
    command: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    states: Vec<&'static str>,
}

#[derive(Debug, Serialize)]
struct Track {
    interface: String,
    weight: u8,
}

/// keepalived's defaults (keepalived.conf(5)).
const DEFAULT_PRIORITY: u8 = 100;
const DEFAULT_ADVERT_INTERVAL_MS: u32 = 1000;

/// Builds the instances of `tree` and the notes about everything else.
pub(super) fn translate(tree: &[Statement]) -> (Translated, Vec<Note>) {
    let mut notes = Vec::new();
    let mut note = |at: &Location, message: String| {
        notes.push(Note {
            at: at.clone(),
            message,
        });
    };
    let globals = Globals::read(tree, &mut note);
    let mut translated = Translated::default();
    for statement in tree {
        match statement.keyword.as_str() {
            "vrrp_instance" => {
                if let Some(instance) = instance(statement, &globals, &mut note) {
                    translated.instance.push(instance);
                }
            }
            "global_defs" => {}
            "vrrp_sync_group" => note(
                &statement.at,
                "vrrp_sync_group not translated: xvrrp instances fail over independently; \
                 track the same interfaces in each instance to move them together"
                    .to_owned(),
            ),
            "vrrp_script" => note(
                &statement.at,
                "vrrp_script not translated: xvrrp tracks interfaces only".to_owned(),
            ),
            "virtual_server" | "virtual_server_group" => note(
                &statement.at,
                format!(
                    "{} (LVS) not translated: xvrrp is VRRP only",
                    statement.keyword
                ),
            ),
            other => note(&statement.at, format!("{other} not translated")),
        }
    }
    (translated, notes)
}

/// What `global_defs` says that changes how instances translate.
struct Globals {
    /// `vrrp_strict`: RFC behaviour, no accept mode unless `accept`.
    strict: bool,
    /// `vrrp_version` (keepalived's default is 2).
    version: u8,
    /// `v3_checksum_as_v2`: VRRPv3 over IPv4 without the pseudo-header in the checksum.
    checksum_as_v2: bool,
}

impl Globals {
    fn read(tree: &[Statement], note: &mut impl FnMut(&Location, String)) -> Self {
        let mut globals = Self {
            strict: false,
            version: 2,
            checksum_as_v2: false,
        };
        for statement in tree.iter().filter(|s| s.keyword == "global_defs") {
            for setting in &statement.block {
                match setting.keyword.as_str() {
                    "vrrp_strict" => globals.strict = true,
                    "vrrp_version" => {
                        globals.version = setting
                            .args
                            .first()
                            .map_or(2, |v| if v == "3" { 3 } else { 2 });
                    }
                    // keepalived.conf(5): `v3_checksum_as_v2 [<BOOL>]`, no argument is true.
                    "v3_checksum_as_v2" => {
                        globals.checksum_as_v2 = setting.args.first().is_none_or(|value| {
                            matches!(value.as_str(), "true" | "yes" | "on" | "1")
                        });
                    }
                    other => note(&setting.at, format!("global_defs {other} not translated")),
                }
            }
        }
        globals
    }
}

fn instance(
    block: &Statement,
    globals: &Globals,
    note: &mut impl FnMut(&Location, String),
) -> Option<Instance> {
    let name = block
        .args
        .first()
        .map_or_else(String::new, |name| xvrrp_name(name));
    let mut interface = None;
    let mut vrid = None;
    let mut priority = DEFAULT_PRIORITY;
    let mut advert_interval_ms = DEFAULT_ADVERT_INTERVAL_MS;
    let mut preempt = true;
    let mut preempt_delay_ms = None;
    let mut accept = None;
    let mut version = globals.version;
    let mut addresses: Vec<(IpAddr, Location)> = Vec::new();
    let mut tracked: Vec<(String, Option<i64>, Location)> = Vec::new();
    let mut hooks = Vec::new();
    let mut unicast_peers = Vec::new();
    for setting in &block.block {
        let first = setting.args.first().map(String::as_str);
        let at = &setting.at;
        match (setting.keyword.as_str(), first) {
            ("interface", Some(value)) => interface = Some(value.to_owned()),
            ("virtual_router_id", Some(value)) => match value.parse::<u8>() {
                Ok(id) if id >= 1 => vrid = Some(id),
                _ => note(at, format!("virtual_router_id {value} is not 1..=255")),
            },
            ("priority", Some(value)) => match value.parse::<u8>() {
                Ok(value) if value >= 1 => priority = value,
                _ => note(at, format!("priority {value} is not 1..=255; using 100")),
            },
            ("advert_int", Some(value)) => match seconds_to_ms(value) {
                Some(ms) if ms >= 10 && ms % 10 == 0 => advert_interval_ms = ms,
                _ => note(
                    at,
                    format!("advert_int {value} is not a whole number of centiseconds; using 1 s"),
                ),
            },
            ("nopreempt", _) => preempt = false,
            ("preempt", _) => preempt = true,
            ("preempt_delay", Some(value)) => match seconds_to_ms(value) {
                Some(ms) => preempt_delay_ms = Some(ms),
                None => note(
                    at,
                    format!("preempt_delay {value} is not a number of seconds"),
                ),
            },
            ("accept", _) => accept = Some(true),
            ("no_accept", _) => accept = Some(false),
            ("version", Some(value)) => version = if value == "3" { 3 } else { 2 },
            ("state", Some(state)) => note(
                at,
                format!(
                    "state {state} not translated: xvrrp starts every instance as Backup and \
                     elects by priority (RFC 9568 §6.4.1)"
                ),
            ),
            ("virtual_ipaddress" | "virtual_ipaddress_excluded", _) => {
                let excluded = setting.keyword == "virtual_ipaddress_excluded";
                if excluded {
                    note(
                        at,
                        "virtual_ipaddress_excluded: added to virtual_addresses (xvrrp \
                         advertises every virtual address)"
                            .to_owned(),
                    );
                }
                virtual_addresses(setting, interface.as_deref(), &mut addresses, note);
            }
            ("track_interface", _) => {
                for entry in &setting.block {
                    let weight = match entry.args.as_slice() {
                        [keyword, value] if keyword == "weight" => value.parse::<i64>().ok(),
                        _ => None,
                    };
                    tracked.push((entry.keyword.clone(), weight, entry.at.clone()));
                }
            }
            ("native_ipv6" | "use_vmac" | "vmac_xmit_base", _) => note(
                at,
                format!(
                    "{}: not needed, xvrrp always sends from the virtual MAC without a macvlan",
                    setting.keyword
                ),
            ),
            ("authentication", _) => note(
                at,
                "authentication not translated: VRRPv3 has none (RFC 9568 §9)".to_owned(),
            ),
            ("unicast_peer", _) => {
                for entry in &setting.block {
                    match entry.keyword.parse::<IpAddr>() {
                        Ok(peer) => unicast_peers.push(peer.to_string()),
                        Err(_) => note(
                            &entry.at,
                            format!("unicast_peer {} is not an IP address", entry.keyword),
                        ),
                    }
                }
            }
            ("unicast_src_ip", Some(source)) => note(
                at,
                format!(
                    "unicast_src_ip {source} not translated: xvrrp sends from the interface's \
                     primary IPv4 (or link-local IPv6) address; the peers must list that one"
                ),
            ),
            (keyword, _) if keyword.starts_with("notify") => {
                hooks.extend(notify_hook(setting, note));
            }
            ("track_script", _) => note(
                at,
                "track_script not translated: xvrrp tracks interfaces only".to_owned(),
            ),
            (keyword, _) => note(at, format!("{keyword} not translated")),
        }
    }
    let (Some(interface), Some(vrid)) = (interface, vrid) else {
        note(
            &block.at,
            format!("vrrp_instance {name} skipped: it needs interface and virtual_router_id"),
        );
        return None;
    };
    let accept_mode = accept.unwrap_or_else(|| {
        // keepalived accepts packets to the VIPs unless vrrp_strict.
        if !globals.strict {
            note(
                &block.at,
                "accept_mode = true like keepalived's default; RFC 9568 §6.1 defaults to false"
                    .to_owned(),
            );
        }
        !globals.strict
    });
    let track = tracked
        .into_iter()
        .filter_map(|(tracked, weight, at)| track(tracked, weight, priority, &at, note))
        .collect();
    let virtual_addresses = ordered_addresses(addresses, &block.at, note);
    // keepalived applies it to VRRPv3 over IPv4 only, as xvrrp's setting does.
    let ipv4 = virtual_addresses
        .first()
        .is_some_and(|address| address.parse::<std::net::Ipv4Addr>().is_ok());
    // keepalived speaks VRRPv3 for IPv6 whatever vrrp_version says.
    let version = (version != 3 && ipv4).then(|| {
        let (text, version) = if advert_interval_ms.is_multiple_of(1000) {
            let text = "version = 2 (keepalived speaks VRRPv2 here: vrrp_version 2 is its \
                        default); version = \"2+3\" speaks both while migrating";
            (text, Some(2))
        } else {
            let text = "keepalived speaks VRRPv2 here (vrrp_version 2 is its default), whose \
                        interval counts whole seconds; advert_interval_ms is not, so xvrrp \
                        speaks VRRPv3: set vrrp_version 3 on the keepalived side";
            (text, None)
        };
        note(&block.at, format!("vrrp_instance {name}: {text}"));
        version
    });
    let ipv4_checksum = (globals.checksum_as_v2 && ipv4).then(|| {
        note(
            &block.at,
            format!(
                "vrrp_instance {name}: ipv4_checksum = \"without-pseudo-header\" from \
                 v3_checksum_as_v2 (docs/INTEROP.md)"
            ),
        );
        ChecksumStyle::WithoutPseudoHeader.name()
    });
    Some(Instance {
        name,
        interface,
        vrid,
        priority,
        advert_interval_ms,
        preempt,
        preempt_delay_ms,
        accept_mode,
        virtual_addresses,
        track,
        unicast_peers,
        ipv4_checksum,
        version: version.flatten(),
        hook: hooks,
    })
}

/// keepalived's `notify*` scripts as a hook on the matching transitions. keepalived splits
/// the quoted script line into words and runs it without a shell, as xvrrp does; what an
/// xvrrp hook cannot reproduce is noted.
fn notify_hook(setting: &Statement, note: &mut impl FnMut(&Location, String)) -> Option<Hook> {
    let keyword = setting.keyword.as_str();
    let at = &setting.at;
    let states: Vec<&'static str> = match keyword {
        "notify_master" => vec!["Master"],
        "notify_backup" => vec!["Backup"],
        "notify_fault" | "notify_stop" => vec!["Initialize"],
        "notify" => Vec::new(),
        other => {
            note(at, format!("{other} not translated"));
            return None;
        }
    };
    let Some((script, run_as)) = setting.args.split_first() else {
        note(at, format!("{keyword} without a script; skipped"));
        return None;
    };
    let command: Vec<String> = script.split_whitespace().map(str::to_owned).collect();
    if !command
        .first()
        .is_some_and(|program| program.starts_with('/'))
    {
        note(
            at,
            format!("{keyword} {script:?} not translated: xvrrp hooks need an absolute path"),
        );
        return None;
    }
    if !run_as.is_empty() {
        note(
            at,
            format!(
                "{keyword}: user/group {} not translated: hooks run as the daemon's user",
                run_as.join(" ")
            ),
        );
    }
    match keyword {
        "notify" => note(
            at,
            "notify: translated to a hook on every transition, but keepalived appends the \
             arguments INSTANCE <name> <MASTER|BACKUP|FAULT|STOP> <priority> and xvrrp appends \
             none: the script must read XVRRP_INSTANCE and XVRRP_TO \
             (Initialize|Backup|Master) from its environment instead"
                .to_owned(),
        ),
        "notify_fault" => note(
            at,
            "notify_fault: translated to a hook on transitions to Initialize, xvrrp's state \
             while the interface is down (it has no FAULT); it also runs when the instance stops"
                .to_owned(),
        ),
        "notify_stop" => note(
            at,
            "notify_stop: translated to a hook on transitions to Initialize, which also happen \
             while the interface is down (keepalived's FAULT)"
                .to_owned(),
        ),
        _ => {}
    }
    Some(Hook { command, states })
}

/// keepalived instance names may hold characters xvrrp names do not.
fn xvrrp_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// `1`, `0.1`, `2.5` seconds as whole milliseconds.
fn seconds_to_ms(text: &str) -> Option<u32> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 3 || !fraction.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let whole: u32 = whole.parse().ok()?;
    let fraction: u32 = format!("{fraction:0<3}").parse().ok()?;
    whole.checked_mul(1000)?.checked_add(fraction)
}

/// The addresses of a `virtual_ipaddress` block (`ADDR[/LEN] [dev IF] [label L] ...`).
fn virtual_addresses(
    block: &Statement,
    interface: Option<&str>,
    addresses: &mut Vec<(IpAddr, Location)>,
    note: &mut impl FnMut(&Location, String),
) {
    for entry in &block.block {
        let text = entry.keyword.split('/').next().unwrap_or_default();
        let Ok(address) = text.parse::<IpAddr>() else {
            note(
                &entry.at,
                format!("{} is not an IP address; skipped", entry.keyword),
            );
            continue;
        };
        let mut options = entry.args.chunks(2);
        for option in options.by_ref() {
            match option {
                [key, device] if key == "dev" && Some(device.as_str()) != interface => note(
                    &entry.at,
                    format!(
                        "{address} dev {device}: xvrrp puts virtual addresses on the instance's \
                         interface"
                    ),
                ),
                [key, _] if key == "dev" => {}
                [key, label] if key == "label" => note(
                    &entry.at,
                    format!("{address} label {label} not translated (xvrrp installs /32 and /128)"),
                ),
                other => note(
                    &entry.at,
                    format!("{address}: {} not translated", other.join(" ")),
                ),
            }
        }
        addresses.push((address, entry.at.clone()));
    }
}

/// IPv6 instances need their link-local virtual address first (RFC 9568 §5.2.9).
fn ordered_addresses(
    mut addresses: Vec<(IpAddr, Location)>,
    instance: &Location,
    note: &mut impl FnMut(&Location, String),
) -> Vec<String> {
    let link_local =
        |address: &IpAddr| matches!(address, IpAddr::V6(v6) if v6.is_unicast_link_local());
    if addresses.iter().any(|(address, _)| address.is_ipv6()) {
        match addresses
            .iter()
            .position(|(address, _)| link_local(address))
        {
            Some(0) => {}
            Some(index) => {
                let moved = addresses.remove(index);
                note(
                    &moved.1,
                    format!(
                        "{} moved first: RFC 9568 §5.2.9 wants the link-local address first",
                        moved.0
                    ),
                );
                addresses.insert(0, moved);
            }
            None => note(
                instance,
                "an IPv6 virtual router needs a link-local virtual address first (RFC 9568 \
                 §5.2.9): add one, e.g. \"fe80::1\""
                    .to_owned(),
            ),
        }
    }
    addresses
        .into_iter()
        .map(|(address, _)| address.to_string())
        .collect()
}

/// keepalived: `weight -N` lowers the priority by N while the interface is down; no weight
/// puts the instance in FAULT. xvrrp's weight is what is subtracted.
fn track(
    interface: String,
    weight: Option<i64>,
    priority: u8,
    at: &Location,
    note: &mut impl FnMut(&Location, String),
) -> Option<Track> {
    match weight {
        Some(weight @ -254..=-1) => Some(Track {
            interface,
            weight: u8::try_from(-weight).ok()?,
        }),
        None => {
            // FAULT means "never Master"; the lowest priority is the nearest xvrrp has.
            let weight = priority.saturating_sub(1).max(1);
            note(
                at,
                format!(
                    "track_interface {interface} without weight (keepalived: FAULT while down) \
                     became weight {weight}: priority 1 while it is down"
                ),
            );
            Some(Track { interface, weight })
        }
        Some(weight) => {
            note(
                at,
                format!(
                    "track_interface {interface} weight {weight} not translated: xvrrp weights \
                     only lower the priority while the interface is down"
                ),
            );
            None
        }
    }
}
