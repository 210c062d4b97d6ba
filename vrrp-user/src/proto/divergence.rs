//! `Divergences`: which disagreements with its peers one virtual router sees now, raised when
//! they start and cleared, with how long they lasted, when they end.
//!
//! Sans-IO like the router: the driver feeds what it saw of each peer ([`Sighting`]) with the
//! time it was received, calls [`Divergences::poll`] now and then, and drains
//! [`Divergences::poll_change`]. Every call gets the router's own side as a [`LocalView`], so a
//! reload or a tracked priority change re-judges what the peers last advertised.
//!
//! # What a Backup sees of its Master
//!
//! The data plane absorbs the followed Master's routine adverts (same source, priority and
//! Max Adver Int as the published [`RoutineAdvert`]) and only stamps their receive time. So:
//!
//! - Conditions on the priority or the interval stay true while the signature is absorbed: an
//!   advert that changes either is not routine and reaches the router.
//! - The address list is not in the signature. While the Master is absorbed, the list of its
//!   last advert that reached the router is taken as still true; while it is mismatched the
//!   driver rechecks it now and then with [`Event::RecheckMaster`](super::Event::RecheckMaster),
//!   which makes the router take the Master's next advert from the ring instead.
//! - The kernel's stamp says the Master still advertises that signature: the driver feeds it as
//!   [`Sighting::Absorbed`] whenever it matters (another source advertising, and at each poll
//!   while something is active), so silence is judged on real receive times.
//!
//! # When conditions end
//!
//! A condition clears when the peer's next advert no longer has it (or the local configuration
//! changed so that it no longer applies), when the peer has been silent for
//! [`SILENCE_FACTOR`] x its Master_Down_Interval (at least [`SILENCE_FLOOR`]), when the router
//! stops (Initialize), or when the peer's entry is evicted to make room ([`PEERS_PER_ROUTER`]).
//!
//! # Two Masters
//!
//! A source is a concurrent Master when it advertises twice in a row ([`CONFIRMING_ADVERTS`]
//! times) with another Master's advert in between: another peer, or this router while it is
//! Master all along. One overlapping advert is how elections resolve (a preempting Master's
//! first advert, a healed partition's exchange) and is not raised. It ends when either side has
//! been silent as above, or this router is no longer Master; its duration runs from the first
//! overlap to the last moment both were heard.

use std::{
    collections::VecDeque,
    fmt,
    hash::{DefaultHasher, Hash as _, Hasher as _},
    net::IpAddr,
    time::{Duration, Instant},
};

use serde::{Deserialize, Serialize};

use super::{
    action::{RoutineAdvert, State},
    election::{OWNER_PRIORITY, RESIGN_PRIORITY},
    event::ReceivedAdvert,
    router::VirtualRouter,
    timing::{Centiseconds, master_down_interval},
};

/// Peers remembered per virtual router. Sources are whatever a LAN host puts in a packet, so
/// the table is bounded; a new source evicts the longest-silent peer (one with nothing active
/// first) and the eviction is counted.
pub const PEERS_PER_ROUTER: usize = 16;
/// A peer is silent after this many of its Master_Down_Intervals without an advert: one would
/// end a condition whenever the driver is late reading a queued advert.
pub const SILENCE_FACTOR: u32 = 2;
/// ... and never sooner than this: the driver polls about once a second, and an absorbed
/// Master is heard through the stamp it reads then, so a few polls must pass.
pub const SILENCE_FLOOR: Duration = Duration::from_secs(3);
/// Consecutive overlapped adverts of one source that make it a concurrent Master.
pub const CONFIRMING_ADVERTS: u8 = 2;
/// Addresses of a peer's advert kept to describe a mismatch.
const SHOWN_ADDRESSES: usize = 8;

/// What a peer disagrees on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DivergenceKind {
    /// Its Max Adver Int differs from the configured Advertisement_Interval (RFC 9568 §7.1).
    IntervalMismatch,
    /// Its address list differs from the configured virtual addresses (RFC 9568 §6.4.2, §7.1).
    AddressListMismatch,
    /// It advertises as Master while another Master does (this router or a third one).
    DualMaster,
    /// It advertises this router's priority and the election had to break the tie by primary
    /// address (this router was Master when it heard it).
    EqualPriority,
    /// It speaks VRRP version 2 on this VRID.
    Version2Peer,
    /// This router is the address owner and it claims ownership too (RFC 9568 §8.3.2).
    DualOwner,
}

impl DivergenceKind {
    /// Every kind, in a stable order (metric series, tests).
    pub const ALL: [Self; 6] = [
        Self::IntervalMismatch,
        Self::AddressListMismatch,
        Self::DualMaster,
        Self::EqualPriority,
        Self::Version2Peer,
        Self::DualOwner,
    ];

    /// Stable snake_case name, for logs, JSON and metric labels.
    pub fn name(self) -> &'static str {
        match self {
            Self::IntervalMismatch => "interval_mismatch",
            Self::AddressListMismatch => "address_list_mismatch",
            Self::DualMaster => "dual_master",
            Self::EqualPriority => "equal_priority",
            Self::Version2Peer => "version2_peer",
            Self::DualOwner => "dual_owner",
        }
    }
}

impl fmt::Display for DivergenceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a condition was cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClearReason {
    /// The peer's newest advert no longer has it, or the local side changed so it no longer
    /// applies (for two Masters: this router stopped being one).
    Resolved,
    /// The peer (for two Masters: either of them) stopped advertising.
    PeerSilent,
    /// The virtual router stopped (Initialize).
    Stopped,
    /// The peer's entry was evicted to make room for another source.
    Evicted,
}

