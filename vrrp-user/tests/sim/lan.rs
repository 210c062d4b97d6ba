//! A deterministic LAN of `VirtualRouter`s in virtual time.
//!
//! Time only moves to the next deadline (an advert arriving or a router timer), so runs are
//! exact and fast. Adverts a router sends reach every other live router in the same partition
//! after the link delay, unless the seeded loss drops them. Every drive loop is bounded.
//!
//! Each router sits behind a model of its XDP data plane, so every test runs the real path:
//! adverts matching the routine signature the router published are absorbed (their arrival
//! stamped, nothing delivered), all others go through a bounded ring the router reads, and
//! `ReadAbsorbedStamp` is answered from the stamp. A router sends one advert per VRRP version
//! it speaks (both for `"2+3"`), and a data plane discards the versions its router does not
//! speak, as the XDP program's version check does.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use vrrp_user::proto::{
    Action, AddressFamily, AdvertVersion, Centiseconds, Command, CommandRefused, DataplaneRole,
    Drill, DrillProgress, DrillRefused, DrillReport, Effect, Event, ReceivedAdvert, RouterConfig,
    RoutineAdvert, State, TransitionReason, VersionMode, VirtualRouter,
};

/// Upper bound on simulation steps in one `run_until`; reaching it is a test failure.
const MAX_STEPS: usize = 1_000_000;

/// Punted adverts a router's ring holds unless a test sets another capacity.
const DEFAULT_RING_CAPACITY: usize = 64;

/// The virtual address every simulated router protects.
pub(crate) const VIRTUAL_ADDRESS: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100));

/// An IPv4 router configuration with primary address 192.0.2.`host`, VRID 1, preempt on.
pub(crate) fn router_config(priority: u8, host: u8, interval: Centiseconds) -> RouterConfig {
    RouterConfig {
        vrid: 1,
        family: AddressFamily::Ipv4,
        priority,
        advert_interval: interval,
        preempt: true,
        preempt_delay: Duration::ZERO,
        accept_mode: false,
        primary_address: IpAddr::V4(Ipv4Addr::new(192, 0, 2, host)),
        virtual_addresses: vec![VIRTUAL_ADDRESS],
        version: VersionMode::V3,
    }
}

/// Whether a router speaking `mode` sends and accepts adverts of `version`.
fn speaks(mode: VersionMode, version: AdvertVersion) -> bool {
    match version {
        AdvertVersion::V2 => mode.speaks_v2(),
        AdvertVersion::V3 => mode.speaks_v3(),
    }
}

/// Centiseconds from a literal known to be in range.
pub(crate) fn cs(value: u16) -> Centiseconds {
    Centiseconds::new(value).expect("interval in 1..=4095")
}

/// One action a router emitted, stamped with virtual time since the LAN's start.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Record {
    /// Virtual time.
    pub(crate) at: Duration,
    /// Router index.
    pub(crate) router: usize,
    /// What it did.
    pub(crate) action: Action,
}

/// What the XDP program of one router does with adverts, per the kernel/user contract.
#[derive(Default)]
struct SimDataplane {
    /// The role and routine signature of the last `SetDataplaneRole` (the instance record).
    role: Option<DataplaneRole>,
    routine: Option<RoutineAdvert>,
    /// Arrival of the newest absorbed advert since the record was written.
    last_seen: Option<Duration>,
    /// Punted adverts with their arrival time, not yet read by the router.
    ring: VecDeque<(Duration, ReceivedAdvert)>,
    absorbed: u64,
    lost: u64,
}

impl SimDataplane {
    fn is_routine(&self, advert: &ReceivedAdvert) -> bool {
        let signature = RoutineAdvert {
            source: advert.source,
            priority: advert.priority,
            max_advert_interval: advert.max_advert_interval,
        };
        self.role == Some(DataplaneRole::Backup) && self.routine == Some(signature)
    }

    /// An advert arrives at `at`: absorbed if routine, else punted (lost if the ring is full).
    fn receive(&mut self, at: Duration, advert: ReceivedAdvert, ring_capacity: usize) {
        // A resigning Master's program yields to another router's advert in that packet (its
        // own adverts never reach it).
        if self.role == Some(DataplaneRole::Resigning) {
            self.role = Some(DataplaneRole::Backup);
        }
        if self.is_routine(&advert) {
            self.last_seen = Some(at);
            self.absorbed += 1;
        } else if self.ring.len() < ring_capacity {
            self.ring.push_back((at, advert));
        } else {
            self.lost += 1;
        }
    }
}

struct SimRouter {
    router: VirtualRouter,
    dataplane: SimDataplane,
    /// False once killed: the process is gone, it neither sends nor receives.
    alive: bool,
    partition: u8,
    /// The state replayed from the router's Transition actions, to check their order.
    observed_state: State,
}

