//! The daemon's event loop (see the module docs of `daemon`).

use std::{
    collections::{BTreeMap, HashMap},
    net::IpAddr,
    path::PathBuf,
    time::{Duration, Instant},
};

use anyhow::{Context as _, Result, bail};
use rtnetlink::Handle;
use tokio::{
    signal::unix::{SignalKind, signal},
    sync::{mpsc, watch},
    time::{MissedTickBehavior, interval, sleep_until},
};

use super::{
    clock::instant_from_monotonic,
    events::{DaemonEvent, EventBus},
    instance::{self, Instance, router_config},
    interface::VrrpInterface,
    snapshot,
};
use crate::{
    config::{self, Config, GlobalConfig, InstanceConfig, Mode, SystemInterfaces},
    dataplane::{DeliveredAdvert, PinVisibility, XdpAttachMode, pin_visibility},
    net::{
        interface::{InterfaceInfo, LinkChange, interface_info, watch_links},
        virtual_addresses,
    },
    ops::status::StatusSnapshot,
    proto::{Action, AddressFamily, Event, State, TransitionReason, Warning},
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

/// Capacity of the channel from the ring-buffer readers to the loop.
const PUNTED_ADVERT_QUEUE: usize = 1024;

/// At most this many queued adverts are handled before due timers (one per VRID and family
/// of a full interface).
const QUEUED_ADVERTS_BEFORE_TIMERS: usize = 510;

/// How often the status snapshot is refreshed besides after transitions (counters, the
/// learned Master, last heard).
const STATUS_REFRESH: Duration = Duration::from_secs(1);

/// Runs the daemon until SIGTERM or SIGINT. Returns after a clean shutdown: Masters resigned
/// with priority 0, virtual addresses removed, XDP detached and unpinned. The operations
/// layer reads `status` (see `snapshot`) and subscribes to `bus`.
pub async fn run(
    options: RunOptions,
    config: Config,
    bus: EventBus,
    status: watch::Sender<StatusSnapshot>,
) -> Result<()> {
    if let PinVisibility::Private { reason } = pin_visibility() {
        tracing::warn!(
            reason,
            fix = PinVisibility::FIX,
            "the data plane's pins are private to this process: they die with it (no crash \
             fail-safe) and bpftool on the host does not see them"
        );
    }
    let (connection, netlink, _) =
        rtnetlink::new_connection().context("open a netlink connection")?;
    tokio::spawn(connection);
    let mut sigterm = signal(SignalKind::terminate()).context("install SIGTERM handler")?;
    let mut sigint = signal(SignalKind::interrupt()).context("install SIGINT handler")?;
    let mut sighup = signal(SignalKind::hangup()).context("install SIGHUP handler")?;
    let links = watch_links().context("subscribe to link changes")?;
    let (punted_tx, punted_rx) = mpsc::channel(PUNTED_ADVERT_QUEUE);

    let mut daemon = Daemon {
        options,
        global: config.global.clone(),
        netlink,
        interfaces: BTreeMap::new(),
        instances: Vec::new(),
        tracked_links: HashMap::new(),
        bus,
        punted_tx,
        warned_at: HashMap::new(),
        status,
        status_stale: false,
    };
    let started = daemon.apply(config).await;
    let result = match started {
        Ok(_) => {
            daemon
                .run_loop(&mut sigterm, &mut sigint, &mut sighup, punted_rx, links)
                .await
        }
        Err(err) => Err(err),
    };
    daemon.shutdown().await;
    result
}

struct Daemon {
    options: RunOptions,
    global: GlobalConfig,
    netlink: Handle,
    /// VRRP interfaces by name, each with its XDP program and packet socket.
    interfaces: BTreeMap<String, VrrpInterface>,
    instances: Vec<Instance>,
    /// Tracked interfaces by kernel index -> name (learned at start and reload).
    tracked_links: HashMap<u32, String>,
    bus: EventBus,
    punted_tx: mpsc::Sender<DeliveredAdvert>,
    /// When each (subject, warning kind) was last logged.
    warned_at: HashMap<(String, &'static str), Instant>,
    /// Operations-layer hook: the read-only snapshot for status and metrics.
    status: watch::Sender<StatusSnapshot>,
    /// A transition happened since the snapshot was last published.
    status_stale: bool,
}

impl Daemon {
    async fn run_loop(
        &mut self,
        sigterm: &mut tokio::signal::unix::Signal,
        sigint: &mut tokio::signal::unix::Signal,
        sighup: &mut tokio::signal::unix::Signal,
        mut punted: mpsc::Receiver<DeliveredAdvert>,
        mut links: mpsc::UnboundedReceiver<LinkChange>,
    ) -> Result<()> {
        let mut status_refresh = interval(STATUS_REFRESH);
        status_refresh.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            let deadline = self.next_deadline();
            tokio::select! {
                () = sleep_until(deadline.into()) => {
                    // Adverts already queued happened before the deadline: a Master heard in
                    // time must not lose to its own timer. Bounded, so a flood cannot starve
                    // the adverts this router has to send.
                    for _ in 0..QUEUED_ADVERTS_BEFORE_TIMERS {
                        let Ok(advert) = punted.try_recv() else { break };
                        self.on_punted_advert(advert).await;
                    }
                    self.on_tick().await;
                }
                Some(advert) = punted.recv() => self.on_punted_advert(advert).await,
                Some(change) = links.recv() => self.on_link_change(change).await,
                _ = sigterm.recv() => {
                    tracing::info!("SIGTERM: shutting down");
                    return Ok(());
                }
                _ = sigint.recv() => {
                    tracing::info!("SIGINT: shutting down");
                    return Ok(());
                }
                _ = sighup.recv() => self.reload().await,
                _ = status_refresh.tick() => self.publish_status(),
            }
        }
    }

    /// The earliest state-machine deadline or heartbeat refresh.
    fn next_deadline(&self) -> Instant {
        let timers = self
            .instances
            .iter()
            .filter_map(|i| i.router.poll_timeout());
        let heartbeats = self.interfaces.values().map(VrrpInterface::next_heartbeat);
        let refreshes = self.instances.iter().filter_map(|instance| {
            instance
                .addresses_refreshed_at
                .map(|at| at + instance.address_lifetime() / 3)
        });
        timers
            .chain(heartbeats)
            .chain(refreshes)
            .min()
            // Nothing scheduled (every instance in Initialize): wake up now and then anyway.
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(1))
    }

    async fn on_tick(&mut self) {
        let now = Instant::now();
        for interface in self.interfaces.values_mut() {
            if interface.next_heartbeat() <= now {
                interface.refresh_heartbeat(now);
            }
        }
        for index in 0..self.instances.len() {
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
            self.refresh_addresses_if_due(index, now).await;
        }
    }

    async fn on_punted_advert(&mut self, punted: DeliveredAdvert) {
        let Some(interface) = self
            .interfaces
            .values()
            .find(|interface| interface.info.index == punted.ifindex)
        else {
            return;
        };
        let received = match interface.decode(&punted) {
            Ok(received) => received,
            Err(problem) => {
                let (subject, kind) = problem.rate_limit_key(&interface.info.name, punted.source);
                let event = problem.into_event(&interface.info.name);
                if self.first_in_interval(subject, kind, Instant::now()) {
                    self.bus.publish(event);
                }
                return;
            }
        };
        let Some(index) = self.instances.iter().position(|instance| {
            instance.config.interface == interface.info.name
                && instance.family() == received.family
                && instance.config.vrid == received.vrid
        }) else {
            return;
        };
        let instance = &self.instances[index];
        if !instance.config.allowed_peers.is_empty()
            && !instance
                .config
                .allowed_peers
                .contains(&received.advert.source)
        {
            tracing::debug!(
                instance = instance.config.name,
                source = %received.advert.source,
                "advert from a peer not in allowed_peers ignored"
            );
            return;
        }
        let at = instant_from_monotonic(punted.received);
        self.instances[index]
            .router
            .handle_event(Event::Advert(received.advert), at);
        self.drive(index, at).await;
    }

    async fn on_link_change(&mut self, change: LinkChange) {
        if let Some(interface) = self
            .interfaces
            .values_mut()
            .find(|interface| interface.info.index == change.index)
        {
            if interface.info.running != change.running {
                interface.info.running = change.running;
                let name = interface.info.name.clone();
                let event = if change.running {
                    Event::InterfaceUp
                } else {
                    Event::InterfaceDown
                };
                tracing::info!(
                    interface = name,
                    running = change.running,
                    "VRRP link changed"
                );
                for index in 0..self.instances.len() {
                    if self.instances[index].config.interface == name {
                        let now = Instant::now();
                        self.instances[index]
                            .router
                            .handle_event(event.clone(), now);
                        self.drive(index, now).await;
                    }
                }
            }
        }
        if let Some(name) = self.tracked_links.get(&change.index).cloned() {
            for index in 0..self.instances.len() {
                let instance = &mut self.instances[index];
                if !instance.config.track.iter().any(|t| t.interface == name) {
                    continue;
                }
                let before = instance.tracked_priority();
                if change.running {
                    instance.tracked_down.remove(&name);
                } else {
                    instance.tracked_down.insert(name.clone());
                }
                let after = instance.tracked_priority();
                if before != after {
                    let now = Instant::now();
                    tracing::info!(
                        instance = instance.config.name,
                        tracked = name,
                        running = change.running,
                        priority = after,
                        "tracked interface changed; priority {before} -> {after}"
                    );
                    instance
                        .router
                        .handle_event(Event::PriorityChanged(after), now);
                    self.drive(index, now).await;
                }
            }
        }
    }

    /// Performs every pending action of instance `index`, in order.
    async fn drive(&mut self, index: usize, now: Instant) {
        while let Some(action) = self.instances[index].router.poll_action() {
            if let Err(err) = self.perform(index, action, now).await {
                tracing::error!(
                    instance = self.instances[index].config.name,
                    error = format!("{err:#}"),
                    "action failed"
                );
            }
        }
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
        if std::mem::take(&mut self.status_stale) {
            self.publish_status();
        }
    }

    /// Operations-layer hook: replaces the status snapshot (cheap; never per advert).
    fn publish_status(&mut self) {
        self.status
            .send_replace(snapshot::build(&self.instances, &mut self.interfaces));
    }

    async fn perform(&mut self, index: usize, action: Action, now: Instant) -> Result<()> {
        let instance = &self.instances[index];
        let name = instance.config.name.clone();
        let interface = self
            .interfaces
            .get(&instance.config.interface)
            .with_context(|| format!("instance {name}: interface not open"))?;
        match action {
            Action::ReadAbsorbedStamp => {
                if let Some(interface) = self.interfaces.get_mut(&instance.config.interface) {
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
                    install_addresses(&self.netlink, interface, instance).await?;
                    self.instances[index].addresses_refreshed_at = Some(now);
                }
            }
            Action::RemoveVirtualAddresses => {
                if !instance.config.is_owner() {
                    self.instances[index].addresses_refreshed_at = None;
                    remove_addresses(&self.netlink, interface, &self.instances[index]).await?;
                }
            }
            // The data plane is synchronised from the status after every drive.
            Action::SetDataplaneRole { .. } => {}
            Action::Transition { from, to, reason } => {
                self.status_stale = true;
                // A gap needs a previous Master: at startup nobody was heard.
                let since_last_advert = match &reason {
                    TransitionReason::MasterDownTimerExpired {
                        master: Some(_),
                        silent_for,
                    } => Some(*silent_for),
                    _ => None,
                };
                self.bus.publish(DaemonEvent::Transition {
                    instance: name,
                    interface: instance.config.interface.clone(),
                    vrid: instance.config.vrid,
                    from,
                    to,
                    reason: reason.to_string(),
                    peer: reason.peer(),
                    since_last_advert,
                });
            }
            Action::Warning(warning) => self.warn_rate_limited(&name, warning, now),
        }
        Ok(())
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
    fn first_in_interval(&mut self, subject: String, kind: &'static str, now: Instant) -> bool {
        let key = (subject, kind);
        if self
            .warned_at
            .get(&key)
            .is_some_and(|at| now.saturating_duration_since(*at) < WARNING_INTERVAL)
        {
            return false;
        }
        self.warned_at.insert(key, now);
        true
    }

    async fn refresh_addresses_if_due(&mut self, index: usize, now: Instant) {
        let instance = &self.instances[index];
        let due = instance
            .addresses_refreshed_at
            .is_some_and(|at| now >= at + instance.address_lifetime() / 3);
        if !due || instance.router.state() != State::Master {
            return;
        }
        let Some(interface) = self.interfaces.get(&instance.config.interface) else {
            return;
        };
        match install_addresses(&self.netlink, interface, instance).await {
            Ok(()) => self.instances[index].addresses_refreshed_at = Some(now),
            Err(err) => tracing::error!(
                instance = instance.config.name,
                error = format!("{err:#}"),
                "refreshing virtual addresses failed"
            ),
        }
    }

    /// Brings the running set of interfaces and instances to `config`: used at start (from
    /// nothing) and on reload. Unchanged instances are not touched. Returns the names of the
    /// instances started or changed, and of those removed.
    ///
    /// The clock is read at each protocol event, never before a slow step (netlink, XDP load):
    /// an instance's timers start when it can hear.
    async fn apply(&mut self, config: Config) -> Result<(Vec<String>, Vec<String>)> {
        let (_unchanged, change, stop, start) = plan_reload(&self.instances, &config.instances);
        let mut changed_names = Vec::new();
        let mut removed_names = Vec::new();
        // Stop removed and restarted instances first so their VRIDs are free.
        for name in &stop {
            if let Some(index) = self.instances.iter().position(|i| &i.config.name == name) {
                let now = Instant::now();
                self.instances[index]
                    .router
                    .handle_event(Event::Shutdown, now);
                self.drive(index, now).await;
                let instance = self.instances.remove(index);
                if let Some(interface) = self.interfaces.get_mut(&instance.config.interface) {
                    interface.forget_instance(&instance).await;
                }
                if !start.iter().any(|new| &new.name == name) {
                    removed_names.push(name.clone());
                }
            }
        }
        // Interfaces nobody uses any more: detach XDP (and unpin) by dropping them.
        let wanted: Vec<&str> = config
            .instances
            .iter()
            .map(|i| i.interface.as_str())
            .collect();
        self.interfaces
            .retain(|name, _| wanted.contains(&name.as_str()));
        for new in &config.instances {
            let sharing: Vec<&InstanceConfig> = config
                .instances
                .iter()
                .filter(|i| i.interface == new.interface)
                .collect();
            if let Some(interface) = self.interfaces.get_mut(&new.interface) {
                let families: Vec<AddressFamily> = sharing.iter().map(|i| i.family).collect();
                interface
                    .join_families(&families)
                    .and_then(|()| {
                        interface.set_heartbeat_timeout(heartbeat_timeout(&sharing), Instant::now())
                    })
                    .with_context(|| format!("interface {}", new.interface))?;
            } else {
                let families: Vec<AddressFamily> = sharing.iter().map(|i| i.family).collect();
                let interface = VrrpInterface::open(
                    &self.netlink,
                    &new.interface,
                    &families,
                    self.options.xdp_mode,
                    &config.global.bpffs,
                    heartbeat_timeout(&sharing),
                    self.punted_tx.clone(),
                )
                .await
                .with_context(|| format!("interface {}", new.interface))?;
                self.interfaces.insert(new.interface.clone(), interface);
            }
        }
        self.learn_tracked_links(&config.instances).await;
        for new in change {
            let Some(index) = self
                .instances
                .iter()
                .position(|i| i.config.name == new.name)
            else {
                continue;
            };
            let primary = self.instances[index].router.config().primary_address;
            self.change_virtual_addresses(index, &new).await?;
            self.instances[index].config = new.clone();
            let now = Instant::now();
            self.instances[index]
                .router
                .handle_event(Event::ConfigChanged(router_config(&new, primary)), now);
            // The state machine resets to the configured priority; tracking may still lower it.
            let tracked = self.instances[index].tracked_priority();
            if tracked != new.priority {
                self.instances[index]
                    .router
                    .handle_event(Event::PriorityChanged(tracked), now);
            }
            self.drive(index, now).await;
            changed_names.push(new.name);
        }
        for new in start {
            self.start_instance(new.clone())
                .await
                .with_context(|| format!("instance {}", new.name))?;
            changed_names.push(new.name);
        }
        self.global = config.global;
        Ok((changed_names, removed_names))
    }

    /// A reload changed instance `index`'s virtual addresses in place: the data plane answers
    /// for the new list only, and addresses no longer virtual leave the interface (the state
    /// machine installs the added ones if Master).
    async fn change_virtual_addresses(&mut self, index: usize, new: &InstanceConfig) -> Result<()> {
        let old = &self.instances[index].config;
        if old.virtual_addresses == new.virtual_addresses {
            return Ok(());
        }
        let interface = self
            .interfaces
            .get_mut(&new.interface)
            .with_context(|| format!("instance {}: interface not open", new.name))?;
        interface
            .change_virtual_addresses(new.vrid, &old.virtual_addresses, &new.virtual_addresses)
            .with_context(|| format!("instance {}: update the data plane's VIPs", new.name))?;
        // The owner's addresses are its own interface addresses: never touch them.
        if !old.is_owner() {
            for gone in old
                .virtual_addresses
                .iter()
                .filter(|address| !new.virtual_addresses.contains(address))
            {
                virtual_addresses::remove(
                    &self.netlink,
                    &interface.info.name,
                    interface.info.index,
                    *gone,
                )
                .await
                .with_context(|| format!("instance {}: remove {gone}", new.name))?;
            }
        }
        Ok(())
    }

    async fn start_instance(&mut self, config: InstanceConfig) -> Result<()> {
        let interface = self
            .interfaces
            .get_mut(&config.interface)
            .context("interface not open")?;
        let primary = primary_address(&interface.info, &config)?;
        let mut instance = Instance::new(config, primary);
        if !instance.config.is_owner() {
            // A crashed run may have left our virtual addresses behind: a Backup must not keep
            // them (RFC 9568 §6.4.2), and a Master re-adds them with a fresh lifetime.
            remove_addresses(&self.netlink, interface, &instance).await?;
        }
        for tracked in &instance.config.track {
            let running = interface_info(&self.netlink, &tracked.interface)
                .await
                .is_ok_and(|info| info.running);
            if !running {
                instance.tracked_down.insert(tracked.interface.clone());
            }
        }
        interface.register_instance(&instance)?;
        // The instance record (Initialize) before Startup: from the Startup clock read on, the
        // XDP program hands this VRID's adverts to us instead of dropping an unknown VRID.
        interface.sync_instance(&instance).await?;
        let now = Instant::now();
        let tracked_priority = instance.tracked_priority();
        if tracked_priority != instance.config.priority {
            instance
                .router
                .handle_event(Event::PriorityChanged(tracked_priority), now);
        }
        let running = interface.info.running;
        instance.router.handle_event(Event::Startup, now);
        if !running {
            instance.router.handle_event(Event::InterfaceDown, now);
        }
        self.instances.push(instance);
        let index = self.instances.len() - 1;
        self.drive(index, now).await;
        Ok(())
    }

    async fn learn_tracked_links(&mut self, instances: &[InstanceConfig]) {
        self.tracked_links.clear();
        for tracked in instances.iter().flat_map(|i| &i.track) {
            match interface_info(&self.netlink, &tracked.interface).await {
                Ok(info) => {
                    self.tracked_links.insert(info.index, info.name);
                }
                Err(err) => tracing::warn!(
                    tracked = tracked.interface,
                    error = %err,
                    "tracked interface not found; counted as down"
                ),
            }
        }
    }

    async fn reload(&mut self) {
        tracing::info!(config = %self.options.config_path.display(), "SIGHUP: reloading");
        let loaded = match config::load(&self.options.config_path, &SystemInterfaces, Mode::Run) {
            Ok(loaded) => loaded,
            Err(err) => {
                self.bus.publish(DaemonEvent::ReloadRejected {
                    errors: err.to_string().lines().map(str::to_owned).collect(),
                });
                return;
            }
        };
        for warning in &loaded.warnings {
            tracing::warn!("{warning}");
        }
        if loaded.config.global != self.global {
            tracing::warn!("changes to [global] take effect at the next restart");
        }
        match self.apply(loaded.config).await {
            Ok((changed, removed)) => {
                self.bus.publish(DaemonEvent::Reloaded { changed, removed });
            }
            Err(err) => self.bus.publish(DaemonEvent::ReloadRejected {
                errors: vec![format!("{err:#}")],
            }),
        }
    }

    /// Resigns every Master (priority 0), removes virtual addresses, then detaches XDP and
    /// unpins its maps by dropping the interfaces.
    async fn shutdown(&mut self) {
        let now = Instant::now();
        for index in 0..self.instances.len() {
            self.instances[index]
                .router
                .handle_event(Event::Shutdown, now);
            self.drive(index, now).await;
        }
        self.instances.clear();
        self.interfaces.clear();
        // The pin root is ours; other daemons' interfaces may still be in it (ENOTEMPTY).
        let _still_in_use = std::fs::remove_dir(&self.global.bpffs);
        tracing::info!("stopped");
    }
}

/// The shortest heartbeat timeout among `instances` sharing an interface: the heartbeat is
/// refreshed three times within it.
fn heartbeat_timeout(instances: &[&InstanceConfig]) -> Duration {
    instances
        .iter()
        .map(|instance| instance::heartbeat_timeout(instance))
        .min()
        .unwrap_or(Duration::from_secs(3))
}

/// Which instances a new configuration keeps as they are, changes in place, stops, and starts
/// (by name). An instance whose interface, VRID or family changed is stopped and started.
fn plan_reload(
    running: &[Instance],
    wanted: &[InstanceConfig],
) -> (
    Vec<String>,
    Vec<InstanceConfig>,
    Vec<String>,
    Vec<InstanceConfig>,
) {
    let mut keep = Vec::new();
    let mut change = Vec::new();
    let mut stop = Vec::new();
    let mut start = Vec::new();
    for instance in running {
        let old = &instance.config;
        match wanted.iter().find(|new| new.name == old.name) {
            Some(new) if new == old => keep.push(old.name.clone()),
            Some(new)
                if new.interface == old.interface
                    && new.vrid == old.vrid
                    && new.family == old.family =>
            {
                change.push(new.clone());
            }
            Some(new) => {
                stop.push(old.name.clone());
                start.push(new.clone());
            }
            None => stop.push(old.name.clone()),
        }
    }
    for new in wanted {
        if !running
            .iter()
            .any(|instance| instance.config.name == new.name)
        {
            start.push(new.clone());
        }
    }
    (keep, change, stop, start)
}

/// The advert source: the interface's primary IPv4 address (RFC 9568 §5.1.1.1) or its IPv6
/// link-local address (§5.1.2.1). A non-owner skips its virtual addresses (a crashed run may
/// have left them first in line); the owner's virtual addresses are its real ones, so it may
/// advertise from one of them when the interface has nothing else.
fn primary_address(info: &InterfaceInfo, config: &InstanceConfig) -> Result<IpAddr> {
    let candidates: Vec<IpAddr> = match config.family {
        AddressFamily::Ipv4 => info.ipv4.iter().map(|a| IpAddr::V4(*a)).collect(),
        AddressFamily::Ipv6 => info
            .ipv6_link_local
            .iter()
            .map(|a| IpAddr::V6(*a))
            .collect(),
    };
    let not_virtual = candidates
        .iter()
        .copied()
        .find(|address| !config.virtual_addresses.contains(address));
    let found = match not_virtual {
        None if config.is_owner() => candidates.first().copied(),
        other => other,
    };
    match found {
        Some(address) => Ok(address),
        None => bail!(
            "interface {} has no {} address to send adverts from",
            info.name,
            match config.family {
                AddressFamily::Ipv4 => "IPv4",
                AddressFamily::Ipv6 => "IPv6 link-local",
            }
        ),
    }
}

async fn install_addresses(
    netlink: &Handle,
    interface: &VrrpInterface,
    instance: &Instance,
) -> Result<()> {
    let lifetime = instance.address_lifetime();
    for address in &instance.config.virtual_addresses {
        virtual_addresses::install(
            netlink,
            &interface.info.name,
            interface.info.index,
            *address,
            Some(lifetime),
        )
        .await?;
    }
    Ok(())
}

async fn remove_addresses(
    netlink: &Handle,
    interface: &VrrpInterface,
    instance: &Instance,
) -> Result<()> {
    for address in &instance.config.virtual_addresses {
        virtual_addresses::remove(
            netlink,
            &interface.info.name,
            interface.info.index,
            *address,
        )
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::config::TrackedInterface;

    fn instance_config(name: &str, vrid: u8, priority: u8) -> InstanceConfig {
        InstanceConfig {
            name: name.to_owned(),
            interface: "eth0".to_owned(),
            vrid,
            family: AddressFamily::Ipv4,
            priority,
            advert_interval: crate::proto::Centiseconds::DEFAULT,
            preempt: true,
            preempt_delay: Duration::ZERO,
            accept_mode: false,
            virtual_addresses: vec![IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100))],
            track: Vec::<TrackedInterface>::new(),
            allowed_peers: Vec::new(),
            group: name.to_owned(),
        }
    }

    fn running(configs: &[InstanceConfig]) -> Vec<Instance> {
        configs
            .iter()
            .map(|config| Instance::new(config.clone(), IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))))
            .collect()
    }

    #[test]
    fn reload_keeps_unchanged_changes_in_place_and_restarts_on_new_vrid() {
        let old = [
            instance_config("same", 1, 100),
            instance_config("priority", 2, 100),
            instance_config("vrid", 3, 100),
            instance_config("gone", 4, 100),
        ];
        let new = [
            instance_config("same", 1, 100),
            instance_config("priority", 2, 150),
            instance_config("vrid", 13, 100),
            instance_config("added", 5, 100),
        ];
        let (keep, change, stop, start) = plan_reload(&running(&old), &new);
        assert_eq!(keep, ["same"]);
        assert_eq!(
            change.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
            ["priority"]
        );
        assert_eq!(stop, ["vrid", "gone"]);
        assert_eq!(
            start.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
            ["vrid", "added"]
        );
    }

    #[test]
    fn primary_address_skips_virtual_addresses_and_needs_one() {
        let config = instance_config("lan", 1, 100);
        let mut info = InterfaceInfo {
            name: "eth0".to_owned(),
            index: 2,
            mac: [2, 0, 0, 0, 0, 1],
            running: true,
            ipv4: vec![Ipv4Addr::new(192, 0, 2, 100), Ipv4Addr::new(192, 0, 2, 1)],
            ipv6_link_local: Vec::new(),
        };
        assert_eq!(
            primary_address(&info, &config).unwrap(),
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))
        );
        info.ipv4.truncate(1);
        assert!(primary_address(&info, &config).is_err());
        let owner = instance_config("owner", 1, 255);
        assert_eq!(
            primary_address(&info, &owner).unwrap(),
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100))
        );
    }
}