impl ClearReason {
    /// Stable snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Resolved => "resolved",
            Self::PeerSilent => "peer_silent",
            Self::Stopped => "stopped",
            Self::Evicted => "evicted",
        }
    }
}

impl fmt::Display for ClearReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A condition that started or ended, drained with [`Divergences::poll_change`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DivergenceChange {
    /// It started.
    Raised {
        /// What.
        kind: DivergenceKind,
        /// Who.
        peer: IpAddr,
        /// In words.
        detail: String,
    },
    /// It ended.
    Cleared {
        /// What.
        kind: DivergenceKind,
        /// Who.
        peer: IpAddr,
        /// In words, as raised.
        detail: String,
        /// Why it ended.
        reason: ClearReason,
        /// From its start to its end (for a silent peer: its last advert).
        lasted: Duration,
    },
}

/// One condition active now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveDivergence {
    /// What.
    pub kind: DivergenceKind,
    /// Who.
    pub peer: IpAddr,
    /// In words.
    pub detail: String,
    /// When it started.
    pub since: Instant,
}

/// The router's own side, against which peers are judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalView {
    /// Its state.
    pub state: State,
    /// Its effective priority.
    pub priority: u8,
    /// Its advert source (its own adverts are no peer's).
    pub primary_address: IpAddr,
    /// The configured Advertisement_Interval.
    pub advert_interval: Centiseconds,
    /// The configured virtual addresses.
    pub virtual_addresses: Vec<IpAddr>,
}

impl LocalView {
    /// `router`'s side now.
    pub fn of(router: &VirtualRouter) -> Self {
        let config = router.config();
        Self {
            state: router.state(),
            priority: router.status().priority,
            primary_address: config.primary_address,
            advert_interval: config.advert_interval,
            virtual_addresses: config.virtual_addresses.clone(),
        }
    }

    fn owner(&self) -> bool {
        self.priority == OWNER_PRIORITY
    }
}

/// What the driver saw of a peer.
#[derive(Debug, Clone, Copy)]
pub enum Sighting<'a> {
    /// A VRRPv3 advert that reached the router.
    Advert(&'a ReceivedAdvert),
    /// The data plane absorbed adverts of this routine signature, the newest at the time fed.
    Absorbed(RoutineAdvert),
    /// A VRRPv2 advert from `source` with this interval.
    Version2 {
        /// Its source.
        source: IpAddr,
        /// Its advert interval.
        interval: Centiseconds,
    },
}

impl Sighting<'_> {
    fn source(&self) -> IpAddr {
        match self {
            Self::Advert(advert) => advert.source,
            Self::Absorbed(routine) => routine.source,
            Self::Version2 { source, .. } => *source,
        }
    }
}

/// A peer's address list, reduced to what is compared and what is shown.
#[derive(Debug, Clone, PartialEq, Eq)]
struct AddressList {
    /// Hash of the sorted, deduplicated list.
    digest: u64,
    /// The first addresses, in advert order.
    shown: Vec<IpAddr>,
    count: usize,
}

impl AddressList {
    fn of(addresses: &[IpAddr]) -> Self {
        Self {
            digest: digest(addresses),
            shown: addresses.iter().take(SHOWN_ADDRESSES).copied().collect(),
            count: addresses.len(),
        }
    }
}

impl fmt::Display for AddressList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown: Vec<String> = self.shown.iter().map(ToString::to_string).collect();
        write!(f, "[{}", shown.join(", "))?;
        if self.count > self.shown.len() {
            write!(f, ", ... {} in all", self.count)?;
        }
        f.write_str("]")
    }
}

fn digest(addresses: &[IpAddr]) -> u64 {
    let mut sorted = addresses.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut hasher = DefaultHasher::new();
    sorted.hash(&mut hasher);
    hasher.finish()
}

/// What a peer's newest VRRPv3 advert said.
#[derive(Debug, Clone)]
struct Facts {
    priority: u8,
    interval: Centiseconds,
    /// Unknown when only an absorbed signature was seen.
    addresses: Option<AddressList>,
}

#[derive(Debug, Clone)]
struct Raised {
    kind: DivergenceKind,
    since: Instant,
    detail: String,
    /// For two Masters: the other one (`None`: this router).
    other: Option<IpAddr>,
}

#[derive(Debug, Clone)]
struct Peer {
    source: IpAddr,
    /// Its newest advert of any version (its creation until `heard`).
    last_seen: Instant,
    /// A sighting of it has been judged (two Masters are judged from its previous advert).
    heard: bool,
    facts: Option<Facts>,
    /// Interval of its VRRPv2 adverts, while it speaks version 2 (a version 3 advert ends it).
    version2: Option<Centiseconds>,
    /// Consecutive adverts of its with another Master's in between, and when that began.
    overlapped: u8,
    overlap_since: Option<Instant>,
    /// It advertised this router's priority while this router was Master.
    tied: bool,
    active: Vec<Raised>,
}

impl Peer {
    fn new(source: IpAddr, at: Instant) -> Self {
        Self {
            source,
            last_seen: at,
            heard: false,
            facts: None,
            version2: None,
            overlapped: 0,
            overlap_since: None,
            tied: false,
            active: Vec::new(),
        }
    }

