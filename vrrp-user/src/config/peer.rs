//! `xvrrp check-config --peer OTHER.toml FILE.toml`: what two routers of the same virtual
//! routers must agree on, checked offline from their files.
//!
//! Instances are paired by (family, VRID), preferring the same interface name, then a shared
//! virtual address. Interface names may differ between hosts (a note says so). A pair must have
//! the same virtual addresses and not both be the address owner (errors); differing advert
//! intervals, tied priorities, a preempt setting that changes who ends up Master, and differing
//! accept modes are warnings — the running daemon reports the same conditions from adverts
//! (docs/OPERATIONS.md, divergences).

use std::{collections::BTreeSet, io, net::IpAddr, path::Path};

use serde::Serialize;

use super::{
    ConfigError, ConfigErrorKind, HostInterfaces, InstanceConfig, InterfaceAddress, LoadError,
    Loaded, Mode,
    check::{CheckOutcome, EXIT_INVALID, EXIT_OK, EXIT_UNREADABLE, JsonProblem, plural},
    load,
};
use crate::proto::OWNER_PRIORITY;

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FindingSeverity {
    /// Worth knowing, not wrong.
    Note,
    /// Works, but not as the operator probably means.
    Warning,
    /// The two routers cannot run these virtual routers together.
    Error,
}

impl std::fmt::Display for FindingSeverity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Note => "note",
            Self::Warning => "warning",
            Self::Error => "error",
        })
    }
}

/// One disagreement between the two files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// How much it matters.
    pub severity: FindingSeverity,
    /// The instance in this router's file.
    pub instance: Option<String>,
    /// The instance in the peer's file.
    pub peer_instance: Option<String>,
    /// The configuration key concerned.
    pub field: Option<&'static str>,
    /// What is wrong, in words.
    pub message: String,
}

impl Finding {
    fn pair(
        severity: FindingSeverity,
        local: &InstanceConfig,
        peer: &InstanceConfig,
        field: &'static str,
        message: String,
    ) -> Self {
        Self {
            severity,
            instance: Some(local.name.clone()),
            peer_instance: Some(peer.name.clone()),
            field: Some(field),
            message,
        }
    }

    fn text(&self) -> String {
        let who = match (&self.instance, &self.peer_instance) {
            (Some(local), Some(peer)) => format!("instance \"{local}\" / peer \"{peer}\": "),
            (Some(local), None) => format!("instance \"{local}\": "),
            (None, Some(peer)) => format!("peer \"{peer}\": "),
            (None, None) => String::new(),
        };
        format!("{}: {who}{}\n", self.severity, self.message)
    }
}

/// The comparison of two routers' instances.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    /// Instances paired with one on the peer.
    pub paired: usize,
    /// What disagrees, in the order of this router's file.
    pub findings: Vec<Finding>,
}

/// Compares this router's instances with the peer's.
pub fn compare(local: &[InstanceConfig], peer: &[InstanceConfig]) -> Comparison {
    let mut findings = Vec::new();
    let mut peer_used = vec![false; peer.len()];
    let mut paired = 0;
    for instance in local {
        match partner(instance, peer) {
            Some(index) => {
                peer_used[index] = true;
                paired += 1;
                compare_pair(instance, &peer[index], &mut findings);
            }
            None => findings.push(unpaired(instance, peer)),
        }
    }
    for (instance, _) in peer.iter().zip(&peer_used).filter(|(_, used)| !**used) {
        // A peer instance sharing addresses with one of ours was reported with it.
        if !local.iter().any(|ours| shares_address(ours, instance)) {
            findings.push(Finding {
                severity: FindingSeverity::Warning,
                instance: None,
                peer_instance: Some(instance.name.clone()),
                field: Some("vrid"),
                message: format!(
                    "{} VRID {} is only on the peer: this router does not back it up",
                    instance.family, instance.vrid
                ),
            });
        }
    }
    Comparison { paired, findings }
}

/// The peer instance `instance` runs with: same family and VRID, preferably on an interface of
/// the same name, else sharing a virtual address.
fn partner(instance: &InstanceConfig, peer: &[InstanceConfig]) -> Option<usize> {
    let candidates: Vec<usize> = (0..peer.len())
        .filter(|&index| peer[index].family == instance.family && peer[index].vrid == instance.vrid)
        .collect();
    candidates
        .iter()
        .copied()
        .find(|&index| peer[index].interface == instance.interface)
        .or_else(|| {
            candidates
                .iter()
                .copied()
                .find(|&index| shares_address(instance, &peer[index]))
        })
        .or_else(|| candidates.first().copied())
}

