//! Event records and the JSON Lines journal that keeps them across restarts.
//!
//! Every [`DaemonEvent`] becomes one [`EventRecord`]: one JSON object per line, appended to
//! `[global] journal` (default `/var/lib/xvrrp/events.jsonl`). When the next line would take
//! the file past `journal_max_bytes`, it is renamed to `<journal>.1` (replacing the previous
//! one) and a new file is started, so the journal never uses more than twice that size.

use std::{
    collections::VecDeque,
    ffi::OsString,
    fs::{self, File, OpenOptions},
    io::{self, BufRead as _, BufReader, Write as _},
    net::IpAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use serde::{Deserialize, Serialize};

use super::{protocol::Requester, status::human_duration_ms, time::format_rfc3339};
use crate::{
    daemon::events::{DaemonEvent, Divergence},
    proto::{DivergenceKind, State, Warning},
};

/// What kind of thing happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A virtual router changed state.
    Transition,
    /// An RFC 9568 condition worth a warning (rate-limited per instance and kind).
    Warning,
    /// A VRRP version 2 peer advertises on a configured VRID.
    Version2Peer,
    /// A peer started to disagree with this router (`divergence` says on what).
    DivergenceRaised,
    /// A divergence ended (`lasted_us` says after how long, `reason` why).
    DivergenceCleared,
    /// An advert the data plane handed up did not decode.
    UndecodableAdvert,
    /// The configuration was reloaded.
    Reloaded,
    /// A reload was refused.
    ReloadRejected,
    /// The operations layer fell behind the daemon and lost events (`reason` says how many).
    EventsLost,
    /// An operator's command (`reason` says which and what it did, `requester` who asked).
    Operator,
}

/// One event as the journal, `xvrrp events --json` and the control socket carry it. Absent
/// fields do not apply to the kind.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRecord {
    /// When the operations layer received it (Unix time, milliseconds).
    pub at_ms: u64,
    /// What happened.
    pub kind: EventKind,
    /// Instance name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// VRRP interface.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    /// Virtual router id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vrid: Option<u8>,
    /// State before a transition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<State>,
    /// State after a transition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<State>,
    /// Why, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The other router concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<IpAddr>,
    /// For a takeover: time since the previous Master's last advert, microseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gap_us: Option<u64>,
    /// For an operator's command: who asked (absent when the daemon acted on its own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requester: Option<Requester>,
    /// For a divergence: what the peer disagrees on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub divergence: Option<DivergenceKind>,
    /// For a cleared divergence: how long it lasted, microseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lasted_us: Option<u64>,
}

