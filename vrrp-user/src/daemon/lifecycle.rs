//! How instances come and go at run time: started when their interface and its advert source
//! address are there, waiting (logged once per reason) while they are not, stopped on reload or
//! when the source address goes, and put back to waiting without IO when the interface itself
//! vanishes. An instance that fails to start for another reason is retried on the [`Retry`]
//! schedule.

use std::{net::IpAddr, time::Instant};

use anyhow::{Context as _, Result};
use rtnetlink::Handle;

use super::{
    instance::{Instance, router_config},
    interface::VrrpInterface,
    resume,
    retry::{self, Retry},
    runtime::Daemon,
    vips::remove_addresses,
};
use crate::{
    config::InstanceConfig,
    net::{
        NetError,
        interface::{InterfaceInfo, interface_info},
    },
    proto::{Action, AddressFamily, Event, resume::Resumption},
};

/// A configured instance that is not running yet.
pub(super) struct WaitingInstance {
    pub(super) config: InstanceConfig,
    /// Why, as last logged: logged again only when it changes.
    reason: String,
    /// When to try again after a failure; None while it waits for a link or address event.
    retry: Option<Retry>,
}

/// Why an instance did not start.
pub(super) enum NotStarted {
    /// Its interface or advert source address is not there yet: a link or address event
    /// starts it.
    Waits(String),
    /// A step failed: retried on schedule.
    Failed(String),
}

impl Daemon {
    /// Starts `config` as on startup, or records why it waits.
    pub(super) async fn start_or_wait(&mut self, config: InstanceConfig) {
        let name = config.name.clone();
        match self.start_instance(config.clone()).await {
            Ok(()) => {
                if self
                    .waiting
                    .iter()
                    .any(|waiting| waiting.config.name == name)
                {
                    tracing::info!(instance = name, "waiting instance started");
                }
                self.waiting.retain(|waiting| waiting.config.name != name);
            }
            Err(not_started) => self.wait(config, not_started, Instant::now()),
        }
    }

    /// Records (replacing by name) that `config` is not running, logging the reason when it
    /// is new.
    pub(super) fn wait(&mut self, config: InstanceConfig, not_started: NotStarted, now: Instant) {
        let previous = self
            .waiting
            .iter()
            .position(|waiting| waiting.config.name == config.name)
            .map(|index| self.waiting.remove(index));
        let (reason, retry) = match not_started {
            NotStarted::Waits(reason) => (reason, None),
            NotStarted::Failed(reason) => {
                let previous_retry = previous.as_ref().and_then(|waiting| waiting.retry);
                (
                    reason,
                    Some(Retry::after_failure(retry::START, previous_retry, now)),
                )
            }
        };
        let repeated = previous.is_some_and(|waiting| waiting.reason == reason);
        if let (true, Some(retry)) = (repeated, retry) {
            tracing::debug!(
                instance = config.name,
                failures = retry.failures(),
                retry_in_ms = u64::try_from((retry.due() - now).as_millis()).unwrap_or(u64::MAX),
                "starting the instance failed again"
            );
        } else if !repeated {
            match retry {
                None => tracing::warn!(
                    instance = config.name,
                    interface = config.interface,
                    reason,
                    "instance waits: {reason}"
                ),
                Some(retry) => tracing::error!(
                    instance = config.name,
                    interface = config.interface,
                    reason,
                    failures = retry.failures(),
                    "starting the instance failed; retrying: {reason}"
                ),
            }
        }
        self.waiting.push(WaitingInstance {
            config,
            reason,
            retry,
        });
    }

    /// The earliest retry of an instance whose start failed.
    pub(super) fn next_start_retry(&self) -> Option<Instant> {
        self.waiting
            .iter()
            .filter_map(|waiting| waiting.retry.map(Retry::due))
            .min()
    }