    /// How long it may stay silent before its conditions end.
    fn silence_limit(&self, local: &LocalView) -> Duration {
        let interval = self
            .version2
            .or(self.facts.as_ref().map(|facts| facts.interval))
            .unwrap_or(local.advert_interval);
        (master_down_interval(local.priority, interval) * SILENCE_FACTOR).max(SILENCE_FLOOR)
    }

    fn is_silent(&self, local: &LocalView, now: Instant) -> bool {
        now.saturating_duration_since(self.last_seen) > self.silence_limit(local)
    }

    fn is_active(&self, kind: DivergenceKind) -> bool {
        self.active.iter().any(|raised| raised.kind == kind)
    }

    /// The detail of `kind` if its condition holds now (two Masters are judged elsewhere).
    fn condition(&self, kind: DivergenceKind, local: &LocalView) -> Option<String> {
        let facts = self.facts.as_ref();
        match kind {
            DivergenceKind::IntervalMismatch => facts
                .filter(|facts| facts.interval != local.advert_interval)
                .map(|facts| {
                    format!(
                        "advertises interval {}, {} configured",
                        facts.interval, local.advert_interval
                    )
                }),
            DivergenceKind::AddressListMismatch => {
                let configured = AddressList::of(&local.virtual_addresses);
                facts
                    .and_then(|facts| facts.addresses.as_ref())
                    .filter(|advertised| advertised.digest != configured.digest)
                    .map(|advertised| format!("advertises {advertised}, {configured} configured"))
            }
            DivergenceKind::EqualPriority => facts
                .filter(|facts| self.tied && equal_contenders(facts.priority, local))
                .map(|facts| {
                    format!(
                        "advertises priority {}, this router's too: the election is decided \
                         by primary address",
                        facts.priority
                    )
                }),
            DivergenceKind::Version2Peer => self.version2.map(|_| {
                "speaks VRRP version 2 on this VRID, which this instance does not (version = \"2+3\" \
                 speaks both)"
                    .to_owned()
            }),
            DivergenceKind::DualOwner => facts
                .filter(|facts| local.owner() && facts.priority == OWNER_PRIORITY)
                .map(|_| "also claims address ownership (priority 255)".to_owned()),
            DivergenceKind::DualMaster => None,
        }
    }
}

/// Both contend with the same ordinary priority (0 resigns; two 255s are `DualOwner`).
fn equal_contenders(priority: u8, local: &LocalView) -> bool {
    priority == local.priority && priority != RESIGN_PRIORITY && !local.owner()
}

/// The conditions judged from a peer's facts alone.
const FACT_KINDS: [DivergenceKind; 5] = [
    DivergenceKind::IntervalMismatch,
    DivergenceKind::AddressListMismatch,
    DivergenceKind::EqualPriority,
    DivergenceKind::Version2Peer,
    DivergenceKind::DualOwner,
];

/// The divergences of one virtual router (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct Divergences {
    peers: Vec<Peer>,
    /// Since when this router has been Master, as the calls saw it.
    master_since: Option<Instant>,
    changes: VecDeque<DivergenceChange>,
    evictions: u64,
}

impl Divergences {
    /// No peer known.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds what was seen of a peer at `at` (its receive time), judged against `local`.
    pub fn observe(&mut self, local: &LocalView, sighting: Sighting<'_>, at: Instant) {
        self.follow_local_state(local, at);
        let source = sighting.source();
        if local.state == State::Initialize || source == local.primary_address {
            return;
        }
        let index = self.peer_index(source, at);
        let newer = {
            let peer = &mut self.peers[index];
            let newer = at > peer.last_seen || !peer.heard;
            match sighting {
                Sighting::Advert(advert) => {
                    peer.facts = Some(Facts {
                        priority: advert.priority,
                        interval: advert.max_advert_interval,
                        addresses: Some(AddressList::of(&advert.addresses)),
                    });
                    peer.version2 = None;
                    if local.state == State::Master && equal_contenders(advert.priority, local) {
                        peer.tied = true;
                    }
                }
                Sighting::Absorbed(routine) => {
                    // Absorbed adverts match what the router accepted, except the addresses.
                    let addresses = peer.facts.take().and_then(|facts| facts.addresses);
                    peer.facts = Some(Facts {
                        priority: routine.priority,
                        interval: routine.max_advert_interval,
                        addresses,
                    });
                }
                Sighting::Version2 { interval, .. } => peer.version2 = Some(interval),
            }
            newer
        };
        if newer && !matches!(sighting, Sighting::Version2 { .. }) {
            self.judge_overlap(index, local, at);
        }
        let peer = &mut self.peers[index];
        if newer {
            peer.last_seen = at;
            peer.heard = true;
        }
        self.judge_facts(index, local, at);
    }

    /// Ends what timed out or no longer applies at `now`.
    pub fn poll(&mut self, local: &LocalView, now: Instant) {
        self.follow_local_state(local, now);
        if local.state == State::Initialize {
            self.stop(now);
            return;
        }
        self.end_overlaps(local, now);
        for index in 0..self.peers.len() {
            if self.peers[index].is_silent(local, now) {
                let last = self.peers[index].last_seen;
                self.clear_peer(index, ClearReason::PeerSilent, |raised| {
                    last.saturating_duration_since(raised.since)
                });
            } else {
                self.judge_facts(index, local, now);
            }
        }
        // Silent peers with nothing active are forgotten: the table holds the live ones.
        self.peers
            .retain(|peer| !peer.active.is_empty() || !peer.is_silent(local, now));
    }

    /// The router stopped: everything ends at `now`.
    pub fn stop(&mut self, now: Instant) {
        for index in 0..self.peers.len() {
            self.clear_peer(index, ClearReason::Stopped, |raised| {
                now.saturating_duration_since(raised.since)
            });
        }
        self.peers.clear();
        self.master_since = None;
    }