impl EventRecord {
    /// The record of `event`, received at `at_ms`.
    pub fn from_event(event: &DaemonEvent, at_ms: u64) -> Self {
        let mut record = Self::empty(at_ms, EventKind::Transition);
        match event {
            DaemonEvent::Transition {
                instance,
                interface,
                vrid,
                from,
                to,
                reason,
                peer,
                since_last_advert,
            } => {
                record.instance = Some(instance.clone());
                record.interface = Some(interface.clone());
                record.vrid = Some(*vrid);
                record.from = Some(*from);
                record.to = Some(*to);
                record.reason = Some(reason.clone());
                record.peer = *peer;
                record.gap_us = since_last_advert.map(micros);
            }
            DaemonEvent::Warning { instance, warning } => {
                record.kind = EventKind::Warning;
                record.instance = Some(instance.clone());
                record.reason = Some(warning.to_string());
                record.peer = warning_source(warning);
            }
            DaemonEvent::Version2Peer {
                interface,
                source,
                vrid,
            } => {
                record.kind = EventKind::Version2Peer;
                record.interface = Some(interface.clone());
                record.vrid = Some(*vrid);
                record.peer = Some(*source);
                record.reason = Some("VRRP version 2 advert; xvrrp speaks version 3".to_owned());
            }
            DaemonEvent::DivergenceRaised(divergence) => {
                record.kind = EventKind::DivergenceRaised;
                record.describe(divergence);
                record.reason = Some(format!("{}: {}", divergence.kind, divergence.detail));
            }
            DaemonEvent::DivergenceCleared {
                divergence,
                reason,
                lasted,
            } => {
                record.kind = EventKind::DivergenceCleared;
                record.describe(divergence);
                record.lasted_us = Some(micros(*lasted));
                record.reason = Some(format!(
                    "{} ended ({reason}): {}",
                    divergence.kind, divergence.detail
                ));
            }
            DaemonEvent::UndecodableAdvert { interface, reason } => {
                record.kind = EventKind::UndecodableAdvert;
                record.interface = Some(interface.clone());
                record.reason = Some(reason.clone());
            }
            DaemonEvent::Reloaded { changed, removed } => {
                record.kind = EventKind::Reloaded;
                record.reason = Some(format!(
                    "changed: [{}], removed: [{}]",
                    changed.join(", "),
                    removed.join(", ")
                ));
            }
            DaemonEvent::ReloadRejected { errors } => {
                record.kind = EventKind::ReloadRejected;
                record.reason = Some(errors.join("; "));
            }
            DaemonEvent::Operator {
                instance,
                interface,
                vrid,
                what,
                requester,
            } => {
                record.kind = EventKind::Operator;
                record.instance = Some(instance.clone());
                record.interface = Some(interface.clone());
                record.vrid = Some(*vrid);
                record.reason = Some(what.clone());
                record.requester = *requester;
            }
        }
        record
    }

    /// Who and what of a divergence event.
    fn describe(&mut self, divergence: &Divergence) {
        self.instance = Some(divergence.instance.clone());
        self.interface = Some(divergence.interface.clone());
        self.vrid = Some(divergence.vrid);
        self.peer = Some(divergence.peer);
        self.divergence = Some(divergence.kind);
    }

    /// A record of `kind` with nothing else set.
    pub fn empty(at_ms: u64, kind: EventKind) -> Self {
        Self {
            at_ms,
            kind,
            instance: None,
            interface: None,
            vrid: None,
            from: None,
            to: None,
            reason: None,
            peer: None,
            gap_us: None,
            requester: None,
            divergence: None,
            lasted_us: None,
        }
    }

    /// `Backup -> Master: master down timer expired (...), peer 192.0.2.1, gap 321.875 ms`
    /// after the time: what `status` shows as the last transition.
    pub fn summary(&self) -> String {
        let mut text = format_rfc3339(self.at_ms);
        match (self.from, self.to) {
            (Some(from), Some(to)) => text.push_str(&format!(" {from} -> {to}")),
            _ => text.push_str(&format!(" {}", kind_label(self.kind))),
        }
        if let Some(reason) = &self.reason {
            text.push_str(&format!(": {reason}"));
        }
        if let Some(peer) = self.peer {
            text.push_str(&format!(", peer {peer}"));
        }
        if let Some(gap) = self.gap_us {
            let ms = gap / 1000;
            text.push_str(&format!(", gap {}", human_duration_ms(ms)));
        }
        if let Some(requester) = self.requester {
            text.push_str(&format!(", by {requester}"));
        }
        if let Some(lasted) = self.lasted_us {
            text.push_str(&format!(", lasted {}", human_duration_ms(lasted / 1000)));
        }
        text
    }

    /// One line of `xvrrp events`: time, who, what.
    pub fn line(&self) -> String {
        let who = match (&self.instance, &self.interface, self.vrid) {
            (Some(instance), _, _) => instance.clone(),
            (None, Some(interface), Some(vrid)) => format!("{interface} VRID {vrid}"),
            (None, Some(interface), None) => interface.clone(),
            (None, None, _) => "daemon".to_owned(),
        };
        let summary = self.summary();
        // The summary starts with the time; the name goes after it.
        let (at, rest) = summary.split_once(' ').unwrap_or((&summary, ""));
        format!("{at}  {who}  {rest}")
    }
}