struct Delivery {
    to: usize,
    advert: ReceivedAdvert,
}

/// SplitMix64: a tiny deterministic generator for packet loss.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// The simulated LAN.
pub(crate) struct Lan {
    base: Instant,
    now: Duration,
    routers: Vec<SimRouter>,
    /// Adverts in flight, keyed by (arrival time, sequence number) so ties stay in send order.
    in_flight: BTreeMap<(Duration, u64), Delivery>,
    sequence: u64,
    delay: Duration,
    link_delays: HashMap<(usize, usize), Duration>,
    loss_per_mille: u16,
    rng: SplitMix64,
    ring_capacity: usize,
    records: Vec<Record>,
}

impl Lan {
    /// A LAN of routers (not started yet) with a uniform link delay and no loss.
    pub(crate) fn new(configs: Vec<RouterConfig>, delay: Duration) -> Self {
        Self {
            base: Instant::now(),
            now: Duration::ZERO,
            routers: configs
                .into_iter()
                .map(|config| SimRouter {
                    router: VirtualRouter::new(config),
                    dataplane: SimDataplane::default(),
                    alive: true,
                    partition: 0,
                    observed_state: State::Initialize,
                })
                .collect(),
            in_flight: BTreeMap::new(),
            sequence: 0,
            delay,
            link_delays: HashMap::new(),
            loss_per_mille: 0,
            rng: SplitMix64(0),
            ring_capacity: DEFAULT_RING_CAPACITY,
            records: Vec::new(),
        }
    }

    /// How many punted adverts each router's ring holds before further ones are lost.
    pub(crate) fn set_ring_capacity(&mut self, capacity: usize) {
        self.ring_capacity = capacity;
    }

    /// Adverts router `index`'s data plane absorbed, and those it lost to a full ring.
    pub(crate) fn dataplane_counts(&self, index: usize) -> (u64, u64) {
        let dataplane = &self.routers[index].dataplane;
        (dataplane.absorbed, dataplane.lost)
    }

    /// Drops each delivery with probability `per_mille / 1000`, decided by a generator seeded
    /// with `seed`.
    pub(crate) fn set_loss(&mut self, per_mille: u16, seed: u64) {
        self.loss_per_mille = per_mille;
        self.rng = SplitMix64(seed);
    }

    /// Overrides the delay from `from` to `to`.
    pub(crate) fn set_link_delay(&mut self, from: usize, to: usize, delay: Duration) {
        self.link_delays.insert((from, to), delay);
    }

    /// Current virtual time.
    pub(crate) fn now(&self) -> Duration {
        self.now
    }

    /// Number of routers.
    pub(crate) fn len(&self) -> usize {
        self.routers.len()
    }

    /// The router at `index`.
    pub(crate) fn router(&self, index: usize) -> &VirtualRouter {
        &self.routers[index].router
    }

    /// State of the router at `index` (a killed router reports its last state).
    pub(crate) fn state(&self, index: usize) -> State {
        self.routers[index].router.state()
    }

    /// Whether the router at `index` runs (not killed).
    pub(crate) fn is_alive(&self, index: usize) -> bool {
        self.routers[index].alive
    }

    /// Indices of live routers in Master state.
    pub(crate) fn masters(&self) -> Vec<usize> {
        (0..self.routers.len())
            .filter(|&index| self.routers[index].alive && self.state(index) == State::Master)
            .collect()
    }

    /// Everything every router did so far.
    pub(crate) fn records(&self) -> &[Record] {
        &self.records
    }

    /// Times and priorities of the adverts router `index` sent.
    pub(crate) fn adverts_sent_by(&self, index: usize) -> Vec<(Duration, u8)> {
        self.records
            .iter()
            .filter(|record| record.router == index)
            .filter_map(|record| match record.action {
                Action::SendAdvert { priority } => Some((record.at, priority)),
                _ => None,
            })
            .collect()
    }

    /// The transitions of router `index` into `to`, with time and reason.
    pub(crate) fn transitions_to(
        &self,
        index: usize,
        to: State,
    ) -> Vec<(Duration, TransitionReason)> {
        self.records
            .iter()
            .filter(|record| record.router == index)
            .filter_map(|record| match &record.action {
                Action::Transition {
                    to: reached,
                    reason,
                    ..
                } if *reached == to => Some((record.at, reason.clone())),
                _ => None,
            })
            .collect()
    }

    /// Actions of router `index` recorded at or after `since`.
    pub(crate) fn actions_since(&self, index: usize, since: Duration) -> Vec<Action> {
        self.records
            .iter()
            .filter(|record| record.router == index && record.at >= since)
            .map(|record| record.action.clone())
            .collect()
    }