fn shares_address(one: &InstanceConfig, other: &InstanceConfig) -> bool {
    one.virtual_addresses
        .iter()
        .any(|address| other.virtual_addresses.contains(address))
}

/// An instance with no partner: its addresses under another VRID on the peer, or alone.
fn unpaired(instance: &InstanceConfig, peer: &[InstanceConfig]) -> Finding {
    let elsewhere = peer
        .iter()
        .find(|other| other.family == instance.family && shares_address(instance, other));
    match elsewhere {
        Some(other) => Finding::pair(
            FindingSeverity::Error,
            instance,
            other,
            "vrid",
            format!(
                "the same virtual addresses are VRID {} here and VRID {} on the peer: each \
                 router would be Master of its own VRID for them",
                instance.vrid, other.vrid
            ),
        ),
        None => Finding {
            severity: FindingSeverity::Warning,
            instance: Some(instance.name.clone()),
            peer_instance: None,
            field: Some("vrid"),
            message: format!(
                "{} VRID {} is only on this router: the peer does not back it up",
                instance.family, instance.vrid
            ),
        },
    }
}

fn compare_pair(local: &InstanceConfig, peer: &InstanceConfig, findings: &mut Vec<Finding>) {
    let pair = |severity, field, message| Finding::pair(severity, local, peer, field, message);
    if local.interface != peer.interface {
        findings.push(pair(
            FindingSeverity::Note,
            "interface",
            format!(
                "interface {} here, {} on the peer: names may differ between hosts, the link \
                 must be the same",
                local.interface, peer.interface
            ),
        ));
    }
    let ours: BTreeSet<IpAddr> = local.virtual_addresses.iter().copied().collect();
    let theirs: BTreeSet<IpAddr> = peer.virtual_addresses.iter().copied().collect();
    if ours != theirs {
        findings.push(pair(
            FindingSeverity::Error,
            "virtual_addresses",
            format!(
                "virtual addresses differ: only here {}, only on the peer {}",
                list(ours.difference(&theirs)),
                list(theirs.difference(&ours))
            ),
        ));
    }
    if local.advert_interval != peer.advert_interval {
        findings.push(pair(
            FindingSeverity::Warning,
            "advert_interval_ms",
            format!(
                "advert interval {} ms here, {} ms on the peer: a Backup follows the Master's, \
                 and both report interval_mismatch",
                millis(local),
                millis(peer)
            ),
        ));
    }
    let owners = (
        local.priority == OWNER_PRIORITY,
        peer.priority == OWNER_PRIORITY,
    );
    if owners == (true, true) {
        findings.push(pair(
            FindingSeverity::Error,
            "priority",
            "both are the address owner (priority 255): only one router can own the \
             addresses"
                .to_owned(),
        ));
    } else if local.priority == peer.priority {
        findings.push(pair(
            FindingSeverity::Warning,
            "priority",
            format!(
                "both have priority {}: the election is decided by primary address (the \
                 greater wins)",
                local.priority
            ),
        ));
    }
    if local.preempt != peer.preempt && owners == (false, false) {
        findings.push(preempt_finding(local, peer));
    }
    if local.accept_mode != peer.accept_mode && owners == (false, false) {
        findings.push(pair(
            FindingSeverity::Warning,
            "accept_mode",
            format!(
                "accept_mode {} here, {} on the peer: whether traffic to the virtual addresses \
                 is accepted depends on which router is Master",
                local.accept_mode, peer.accept_mode
            ),
        ));
    }
    match (&local.router_advertisement, &peer.router_advertisement) {
        (Some(_), None) | (None, Some(_)) => findings.push(pair(
            FindingSeverity::Error,
            "router_advertisement",
            "router advertisements on one router only: after a failover to the other, hosts              lose their default route when its router lifetime ends"
                .to_owned(),
        )),
        (Some(ours), Some(theirs)) if ours != theirs => findings.push(pair(
            FindingSeverity::Warning,
            "router_advertisement",
            "router advertisement settings differ: hosts learn other prefixes, options or              lifetimes depending on which router is Master"
                .to_owned(),
        )),
        _ => {}
    }
}