fn kind_label(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Transition => "transition",
        EventKind::Warning => "warning",
        EventKind::Version2Peer => "VRRPv2 peer",
        EventKind::DivergenceRaised => "divergence",
        EventKind::DivergenceCleared => "divergence ended",
        EventKind::UndecodableAdvert => "undecodable advert",
        EventKind::Reloaded => "reloaded",
        EventKind::ReloadRejected => "reload rejected",
        EventKind::EventsLost => "events lost",
        EventKind::Operator => "operator",
    }
}

fn warning_source(warning: &Warning) -> Option<IpAddr> {
    match warning {
        Warning::AddressListMismatch { source, .. }
        | Warning::IntervalMismatch { source, .. }
        | Warning::OwnerReceivedAdvert { source, .. }
        | Warning::DualOwner { source }
        | Warning::ChecksumOtherStyle { source, .. }
        | Warning::PeerNotAllowed { source } => Some(*source),
        Warning::DemotedWithoutMaster { last_master } => *last_master,
    }
}

fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

/// Why the journal could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// Opening, writing or rotating the file failed.
    /// (The OS error is part of the message, not a source: this error is logged, not chained.)
    #[error("event journal {}: {op}: {error}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done.
        op: &'static str,
        /// The OS error.
        error: io::Error,
    },
}

/// The journal file being appended to.
pub struct Journal {
    path: PathBuf,
    max_bytes: u64,
    file: File,
    size: u64,
}

impl Journal {
    /// Opens (creating it and its directory if needed) the journal at `path` for appending.
    pub fn open(path: &Path, max_bytes: u64) -> Result<Self, JournalError> {
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(|source| io_error(dir, "create directory", source))?;
        }
        let file = open_append(path)?;
        let size = file
            .metadata()
            .map_err(|source| io_error(path, "stat", source))?
            .len();
        Ok(Self {
            path: path.to_owned(),
            max_bytes,
            file,
            size,
        })
    }

    /// Appends `record` as one line, rotating first if the line would not fit.
    pub fn append(&mut self, record: &EventRecord) -> Result<(), JournalError> {
        let mut line = serde_json::to_string(record).unwrap_or_default();
        line.push('\n');
        let len = u64::try_from(line.len()).unwrap_or(u64::MAX);
        if self.size > 0 && self.size.saturating_add(len) > self.max_bytes {
            self.rotate()?;
        }
        self.file
            .write_all(line.as_bytes())
            .map_err(|source| io_error(&self.path, "append", source))?;
        self.size = self.size.saturating_add(len);
        Ok(())
    }

    fn rotate(&mut self) -> Result<(), JournalError> {
        let rotated = rotated_path(&self.path);
        fs::rename(&self.path, &rotated)
            .map_err(|source| io_error(&self.path, "rotate", source))?;
        self.file = open_append(&self.path)?;
        self.size = 0;
        Ok(())
    }
}

/// The last `limit` records of the journal at `path` (its rotated file first), skipping lines
/// that do not parse (a crash may have cut the last one). Also returns how many were skipped.
pub fn read_history(path: &Path, limit: usize) -> (Vec<EventRecord>, usize) {
    let mut records = VecDeque::with_capacity(limit);
    let mut skipped = 0;
    for file in [rotated_path(path), path.to_owned()] {
        let Ok(file) = File::open(&file) else {
            continue;
        };
        for line in BufReader::new(file).lines() {
            let Ok(line) = line else {
                skipped += 1;
                break;
            };
            match serde_json::from_str::<EventRecord>(&line) {
                Ok(record) => {
                    if records.len() == limit {
                        records.pop_front();
                    }
                    records.push_back(record);
                }
                Err(_) => skipped += 1,
            }
        }
    }
    (records.into(), skipped)
}

/// `<journal>.1`.
pub fn rotated_path(path: &Path) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(".1");
    PathBuf::from(name)
}

fn open_append(path: &Path) -> Result<File, JournalError> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|source| io_error(path, "open", source))
}

