//! Following the kernel's link and address events: carrier changes of VRRP and tracked
//! interfaces, interfaces that appear, vanish, are renamed or come back with a new index, and
//! advert source addresses that change. Interfaces are followed by name; indexes are learnt.

use std::time::{Duration, Instant};

use super::runtime::Daemon;
use crate::{
    config::InstanceConfig,
    net::interface::{InterfaceChange, interface_info},
    proto::Event,
};

/// How long address notifications of one link are collected before its addresses are read
/// again: following a renumbered advert source a moment late is harmless.
const ADDRESS_SETTLE: Duration = Duration::from_millis(100);

impl Daemon {
    pub(super) async fn on_interface_change(&mut self, change: InterfaceChange) {
        match change {
            InterfaceChange::Link {
                index,
                name,
                running,
            } => {
                self.on_link(index, &name, running).await;
                self.follow_tracked_link(index, Some(&name), running).await;
            }
            InterfaceChange::Removed { index } => {
                if let Some(ifname) = self.open_interface_name(index) {
                    self.interface_vanished(&ifname);
                }
                self.follow_tracked_link(index, None, false).await;
            }
            InterfaceChange::Addresses { index } => self.addresses_changed(index),
        }
    }

    /// The name of the open VRRP interface with kernel index `index`.
    fn open_interface_name(&self, index: u32) -> Option<String> {
        self.interfaces
            .values()
            .find(|interface| interface.info.index == index)
            .map(|interface| interface.info.name.clone())
    }

    async fn on_link(&mut self, index: u32, name: &str, running: bool) {
        // Renamed away: the interface we opened is no longer the one with our name.
        if let Some(old_name) = self.open_interface_name(index)
            && old_name != name
        {
            tracing::info!(
                interface = old_name,
                new_name = name,
                "VRRP interface renamed"
            );
            self.interface_vanished(&old_name);
        }
        // Our name on another link: the old one was deleted (and its removal not seen yet) or
        // another link was renamed to it.
        if self
            .interfaces
            .get(name)
            .is_some_and(|interface| interface.info.index != index)
        {
            self.interface_vanished(name);
        }
        self.on_carrier(name, running).await;
        if !self.interfaces.contains_key(name) || running {
            self.start_waiting_on(name).await;
        }
    }

    /// Feeds a carrier change of open interface `ifname` to its instances.
    async fn on_carrier(&mut self, ifname: &str, running: bool) {
        let Some(interface) = self.interfaces.get_mut(ifname) else {
            return;
        };
        if interface.info.running == running {
            return;
        }
        interface.info.running = running;
        let event = if running {
            Event::InterfaceUp
        } else {
            Event::InterfaceDown
        };
        tracing::info!(interface = ifname, running, "VRRP link changed");
        for index in 0..self.instances.len() {
            if self.instances[index].config.interface == ifname {
                let now = Instant::now();
                self.instances[index]
                    .router
                    .handle_event(event.clone(), now);
                self.drive(index, now).await;
            }
        }
    }

    /// An address changed on link `index`: its addresses are read again a moment later. A
    /// Master refreshing the lifetimes of hundreds of virtual addresses causes hundreds of
    /// notifications a second; each read would dump every address of the interface.
    fn addresses_changed(&mut self, index: u32) {
        self.address_rereads
            .entry(index)
            .or_insert_with(|| Instant::now() + ADDRESS_SETTLE);
    }

    /// When the next address re-read is due.
    pub(super) fn next_address_reread(&self) -> Option<Instant> {
        self.address_rereads.values().min().copied()
    }

    /// Reads the addresses of every link whose re-read is due.
    pub(super) async fn reread_addresses_if_due(&mut self, now: Instant) {
        let due: Vec<u32> = self
            .address_rereads
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(index, _)| *index)
            .collect();
        for index in due {
            self.address_rereads.remove(&index);
            self.on_addresses(index).await;
        }
    }

    /// The addresses of link `index` changed: running instances there follow their advert
    /// source, waiting ones may start.
    async fn on_addresses(&mut self, index: u32) {
        let Some(ifname) = self.open_interface_name(index) else {
            return;
        };
        self.refresh_interface_addresses(&ifname).await;
        // Backwards: an instance that lost its source address leaves the list.
        for index in (0..self.instances.len()).rev() {
            if self.instances[index].config.interface == ifname {
                self.follow_source_address(index).await;
            }
        }
        self.start_waiting_on(&ifname).await;
    }

    /// Link `index` is now called `name` (None: deleted) and is `running` or not: tracked
    /// interfaces are followed by name, so a renamed link stops counting for its old name and
    /// a recreated one counts under its new index.
    async fn follow_tracked_link(&mut self, index: u32, name: Option<&str>, running: bool) {
        if let Some(previous) = self.tracked_links.get(&index).cloned()
            && Some(previous.as_str()) != name
        {
            self.tracked_links.remove(&index);
            self.set_tracked_state(&previous, false).await;
        }
        let Some(name) = name else {
            return;
        };
        let tracked = self
            .instances
            .iter()
            .any(|instance| instance.config.track.iter().any(|t| t.interface == name));
        if tracked {
            self.tracked_links
                .retain(|known, known_name| *known == index || known_name != name);
            self.tracked_links.insert(index, name.to_owned());
            self.set_tracked_state(name, running).await;
        }
    }

    /// Applies tracked interface `name` being up (`running`) or down to the instances tracking
    /// it.
    async fn set_tracked_state(&mut self, name: &str, running: bool) {
        for index in 0..self.instances.len() {
            let instance = &mut self.instances[index];
            if !instance.config.track.iter().any(|t| t.interface == name) {
                continue;
            }
            let before = instance.tracked_priority();
            if running {
                instance.tracked_down.remove(name);
            } else {
                instance.tracked_down.insert(name.to_owned());
            }
            let after = instance.tracked_priority();
            if before != after {
                let now = Instant::now();
                tracing::info!(
                    instance = instance.config.name,
                    tracked = name,
                    running,
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

    /// Learns the kernel index of every tracked interface (at start and reload); an absent
    /// one counts as down until it appears.
    pub(super) async fn learn_tracked_links(&mut self, instances: &[InstanceConfig]) {
        self.tracked_links.clear();
        for tracked in instances.iter().flat_map(|i| &i.track) {
            match interface_info(&self.netlink, &tracked.interface).await {
                Ok(info) => {
                    self.tracked_links.insert(info.index, info.name);
                }
                Err(err) => tracing::warn!(
                    tracked = tracked.interface,
                    error = %err,
                    "tracked interface not found; counted as down until it appears"
                ),
            }
        }
    }
}
