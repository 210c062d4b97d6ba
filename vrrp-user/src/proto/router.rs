//! `VirtualRouter`: one VRRPv3 virtual router's state machine (RFC 9568 §6.4).

use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::action::{Action, DataplaneRole, RoutineAdvert, State, TransitionReason, Warning};
use super::command::{Command, CommandRefused, Effect, OverridePriority};
use super::config::{RouterConfig, VersionMode};
use super::election::{Contender, OWNER_PRIORITY, RESIGN_PRIORITY};
use super::event::{AdvertVersion, Event, ReceivedAdvert};
use super::resume::Resumption;
use super::timers::{Timer, TimerTable};
use super::timing::{Centiseconds, master_down_interval_for, skew_time_for};

/// Routers a `"2+3"` router remembers hearing in VRRPv3 (RFC 9568 §8.4), to ignore their VRRPv2
/// adverts; the oldest is forgotten first. A real group has a handful of routers.
const V3_SENDERS_REMEMBERED: usize = 16;

/// Lowest and highest priority tracking may set; 0 and 255 have protocol meanings.
const TRACKED_PRIORITY_RANGE: std::ops::RangeInclusive<u8> = 1..=254;

/// What the Master_Down_Timer currently stands for, so the takeover can say why it happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DownTimerCause {
    /// No advert accepted for Master_Down_Interval.
    Silence,
    /// The Master resigned with priority 0; the timer runs for Skew_Time only.
    Resigned(IpAddr),
    /// Preempt_Mode discards this lower-priority Master's adverts.
    Preempting(Contender),
}

/// Where the check of the data plane's last-seen stamp stands for a Master_Down_Timer deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StampCheck {
    /// Not asked for the current deadline.
    NotAsked,
    /// `ReadAbsorbedStamp` was emitted for this deadline; the answer is pending.
    Asked(Instant),
    /// The driver answered for this deadline: if it is still due, the Master is down.
    Answered(Instant),
}

/// An operator's view of a virtual router.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouterStatus {
    /// Current state.
    pub state: State,
    /// Effective priority: the operator's override, else the configured one as set by
    /// tracking.
    pub priority: u8,
    /// The operator's priority override, if any (see [`Command::OverridePriority`]).
    #[serde(default)]
    pub priority_override: Option<u8>,
    /// Demoted by the operator: stays Backup until promoted (see [`Command::Demote`]).
    #[serde(default)]
    pub demoted: bool,
    /// The current Master's primary address: this router's own while Master, the last accepted
    /// advert's source while Backup, unknown otherwise.
    pub master_address: Option<IpAddr>,
    /// Master_Adver_Interval: learned from the Master while Backup, the configured interval
    /// otherwise.
    pub master_adver_interval: Centiseconds,
    /// Master_Down_Interval for the effective priority and `master_adver_interval`.
    pub master_down_interval: Duration,
    /// Skew_Time for the effective priority and `master_adver_interval`.
    pub skew_time: Duration,
    /// Whether packets addressed to the virtual addresses are accepted while Master.
    pub accepts_virtual_traffic: bool,
    /// The current Master's priority: this router's own while Master, the followed Master's
    /// while Backup, unknown otherwise.
    pub master_priority: Option<u8>,
    /// What this router has sent, received and done since it was created.
    pub counters: RouterCounters,
}

/// Protocol counters of one virtual router, kept by the state machine itself so that every
/// advert it processes and every action it emits is counted exactly once, whatever the driver
/// does with its logs. They start at zero when the router is created (daemon start, or a
/// reload that restarts the instance).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouterCounters {
    /// `SendAdvert` actions emitted, priority 0 included.
    pub adverts_sent: u64,
    /// `SendAdvert` actions with priority 0 (resignations).
    pub priority_zero_sent: u64,
    /// Adverts with priority 0 received from a peer while Backup or Master.
    pub priority_zero_received: u64,
    /// Transitions to Master.
    pub became_master: u64,
    /// Transitions from Master.
    pub released_master: u64,
    /// Adverts whose Max Adver Int differs from the configured interval.
    pub interval_mismatch: u64,
    /// Adverts whose address list differs from the configured virtual addresses.
    pub address_list_mismatch: u64,
}

impl RouterCounters {
    /// Counts `action` as the router emits it.
    fn count(&mut self, action: &Action) {
        match action {
            Action::SendAdvert { priority } => {
                self.adverts_sent += 1;
                if *priority == RESIGN_PRIORITY {
                    self.priority_zero_sent += 1;
                }
            }
            Action::Transition { from, to, .. } => {
                if *to == State::Master {
                    self.became_master += 1;
                }
                if *from == State::Master {
                    self.released_master += 1;
                }
            }
            Action::Warning(Warning::IntervalMismatch { .. }) => self.interval_mismatch += 1,
            Action::Warning(Warning::AddressListMismatch { .. }) => {
                self.address_list_mismatch += 1;
            }
            _ => {}
        }
    }
}