/// Only the higher-priority router's preempt setting changes anything: without it, it does not
/// take Master back after it recovers.
fn preempt_finding(local: &InstanceConfig, peer: &InstanceConfig) -> Finding {
    let (higher, lower, where_higher) = if local.priority >= peer.priority {
        (local, peer, "here")
    } else {
        (peer, local, "on the peer")
    };
    let (severity, why) = if higher.priority == lower.priority {
        (
            FindingSeverity::Note,
            "with equal priorities neither preempts the other, so it has no effect".to_owned(),
        )
    } else if higher.preempt {
        (
            FindingSeverity::Note,
            "only the higher-priority router's setting has an effect, and it preempts".to_owned(),
        )
    } else {
        (
            FindingSeverity::Warning,
            format!(
                "the higher-priority router ({where_higher}) does not preempt: once the lower \
                 one is Master it stays Master until it fails"
            ),
        )
    };
    Finding::pair(
        severity,
        local,
        peer,
        "preempt",
        format!(
            "preempt {} here, {} on the peer: {why}",
            local.preempt, peer.preempt
        ),
    )
}

fn list<'a>(addresses: impl Iterator<Item = &'a IpAddr>) -> String {
    let shown: Vec<String> = addresses.map(ToString::to_string).collect();
    format!("[{}]", shown.join(", "))
}

fn millis(instance: &InstanceConfig) -> u128 {
    instance.advert_interval.as_duration().as_millis()
}

/// The peer's file describes another host: its interfaces are not looked up here.
fn other_host(_name: &str) -> io::Result<Option<Vec<InterfaceAddress>>> {
    Ok(None)
}

/// What loading one of the two files gave.
enum Side {
    Loaded(Box<Loaded>),
    Invalid(Vec<ConfigError>),
    Unreadable(String),
}

impl Side {
    fn of(result: Result<Loaded, LoadError>) -> Self {
        match result {
            Ok(loaded) => Self::Loaded(Box::new(loaded)),
            Err(LoadError::Invalid { problems }) => Self::Invalid(problems),
            Err(error @ LoadError::Read { .. }) => Self::Unreadable(error.to_string()),
        }
    }

    fn problems(&self) -> &[ConfigError] {
        match self {
            Self::Loaded(loaded) => &loaded.warnings,
            Self::Invalid(problems) => problems,
            Self::Unreadable(_) => &[],
        }
    }
}

/// Checks the file at `path` as `check-config` does, the peer's file at `peer` (its interfaces
/// are another host's, so their absence is not reported), then compares the two.
pub fn check_peer(path: &Path, peer: &Path, host: &dyn HostInterfaces, json: bool) -> CheckOutcome {
    let local = Side::of(load(path, host, Mode::Check));
    let mut remote = Side::of(load(peer, &other_host, Mode::Check));
    if let Side::Loaded(loaded) = &mut remote {
        loaded.warnings.retain(|warning| {
            !matches!(
                warning.kind,
                ConfigErrorKind::UnknownInterface { .. }
                    | ConfigErrorKind::UnknownTrackedInterface { .. }
            )
        });
    }
    let report = PeerReport::new(&local, &remote);
    let output = if json {
        let mut line = serde_json::to_string(&report.json(&local, &remote, peer))
            .expect("a report of strings, numbers and options always serializes");
        line.push('\n');
        line
    } else {
        report.text(&local, &remote)
    };
    CheckOutcome {
        exit_code: report.exit_code,
        output,
    }
}

/// The verdict on both files and their comparison.
struct PeerReport {
    exit_code: u8,
    comparison: Option<Comparison>,
}

impl PeerReport {
    fn new(local: &Side, remote: &Side) -> Self {
        match (local, remote) {
            (Side::Unreadable(_), _) | (_, Side::Unreadable(_)) => Self {
                exit_code: EXIT_UNREADABLE,
                comparison: None,
            },
            (Side::Loaded(ours), Side::Loaded(theirs)) => {
                let comparison = compare(&ours.config.instances, &theirs.config.instances);
                let invalid = comparison
                    .findings
                    .iter()
                    .any(|finding| finding.severity == FindingSeverity::Error);
                Self {
                    exit_code: if invalid { EXIT_INVALID } else { EXIT_OK },
                    comparison: Some(comparison),
                }
            }
            _ => Self {
                exit_code: EXIT_INVALID,
                comparison: None,
            },
        }
    }

    fn findings(&self) -> &[Finding] {
        self.comparison
            .as_ref()
            .map_or(&[], |comparison| &comparison.findings)
    }

