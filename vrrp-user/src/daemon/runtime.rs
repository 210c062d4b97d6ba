//! The daemon's event loop (see the module docs of `daemon`).

use std::{
    collections::{BTreeMap, HashMap},
    path::PathBuf,
    time::{Duration, Instant},
};

use anyhow::{Context as _, Result};
use rtnetlink::Handle;
use tokio::{
    signal::unix::{SignalKind, signal},
    sync::{mpsc, watch},
    time::{MissedTickBehavior, interval, sleep_until},
};

use super::{
    clock::instant_from_monotonic,
    commands::{Operator, OperatorRequest},
    deadline_timer::{DeadlineTimer, WakeUp},
    divergence::DivergenceWatch,
    events::{DaemonEvent, EventBus},
    handover::Stop,
    instance::Instance,
    interface::VrrpInterface,
    lifecycle::WaitingInstance,
    rate_limit::RateLimiter,
    router_adverts::Solicitations,
    schedule::{InstanceId, Timetable},
    snapshot, stamps,
};
use crate::{
    config::{Config, GlobalConfig},
    dataplane::{DeliveredAdvert, PinVisibility, XdpAttachMode, pin_visibility, remove_dead_pins},
    net::interface::{InterfaceChange, watch_interfaces},
    ops::status::StatusSnapshot,
    proto::{Action, Event, State, TransitionReason, Warning, late_receive_time},
};

/// How `xvrrp run` was invoked.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// The configuration file (re-read on SIGHUP).
    pub config_path: PathBuf,
    /// How to attach XDP.
    pub xdp_mode: XdpAttachMode,
}

/// A warning of the same kind from the same instance is logged at most this often (RFC 9568
/// §7.1 asks for rate-limited logs).
const WARNING_INTERVAL: Duration = Duration::from_secs(10);

/// At most this many (subject, warning kind) pairs are remembered for rate limiting: subjects
/// include advert sources, which a LAN host can vary at will.
const RATE_LIMITED_SUBJECTS: usize = 1024;

/// Capacity of the channel from the ring-buffer readers to the loop.
const PUNTED_ADVERT_QUEUE: usize = 1024;

/// How often the status snapshot is refreshed besides after transitions (counters, the
/// learned Master, last heard).
const STATUS_REFRESH: Duration = Duration::from_secs(1);

/// Runs the daemon until SIGTERM or SIGINT. Returns [`Stop::Shutdown`] after a clean shutdown:
/// Masters resigned with priority 0, virtual addresses removed, XDP detached and unpinned.
/// SIGUSR2 hands over instead (`handover`): everything is left running and pinned and this
/// returns [`Stop::Handover`]; the caller then stops its other threads (flushing the logs) and
/// calls [`exec_successor`]. The operations
/// layer reads `status` (see `snapshot`), subscribes to `bus` and sends operator `requests`.
pub async fn run(
    options: RunOptions,
    config: Config,
    bus: EventBus,
    status: watch::Sender<StatusSnapshot>,
    requests: mpsc::Receiver<OperatorRequest>,
) -> Result<Stop> {
    let pins = pin_visibility();
    if let PinVisibility::Private { reason } = &pins {
        tracing::warn!(
            reason,
            fix = PinVisibility::FIX,
            "the data plane's pins are private to this process: they die with it (no crash \
             fail-safe) and bpftool on the host does not see them"
        );
    }
    // Pins of interfaces that went away while no daemon ran (each logged).
    if let Err(err) = remove_dead_pins(&config.global.bpffs) {
        tracing::warn!(error = %err, "looking for pins of vanished interfaces failed");
    }
    let (connection, netlink, _) =
        rtnetlink::new_connection().context("open a netlink connection")?;
    tokio::spawn(connection);
    let mut signals = Signals {
        term: signal(SignalKind::terminate()).context("install SIGTERM handler")?,
        int: signal(SignalKind::interrupt()).context("install SIGINT handler")?,
        hup: signal(SignalKind::hangup()).context("install SIGHUP handler")?,
        usr2: signal(SignalKind::user_defined2()).context("install SIGUSR2 (handover) handler")?,
    };
    let changes = watch_interfaces().context("subscribe to link and address changes")?;
    let (punted_tx, mut punted_rx) = mpsc::channel(PUNTED_ADVERT_QUEUE);
    let solicitations = Solicitations::open();

    let mut daemon = Daemon {
        options,
        global: config.global.clone(),
        netlink,
        interfaces: BTreeMap::new(),
        instances: Vec::new(),
        tracked_links: HashMap::new(),
        waiting: Vec::new(),
        bus,
        punted_tx,
        warnings: RateLimiter::new(WARNING_INTERVAL, RATE_LIMITED_SUBJECTS),
        schedule: Timetable::default(),
        status,
        status_stale: std::cell::Cell::new(false),
        pins,
        address_rereads: BTreeMap::new(),
        divergences: DivergenceWatch::default(),
        solicitations,
    };
    let started = daemon.apply(config).await;
    let mut operator = Operator::new(requests);
    let result = match started {
        Ok(_) => {
            daemon
                .run_loop(&mut signals, &mut punted_rx, changes, &mut operator)
                .await
        }
        Err(err) => Err(err),
    };
    if let Ok(Stop::Handover) = result {
        daemon.hand_over();
        return Ok(Stop::Handover);
    }
    daemon.shutdown(&mut punted_rx).await;
    result.map(|_| Stop::Shutdown)
}