/// The last time a router became Master.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Takeover {
    /// When it became Master (its first advert as Master went out then).
    pub at: Instant,
    /// While it was Backup before, the newest advert heard from another router (accepted or
    /// discarded): when the previous Master was last heard. `None` if it was not Backup or
    /// heard nobody.
    pub peer_last_heard: Option<Instant>,
}

/// One virtual router: configuration, state, timers and the learned Master_Adver_Interval.
///
/// Drive it with `handle_event` / `handle_timeout`, then drain `poll_action` until `None`
/// and sleep until `poll_timeout` (see the `proto` module docs).
#[derive(Debug, Clone)]
pub struct VirtualRouter {
    config: RouterConfig,
    state: State,
    /// Effective priority: the override if any, else `tracked_priority` (always 255 for the
    /// owner).
    priority: u8,
    /// The configured priority, or the last `PriorityChanged` value.
    tracked_priority: u8,
    /// The operator's override.
    priority_override: Option<OverridePriority>,
    /// Demoted by the operator: never becomes Master, honours every Master it hears.
    demoted: bool,
    /// Administratively started (Startup seen, no Shutdown since).
    enabled: bool,
    /// Interface usable; assumed up until `InterfaceDown`.
    link_up: bool,
    master_adver_interval: Centiseconds,
    /// The Master this Backup follows: source, priority and interval of the last advert it
    /// accepted. Adverts it discards (or from other sources it does not accept) leave it.
    followed: Option<RoutineAdvert>,
    /// The role and routine signature last sent in `SetDataplaneRole` (a new data plane knows
    /// no instance: Initialize).
    published: (DataplaneRole, Option<RoutineAdvert>),
    /// A resigned Master's data plane forwards until this bound (or another router's advert):
    /// make-before-break. Its virtual addresses stay installed meanwhile.
    resigning_until: Option<Instant>,
    /// The stamp check that must precede a takeover while a routine signature is published.
    stamp_check: StampCheck,
    /// `RecheckMaster`: the signature is withdrawn until the next accepted advert.
    rechecking: bool,
    /// When the Master was last heard (or Backup was entered), for transition reasons.
    master_heard_at: Option<Instant>,
    /// When the followed Master's first accepted advert arrived.
    followed_since: Option<Instant>,
    /// While Backup, the newest advert (priority > 0) heard from another router.
    peer_heard_at: Option<Instant>,
    last_takeover: Option<Takeover>,
    down_timer_cause: DownTimerCause,
    /// End of the preempt-delay window, once a lower-priority Master has been seen.
    preempt_hold_until: Option<Instant>,
    timers: TimerTable,
    actions: VecDeque<Action>,
    counters: RouterCounters,
    /// `"2+3"` only: the sources of VRRPv3 adverts and when each was last heard.
    v3_senders: VecDeque<(IpAddr, Instant)>,
}

impl VirtualRouter {
    /// A virtual router in Initialize, waiting for `Event::Startup`.
    pub fn new(config: RouterConfig) -> Self {
        Self {
            priority: config.priority,
            tracked_priority: config.priority,
            priority_override: None,
            demoted: false,
            master_adver_interval: config.advert_interval,
            config,
            state: State::Initialize,
            enabled: false,
            link_up: true,
            followed: None,
            published: (DataplaneRole::Initialize, None),
            resigning_until: None,
            stamp_check: StampCheck::NotAsked,
            rechecking: false,
            master_heard_at: None,
            followed_since: None,
            peer_heard_at: None,
            last_takeover: None,
            down_timer_cause: DownTimerCause::Silence,
            preempt_hold_until: None,
            timers: TimerTable::default(),
            actions: VecDeque::new(),
            counters: RouterCounters::default(),
            v3_senders: VecDeque::new(),
        }
    }

    /// Current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// What the data plane must do now: the state, or Resigning while a resigned Master's
    /// data plane still forwards.
    pub fn dataplane_role(&self) -> DataplaneRole {
        match self.state {
            _ if self.resigning_until.is_some() => DataplaneRole::Resigning,
            State::Initialize => DataplaneRole::Initialize,
            State::Backup => DataplaneRole::Backup,
            State::Master => DataplaneRole::Master,
        }
    }

    /// Current configuration.
    pub fn config(&self) -> &RouterConfig {
        &self.config
    }