    /// Feeds `event` to router `index` now.
    pub(crate) fn event(&mut self, index: usize, event: Event) {
        let now = self.base + self.now;
        self.routers[index].router.handle_event(event, now);
        self.drain(index);
    }

    /// Feeds an operator's `command` to router `index` now.
    pub(crate) fn command(
        &mut self,
        index: usize,
        command: Command,
    ) -> Result<Effect, CommandRefused> {
        let now = self.base + self.now;
        let result = self.routers[index].router.handle_command(command, now);
        self.drain(index);
        result
    }

    /// Runs a drill on router `index` to its end, polling it every `poll` of virtual time as
    /// the daemon does.
    pub(crate) fn drill(
        &mut self,
        index: usize,
        poll: Duration,
    ) -> Result<DrillReport, DrillRefused> {
        let now = self.base + self.now;
        let mut drill = Drill::start(&mut self.routers[index].router, now)?;
        self.drain(index);
        for _ in 0..MAX_STEPS {
            self.run_for(poll);
            let now = self.base + self.now;
            let progress = drill.poll(&mut self.routers[index].router, now);
            self.drain(index);
            if let DrillProgress::Finished(report) = progress {
                return Ok(report);
            }
        }
        panic!("the drill did not finish within {MAX_STEPS} polls");
    }

    /// Starts router `index`; a killed router comes back as a fresh process first.
    pub(crate) fn start(&mut self, index: usize) {
        let slot = &mut self.routers[index];
        if !slot.alive {
            slot.router = VirtualRouter::new(slot.router.config().clone());
            slot.dataplane = SimDataplane::default();
            slot.alive = true;
            slot.observed_state = State::Initialize;
        }
        self.event(index, Event::Startup);
    }

    /// Administratively stops router `index` (a Master resigns with priority 0).
    pub(crate) fn stop(&mut self, index: usize) {
        if self.routers[index].alive {
            self.event(index, Event::Shutdown);
        }
    }

    /// Router `index` disappears without a word.
    pub(crate) fn kill(&mut self, index: usize) {
        self.routers[index].alive = false;
        self.routers[index].dataplane.ring.clear();
    }

    /// Tracking sets router `index`'s priority.
    pub(crate) fn set_priority(&mut self, index: usize, priority: u8) {
        if self.routers[index].alive {
            self.event(index, Event::PriorityChanged(priority));
        }
    }

    /// Moves router `index` into `partition`; only routers in the same partition hear it.
    pub(crate) fn set_partition(&mut self, index: usize, partition: u8) {
        self.routers[index].partition = partition;
    }

    /// Puts every router back into one partition.
    pub(crate) fn heal(&mut self) {
        for router in &mut self.routers {
            router.partition = 0;
        }
    }

    /// Delivers `advert` to router `index`'s data plane now, as a probe host on the LAN would,
    /// and lets the router read what was punted.
    pub(crate) fn inject(&mut self, index: usize, advert: ReceivedAdvert) {
        self.inject_together(index, vec![advert]);
    }

    /// Delivers `adverts` to router `index`'s data plane in one instant, before the router
    /// reads its ring.
    pub(crate) fn inject_together(&mut self, index: usize, adverts: Vec<ReceivedAdvert>) {
        if !self.routers[index].alive {
            return;
        }
        for advert in adverts {
            self.routers[index]
                .dataplane
                .receive(self.now, advert, self.ring_capacity);
        }
        self.read_ring(index);
    }

    /// Runs until virtual time `until`, processing every arrival and timer on the way.
    pub(crate) fn run_until(&mut self, until: Duration) {
        for _ in 0..MAX_STEPS {
            match self.next_step() {
                Some((at, step)) if at <= until => {
                    self.now = self.now.max(at);
                    self.perform(step);
                }
                _ => {
                    self.now = self.now.max(until);
                    return;
                }
            }
        }
        panic!("simulation made {MAX_STEPS} steps before {until:?}: a timer storm");
    }

    /// Runs for `duration` of virtual time.
    pub(crate) fn run_for(&mut self, duration: Duration) {
        self.run_until(self.now + duration);
    }

    fn next_step(&self) -> Option<(Duration, Step)> {
        let arrival = self
            .in_flight
            .keys()
            .next()
            .map(|&key| (key.0, Step::Deliver(key)));
        // Adverts arriving together fill the ring before the router reads it, and the router
        // reads it before its timers fire.
        if let Some(arrival) = arrival.filter(|arrival| arrival.0 <= self.now) {
            return Some(arrival);
        }
        if let Some(index) = (0..self.routers.len()).find(|&index| {
            self.routers[index].alive && !self.routers[index].dataplane.ring.is_empty()
        }) {
            return Some((self.now, Step::ReadRing(index)));
        }
        let timer = self
            .routers
            .iter()
            .enumerate()
            .filter(|(_, slot)| slot.alive)
            .filter_map(|(index, slot)| {
                let deadline = slot.router.poll_timeout()?;
                Some((deadline.saturating_duration_since(self.base), index))
            })
            .min()
            .map(|(at, index)| (at, Step::Timeout(index)));
        // At equal times an arriving advert goes first: it may cancel the timer.
        match (arrival, timer) {
            (Some(arrival), Some(timer)) if timer.0 < arrival.0 => Some(timer),
            (Some(arrival), _) => Some(arrival),
            (None, timer) => timer,
        }
    }