    /// The next condition that started or ended, in order.
    pub fn poll_change(&mut self) -> Option<DivergenceChange> {
        self.changes.pop_front()
    }

    /// What is active now, by peer then kind.
    pub fn active(&self) -> impl Iterator<Item = ActiveDivergence> + '_ {
        self.peers.iter().flat_map(|peer| {
            peer.active.iter().map(|raised| ActiveDivergence {
                kind: raised.kind,
                peer: peer.source,
                detail: raised.detail.clone(),
                since: raised.since,
            })
        })
    }

    /// Whether `kind` is active for `peer`.
    pub fn is_active(&self, peer: IpAddr, kind: DivergenceKind) -> bool {
        self.peers
            .iter()
            .any(|candidate| candidate.source == peer && candidate.is_active(kind))
    }

    /// Whether anything is active.
    pub fn any_active(&self) -> bool {
        self.peers.iter().any(|peer| !peer.active.is_empty())
    }

    /// Peers evicted to make room for new sources.
    pub fn evictions(&self) -> u64 {
        self.evictions
    }

    /// Peers remembered now.
    pub fn peers(&self) -> usize {
        self.peers.len()
    }

    fn follow_local_state(&mut self, local: &LocalView, now: Instant) {
        match (local.state, self.master_since) {
            (State::Master, None) => self.master_since = Some(now),
            (State::Master, Some(_)) => {}
            (State::Backup | State::Initialize, _) => self.master_since = None,
        }
    }

    /// The index of `source`'s entry, made (and room made for it) if new.
    fn peer_index(&mut self, source: IpAddr, at: Instant) -> usize {
        if let Some(index) = self.peers.iter().position(|peer| peer.source == source) {
            return index;
        }
        if self.peers.len() >= PEERS_PER_ROUTER {
            let victim = self
                .peers
                .iter()
                .enumerate()
                .min_by_key(|(_, peer)| (!peer.active.is_empty(), peer.last_seen))
                .map_or(0, |(index, _)| index);
            self.clear_peer(victim, ClearReason::Evicted, |raised| {
                at.saturating_duration_since(raised.since)
            });
            self.peers.remove(victim);
            self.evictions += 1;
        }
        self.peers.push(Peer::new(source, at));
        self.peers.len() - 1
    }

    /// Raises or clears the fact-based conditions of peer `index`.
    fn judge_facts(&mut self, index: usize, local: &LocalView, at: Instant) {
        for kind in FACT_KINDS {
            let peer = &mut self.peers[index];
            if kind == DivergenceKind::EqualPriority
                && !peer
                    .facts
                    .as_ref()
                    .is_some_and(|facts| equal_contenders(facts.priority, local))
            {
                peer.tied = false;
            }
            match (peer.condition(kind, local), peer.is_active(kind)) {
                (Some(detail), false) => self.raise(index, kind, detail, None, at),
                (None, true) => self.clear(index, kind, ClearReason::Resolved, |raised| {
                    at.saturating_duration_since(raised.since)
                }),
                (Some(_), true) | (None, false) => {}
            }
        }
    }

    /// Peer `index` advertises at `at`: was another Master heard since its previous advert?
    fn judge_overlap(&mut self, index: usize, local: &LocalView, at: Instant) {
        let peer = &self.peers[index];
        let source = peer.source;
        let Some(previous) = Some(peer.last_seen).filter(|_| peer.heard) else {
            return;
        };
        let recent = at.saturating_duration_since(previous) <= peer.silence_limit(local);
        // This router, Master since before the peer's previous advert, or another peer that
        // advertised after it and is not silent.
        let other = if self.master_since.is_some_and(|since| since <= previous) {
            Some(None)
        } else {
            self.peers
                .iter()
                .filter(|other| other.source != source && other.version2.is_none())
                .filter(|other| other.last_seen > previous && !other.is_silent(local, at))
                .max_by_key(|other| other.last_seen)
                .map(|other| Some(other.source))
        };
        let peer = &mut self.peers[index];
        let Some(other) = other.filter(|_| recent) else {
            peer.overlapped = 0;
            peer.overlap_since = None;
            return;
        };
        peer.overlapped = peer.overlapped.saturating_add(1);
        let since = *peer.overlap_since.get_or_insert(previous);
        let confirmed = peer.overlapped >= CONFIRMING_ADVERTS;
        // One report per pair: the other side may have raised it first.
        let reported = peer.is_active(DivergenceKind::DualMaster)
            || other.is_some_and(|other| {
                self.peers.iter().any(|candidate| {
                    candidate.source == other
                        && candidate.active.iter().any(|raised| {
                            raised.kind == DivergenceKind::DualMaster
                                && raised.other == Some(source)
                        })
                })
            });
        if confirmed && !reported {
            let detail = match other {
                Some(other) => format!("{source} and {other} both advertise as Master"),
                None => format!("{source} advertises as Master while this router is Master"),
            };
            self.raise(index, DivergenceKind::DualMaster, detail, other, since);
        }
    }

    /// Ends two-Master conditions whose other side went quiet or stopped being Master.
    fn end_overlaps(&mut self, local: &LocalView, now: Instant) {
        for index in 0..self.peers.len() {
            let Some(raised) = self.peers[index]
                .active
                .iter()
                .find(|raised| raised.kind == DivergenceKind::DualMaster)
                .cloned()
            else {
                continue;
            };
            let last = self.peers[index].last_seen;
            let ended = match raised.other {
                None => (local.state != State::Master).then_some((ClearReason::Resolved, now)),
                Some(other) => match self.peers.iter().find(|peer| peer.source == other) {
                    Some(peer) if !peer.is_silent(local, now) => None,
                    Some(peer) => Some((ClearReason::PeerSilent, peer.last_seen.min(last))),
                    None => Some((ClearReason::PeerSilent, last)),
                },
            };
            if let Some((reason, end)) = ended {
                self.peers[index].overlapped = 0;
                self.peers[index].overlap_since = None;
                self.clear(index, DivergenceKind::DualMaster, reason, |raised| {
                    end.saturating_duration_since(raised.since)
                });
            }
        }
    }

    fn raise(
        &mut self,
        index: usize,
        kind: DivergenceKind,
        detail: String,
        other: Option<IpAddr>,
        since: Instant,
    ) {
        let peer = &mut self.peers[index];
        self.changes.push_back(DivergenceChange::Raised {
            kind,
            peer: peer.source,
            detail: detail.clone(),
        });
        peer.active.push(Raised {
            kind,
            since,
            detail,
            other,
        });
    }

    fn clear(
        &mut self,
        index: usize,
        kind: DivergenceKind,
        reason: ClearReason,
        lasted: impl Fn(&Raised) -> Duration,
    ) {
        let peer = &mut self.peers[index];
        let Some(position) = peer.active.iter().position(|raised| raised.kind == kind) else {
            return;
        };
        let raised = peer.active.remove(position);
        self.changes.push_back(DivergenceChange::Cleared {
            kind,
            peer: peer.source,
            lasted: lasted(&raised),
            detail: raised.detail,
            reason,
        });
    }

    fn clear_peer(
        &mut self,
        index: usize,
        reason: ClearReason,
        lasted: impl Fn(&Raised) -> Duration,
    ) {
        let kinds: Vec<DivergenceKind> = self.peers[index]
            .active
            .iter()
            .map(|raised| raised.kind)
            .collect();
        for kind in kinds {
            self.clear(index, kind, reason, &lasted);
        }
        let peer = &mut self.peers[index];
        peer.overlapped = 0;
        peer.overlap_since = None;
        peer.tied = false;
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;
    use crate::proto::AdvertVersion;

    const LOCAL: &str = "192.0.2.1";
    const A: &str = "192.0.2.2";
    const B: &str = "192.0.2.3";
    const VIP: &str = "192.0.2.100";

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("address")
    }

    fn cs(value: u16) -> Centiseconds {
        Centiseconds::new(value).expect("interval")
    }

    fn local(state: State, priority: u8) -> LocalView {
        LocalView {
            state,
            priority,
            primary_address: ip(LOCAL),
            advert_interval: cs(100),
            virtual_addresses: vec![ip(VIP)],
        }
    }

    fn advert(source: &str, priority: u8, interval: u16, addresses: &[&str]) -> ReceivedAdvert {
        ReceivedAdvert {
            source: ip(source),
            priority,
            max_advert_interval: cs(interval),
            addresses: addresses.iter().map(|address| ip(address)).collect(),
            version: AdvertVersion::V3,
        }
    }

    fn clean(source: &str, priority: u8) -> ReceivedAdvert {
        advert(source, priority, 100, &[VIP])
    }

    fn routine(source: &str, priority: u8) -> RoutineAdvert {
        RoutineAdvert {
            source: ip(source),
            priority,
            max_advert_interval: cs(100),
        }
    }

    fn secs(base: Instant, seconds: f64) -> Instant {
        base + Duration::from_secs_f64(seconds)
    }

    fn drain(divergences: &mut Divergences) -> Vec<DivergenceChange> {
        std::iter::from_fn(|| divergences.poll_change()).collect()
    }

    /// What ended since the last drain: kind, peer, reason, duration.
    fn ends(divergences: &mut Divergences) -> Vec<(DivergenceKind, IpAddr, ClearReason, Duration)> {
        drain(divergences).iter().filter_map(cleared).collect()
    }

    fn raised(kind: DivergenceKind, peer: &str) -> impl Fn(&DivergenceChange) -> bool {
        let peer = ip(peer);
        move |change| matches!(change, DivergenceChange::Raised { kind: k, peer: p, .. } if *k == kind && *p == peer)
    }

    fn cleared(
        change: &DivergenceChange,
    ) -> Option<(DivergenceKind, IpAddr, ClearReason, Duration)> {
        match change {
            DivergenceChange::Cleared {
                kind,
                peer,
                reason,
                lasted,
                ..
            } => Some((*kind, *peer, *reason, *lasted)),
            DivergenceChange::Raised { .. } => None,
        }
    }

    #[test]
    fn an_interval_mismatch_is_raised_then_cleared_by_a_clean_advert() {
        let t = Instant::now();
        let view = local(State::Backup, 100);
        let mut divergences = Divergences::new();
        divergences.observe(&view, Sighting::Advert(&advert(A, 200, 300, &[VIP])), t);
        let changes = drain(&mut divergences);
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert!(raised(DivergenceKind::IntervalMismatch, A)(&changes[0]));
        let DivergenceChange::Raised { detail, .. } = &changes[0] else {
            unreachable!()
        };
        assert_eq!(detail, "advertises interval 300 cs, 100 cs configured");
        // The same defect again: nothing new.
        divergences.observe(
            &view,
            Sighting::Advert(&advert(A, 200, 300, &[VIP])),
            secs(t, 3.0),
        );
        assert!(drain(&mut divergences).is_empty());
        divergences.observe(&view, Sighting::Advert(&clean(A, 200)), secs(t, 5.0));
        let changes = drain(&mut divergences);
        assert_eq!(
            changes.iter().filter_map(cleared).collect::<Vec<_>>(),
            vec![(
                DivergenceKind::IntervalMismatch,
                ip(A),
                ClearReason::Resolved,
                Duration::from_secs(5)
            )]
        );
        assert_eq!(divergences.active().count(), 0);
    }

    #[test]
    fn address_lists_compare_as_sets_and_a_reload_can_resolve_them() {
        let t = Instant::now();
        let mut view = local(State::Backup, 100);
        view.virtual_addresses = vec![ip(VIP), ip("192.0.2.101")];
        let mut divergences = Divergences::new();
        let reordered = advert(A, 200, 100, &["192.0.2.101", VIP, VIP]);
        divergences.observe(&view, Sighting::Advert(&reordered), t);
        assert!(
            drain(&mut divergences).is_empty(),
            "order and repeats do not matter"
        );
        divergences.observe(&view, Sighting::Advert(&clean(A, 200)), secs(t, 1.0));
        let changes = drain(&mut divergences);
        assert!(
            raised(DivergenceKind::AddressListMismatch, A)(&changes[0]),
            "{changes:?}"
        );
        // Its adverts are absorbed from now on; the operator fixes the local list.
        divergences.observe(&view, Sighting::Absorbed(routine(A, 200)), secs(t, 2.0));
        assert!(drain(&mut divergences).is_empty());
        view.virtual_addresses = vec![ip(VIP)];
        divergences.poll(&view, secs(t, 2.5));
        let changes = ends(&mut divergences);
        assert_eq!(
            changes,
            vec![(
                DivergenceKind::AddressListMismatch,
                ip(A),
                ClearReason::Resolved,
                Duration::from_millis(1500)
            )]
        );
    }

    #[test]
    fn absorbed_stamps_keep_a_condition_alive_and_silence_ends_it() {
        let t = Instant::now();
        let view = local(State::Backup, 100);
        let mut divergences = Divergences::new();
        divergences.observe(
            &view,
            Sighting::Advert(&advert(A, 200, 100, &["192.0.2.99"])),
            t,
        );
        drain(&mut divergences);
        // Master_Down_Interval for priority 100 and 1 s: 3.609375 s; silent after twice that.
        for second in 1..=20 {
            let now = secs(t, f64::from(second));
            divergences.observe(&view, Sighting::Absorbed(routine(A, 200)), now);
            divergences.poll(&view, now);
        }
        assert!(
            drain(&mut divergences).is_empty(),
            "stamped every second: still there"
        );
        divergences.poll(&view, secs(t, 27.0));
        assert!(
            drain(&mut divergences).is_empty(),
            "7 s of silence is under 2 x 3.6 s"
        );
        divergences.poll(&view, secs(t, 28.0));
        let changes = ends(&mut divergences);
        assert_eq!(
            changes,
            vec![(
                DivergenceKind::AddressListMismatch,
                ip(A),
                ClearReason::PeerSilent,
                Duration::from_secs(20)
            )]
        );
        assert_eq!(
            divergences.peers(),
            0,
            "a silent peer with nothing active is forgotten"
        );
    }

    #[test]
    fn a_master_sees_a_second_master_only_when_it_keeps_advertising() {
        let t = Instant::now();
        let master = local(State::Master, 150);
        let mut divergences = Divergences::new();
        divergences.poll(&master, t);
        // A lower-priority router's advert, answered by ours: the election, not a divergence.
        divergences.observe(&master, Sighting::Advert(&clean(A, 100)), secs(t, 1.0));
        divergences.observe(&master, Sighting::Advert(&clean(A, 100)), secs(t, 2.0));
        assert!(drain(&mut divergences).is_empty());
        divergences.observe(&master, Sighting::Advert(&clean(A, 100)), secs(t, 3.0));
        let changes = drain(&mut divergences);
        assert!(
            raised(DivergenceKind::DualMaster, A)(&changes[0]),
            "{changes:?}"
        );
        assert_eq!(
            divergences.active().next().map(|a| a.since),
            Some(secs(t, 1.0))
        );
        // This router steps down: the overlap ended when it was noticed.
        divergences.poll(&local(State::Backup, 150), secs(t, 4.0));
        let changes = ends(&mut divergences);
        assert_eq!(
            changes,
            vec![(
                DivergenceKind::DualMaster,
                ip(A),
                ClearReason::Resolved,
                Duration::from_secs(3)
            )]
        );
    }

    #[test]
    fn a_backup_sees_two_masters_through_the_stamp_and_reports_the_pair_once() {
        let t = Instant::now();
        let backup = local(State::Backup, 100);
        let mut divergences = Divergences::new();
        divergences.observe(&backup, Sighting::Advert(&clean(A, 200)), t);
        // A is absorbed; B's adverts come up, each with A's newest stamp read first.
        for round in 1..=4 {
            let base = f64::from(round);
            divergences.observe(&backup, Sighting::Absorbed(routine(A, 200)), secs(t, base));
            divergences.observe(
                &backup,
                Sighting::Advert(&clean(B, 150)),
                secs(t, base + 0.5),
            );
        }
        let changes = drain(&mut divergences);
        let dual: Vec<_> = changes
            .iter()
            .filter(|change| {
                matches!(
                    change,
                    DivergenceChange::Raised {
                        kind: DivergenceKind::DualMaster,
                        ..
                    }
                )
            })
            .collect();
        assert_eq!(dual.len(), 1, "one report per pair: {changes:?}");
        // B stops; A keeps being stamped. The end is B's last advert.
        for second in 5..=14 {
            let now = secs(t, f64::from(second));
            divergences.observe(&backup, Sighting::Absorbed(routine(A, 200)), now);
            divergences.poll(&backup, now);
        }
        let ends = ends(&mut divergences);
        let Some((DivergenceKind::DualMaster, _, ClearReason::PeerSilent, lasted)) =
            ends.first().copied()
        else {
            panic!("expected the end of two Masters: {ends:?}");
        };
        // From A's advert before the first overlap (1 s) to B's last (4.5 s).
        assert!(
            lasted >= Duration::from_millis(3000) && lasted <= Duration::from_millis(3500),
            "{lasted:?}"
        );
    }

    #[test]
    fn failovers_and_preemptions_are_not_two_masters() {
        let t = Instant::now();
        let backup = local(State::Backup, 100);
        let mut divergences = Divergences::new();
        // A advertises, dies; B takes over a Master_Down_Interval later.
        for second in 0..3 {
            divergences.observe(
                &backup,
                Sighting::Advert(&clean(A, 200)),
                secs(t, f64::from(second)),
            );
        }
        for second in 6..10 {
            divergences.observe(
                &backup,
                Sighting::Advert(&clean(B, 150)),
                secs(t, f64::from(second)),
            );
        }
        // A comes back and preempts: B's one advert in flight, then only A.
        divergences.observe(&backup, Sighting::Advert(&clean(A, 200)), secs(t, 10.0));
        divergences.observe(&backup, Sighting::Advert(&clean(B, 150)), secs(t, 10.1));
        for second in 11..15 {
            divergences.observe(
                &backup,
                Sighting::Advert(&clean(A, 200)),
                secs(t, f64::from(second)),
            );
        }
        let changes = drain(&mut divergences);
        assert!(changes.is_empty(), "{changes:?}");
    }

    #[test]
    fn equal_priority_counts_only_when_the_election_breaks_a_tie() {
        let t = Instant::now();
        let mut divergences = Divergences::new();
        divergences.observe(
            &local(State::Backup, 100),
            Sighting::Advert(&clean(A, 100)),
            t,
        );
        assert!(
            drain(&mut divergences).is_empty(),
            "a Backup following an equal Master"
        );
        divergences.observe(
            &local(State::Master, 100),
            Sighting::Advert(&clean(B, 100)),
            secs(t, 1.0),
        );
        let changes = drain(&mut divergences);
        assert!(
            raised(DivergenceKind::EqualPriority, B)(&changes[0]),
            "{changes:?}"
        );
        // It lost the tie and follows B, absorbed; tracking then lowers this router.
        divergences.observe(
            &local(State::Backup, 100),
            Sighting::Absorbed(routine(B, 100)),
            secs(t, 2.0),
        );
        assert!(drain(&mut divergences).is_empty());
        divergences.poll(&local(State::Backup, 90), secs(t, 3.0));
        let changes = ends(&mut divergences);
        assert_eq!(
            changes,
            vec![(
                DivergenceKind::EqualPriority,
                ip(B),
                ClearReason::Resolved,
                Duration::from_secs(2)
            )]
        );
        // Back to 100: the tie is not raised again until the election meets it again.
        divergences.poll(&local(State::Backup, 100), secs(t, 4.0));
        assert!(drain(&mut divergences).is_empty());
    }

    #[test]
    fn a_version2_peer_ends_when_it_speaks_version3_and_owners_collide() {
        let t = Instant::now();
        let backup = local(State::Backup, 100);
        let mut divergences = Divergences::new();
        let v2 = Sighting::Version2 {
            source: ip(A),
            interval: cs(100),
        };
        divergences.observe(&backup, v2, t);
        assert!(raised(DivergenceKind::Version2Peer, A)(
            &drain(&mut divergences)[0]
        ));
        divergences.observe(&backup, Sighting::Advert(&clean(A, 200)), secs(t, 1.0));
        let changes = ends(&mut divergences);
        assert_eq!(
            changes,
            vec![(
                DivergenceKind::Version2Peer,
                ip(A),
                ClearReason::Resolved,
                Duration::from_secs(1)
            )]
        );
        let owner = local(State::Master, 255);
        let mut divergences = Divergences::new();
        divergences.observe(&owner, Sighting::Advert(&clean(B, 255)), t);
        assert!(raised(DivergenceKind::DualOwner, B)(
            &drain(&mut divergences)[0]
        ));
        divergences.observe(
            &local(State::Backup, 200),
            Sighting::Advert(&clean(B, 255)),
            t,
        );
        assert!(
            drain(&mut divergences)
                .iter()
                .any(|change| cleared(change).is_some()),
            "a non-owner hearing the owner is normal"
        );
    }

    #[test]
    fn stopping_clears_everything_and_own_adverts_are_ignored() {
        let t = Instant::now();
        let backup = local(State::Backup, 100);
        let mut divergences = Divergences::new();
        divergences.observe(&backup, Sighting::Advert(&advert(LOCAL, 100, 300, &[])), t);
        assert!(drain(&mut divergences).is_empty());
        divergences.observe(&backup, Sighting::Advert(&advert(A, 200, 300, &[])), t);
        assert_eq!(drain(&mut divergences).len(), 2);
        divergences.poll(&local(State::Initialize, 100), secs(t, 2.0));
        let changes = ends(&mut divergences);
        assert_eq!(changes.len(), 2);
        assert!(
            changes.iter().all(
                |change| change.2 == ClearReason::Stopped && change.3 == Duration::from_secs(2)
            )
        );
        assert!(!divergences.any_active());
    }

    #[test]
    fn the_table_is_bounded_and_evicts_the_quiet_first() {
        let t = Instant::now();
        let backup = local(State::Backup, 100);
        let mut divergences = Divergences::new();
        divergences.observe(&backup, Sighting::Advert(&advert(A, 200, 300, &[VIP])), t);
        for host in 10..(10 + PEERS_PER_ROUTER) {
            let source = format!("192.0.2.{host}");
            divergences.observe(
                &backup,
                Sighting::Advert(&clean(&source, 50)),
                secs(t, 0.001),
            );
        }
        assert_eq!(divergences.peers(), PEERS_PER_ROUTER);
        assert_eq!(divergences.evictions(), 1);
        assert!(
            divergences.active().any(|active| active.peer == ip(A)),
            "the diverging peer stays"
        );
    }

    /// One step of a random run.
    #[derive(Debug, Clone)]
    enum Step {
        Advert {
            source: u8,
            priority: u8,
            interval: u16,
            vips: u8,
        },
        Absorbed {
            source: u8,
            priority: u8,
        },
        Version2 {
            source: u8,
        },
        Poll {
            state: u8,
            priority: u8,
        },
    }

    fn step() -> impl Strategy<Value = (Step, u16)> {
        let source = 0u8..20;
        let step = prop_oneof![
            (
                source.clone(),
                prop_oneof![Just(0u8), Just(100), Just(150), Just(255), 1u8..=254],
                prop_oneof![Just(100u16), Just(300), 1u16..=4095],
                0u8..3
            )
                .prop_map(|(source, priority, interval, vips)| Step::Advert {
                    source,
                    priority,
                    interval,
                    vips
                }),
            (source.clone(), prop_oneof![Just(100u8), 1u8..=255])
                .prop_map(|(source, priority)| Step::Absorbed { source, priority }),
            source.prop_map(|source| Step::Version2 { source }),
            (0u8..3, prop_oneof![Just(100u8), Just(255), 1u8..=254])
                .prop_map(|(state, priority)| Step::Poll { state, priority }),
        ];
        // Milliseconds since the previous step.
        (step, prop_oneof![0u16..50, 0u16..2000, Just(10_000)])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        /// Whatever arrives: each (peer, kind) alternates raise and clear, the active set is
        /// what was raised and not cleared, the table stays bounded, nothing lasts longer than
        /// it could have, and stopping clears everything.
        #[test]
        fn raises_and_clears_pair_up(steps in proptest::collection::vec(step(), 1..200)) {
            let start = Instant::now();
            let mut now = start;
            let mut view = local(State::Backup, 100);
            let mut divergences = Divergences::new();
            let mut open: BTreeMap<(IpAddr, DivergenceKind), Instant> = BTreeMap::new();
            let mut check = |divergences: &mut Divergences, now: Instant| -> Result<(), TestCaseError> {
                while let Some(change) = divergences.poll_change() {
                    match change {
                        DivergenceChange::Raised { kind, peer, .. } => {
                            prop_assert!(open.insert((peer, kind), now).is_none(), "raised twice: {kind} {peer}");
                        }
                        DivergenceChange::Cleared { kind, peer, lasted, .. } => {
                            prop_assert!(open.remove(&(peer, kind)).is_some(), "cleared unraised: {kind} {peer}");
                            prop_assert!(lasted <= now.saturating_duration_since(start));
                        }
                    }
                }
                let active: Vec<(IpAddr, DivergenceKind)> = divergences.active().map(|a| (a.peer, a.kind)).collect();
                prop_assert_eq!(active.len(), open.len());
                for key in &active {
                    prop_assert!(open.contains_key(key));
                }
                prop_assert!(divergences.peers() <= PEERS_PER_ROUTER);
                Ok(())
            };
            for (step, gap_ms) in steps {
                now += Duration::from_millis(u64::from(gap_ms));
                let peer = |source: u8| IpAddr::from([198, 51, 100, source + 2]);
                match step {
                    Step::Advert { source, priority, interval, vips } => {
                        let received = ReceivedAdvert {
                            source: peer(source),
                            priority,
                            max_advert_interval: cs(interval),
                            addresses: (0..vips).map(|i| IpAddr::from([192, 0, 2, 100 + i])).collect(),
                            version: AdvertVersion::V3,
                        };
                        divergences.observe(&view, Sighting::Advert(&received), now);
                    }
                    Step::Absorbed { source, priority } => {
                        let signature = RoutineAdvert { source: peer(source), priority, max_advert_interval: cs(100) };
                        divergences.observe(&view, Sighting::Absorbed(signature), now);
                    }
                    Step::Version2 { source } => {
                        divergences.observe(&view, Sighting::Version2 { source: peer(source), interval: cs(100) }, now);
                    }
                    Step::Poll { state, priority } => {
                        view.state = [State::Initialize, State::Backup, State::Master][usize::from(state)];
                        view.priority = priority;
                        divergences.poll(&view, now);
                    }
                }
                check(&mut divergences, now)?;
            }
            divergences.stop(now);
            check(&mut divergences, now)?;
            prop_assert!(open.is_empty());
            prop_assert_eq!(divergences.peers(), 0);
        }
    }
}