    /// A snapshot for operators.
    pub fn status(&self) -> RouterStatus {
        let master_address = match self.state {
            State::Master => Some(self.config.primary_address),
            State::Backup => self.followed.map(|master| master.source),
            State::Initialize => None,
        };
        let master_priority = match self.state {
            State::Master => Some(self.priority),
            State::Backup => self.followed.map(|master| master.priority),
            State::Initialize => None,
        };
        RouterStatus {
            state: self.state,
            priority: self.priority,
            priority_override: self.priority_override.map(OverridePriority::get),
            demoted: self.demoted,
            master_address,
            master_priority,
            master_adver_interval: self.master_adver_interval,
            master_down_interval: self.master_down_interval(),
            skew_time: self.skew_time(),
            accepts_virtual_traffic: self.config.accepts_virtual_traffic(),
            counters: self.counters,
        }
    }

    /// When this Backup last accepted an advert from the Master it follows (or was told of one
    /// the data plane absorbed); `None` while not Backup or before any.
    pub fn master_heard_at(&self) -> Option<Instant> {
        (self.state == State::Backup)
            .then_some(self.master_heard_at)
            .flatten()
    }

    /// While Backup, when the first accepted advert of the Master it follows arrived.
    pub fn following_since(&self) -> Option<Instant> {
        (self.state == State::Backup && self.followed.is_some())
            .then_some(self.followed_since)
            .flatten()
    }

    /// The last time this router became Master (since it was created).
    pub fn last_takeover(&self) -> Option<Takeover> {
        self.last_takeover
    }

    /// The routine signature last published in `SetDataplaneRole`: what the data plane may
    /// absorb now.
    pub fn routine_advert(&self) -> Option<RoutineAdvert> {
        self.published.1
    }

    /// Feeds one event that happened at `now`.
    pub fn handle_event(&mut self, event: Event, now: Instant) {
        self.apply_event(event, now);
        self.publish_dataplane();
    }

    /// Applies an operator's command at `now` (see the `proto` module docs for what each does).
    pub fn handle_command(
        &mut self,
        command: Command,
        now: Instant,
    ) -> Result<Effect, CommandRefused> {
        let effect = match command {
            Command::Demote => self.demote(now),
            Command::Promote => self.promote(now),
            Command::OverridePriority(priority) => {
                if self.config.is_owner() {
                    return Err(CommandRefused::OwnerPriority);
                }
                self.set_override(Some(priority), now)
            }
            Command::ResetPriority => self.set_override(None, now),
        };
        self.publish_dataplane();
        Ok(effect)
    }