/// The signals the event loop acts on.
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
    /// Handover (`handover`).
    usr2: tokio::signal::unix::Signal,
}

pub(super) struct Daemon {
    pub(super) options: RunOptions,
    pub(super) global: GlobalConfig,
    pub(super) netlink: Handle,
    /// VRRP interfaces by name, each with its XDP program and packet socket.
    pub(super) interfaces: BTreeMap<String, VrrpInterface>,
    pub(super) instances: Vec<Instance>,
    /// Tracked interfaces by kernel index -> name (learned at start and reload).
    pub(super) tracked_links: HashMap<u32, String>,
    /// Configured instances not running: their interface or advert source address is not
    /// there yet, or starting failed and is retried.
    pub(super) waiting: Vec<WaitingInstance>,
    pub(super) bus: EventBus,
    pub(super) punted_tx: mpsc::Sender<DeliveredAdvert>,
    /// When each (subject, warning kind) was last logged.
    warnings: RateLimiter,
    /// Instances by deadline and by identity.
    schedule: Timetable,
    /// Operations-layer hook: the read-only snapshot for status and metrics.
    status: watch::Sender<StatusSnapshot>,
    /// A transition happened since the snapshot was last published (set where only `&self` is
    /// at hand).
    status_stale: std::cell::Cell<bool>,
    /// Where the data plane's pins live (shown in `status`).
    pins: PinVisibility,
    /// Links whose addresses changed, by kernel index, and when to read them again (`links`).
    pub(super) address_rereads: BTreeMap<u32, Instant>,
    /// Disagreements with peers seen per instance (`divergence`).
    pub(super) divergences: DivergenceWatch,
    /// Router Solicitations for IPv6 Masters (`router_adverts`).
    pub(super) solicitations: Solicitations,
}