    /// Retries the failed starts that are due.
    pub(super) async fn retry_starts_if_due(&mut self, now: Instant) {
        let mut due: Vec<String> = self
            .waiting
            .iter()
            .filter(|waiting| waiting.retry.is_some_and(|retry| retry.due() <= now))
            .map(|waiting| waiting.config.interface.clone())
            .collect();
        due.sort_unstable();
        due.dedup();
        for ifname in due {
            self.start_waiting_on(&ifname).await;
        }
    }

    /// Tries to start the instances waiting for `ifname`: opens the interface if it is not
    /// open (it may have just appeared), re-reads its addresses if it is.
    pub(super) async fn start_waiting_on(&mut self, ifname: &str) {
        let configs: Vec<InstanceConfig> = self
            .waiting
            .iter()
            .filter(|waiting| waiting.config.interface == ifname)
            .map(|waiting| waiting.config.clone())
            .collect();
        if configs.is_empty() {
            return;
        }
        if self.interfaces.contains_key(ifname) {
            self.refresh_interface_addresses(ifname).await;
        } else {
            let sharing = self.configured_on(ifname);
            let sharing: Vec<&InstanceConfig> = sharing.iter().collect();
            match open_interface(self, ifname, &sharing).await {
                Ok(Some(interface)) => {
                    tracing::info!(
                        interface = ifname,
                        ifindex = interface.info.index,
                        "VRRP interface appeared"
                    );
                    self.interfaces.insert(ifname.to_owned(), interface);
                }
                Ok(None) => {
                    // Absent now: waiting for it replaces any retry that was due.
                    let now = Instant::now();
                    for config in configs {
                        let reason = absent_interface(ifname);
                        self.wait(config, NotStarted::Waits(reason), now);
                    }
                    return;
                }
                Err(err) => {
                    let now = Instant::now();
                    for config in configs {
                        self.wait(config, NotStarted::Failed(format!("{err:#}")), now);
                    }
                    return;
                }
            }
        }
        for config in configs {
            self.start_or_wait(config).await;
        }
    }

    /// Every configured instance on `ifname`, running or waiting.
    fn configured_on(&self, ifname: &str) -> Vec<InstanceConfig> {
        self.instances
            .iter()
            .map(|instance| &instance.config)
            .chain(self.waiting.iter().map(|waiting| &waiting.config))
            .filter(|config| config.interface == ifname)
            .cloned()
            .collect()
    }

    /// Re-reads the addresses of open interface `ifname` (the advert sources).
    pub(super) async fn refresh_interface_addresses(&mut self, ifname: &str) {
        let Some(interface) = self.interfaces.get_mut(ifname) else {
            return;
        };
        match interface_info(&self.netlink, ifname).await {
            // The same link: a new index is a new link, which the link events handle.
            Ok(info) if info.index == interface.info.index => {
                interface.info.ipv4 = info.ipv4;
                interface.info.ipv6_link_local = info.ipv6_link_local;
            }
            Ok(_) => {}
            // Deleted: its address events come before the link's.
            Err(NetError::NoSuchInterface { .. }) => self.interface_vanished(ifname),
            Err(err) => tracing::warn!(
                interface = ifname,
                error = %err,
                "re-reading the interface addresses failed"
            ),
        }
    }