fn io_error(path: &Path, op: &'static str, error: io::Error) -> JournalError {
    JournalError::Io {
        path: path.to_owned(),
        op,
        error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transition(at_ms: u64) -> EventRecord {
        EventRecord::from_event(
            &DaemonEvent::Transition {
                instance: "lan".to_owned(),
                interface: "eth0".to_owned(),
                vrid: 51,
                from: State::Backup,
                to: State::Master,
                reason: "master down timer expired".to_owned(),
                peer: Some(IpAddr::from([192, 0, 2, 1])),
                since_last_advert: Some(Duration::from_micros(321_875)),
            },
            at_ms,
        )
    }

    #[test]
    fn a_takeover_reads_with_peer_and_gap() {
        let record = transition(1_796_163_015_123);
        assert_eq!(
            record.line(),
            "2026-12-01T22:10:15.123Z  lan  Backup -> Master: master down timer expired, \
             peer 192.0.2.1, gap 321 ms"
        );
        let json = serde_json::to_string(&record).unwrap();
        assert!(json.contains(r#""kind":"transition""#), "{json}");
        assert!(json.contains(r#""gap_us":321875"#), "{json}");
        assert_eq!(serde_json::from_str::<EventRecord>(&json).unwrap(), record);
    }

    #[test]
    fn a_divergence_end_reads_with_kind_peer_and_duration() {
        let record = EventRecord::from_event(
            &DaemonEvent::DivergenceCleared {
                divergence: Divergence {
                    instance: "lan".to_owned(),
                    interface: "eth0".to_owned(),
                    vrid: 51,
                    kind: DivergenceKind::DualMaster,
                    peer: IpAddr::from([192, 0, 2, 9]),
                    detail: "192.0.2.9 advertises as Master while this router is Master".to_owned(),
                },
                reason: crate::proto::ClearReason::PeerSilent,
                lasted: Duration::from_millis(4_250),
            },
            1_796_163_015_123,
        );
        assert_eq!(
            record.line(),
            "2026-12-01T22:10:15.123Z  lan  divergence ended: dual_master ended (peer_silent): \
             192.0.2.9 advertises as Master while this router is Master, peer 192.0.2.9, \
             lasted 4.25 s"
        );
        let json = serde_json::to_string(&record).unwrap();
        assert!(json.contains(r#""kind":"divergence_cleared""#), "{json}");
        assert!(json.contains(r#""divergence":"dual_master""#), "{json}");
        assert!(json.contains(r#""lasted_us":4250000"#), "{json}");
        assert_eq!(serde_json::from_str::<EventRecord>(&json).unwrap(), record);
    }

    #[test]
    fn journal_rotates_at_its_size_and_history_spans_both_files() {
        let dir = std::env::temp_dir().join(format!("xvrrp-journal-{}", std::process::id()));
        let _fresh = fs::remove_dir_all(&dir);
        let path = dir.join("events.jsonl");
        let line_len = serde_json::to_string(&transition(1000)).unwrap().len() as u64 + 1;
        let mut journal = Journal::open(&path, line_len * 3).unwrap();
        for at in 0..7 {
            journal.append(&transition(1000 + at)).unwrap();
        }
        // 7 lines, 3 per file: lines 1-3 were rotated away, 4-6 in .1, 7 in the file.
        assert!(fs::metadata(&path).unwrap().len() <= line_len * 3);
        assert_eq!(fs::read_to_string(&path).unwrap().lines().count(), 1);
        assert_eq!(
            fs::read_to_string(rotated_path(&path))
                .unwrap()
                .lines()
                .count(),
            3
        );
        fs::write(
            &path,
            format!("{}\n{{\"cut", fs::read_to_string(&path).unwrap().trim_end()),
        )
        .unwrap();
        let (history, skipped) = read_history(&path, 3);
        let times: Vec<u64> = history.iter().map(|r| r.at_ms).collect();
        assert_eq!(times, [1004, 1005, 1006]);
        assert_eq!(skipped, 1);
        let _cleanup = fs::remove_dir_all(&dir);
    }
}