    fn text(&self, local: &Side, remote: &Side) -> String {
        let mut out = String::new();
        for side in [local, remote] {
            if let Side::Unreadable(error) = side {
                out.push_str(&format!("error: {error}\n"));
            }
            for problem in side.problems() {
                out.push_str(&format!("{}: {problem}\n", problem.severity));
            }
        }
        for finding in self.findings() {
            out.push_str(&finding.text());
        }
        let count = |severity| {
            self.findings()
                .iter()
                .filter(|finding| finding.severity == severity)
                .count()
        };
        match (&self.comparison, self.exit_code) {
            (_, EXIT_UNREADABLE) => {}
            (Some(comparison), EXIT_OK) => out.push_str(&format!(
                "ok: {} paired with the peer, {}\n",
                plural(comparison.paired, "instance"),
                plural(count(FindingSeverity::Warning), "warning")
            )),
            (Some(_), _) => out.push_str(&format!(
                "invalid: {}, {}\n",
                plural(count(FindingSeverity::Error), "error"),
                plural(count(FindingSeverity::Warning), "warning")
            )),
            (None, _) => out.push_str("invalid: the files were not compared\n"),
        }
        out
    }

    fn json<'a>(&'a self, local: &'a Side, remote: &'a Side, peer: &'a Path) -> PeerJson<'a> {
        let error = [local, remote].into_iter().find_map(|side| match side {
            Side::Unreadable(error) => Some(error.as_str()),
            Side::Loaded(_) | Side::Invalid(_) => None,
        });
        PeerJson {
            status: match self.exit_code {
                EXIT_OK => "ok",
                EXIT_INVALID => "invalid",
                _ => "unreadable",
            },
            peer: peer.display().to_string(),
            paired: self.comparison.as_ref().map(|comparison| comparison.paired),
            problems: local
                .problems()
                .iter()
                .chain(remote.problems())
                .map(JsonProblem::from)
                .collect(),
            findings: self.findings(),
            error,
        }
    }
}