    /// Starts `config` on its open interface, as on startup: tracked links read, stale virtual
    /// addresses removed, the data-plane record written, then Startup. On a data plane adopted
    /// from a previous run it may resume instead (`resume`): the record is left as it is until
    /// the state machine rewrites it, and a resuming Master keeps its addresses.
    pub(super) async fn start_instance(
        &mut self,
        config: InstanceConfig,
    ) -> Result<(), NotStarted> {
        let Some(interface) = self.interfaces.get_mut(&config.interface) else {
            return Err(NotStarted::Waits(absent_interface(&config.interface)));
        };
        let Some(primary) = primary_address(&interface.info, &config) else {
            return Err(NotStarted::Waits(no_source_address(&config)));
        };
        let mut instance = Instance::new(config, primary);
        read_tracked_links(&self.netlink, &mut instance).await;
        let tracked_priority = instance.tracked_priority();
        if tracked_priority != instance.config.priority {
            instance
                .router
                .handle_event(Event::PriorityChanged(tracked_priority), Instant::now());
        }
        let resumption = resume::resumption(interface, &instance);
        if let Err(err) = prepare_instance(
            &self.netlink,
            interface,
            &mut instance,
            resumption.map(|(resumption, _)| resumption),
        )
        .await
        {
            // Undo the part of the data-plane registration that succeeded.
            interface.forget_instance(&instance).await;
            return Err(NotStarted::Failed(format!("{err:#}")));
        }
        let now = Instant::now();
        let running = interface.info.running;
        match resumption {
            Some((resumption, at)) => instance.router.handle_event(Event::Resume(resumption), at),
            None => instance.router.handle_event(Event::Startup, now),
        }
        if !running {
            instance.router.handle_event(Event::InterfaceDown, now);
        }
        self.instances.push(instance);
        let index = self.instances.len() - 1;
        self.drive(index, now).await;
        Ok(())
    }

    /// Stops instance `index` (a Master resigns with priority 0 and removes its addresses) and
    /// removes it from its data plane. Its record goes, so there is no make-before-break to
    /// wait for: the second Shutdown ends the resign at once.
    pub(super) async fn stop_instance(&mut self, index: usize) -> Instance {
        let now = Instant::now();
        for _resign_then_end in 0..2 {
            self.instances[index]
                .router
                .handle_event(Event::Shutdown, now);
        }
        self.drive(index, now).await;
        let instance = self.instances.remove(index);
        if let Some(interface) = self.interfaces.get_mut(&instance.config.interface) {
            interface.forget_instance(&instance).await;
        }
        instance
    }

    /// Applies `new` (same interface, VRID and family) and `primary` to running instance
    /// `index` in place: a reload or a new advert source address.
    pub(super) async fn reconfigure(&mut self, index: usize, new: InstanceConfig, primary: IpAddr) {
        if let Err(err) = self.change_virtual_addresses(index, &new).await {
            // A BPF map write on our own maps: fails only when a map is full.
            tracing::error!(
                instance = new.name,
                error = format!("{err:#}"),
                "changing the virtual addresses failed"
            );
        }
        self.add_new_peers(index, &new);
        let now = Instant::now();
        self.instances[index]
            .router
            .handle_event(Event::ConfigChanged(router_config(&new, primary)), now);
        let old = std::mem::replace(&mut self.instances[index].config, new);
        self.reconfigure_router_adverts(index, &old, now);
        // The state machine resets to the configured priority; tracking may still lower it.
        let instance = &self.instances[index];
        let tracked = instance.tracked_priority();
        if tracked != instance.config.priority {
            self.instances[index]
                .router
                .handle_event(Event::PriorityChanged(tracked), now);
        }
        self.drive(index, now).await;
        self.remove_old_peers(index, &old);
    }

    /// A reload changed instance `index`'s virtual addresses in place: addresses no longer
    /// virtual leave the interface (retried until they have), and the data plane answers for
    /// the new list only (the state machine installs the added ones if Master).
    async fn change_virtual_addresses(&mut self, index: usize, new: &InstanceConfig) -> Result<()> {
        let instance = &mut self.instances[index];
        let old = &instance.config;
        if old.virtual_addresses == new.virtual_addresses {
            return Ok(());
        }
        // The owner's addresses are its own interface addresses: never touch them.
        if !old.is_owner() {
            let gone: Vec<IpAddr> = old
                .virtual_addresses
                .iter()
                .copied()
                .filter(|address| !new.virtual_addresses.contains(address))
                .collect();
            instance.dropped_addresses.extend(gone);
        }
        // An address dropped by an earlier reload may be wanted again.
        instance
            .dropped_addresses
            .retain(|address| !new.virtual_addresses.contains(address));
        self.remove_dropped_addresses(index, Instant::now()).await;
        let old = &self.instances[index].config;
        let interface = self
            .interfaces
            .get_mut(&new.interface)
            .with_context(|| format!("instance {}: interface not open", new.name))?;
        interface
            .change_virtual_addresses(new.vrid, &old.virtual_addresses, &new.virtual_addresses)
            .with_context(|| format!("instance {}: update the data plane's VIPs", new.name))
    }