    /// Fires the timers that are due at `now`. Calls before a deadline do nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.fire_timers(now);
        self.publish_dataplane();
    }

    fn apply_event(&mut self, event: Event, now: Instant) {
        match event {
            Event::Startup => {
                self.enabled = true;
                self.start_if_ready(now, |owner| TransitionReason::Startup { owner });
            }
            Event::Resume(resumption) => {
                self.enabled = true;
                self.resume(resumption, now);
            }
            Event::Shutdown => {
                self.enabled = false;
                self.shutdown(now);
            }
            Event::Advert(advert) => self.handle_advert(&advert, now),
            Event::PriorityChanged(priority) => self.change_priority(priority),
            Event::InterfaceUp => {
                self.link_up = true;
                self.start_if_ready(now, |owner| TransitionReason::InterfaceUp { owner });
            }
            Event::InterfaceDown => {
                self.link_up = false;
                self.go_initialize_silently(TransitionReason::InterfaceDown);
            }
            Event::ConfigChanged(config) => self.change_config(config, now),
            Event::AbsorbedAdvert => self.absorbed_stamp_reported(Some(now)),
            Event::NoAbsorbedAdvert => self.absorbed_stamp_reported(None),
            Event::RecheckMaster => self.recheck_master(now),
        }
    }

    fn fire_timers(&mut self, now: Instant) {
        if self.resigning_until.is_some_and(|until| until <= now) {
            // Nobody took over within Master_Down_Interval: stop forwarding.
            self.end_resigning();
        }
        match self.state {
            State::Master if self.timers.is_expired(Timer::Advert, now) => {
                // RFC 9568 §6.4.3: Adver_Timer fires -> send an advert, reset the timer. It
                // fired at its deadline: restarting it from a late wake-up (timer granularity,
                // a loaded CPU) would stretch every interval (10 ms adverts went out every
                // 11-12 ms). A wake-up an interval or more late restarts from now instead of
                // catching up with a burst.
                let due = self.timers.deadline(Timer::Advert).unwrap_or(now);
                let interval = self.config.advert_interval.as_duration();
                let base = if now.saturating_duration_since(due) < interval {
                    due
                } else {
                    now
                };
                self.advertise(base);
            }
            State::Backup if self.timers.is_expired(Timer::MasterDown, now) => {
                if !self.absorbed_stamp_checked() {
                    return;
                }
                if self.demoted {
                    self.lose_master_while_demoted();
                    return;
                }
                let reason = match self.down_timer_cause {
                    DownTimerCause::Silence => TransitionReason::MasterDownTimerExpired {
                        master: self.followed.map(|master| master.source),
                        silent_for: self
                            .master_heard_at
                            .map_or(Duration::ZERO, |heard| now.saturating_duration_since(heard)),
                    },
                    DownTimerCause::Resigned(master) => TransitionReason::MasterResigned { master },
                    DownTimerCause::Preempting(lower) => TransitionReason::PreemptedLowerPriority {
                        master: lower.address,
                        priority: lower.priority,
                    },
                };
                self.become_master(now, reason);
            }
            State::Initialize | State::Backup | State::Master => {}
        }
    }

    /// The next action for the driver, in order.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When `handle_timeout` must be called next, if a timer runs.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers
            .next()
            .into_iter()
            .chain(self.resigning_until)
            .min()
    }

    fn push(&mut self, action: Action) {
        self.counters.count(&action);
        self.actions.push_back(action);
    }

    /// A Master's advert at its priority now, and the Adver_Timer restarted from `timer_base`
    /// (now, or the deadline that just fired).
    fn advertise(&mut self, timer_base: Instant) {
        self.push(Action::SendAdvert {
            priority: self.priority,
        });
        self.timers.set(
            Timer::Advert,
            timer_base,
            self.config.advert_interval.as_duration(),
        );
    }

    fn master_down_interval(&self) -> Duration {
        master_down_interval_for(
            self.config.version,
            self.priority,
            self.master_adver_interval,
        )
    }

    fn skew_time(&self) -> Duration {
        skew_time_for(
            self.config.version,
            self.priority,
            self.master_adver_interval,
        )
    }

    /// Master_Adver_Interval from a Master's advert (RFC 9568 §6.4.2); VRRPv2 learns nothing
    /// and keeps its configured Advertisement_Interval (RFC 3768 §6.4.2).
    fn learn_interval(&mut self, advertised: Centiseconds) {
        if self.config.version != VersionMode::V2 {
            self.master_adver_interval = advertised;
        }
    }

    /// RFC 9568 §8.4 for a `"2+3"` router: remembers VRRPv3 senders, and tells whether a
    /// VRRPv2 advert comes from one heard in VRRPv3 within Master_Down_Interval (its VRRPv3
    /// adverts are the ones followed).
    fn shadowed_by_v3(&mut self, advert: &ReceivedAdvert, now: Instant) -> bool {
        if self.config.version != VersionMode::V2AndV3 {
            return false;
        }
        let window = self.master_down_interval();
        let heard = self
            .v3_senders
            .iter()
            .position(|(source, _)| *source == advert.source);
        match advert.version {
            AdvertVersion::V3 => {
                if let Some(index) = heard {
                    self.v3_senders.remove(index);
                } else if self.v3_senders.len() == V3_SENDERS_REMEMBERED {
                    self.v3_senders.pop_front();
                }
                self.v3_senders.push_back((advert.source, now));
                false
            }
            AdvertVersion::V2 => heard.is_some_and(|index| {
                let (_, at) = self.v3_senders[index];
                now.saturating_duration_since(at) <= window
            }),
        }
    }

    fn transition(&mut self, to: State, reason: TransitionReason) {
        let from = self.state;
        self.state = to;
        self.rechecking = false;
        self.push(Action::Transition { from, to, reason });
        self.publish_dataplane();
    }

    /// The adverts the data plane may absorb: the followed Master's, while Backup and while
    /// they are accepted as they come. Preempt_Mode discarding a lower-priority Master (or a
    /// preempt-delay window that tolerates it for a while) needs to see every advert.
    fn routine(&self) -> Option<RoutineAdvert> {
        let master = self.followed?;
        let discardable = master.priority < self.priority && self.preempts();
        let resigning = self.resigning_until.is_some();
        (self.state == State::Backup && !discardable && !self.rechecking && !resigning)
            .then_some(master)
    }

    /// Emits `SetDataplaneRole` if the role or the routine signature changed since the last one.
    fn publish_dataplane(&mut self) {
        let current = (self.dataplane_role(), self.routine());
        if self.published != current {
            self.push_dataplane_role();
        }
    }

    fn push_dataplane_role(&mut self) {
        let (role, routine) = (self.dataplane_role(), self.routine());
        self.published = (role, routine);
        self.push(Action::SetDataplaneRole { role, routine });
    }

    /// Whether the data plane's last-seen stamp has been consulted for the due
    /// Master_Down_Timer deadline; asks for it (once per deadline) if not. Without a published
    /// routine signature nothing was absorbed, so there is nothing to consult.
    fn absorbed_stamp_checked(&mut self) -> bool {
        let Some(deadline) = self.timers.deadline(Timer::MasterDown) else {
            return true;
        };
        if self.routine_advert().is_none() {
            return true;
        }
        match self.stamp_check {
            StampCheck::Answered(answered) if answered == deadline => true,
            StampCheck::Asked(asked) if asked == deadline => false,
            StampCheck::NotAsked | StampCheck::Asked(_) | StampCheck::Answered(_) => {
                self.stamp_check = StampCheck::Asked(deadline);
                self.push(Action::ReadAbsorbedStamp);
                false
            }
        }
    }

    /// The driver reports the data plane's newest absorbed routine advert (`None`: no stamp).
    fn absorbed_stamp_reported(&mut self, newest: Option<Instant>) {
        if let StampCheck::Asked(deadline) = self.stamp_check {
            self.stamp_check = StampCheck::Answered(deadline);
        }
        let (Some(at), Some(master)) = (newest, self.routine_advert()) else {
            return;
        };
        let newer = self.master_heard_at.is_none_or(|heard| at > heard);
        if self.state == State::Backup && newer {
            self.accept_master(master, at);
        }
    }

    /// `RecheckMaster` with the newest absorbed stamp: count it, then withdraw the signature so
    /// the Master's next advert reaches the router (which publishes it again).
    fn recheck_master(&mut self, stamp: Instant) {
        let Some(master) = self.routine_advert() else {
            return;
        };
        if self.master_heard_at.is_none_or(|heard| stamp > heard) {
            self.accept_master(master, stamp);
        }
        self.rechecking = true;
    }

    /// RFC 9568 §6.4.2 (new), Backup accepts an advert from `master` received at `at`: learn
    /// its interval, recompute Skew_Time and Master_Down_Interval, restart the timer.
    fn accept_master(&mut self, master: RoutineAdvert, at: Instant) {
        if self
            .followed
            .is_none_or(|followed| followed.source != master.source)
        {
            self.followed_since = Some(at);
        }
        self.peer_heard_at = self.peer_heard_at.max(Some(at));
        self.rechecking = false;
        self.learn_interval(master.max_advert_interval);
        self.timers
            .set(Timer::MasterDown, at, self.master_down_interval());
        self.followed = Some(master);
        self.master_heard_at = Some(at);
        self.down_timer_cause = DownTimerCause::Silence;
    }

    /// RFC 9568 §6.4.1 Startup, if both administratively started and the link is up.
    fn start_if_ready(&mut self, now: Instant, reason: fn(bool) -> TransitionReason) {
        if !(self.enabled && self.link_up && self.state == State::Initialize) {
            return;
        }
        let owner = self.config.is_owner();
        if owner && !self.demoted {
            self.become_master(now, reason(owner));
        } else {
            self.master_adver_interval = self.config.advert_interval;
            self.enter_backup(now, None, reason(owner));
        }
    }

    /// Starts in the role a previous run left (`resume`): Master at once as on a takeover (first
    /// advert now, addresses refreshed), or Backup following the recorded Master with the
    /// Master_Down_Timer from `now` (its newest stamp). What the router cannot honour (demoted,
    /// its own address as the Master) starts as on Startup.
    fn resume(&mut self, resumption: Resumption, now: Instant) {
        if !(self.link_up && self.state == State::Initialize) {
            return;
        }
        match resumption {
            Resumption::Master if !self.demoted => {
                self.become_master(now, TransitionReason::Resumed);
            }
            Resumption::Backup(master) if master.source != self.config.primary_address => {
                self.master_adver_interval = master.max_advert_interval;
                self.enter_backup(now, Some(master), TransitionReason::Resumed);
            }
            Resumption::Master | Resumption::Backup(_) => {
                self.start_if_ready(now, |owner| TransitionReason::Startup { owner });
            }
        }
    }

    /// Backup with Master_Down_Timer = Master_Down_Interval from `now`.
    fn enter_backup(
        &mut self,
        now: Instant,
        master: Option<RoutineAdvert>,
        reason: TransitionReason,
    ) {
        self.timers.stop_all();
        self.timers
            .set(Timer::MasterDown, now, self.master_down_interval());
        self.followed = master;
        self.followed_since = master.map(|_| now);
        self.peer_heard_at = master.map(|_| now);
        self.master_heard_at = Some(now);
        self.down_timer_cause = DownTimerCause::Silence;
        self.preempt_hold_until = None;
        self.transition(State::Backup, reason);
    }

    /// RFC 9568 §6.4.1 (owner) and §6.4.2 (Master_Down_Timer fires): advert, then gratuitous
    /// ARP / unsolicited NA, Adver_Timer, Master.
    fn become_master(&mut self, now: Instant, reason: TransitionReason) {
        self.last_takeover = Some(Takeover {
            at: now,
            peer_last_heard: (self.state == State::Backup)
                .then_some(self.peer_heard_at)
                .flatten(),
        });
        self.timers.stop_all();
        self.followed = None;
        self.preempt_hold_until = None;
        self.resigning_until = None;
        self.master_adver_interval = self.config.advert_interval;
        // The addresses before the advert, although their netlink round trip delays it: the
        // advert moves the virtual MAC's traffic here (and ends a resigning Master's
        // forwarding), and with Accept_Mode what is addressed to them must find them.
        self.transition(State::Master, reason);
        self.push(Action::InstallVirtualAddresses);
        self.push(Action::SendAdvert {
            priority: self.priority,
        });
        self.push(Action::SendGratuitous);
        self.timers.set(
            Timer::Advert,
            now,
            self.config.advert_interval.as_duration(),
        );
    }

    /// RFC 9568 §6.4.2/§6.4.3 Shutdown: the Master resigns with a priority-0 advert, its data
    /// plane forwarding until the new Master speaks (see [`Self::resign`]). A Shutdown while
    /// already stopped ends that at once (the driver's own bound).
    fn shutdown(&mut self, now: Instant) {
        let was_master = self.state == State::Master;
        if self.state == State::Initialize {
            if self.resigning_until.is_some() {
                self.end_resigning();
            }
            return;
        }
        self.timers.stop_all();
        if was_master {
            self.resign(now);
        }
        self.transition(State::Initialize, TransitionReason::Shutdown);
        if was_master {
            self.push(Action::SendAdvert {
                priority: RESIGN_PRIORITY,
            });
        }
    }

    /// Make-before-break: a resigning Master (priority-0 advert) keeps its virtual addresses
    /// and its data plane forwarding virtual-MAC traffic (answering no ARP/ND, sending no
    /// adverts) until another router's advert arrives or Master_Down_Interval passes — the
    /// longest any Backup waits, i.e. with priority 1's Skew_Time. Hosts keep sending to the
    /// virtual MAC until the new Master's first frame moves it in the switches; without this
    /// they lose Skew_Time of traffic (RFC 9568 §6.4.2: a Backup hearing priority 0 takes over
    /// after Skew_Time).
    fn resign(&mut self, now: Instant) {
        self.resigning_until = now.checked_add(master_down_interval_for(
            self.config.version,
            1,
            self.config.advert_interval,
        ));
    }

    /// The resigned Master's data plane stops forwarding; its addresses go.
    fn end_resigning(&mut self) {
        self.resigning_until = None;
        self.push(Action::RemoveVirtualAddresses);
    }

    /// To Initialize without a priority-0 advert (the link is gone, or the identity changed).
    fn go_initialize_silently(&mut self, reason: TransitionReason) {
        let had_addresses = self.state == State::Master || self.resigning_until.is_some();
        self.resigning_until = None;
        if self.state == State::Initialize {
            if had_addresses {
                self.push(Action::RemoveVirtualAddresses);
            }
            return;
        }
        self.timers.stop_all();
        self.transition(State::Initialize, reason);
        if had_addresses {
            self.push(Action::RemoveVirtualAddresses);
        }
    }

    /// Effective Preempt_Mode: a demoted router honours every Master.
    fn preempts(&self) -> bool {
        self.config.preempts() && !self.demoted
    }

    /// The override wins over tracking; the owner's 255 is neither's to change.
    fn refresh_priority(&mut self) {
        self.priority = if self.config.is_owner() {
            self.config.priority
        } else {
            self.priority_override
                .map_or(self.tracked_priority, OverridePriority::get)
        };
    }

    /// Maintenance mode: a Master resigns as at Shutdown (priority 0, so Backups take over
    /// after Skew_Time) but stays in Backup, following whoever takes over.
    fn demote(&mut self, now: Instant) -> Effect {
        if self.demoted {
            return Effect::AlreadyInEffect;
        }
        self.demoted = true;
        if self.state == State::Master {
            self.push(Action::SendAdvert {
                priority: RESIGN_PRIORITY,
            });
            self.master_adver_interval = self.config.advert_interval;
            self.resign(now);
            self.enter_backup(now, None, TransitionReason::Demoted);
        }
        Effect::Applied
    }

    /// Back to the election. The owner takes over at once, as at Startup; so does a router
    /// that heard no Master for Master_Down_Interval while demoted. Otherwise Preempt_Mode
    /// decides, as for any Backup.
    fn promote(&mut self, now: Instant) -> Effect {
        if !self.demoted {
            return Effect::AlreadyInEffect;
        }
        self.demoted = false;
        let owner = self.config.is_owner();
        let no_master = self.timers.deadline(Timer::MasterDown).is_none();
        if self.state == State::Backup && (owner || no_master) {
            self.become_master(now, TransitionReason::Promoted { owner });
        }
        Effect::Applied
    }

    fn set_override(&mut self, priority: Option<OverridePriority>, now: Instant) -> Effect {
        if self.priority_override == priority {
            return Effect::AlreadyInEffect;
        }
        self.priority_override = priority;
        let before = self.priority;
        self.refresh_priority();
        if self.state == State::Master && self.priority != before {
            // Unlike tracking, an operator waits for the effect: tell Backups now.
            self.advertise(now);
        }
        Effect::Applied
    }

    /// A demoted Backup's Master_Down_Timer fired: nobody is Master and it will not take over.
    /// It forgets the Master, says so, and waits for the next advert (which restarts the timer)
    /// or a promote (which takes over at once).
    fn lose_master_while_demoted(&mut self) {
        let last_master = match self.down_timer_cause {
            DownTimerCause::Resigned(master) => Some(master),
            DownTimerCause::Preempting(lower) => Some(lower.address),
            DownTimerCause::Silence => self.followed.map(|master| master.source),
        };
        self.timers.stop(Timer::MasterDown);
        self.followed = None;
        self.followed_since = None;
        self.down_timer_cause = DownTimerCause::Silence;
        self.push(Action::Warning(Warning::DemotedWithoutMaster {
            last_master,
        }));
    }

    fn change_priority(&mut self, priority: u8) {
        // The owner's 255 is what makes it the owner; tracking must not turn it into a
        // contender, and priorities 0/255 stay reserved, so values are clamped to 1..=254.
        if self.config.is_owner() {
            return;
        }
        self.tracked_priority = priority.clamp(
            *TRACKED_PRIORITY_RANGE.start(),
            *TRACKED_PRIORITY_RANGE.end(),
        );
        self.refresh_priority();
        // A Master keeps its role; its next advert carries the new priority, and Backups
        // decide by their own rules. A Backup applies it to the next advert.
    }

    fn change_config(&mut self, config: RouterConfig, now: Instant) {
        // The primary address is not part of the identity: a renumbered interface is the same
        // router, and restarting it would hand Master to a Backup for Master_Down_Interval
        // and back (two failovers for nothing). A Master advertises from it below, at once.
        let identity_changed =
            config.vrid != self.config.vrid || config.family != self.config.family;
        let addresses_changed = config.virtual_addresses != self.config.virtual_addresses;
        self.config = config;
        // Tracking adjustments are relative to the old configuration; the driver re-sends
        // PriorityChanged if tracking still applies. An operator's override stays (the driver
        // decides when a reload clears it).
        self.tracked_priority = self.config.priority;
        self.refresh_priority();
        if identity_changed {
            // A different VRID or family is a different virtual router on the wire:
            // leave silently (a priority-0 advert would carry the new identity) and restart.
            self.go_initialize_silently(TransitionReason::ConfigChanged);
            self.start_if_ready(now, |_| TransitionReason::ConfigChanged);
            return;
        }
        match self.state {
            State::Master => {
                self.master_adver_interval = self.config.advert_interval;
                // Accept_Mode may have changed.
                self.push_dataplane_role();
                if addresses_changed {
                    self.push(Action::InstallVirtualAddresses);
                }
                // Tell Backups the new priority and interval now rather than one interval late.
                self.push(Action::SendAdvert {
                    priority: self.priority,
                });
                if addresses_changed {
                    self.push(Action::SendGratuitous);
                }
                self.timers.set(
                    Timer::Advert,
                    now,
                    self.config.advert_interval.as_duration(),
                );
            }
            // RFC 9568 §6.4.1: the address owner is Master as soon as it runs; becoming the
            // owner by configuration is no different.
            State::Backup if self.config.is_owner() && !self.demoted => {
                self.become_master(now, TransitionReason::BecameOwner);
            }
            // VRRPv2 learns nothing (RFC 3768): a change to version 2 drops what was learned.
            State::Backup if self.followed.is_none() || self.config.version == VersionMode::V2 => {
                self.master_adver_interval = self.config.advert_interval;
            }
            State::Backup | State::Initialize => {}
        }
    }

    fn handle_advert(&mut self, advert: &ReceivedAdvert, now: Instant) {
        // Our own adverts looped back carry our primary address; they are not a peer.
        if advert.source == self.config.primary_address {
            return;
        }
        if self.resigning_until.is_some() {
            // Another router speaks for the VRID: the data plane yielded in this packet.
            self.end_resigning();
        }
        if self.state == State::Initialize {
            return;
        }
        if self.shadowed_by_v3(advert, now) {
            return;
        }
        if advert.priority == RESIGN_PRIORITY {
            self.counters.priority_zero_received += 1;
        }
        self.check_advert(advert);
        // RFC 3768 §7.1: a VRRPv2 router discards an advert whose interval is not its own
        // (check_advert has warned).
        if self.config.version == VersionMode::V2
            && advert.max_advert_interval != self.config.advert_interval
        {
            return;
        }
        match self.state {
            State::Backup => self.backup_receives(advert, now),
            State::Master => self.master_receives(advert, now),
            State::Initialize => {}
        }
    }

    /// RFC 9568 §7.1 and §8.3.2 SHOULD-log checks; the advert is processed either way.
    fn check_advert(&mut self, advert: &ReceivedAdvert) {
        if self.config.is_owner() {
            let warning = if advert.priority == OWNER_PRIORITY {
                Warning::DualOwner {
                    source: advert.source,
                }
            } else {
                Warning::OwnerReceivedAdvert {
                    source: advert.source,
                    priority: advert.priority,
                }
            };
            self.push(Action::Warning(warning));
        }
        if advert.max_advert_interval != self.config.advert_interval {
            self.push(Action::Warning(Warning::IntervalMismatch {
                source: advert.source,
                advertised: advert.max_advert_interval,
                configured: self.config.advert_interval,
            }));
        }
        // Order is not significant for the comparison.
        let mut advertised = advert.addresses.clone();
        let mut configured = self.config.virtual_addresses.clone();
        advertised.sort_unstable();
        configured.sort_unstable();
        if advertised != configured {
            self.push(Action::Warning(Warning::AddressListMismatch {
                source: advert.source,
                advertised: advert.addresses.clone(),
                configured: self.config.virtual_addresses.clone(),
            }));
        }
    }

    /// RFC 9568 §6.4.2, Backup receives an advert.
    fn backup_receives(&mut self, advert: &ReceivedAdvert, now: Instant) {
        if advert.priority == RESIGN_PRIORITY {
            // The Master resigns: take over after Skew_Time unless a better Backup speaks first.
            let skew = self.skew_time();
            self.timers.set(Timer::MasterDown, now, skew);
            self.down_timer_cause = DownTimerCause::Resigned(advert.source);
            self.followed = None;
            self.followed_since = None;
            self.preempt_hold_until = None;
            return;
        }
        self.peer_heard_at = self.peer_heard_at.max(Some(now));
        let lower_priority = advert.priority < self.priority;
        if lower_priority && self.preempts() && !self.in_preempt_hold(now) {
            // Preempt_Mode: discard, so the timer runs out and this router preempts.
            self.down_timer_cause = DownTimerCause::Preempting(Contender {
                priority: advert.priority,
                address: advert.source,
            });
            return;
        }
        if !lower_priority {
            self.preempt_hold_until = None;
        }
        self.accept_master(routine_signature(advert), now);
    }

    /// Preempt delay (not in RFC 9568; modelled on keepalived's `preempt_delay`): the first
    /// lower-priority advert opens a window of `preempt_delay` during which lower-priority
    /// adverts are honoured as with Preempt_Mode False. After it, they are discarded as the RFC
    /// says, so the takeover comes Master_Down_Interval after the last one honoured.
    fn in_preempt_hold(&mut self, now: Instant) -> bool {
        if self.config.preempt_delay.is_zero() || self.config.is_owner() {
            return false;
        }
        match self.preempt_hold_until {
            Some(until) => now < until,
            None => {
                // An unrepresentable end means "hold forever".
                self.preempt_hold_until = now.checked_add(self.config.preempt_delay);
                true
            }
        }
    }

    /// RFC 9568 §6.4.3, Master receives an advert.
    fn master_receives(&mut self, advert: &ReceivedAdvert, now: Instant) {
        if advert.priority == RESIGN_PRIORITY {
            // Another Master resigned: assert ourselves at once so Backups do not take over.
            self.advertise(now);
            return;
        }
        let sender = Contender {
            priority: advert.priority,
            address: advert.source,
        };
        let local = Contender {
            priority: self.priority,
            address: self.config.primary_address,
        };
        if sender.beats(&local) {
            let reason = if advert.priority > self.priority {
                TransitionReason::HigherPriority {
                    source: advert.source,
                    priority: advert.priority,
                }
            } else {
                TransitionReason::EqualPriorityGreaterAddress {
                    source: advert.source,
                    priority: advert.priority,
                }
            };
            self.learn_interval(advert.max_advert_interval);
            self.enter_backup(now, Some(routine_signature(advert)), reason);
            self.push(Action::RemoveVirtualAddresses);
        } else {
            // RFC 9568 §6.4.3: discard, and advertise at once to assert Master and refresh
            // learning bridges. The RFC does not reset the Adver_Timer here, so neither do we.
            self.push(Action::SendAdvert {
                priority: self.priority,
            });
        }
    }
}

/// The routine signature of an accepted advert: what the data plane compares.
fn routine_signature(advert: &ReceivedAdvert) -> RoutineAdvert {
    RoutineAdvert {
        source: advert.source,
        priority: advert.priority,
        max_advert_interval: advert.max_advert_interval,
    }
}