impl Daemon {
    async fn run_loop(
        &mut self,
        signals: &mut Signals,
        punted: &mut mpsc::Receiver<DeliveredAdvert>,
        mut changes: mpsc::UnboundedReceiver<InterfaceChange>,
        operator: &mut Operator,
    ) -> Result<Stop> {
        let mut timer = DeadlineTimer::new().context("open the event loop's timerfd")?;
        let mut status_refresh = interval(STATUS_REFRESH);
        status_refresh.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            let wake = self.next_deadline();
            let deadline = wake.earliest();
            // Start retries and address re-reads wake the loop on their own schedule (see
            // `retry`, `links`); address retries are instance deadlines (`vips`).
            let retry = self
                .next_start_retry()
                .into_iter()
                .chain(self.next_address_reread())
                .min();
            tokio::select! {
                woke = timer.wait_until(wake) => {
                    if let Err(err) = woke {
                        // Not seen in practice; without the timerfd, tokio's timer keeps time.
                        tracing::error!(error = %err, "the deadline timer failed");
                        sleep_until(deadline.into()).await;
                    }
                    self.on_tick(punted).await;
                }
                () = sleep_until(retry.unwrap_or(deadline).into()), if retry.is_some() => {
                    self.retry_starts_if_due(Instant::now()).await;
                    self.reread_addresses_if_due(Instant::now()).await;
                }
                Some(advert) = punted.recv() => self.on_punted_advert(advert).await,
                Some(change) = changes.recv() => self.on_interface_change(change).await,
                Some(solicitation) = self.solicitations.next() => {
                    self.on_router_solicitation(solicitation);
                }
                _ = signals.term.recv() => {
                    tracing::info!("SIGTERM: shutting down");
                    return Ok(Stop::Shutdown);
                }
                _ = signals.int.recv() => {
                    tracing::info!("SIGINT: shutting down");
                    return Ok(Stop::Shutdown);
                }
                _ = signals.usr2.recv() => if self.successor_can_start() {
                    tracing::info!("SIGUSR2: handing over to a new run");
                    return Ok(Stop::Handover);
                },
                _ = signals.hup.recv() => self.reload().await,
                input = operator.next() => self.on_operator_input(operator, input).await,
                _ = status_refresh.tick() => {
                    self.recheck_address_lists(Instant::now()).await;
                    self.interfaces.values_mut().for_each(VrrpInterface::report_ring_losses);
                    self.publish_status();
                }
            }
        }
    }

    /// The earliest state-machine deadline, address refresh, heartbeat refresh or sweep.
    /// Adverts and heartbeats may share a wake-up; Master_Down_Timers (also in sweeps) may not.
    fn next_deadline(&self) -> WakeUp {
        let heartbeats = self
            .interfaces
            .values()
            .filter_map(VrrpInterface::next_heartbeat);
        let sweeps = self
            .interfaces
            .values()
            .filter_map(|interface| interface.sweep_at);
        WakeUp {
            exact: self.schedule.others.next().into_iter().chain(sweeps).min(),
            shareable: self
                .schedule
                .adverts
                .next()
                .into_iter()
                .chain(heartbeats)
                .min(),
        }
    }

    async fn on_tick(&mut self, punted: &mut mpsc::Receiver<DeliveredAdvert>) {
        let now = Instant::now();
        self.handle_adverts_received_before(now, punted).await;
        let mut yielded = Vec::new();
        for interface in self.interfaces.values_mut() {
            if interface.heartbeat_due(now) && interface.refresh_heartbeat(now) {
                yielded.push(interface.info.name.clone());
            }
        }
        for name in yielded {
            self.rewrite_records_after_yield(&name, now).await;
        }
        self.send_due_adverts().await;
        self.sweep_due_interfaces(now).await;
        // Only what was due at the start of the turn: rescheduled deadlines wait for the next,
        // even one rescheduled into the past (the turn would never end, and no other task run).
        let due: Vec<InstanceId> =
            std::iter::from_fn(|| self.schedule.others.pop_due(now)).collect();
        for id in due {
            let Some(index) = self.position(id) else {
                continue;
            };
            // Earlier instances may have awaited netlink: a stale clock would fire late timers
            // late and schedule the next ones early.
            let now = Instant::now();
            let due = self.instances[index]
                .router
                .poll_timeout()
                .is_some_and(|deadline| deadline <= now);
            if due {
                self.instances[index].router.handle_timeout(now);
                self.drive(index, now).await;
            }
            self.maintain_addresses_if_due(index, now).await;
            self.reschedule(index);
            // Refreshes await netlink, and Masters that took over together refresh together.
            self.send_due_adverts().await;
        }
    }

    /// Adverts received before a deadline happened before it: a Master heard in time must not
    /// lose to its own timer. The ring-buffer readers refill the queue when this task yields, so
    /// it yields until the queue is empty or holds adverts received after `deadline` only.
    /// Bounded by what arrived before `deadline`; Masters' adverts keep going out meanwhile
    /// (`drive`).
    async fn handle_adverts_received_before(
        &mut self,
        deadline: Instant,
        punted: &mut mpsc::Receiver<DeliveredAdvert>,
    ) {
        loop {
            let advert = match punted.try_recv() {
                Ok(advert) => advert,
                Err(mpsc::error::TryRecvError::Empty) => {
                    tokio::task::yield_now().await;
                    match punted.try_recv() {
                        Ok(advert) => advert,
                        Err(_) => return,
                    }
                }
                Err(mpsc::error::TryRecvError::Disconnected) => return,
            };
            let received = instant_from_monotonic(advert.received);
            self.on_punted_advert(advert).await;
            if received > deadline {
                return;
            }
        }
    }

    /// Fires the Adver_Timer of every Master due now and sends their adverts, one `sendmmsg`
    /// per interface (`VrrpInterface::hold_frames`).
    async fn send_due_adverts(&mut self) {
        let now = Instant::now();
        let mut holding = false;
        while let Some(id) = self.schedule.adverts.pop_due(now) {
            let Some(index) = self.position(id) else {
                continue;
            };
            if !holding {
                self.interfaces
                    .values_mut()
                    .for_each(VrrpInterface::hold_frames);
                holding = true;
            }
            // Building the previous adverts took time: fire with a fresh clock.
            let now = Instant::now();
            self.instances[index].router.handle_timeout(now);
            self.perform_actions(index, now).await;
        }
        if holding {
            for interface in self.interfaces.values_mut() {
                if let Err(err) = interface.release_frames() {
                    tracing::error!(
                        interface = interface.info.name,
                        error = format!("{err:#}"),
                        "sending adverts failed"
                    );
                }
            }
        }
    }

    /// Where instance `id` is in `self.instances`.
    pub(super) fn position(&mut self, id: InstanceId) -> Option<usize> {
        let Self {
            schedule,
            instances,
            interfaces,
            ..
        } = self;
        schedule.positions.find(id, instances.len(), |position| {
            instance_id(interfaces, instances.get(position)?)
        })
    }

    /// Files instance `index` under its next deadlines.
    pub(super) fn reschedule(&mut self, index: usize) {
        let instance = &self.instances[index];
        let Some(id) = instance_id(&self.interfaces, instance) else {
            return;
        };
        let timer = instance.router.poll_timeout();
        let address_work = instance.next_address_work();
        let (advert, others) = if instance.router.state() == State::Master {
            // A due RA is sent after the instance's actions (`router_adverts`).
            let router_advert = instance
                .router_adverts
                .as_ref()
                .and_then(|ra| ra.poll_timeout());
            (timer.into_iter().chain(router_advert).min(), address_work)
        } else if stamps::is_swept(instance) {
            if let Some(interface) = self.interfaces.get_mut(&instance.config.interface) {
                interface.sweep_at = interface.sweep_at.into_iter().chain(timer).min();
            }
            (None, address_work)
        } else {
            (None, timer.into_iter().chain(address_work).min())
        };
        self.schedule.positions.insert(id, index);
        self.schedule.adverts.set(id, advert);
        self.schedule.others.set(id, others);
    }

    pub(super) async fn on_punted_advert(&mut self, punted: DeliveredAdvert) {
        let index = self.punted_instance(&punted);
        let (style, versions) = self.decode_settings(index);
        let Some(interface) = self
            .interfaces
            .values()
            .find(|interface| interface.info.index == punted.ifindex)
        else {
            return;
        };
        let received = match interface.decode(&punted, style, versions) {
            Ok(received) => received,
            Err(problem) => {
                let name = interface.info.name.clone();
                self.watch_not_fed(
                    punted.ifindex,
                    &problem,
                    instant_from_monotonic(punted.received),
                );
                self.report_not_fed(&name, index, problem, punted.source);
                return;
            }
        };
        let Some(index) = index else {
            return;
        };
        if !self.peer_allowed(index, received.advert.source) {
            return;
        }
        let received_at = instant_from_monotonic(punted.received);
        self.watch_advert(index, &received.advert, received_at);
        let at = late_receive_time(
            received_at,
            Instant::now(),
            received.advert.max_advert_interval,
        );
        self.instances[index]
            .router
            .handle_event(Event::Advert(received.advert), at);
        self.drive(index, at).await;
    }

    /// Performs every pending action of instance `index`, in order, then sends the adverts of
    /// Masters that fell due meanwhile: a reload or start of hundreds of instances runs between
    /// two loop turns, and must not silence the others' adverts for longer than an interval.
    pub(super) async fn drive(&mut self, index: usize, now: Instant) {
        self.perform_actions(index, now).await;
        self.send_due_adverts().await;
    }

    /// Performs every pending action of instance `index`, in order, syncs its data plane
    /// record, and files it under its next deadlines.
    async fn perform_actions(&mut self, index: usize, now: Instant) {
        while let Some(action) = self.instances[index].router.poll_action() {
            if let Err(err) = self.perform(index, action, now).await {
                tracing::error!(
                    instance = self.instances[index].config.name,
                    error = format!("{err:#}"),
                    "action failed"
                );
            }
        }
        self.send_due_router_advert(index, now);
        let instance = &self.instances[index];
        if let Some(interface) = self.interfaces.get_mut(&instance.config.interface)
            && let Err(err) = interface.sync_instance(instance).await
        {
            tracing::error!(
                instance = instance.config.name,
                error = format!("{err:#}"),
                "updating the data plane failed"
            );
        }
        self.reschedule(index);
        if self.status_stale.take() {
            self.publish_status();
        }
    }

    /// Operations-layer hook: replaces the status snapshot (cheap; never per advert).
    pub(super) fn publish_status(&mut self) {
        self.poll_divergences(Instant::now());
        self.status.send_replace(snapshot::build(
            &self.instances,
            &mut self.interfaces,
            &self.pins,
            &self.divergences,
        ));
    }

    async fn perform(&mut self, index: usize, action: Action, now: Instant) -> Result<()> {
        let instance = &self.instances[index];
        let name = &instance.config.name;
        let interface = self
            .interfaces
            .get_mut(&instance.config.interface)
            .with_context(|| format!("instance {name}: interface not open"))?;
        match action {
            Action::ReadAbsorbedStamp => {
                if let Some(interface) = self.interfaces.get(&instance.config.interface) {
                    interface.report_absorbed_stamp(&mut self.instances[index].router);
                }
            }
            Action::SendAdvert { priority } => interface
                .send_advert(instance, priority)
                .with_context(|| format!("instance {name}: send advert"))?,
            Action::SendGratuitous => interface
                .send_gratuitous(instance)
                .with_context(|| format!("instance {name}: send gratuitous ARP/NA"))?,
            Action::InstallVirtualAddresses => {
                // The owner's addresses are its own interface addresses: never touch them.
                if !instance.config.is_owner() {
                    self.install_virtual_addresses(index, now).await;
                }
            }
            Action::RemoveVirtualAddresses => {
                if !instance.config.is_owner() {
                    self.remove_virtual_addresses(index).await?;
                }
            }
            // In the router's order (a new Master's record says Master before its first advert
            // moves the virtual MAC to it), and again after every drive.
            Action::SetDataplaneRole { .. } => {
                if let Some(interface) = self.interfaces.get_mut(&instance.config.interface) {
                    interface
                        .sync_instance(instance)
                        .await
                        .with_context(|| format!("instance {name}: update the data plane"))?;
                }
            }
            Action::Transition { from, to, reason } => {
                self.publish_transition(instance, from, to, &reason);
                self.router_adverts_transition(index, from, to, &reason, now);
            }
            Action::Warning(warning) => {
                let name = name.clone();
                self.warn_rate_limited(&name, warning, now);
            }
        }
        Ok(())
    }

    /// Reports a state change of `instance`.
    pub(super) fn publish_transition(
        &self,
        instance: &Instance,
        from: State,
        to: State,
        reason: &TransitionReason,
    ) {
        self.status_stale.set(true);
        // A gap needs a previous Master: at startup nobody was heard.
        let since_last_advert = match reason {
            TransitionReason::MasterDownTimerExpired {
                master: Some(_),
                silent_for,
            } => Some(*silent_for),
            _ => None,
        };
        self.bus.publish(DaemonEvent::Transition {
            instance: instance.config.name.clone(),
            interface: instance.config.interface.clone(),
            vrid: instance.config.vrid,
            from,
            to,
            reason: reason.to_string(),
            peer: reason.peer(),
            since_last_advert,
        });
    }

    fn warn_rate_limited(&mut self, instance: &str, warning: Warning, now: Instant) {
        if self.first_in_interval(instance.to_owned(), warning.kind(), now) {
            self.bus.publish(DaemonEvent::Warning {
                instance: instance.to_owned(),
                warning,
            });
        }
    }

    /// Whether a warning of `kind` about `subject` may be logged now: at most once per
    /// [`WARNING_INTERVAL`].
    pub(super) fn first_in_interval(
        &mut self,
        subject: String,
        kind: &'static str,
        now: Instant,
    ) -> bool {
        self.warnings.allow((subject, kind), now)
    }

    /// Resigns every Master (priority 0), keeps their data planes forwarding until their
    /// successors advertise (bounded, `handoff`), removes virtual addresses, then detaches XDP
    /// and unpins its maps by dropping the interfaces.
    async fn shutdown(&mut self, punted: &mut mpsc::Receiver<DeliveredAdvert>) {
        let now = Instant::now();
        for index in 0..self.instances.len() {
            self.instances[index]
                .router
                .handle_event(Event::Shutdown, now);
            self.drive(index, now).await;
        }
        self.wait_for_successors(now, punted).await;
        self.instances.clear();
        self.interfaces.clear();
        // The pin root is ours; other daemons' interfaces may still be in it (ENOTEMPTY).
        let _still_in_use = std::fs::remove_dir(&self.global.bpffs);
        tracing::info!("stopped");
    }
}

/// The identity of `instance` (None while its interface is not open).
fn instance_id(
    interfaces: &BTreeMap<String, VrrpInterface>,
    instance: &Instance,
) -> Option<InstanceId> {
    let interface = interfaces.get(&instance.config.interface)?;
    Some(InstanceId {
        ifindex: interface.info.index,
        family: instance.family(),
        vrid: instance.config.vrid,
    })
}