    /// The advert source of running instance `index` changed on its interface (or went): the
    /// state machine gets the new one, or the instance stops and waits for one.
    pub(super) async fn follow_source_address(&mut self, index: usize) {
        let instance = &self.instances[index];
        let Some(interface) = self.interfaces.get(&instance.config.interface) else {
            return;
        };
        let current = instance.router.config().primary_address;
        match primary_address(&interface.info, &instance.config) {
            Some(primary) if primary == current => {}
            Some(primary) => {
                tracing::info!(
                    instance = instance.config.name,
                    interface = instance.config.interface,
                    from = %current,
                    to = %primary,
                    "advert source address changed"
                );
                let config = instance.config.clone();
                self.reconfigure(index, config, primary).await;
            }
            None => {
                let stopped = self.stop_instance(index).await;
                let reason = no_source_address(&stopped.config);
                self.wait(stopped.config, NotStarted::Waits(reason), Instant::now());
            }
        }
    }

    /// Interface `ifname` was deleted or renamed: nothing can be sent on it any more, so its
    /// instances go to Initialize without IO (the kernel removed their addresses with it) and
    /// wait for it; its data plane is dropped.
    pub(super) fn interface_vanished(&mut self, ifname: &str) {
        let Some(interface) = self.interfaces.remove(ifname) else {
            return;
        };
        tracing::warn!(
            interface = ifname,
            ifindex = interface.info.index,
            "VRRP interface vanished; its instances wait for it"
        );
        let now = Instant::now();
        let mut index = 0;
        while index < self.instances.len() {
            if self.instances[index].config.interface != ifname {
                index += 1;
                continue;
            }
            let mut instance = self.instances.remove(index);
            instance.router.handle_event(Event::InterfaceDown, now);
            while let Some(action) = instance.router.poll_action() {
                if let Action::Transition { from, to, reason } = action {
                    self.publish_transition(&instance, from, to, &reason);
                }
            }
            let reason = absent_interface(ifname);
            self.wait(instance.config, NotStarted::Waits(reason), now);
        }
        // Detaches what is left of the data plane and removes its pins.
        drop(interface);
    }
}

/// Opens `ifname` for the instances `sharing` it: `Ok(None)` when it does not exist (yet).
pub(super) async fn open_interface(
    daemon: &Daemon,
    ifname: &str,
    sharing: &[&InstanceConfig],
) -> Result<Option<VrrpInterface>> {
    let info = match interface_info(&daemon.netlink, ifname).await {
        Ok(info) => info,
        Err(NetError::NoSuchInterface { .. }) => return Ok(None),
        Err(err) => return Err(err).with_context(|| format!("interface {ifname}: look it up")),
    };
    let families: Vec<AddressFamily> = sharing.iter().map(|config| config.family).collect();
    let names: Vec<&str> = sharing.iter().map(|config| config.name.as_str()).collect();
    let mut interface = VrrpInterface::open(
        info,
        &families,
        daemon.options.xdp_mode,
        &daemon.global.bpffs,
        heartbeat_timeout(sharing),
        daemon.punted_tx.clone(),
    )
    .with_context(|| {
        format!(
            "interface {ifname} (instances {}): open the data plane and packet socket",
            names.join(", ")
        )
    })?;
    interface.forget_unconfigured(sharing).with_context(|| {
        format!("interface {ifname}: remove what the previous run registered and is gone")
    })?;
    Ok(Some(interface))
}