    fn perform(&mut self, step: Step) {
        match step {
            Step::Deliver(key) => {
                let delivery = self.in_flight.remove(&key).expect("key came from the map");
                if self.routers[delivery.to].alive {
                    self.routers[delivery.to].dataplane.receive(
                        self.now,
                        delivery.advert,
                        self.ring_capacity,
                    );
                }
            }
            Step::ReadRing(index) => self.read_ring(index),
            Step::Timeout(index) => {
                let now = self.base + self.now;
                self.routers[index].router.handle_timeout(now);
                self.drain(index);
            }
        }
    }

    /// Router `index` handles every punted advert, at its arrival time.
    fn read_ring(&mut self, index: usize) {
        while let Some((at, advert)) = self.routers[index].dataplane.ring.pop_front() {
            let arrived = self.base + at;
            self.routers[index]
                .router
                .handle_event(Event::Advert(advert), arrived);
            self.drain(index);
        }
    }

    /// Answers `ReadAbsorbedStamp` as the daemon does: the stamp (or its absence), then the
    /// timeout again.
    fn report_absorbed_stamp(&mut self, index: usize) {
        let now = self.base + self.now;
        let slot = &mut self.routers[index];
        match slot.dataplane.last_seen {
            Some(seen) => slot
                .router
                .handle_event(Event::AbsorbedAdvert, self.base + seen),
            None => slot.router.handle_event(Event::NoAbsorbedAdvert, now),
        }
        slot.router.handle_timeout(now);
    }

    /// Takes every pending action of router `index`, records it and sends adverts.
    fn drain(&mut self, index: usize) {
        // The state the actions are emitted in, replayed from the Transition actions.
        let mut state = self.routers[index].observed_state;
        while let Some(action) = self.routers[index].router.poll_action() {
            match &action {
                Action::Transition { from, to, .. } => {
                    assert_eq!(
                        *from, state,
                        "router {index}: transition from a state it was not in"
                    );
                    state = *to;
                }
                Action::SendAdvert { priority } => {
                    assert_ne!(
                        state,
                        State::Backup,
                        "router {index} sent an advert while Backup"
                    );
                    self.broadcast(index, *priority);
                }
                Action::SetDataplaneRole { role, routine } => {
                    let dataplane = &mut self.routers[index].dataplane;
                    dataplane.role = Some(*role);
                    dataplane.routine = *routine;
                    // The daemon rewrites the instance record, which clears the stamp.
                    dataplane.last_seen = None;
                }
                Action::ReadAbsorbedStamp => self.report_absorbed_stamp(index),
                _ => {}
            }
            self.records.push(Record {
                at: self.now,
                router: index,
                action,
            });
        }
        assert_eq!(
            state,
            self.state(index),
            "router {index}: state differs from its transitions"
        );
        self.routers[index].observed_state = state;
    }

    fn broadcast(&mut self, from: usize, priority: u8) {
        for version in [AdvertVersion::V2, AdvertVersion::V3] {
            if speaks(self.routers[from].router.config().version, version) {
                self.broadcast_version(from, priority, version);
            }
        }
    }

    fn broadcast_version(&mut self, from: usize, priority: u8, version: AdvertVersion) {
        let config = self.routers[from].router.config();
        let advert = ReceivedAdvert {
            source: config.primary_address,
            priority,
            max_advert_interval: config.advert_interval,
            addresses: config.virtual_addresses.clone(),
            version,
        };
        let partition = self.routers[from].partition;
        for to in 0..self.routers.len() {
            if to == from || self.routers[to].partition != partition {
                continue;
            }
            // The receiver's data plane discards a version its router does not speak.
            if !speaks(self.routers[to].router.config().version, version) {
                continue;
            }
            if self.loss_per_mille > 0 && self.rng.next() % 1000 < u64::from(self.loss_per_mille) {
                continue;
            }
            let delay = self
                .link_delays
                .get(&(from, to))
                .copied()
                .unwrap_or(self.delay);
            self.sequence += 1;
            self.in_flight.insert(
                (self.now + delay, self.sequence),
                Delivery {
                    to,
                    advert: advert.clone(),
                },
            );
        }
    }
}

#[derive(Clone, Copy)]
enum Step {
    Deliver((Duration, u64)),
    ReadRing(usize),
    Timeout(usize),
}