/// `check-config --peer --json`: the `check-config --json` object plus the comparison.
#[derive(Serialize)]
struct PeerJson<'a> {
    /// "ok", "invalid" or "unreadable".
    status: &'static str,
    /// The peer's file.
    peer: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    paired: Option<usize>,
    /// Problems of either file, as `check-config` reports them (each names its file).
    problems: Vec<JsonProblem<'a>>,
    /// What the two files disagree on.
    findings: &'a [Finding],
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::parse;

    fn instances(text: &str) -> Vec<InstanceConfig> {
        parse(text, Path::new("x.toml"), &other_host, Mode::Check)
            .expect("valid")
            .config
            .instances
    }

    fn instance(name: &str, interface: &str, vrid: u8, extra: &str) -> String {
        format!(
            "[[instance]]\nname = \"{name}\"\ninterface = \"{interface}\"\nvrid = {vrid}\n\
             virtual_addresses = [\"192.0.2.100\"]\n{extra}\n"
        )
    }

    fn findings(local: &str, peer: &str) -> Vec<(FindingSeverity, Option<&'static str>)> {
        compare(&instances(local), &instances(peer))
            .findings
            .iter()
            .map(|finding| (finding.severity, finding.field))
            .collect()
    }

    #[test]
    fn matching_routers_have_nothing_to_report_but_interface_names() {
        let local = instance("lan", "eth0", 51, "priority = 200");
        let peer = instance("lan-b", "ens3", 51, "priority = 100");
        let comparison = compare(&instances(&local), &instances(&peer));
        assert_eq!(comparison.paired, 1);
        assert_eq!(comparison.findings.len(), 1, "{comparison:?}");
        assert_eq!(comparison.findings[0].severity, FindingSeverity::Note);
        assert_eq!(
            comparison.findings[0].text(),
            "note: instance \"lan\" / peer \"lan-b\": interface eth0 here, ens3 on the peer: \
             names may differ between hosts, the link must be the same\n"
        );
    }

    #[test]
    fn what_must_match_is_an_error_and_what_surprises_is_a_warning() {
        let local = instance(
            "lan",
            "eth0",
            51,
            "priority = 100\nadvert_interval_ms = 1000\npreempt = true",
        );
        let peer = "[[instance]]\nname = \"lan\"\ninterface = \"eth0\"\nvrid = 51\n\
                    virtual_addresses = [\"192.0.2.100\", \"192.0.2.101\"]\npriority = 100\n\
                    advert_interval_ms = 2000\naccept_mode = true\n";
        assert_eq!(
            findings(&local, peer),
            vec![
                (FindingSeverity::Error, Some("virtual_addresses")),
                (FindingSeverity::Warning, Some("advert_interval_ms")),
                (FindingSeverity::Warning, Some("priority")),
                (FindingSeverity::Warning, Some("accept_mode")),
            ]
        );
        let owner = instance("lan", "eth0", 51, "priority = 255");
        assert_eq!(
            findings(&owner, &owner),
            vec![(FindingSeverity::Error, Some("priority"))]
        );
    }

    #[test]
    fn router_advertisements_must_be_the_same_on_both_routers() {
        let v6 = |priority: u8, extra: &str| {
            format!(
                "[[instance]]\nname = \"v6\"\ninterface = \"eth0\"\nvrid = 51\n\
                 priority = {priority}\nvirtual_addresses = [\"fe80::1\"]\n{extra}\n"
            )
        };
        let ra = "[instance.router_advertisement]\nmax_interval_s = 30";
        assert_eq!(findings(&v6(200, ra), &v6(100, ra)), vec![]);
        assert_eq!(
            findings(&v6(200, ra), &v6(100, "")),
            vec![(FindingSeverity::Error, Some("router_advertisement"))]
        );
        let other = "[instance.router_advertisement]\nmax_interval_s = 60";
        assert_eq!(
            findings(&v6(200, ra), &v6(100, other)),
            vec![(FindingSeverity::Warning, Some("router_advertisement"))]
        );
    }

    #[test]
    fn preempt_matters_only_on_the_higher_priority_router() {
        let high_no_preempt = instance("lan", "eth0", 51, "priority = 200\npreempt = false");
        let low = instance("lan", "eth0", 51, "priority = 100");
        assert_eq!(
            findings(&high_no_preempt, &low),
            vec![(FindingSeverity::Warning, Some("preempt"))]
        );
        let high = instance("lan", "eth0", 51, "priority = 200");
        let low_no_preempt = instance("lan", "eth0", 51, "priority = 100\npreempt = false");
        assert_eq!(
            findings(&high, &low_no_preempt),
            vec![(FindingSeverity::Note, Some("preempt"))]
        );
    }

    #[test]
    fn vrids_pair_by_family_and_addresses() {
        // The same addresses under another VRID: an error on our side, not repeated for theirs.
        let local = instance("lan", "eth0", 51, "priority = 200");
        let peer = instance("lan", "eth0", 52, "");
        assert_eq!(
            findings(&local, &peer),
            vec![(FindingSeverity::Error, Some("vrid"))]
        );
        // VRIDs only on one side are warnings.
        let extra = "[[instance]]\nname = \"dmz\"\ninterface = \"eth1\"\nvrid = 7\n\
                     virtual_addresses = [\"198.51.100.1\"]\n";
        let peer_extra = "[[instance]]\nname = \"v6\"\ninterface = \"eth0\"\nvrid = 51\n\
                          virtual_addresses = [\"fe80::1\", \"2001:db8::1\"]\n";
        let local = format!("{}{extra}", instance("lan", "eth0", 51, "priority = 200"));
        let peer = format!("{}{peer_extra}", instance("lan", "eth0", 51, ""));
        assert_eq!(
            findings(&local, &peer),
            vec![
                (FindingSeverity::Warning, Some("vrid")),
                (FindingSeverity::Warning, Some("vrid")),
            ]
        );
    }

    #[test]
    fn reports_and_exit_codes_follow_check_config() {
        let dir = std::env::temp_dir().join(format!("xvrrp-peer-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ours = dir.join("r1.toml");
        let theirs = dir.join("r2.toml");
        std::fs::write(&ours, instance("lan", "eth0", 51, "priority = 200")).unwrap();
        std::fs::write(&theirs, instance("lan", "ens3", 51, "priority = 200")).unwrap();
        let outcome = check_peer(&ours, &theirs, &other_host, false);
        assert_eq!(outcome.exit_code, EXIT_OK, "{}", outcome.output);
        assert!(
            outcome
                .output
                .ends_with("ok: 1 instance paired with the peer, 1 warning\n"),
            "{}",
            outcome.output
        );
        std::fs::write(&theirs, instance("lan", "eth0", 51, "priority = 255")).unwrap();
        std::fs::write(&ours, instance("lan", "eth0", 51, "priority = 255")).unwrap();
        let outcome = check_peer(&ours, &theirs, &other_host, true);
        assert_eq!(outcome.exit_code, EXIT_INVALID);
        let json: serde_json::Value = serde_json::from_str(&outcome.output).unwrap();
        assert_eq!(json["status"], "invalid");
        assert_eq!(json["findings"][0]["field"], "priority");
        assert_eq!(json["findings"][0]["peer_instance"], "lan");
        let outcome = check_peer(&ours, &dir.join("absent.toml"), &other_host, false);
        assert_eq!(outcome.exit_code, EXIT_UNREADABLE);
        assert!(
            outcome.output.contains("\nerror: cannot read "),
            "{}",
            outcome.output
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