/// Which tracked interfaces of `instance` are down (absent counts as down).
async fn read_tracked_links(netlink: &Handle, instance: &mut Instance) {
    for tracked in &instance.config.track {
        let running = interface_info(netlink, &tracked.interface)
            .await
            .is_ok_and(|info| info.running);
        if !running {
            instance.tracked_down.insert(tracked.interface.clone());
        }
    }
}

/// The steps of a start that can fail, before the state machine starts (or resumes as
/// `resumption`).
async fn prepare_instance(
    netlink: &Handle,
    interface: &mut VrrpInterface,
    instance: &mut Instance,
    resumption: Option<Resumption>,
) -> Result<()> {
    if !instance.config.is_owner() && resumption != Some(Resumption::Master) {
        // A crashed run may have left our virtual addresses behind: a Backup must not keep
        // them (RFC 9568 §6.4.2), and a Master re-adds them with a fresh lifetime. A resuming
        // Master keeps answering for them: it refreshes them at once.
        remove_addresses(netlink, interface, instance).await?;
    }
    interface
        .register_instance(instance)
        .context("register the virtual addresses with the data plane")?;
    if resumption.is_none() {
        // The instance record (Initialize) before Startup: from the Startup clock read on, the
        // XDP program hands this VRID's adverts to us instead of dropping an unknown VRID. A
        // resumed record stays as it is: the program keeps acting on it meanwhile.
        interface
            .sync_instance(instance)
            .await
            .context("write the data-plane record")?;
    }
    Ok(())
}

/// The shortest heartbeat timeout among `instances` sharing an interface: the heartbeat is
/// refreshed three times within it.
pub(super) fn heartbeat_timeout(instances: &[&InstanceConfig]) -> std::time::Duration {
    instances
        .iter()
        .map(|instance| super::instance::heartbeat_timeout(instance))
        .min()
        .unwrap_or(std::time::Duration::from_secs(3))
}

fn absent_interface(ifname: &str) -> String {
    format!("interface {ifname} does not exist yet")
}

fn no_source_address(config: &InstanceConfig) -> String {
    format!(
        "interface {} has no {} address to send adverts from yet",
        config.interface,
        match config.family {
            AddressFamily::Ipv4 => "IPv4",
            AddressFamily::Ipv6 => "usable IPv6 link-local",
        }
    )
}

/// The advert source: the interface's primary IPv4 address (RFC 9568 §5.1.1.1) or its IPv6
/// link-local address (§5.1.2.1). A non-owner skips its virtual addresses (a crashed run may
/// have left them first in line); the owner's virtual addresses are its real ones, so it may
/// advertise from one of them when the interface has nothing else.
fn primary_address(info: &InterfaceInfo, config: &InstanceConfig) -> Option<IpAddr> {
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
    match not_virtual {
        None if config.is_owner() => candidates.first().copied(),
        other => other,
    }
}

#[cfg(test)]
pub(super) mod tests {
    use std::{net::Ipv4Addr, time::Duration};

    use super::*;
    use crate::config::{ChecksumStyle, TrackedInterface};

    pub(in crate::daemon) fn instance_config(name: &str, vrid: u8, priority: u8) -> InstanceConfig {
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
            unicast_peers: Vec::new(),
            lan_announcements: true,
            ipv4_checksum: ChecksumStyle::Rfc9568,
            version: vrrp_common::advert::VersionMode::V3,
            group: name.to_owned(),
            router_advertisement: None,
        }
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
            primary_address(&info, &config),
            Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)))
        );
        info.ipv4.truncate(1);
        assert_eq!(primary_address(&info, &config), None);
        let owner = instance_config("owner", 1, 255);
        assert_eq!(
            primary_address(&info, &owner),
            Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100)))
        );
    }
}
