//! Applying a configuration (at start and on SIGHUP) in two phases, so that a reload is all or
//! nothing.
//!
//! **Prepare** does everything that can fail without disturbing the running instances: read
//! and validate the file, decide what to keep, change, stop and start, look up the interfaces
//! no running instance uses and attach the data plane and open the packet socket on them, join
//! the VRRP group MAC for new families. A failure drops what was prepared (dropping a
//! [`VrrpInterface`] detaches it) and the running configuration stays as it was.
//!
//! **Commit** stops, changes and starts instances. What can still fail then is retried rather
//! than rolled back: a start that fails leaves the instance waiting and retried (`lifecycle`),
//! a failed address install is retried (`vips`), a failed heartbeat-timeout write is retried at
//! the next heartbeat.

use std::{collections::BTreeMap, time::Instant};

use anyhow::Result;

use super::{
    events::DaemonEvent,
    instance::Instance,
    interface::VrrpInterface,
    lifecycle::{heartbeat_timeout, open_interface},
    runtime::Daemon,
};
use crate::{
    config::{self, Config, InstanceConfig, Mode, SystemInterfaces},
    proto::AddressFamily,
};

/// A validated configuration with every resource it needs that could be prepared without
/// touching the running instances.
pub(super) struct ReloadPlan {
    config: Config,
    actions: InstanceActions,
    /// Data planes attached to interfaces no running instance used.
    opened: BTreeMap<String, VrrpInterface>,
}

/// What a new configuration does to each instance (by name).
#[derive(Debug, Default)]
struct InstanceActions {
    /// Running instances changed in place (same interface, VRID and family).
    change: Vec<InstanceConfig>,
    /// Running instances stopped: removed, or restarted because their interface, VRID or
    /// family changed.
    stop: Vec<String>,
    /// Instances to start: new, restarted, or not running (waiting) before.
    start: Vec<InstanceConfig>,
}

/// Which running instances `wanted` changes in place, stops and starts; unchanged ones are in
/// none of the lists.
fn instance_actions(running: &[Instance], wanted: &[InstanceConfig]) -> InstanceActions {
    let mut actions = InstanceActions::default();
    for instance in running {
        let old = &instance.config;
        match wanted.iter().find(|new| new.name == old.name) {
            Some(new) if new == old => {}
            Some(new)
                if new.interface == old.interface
                    && new.vrid == old.vrid
                    && new.family == old.family =>
            {
                actions.change.push(new.clone());
            }
            Some(new) => {
                actions.stop.push(old.name.clone());
                actions.start.push(new.clone());
            }
            None => actions.stop.push(old.name.clone()),
        }
    }
    for new in wanted {
        if !running
            .iter()
            .any(|instance| instance.config.name == new.name)
        {
            actions.start.push(new.clone());
        }
    }
    actions
}

/// The instances of `config` on `ifname`.
fn sharing<'a>(config: &'a Config, ifname: &str) -> Vec<&'a InstanceConfig> {
    config
        .instances
        .iter()
        .filter(|instance| instance.interface == ifname)
        .collect()
}

impl Daemon {
    /// SIGHUP: re-reads the file and applies it, or keeps the running configuration and says
    /// why not.
    pub(super) async fn reload(&mut self) {
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
            tracing::warn!("changes to [global] and to hooks take effect at the next restart");
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

    /// Brings the running set of interfaces and instances to `config`: used at start (from
    /// nothing) and on reload. Unchanged instances are not touched; on an error nothing is.
    /// Returns the names of the instances started, waiting or changed, and of those removed.
    ///
    /// The clock is read at each protocol event, never before a slow step (netlink, XDP load):
    /// an instance's timers start when it can hear.
    pub(super) async fn apply(&mut self, config: Config) -> Result<(Vec<String>, Vec<String>)> {
        let plan = self.prepare(config).await?;
        Ok(self.commit(plan).await)
    }

    async fn prepare(&mut self, config: Config) -> Result<ReloadPlan> {
        let actions = instance_actions(&self.instances, &config.instances);
        let mut new_interfaces: Vec<&str> = actions
            .start
            .iter()
            .map(|instance| instance.interface.as_str())
            .filter(|ifname| !self.interfaces.contains_key(*ifname))
            .collect();
        new_interfaces.sort_unstable();
        new_interfaces.dedup();
        let mut opened = BTreeMap::new();
        for ifname in new_interfaces {
            // An error returns here, dropping (detaching) what `opened` holds so far.
            if let Some(interface) = open_interface(self, ifname, &sharing(&config, ifname)).await?
            {
                opened.insert(ifname.to_owned(), interface);
            }
            // An absent interface is no error: its instances wait for it.
        }
        for (ifname, interface) in &mut self.interfaces {
            // Joining a group the running instances do not use leaves them undisturbed.
            let families: Vec<AddressFamily> = sharing(&config, ifname)
                .iter()
                .map(|instance| instance.family)
                .collect();
            interface.join_families(&families).map_err(|err| {
                err.context(format!(
                    "interface {ifname}: join the VRRP group MAC of a new address family"
                ))
            })?;
        }
        Ok(ReloadPlan {
            config,
            actions,
            opened,
        })
    }

    async fn commit(&mut self, plan: ReloadPlan) -> (Vec<String>, Vec<String>) {
        let ReloadPlan {
            config,
            actions,
            opened,
        } = plan;
        let mut changed = Vec::new();
        let mut removed = Vec::new();
        // Stop removed and restarted instances first so their VRIDs are free.
        for name in &actions.stop {
            if let Some(index) = self.instances.iter().position(|i| &i.config.name == name) {
                self.stop_instance(index).await;
                if !actions.start.iter().any(|new| &new.name == name) {
                    removed.push(name.clone());
                }
            }
        }
        let configured = |name: &str| config.instances.iter().any(|new| new.name == name);
        removed.extend(
            self.waiting
                .iter()
                .filter(|waiting| !configured(&waiting.config.name))
                .map(|waiting| waiting.config.name.clone()),
        );
        self.waiting
            .retain(|waiting| configured(&waiting.config.name));
        // Interfaces nobody uses any more: detach XDP (and unpin) by dropping them.
        self.interfaces
            .retain(|ifname, _| !sharing(&config, ifname).is_empty());
        self.interfaces.extend(opened);
        let now = Instant::now();
        for (ifname, interface) in &mut self.interfaces {
            interface.set_heartbeat_timeout(heartbeat_timeout(&sharing(&config, ifname)), now);
        }
        self.learn_tracked_links(&config.instances).await;
        for new in actions.change {
            let Some(index) = self
                .instances
                .iter()
                .position(|i| i.config.name == new.name)
            else {
                continue;
            };
            changed.push(new.name.clone());
            let primary = self.instances[index].router.config().primary_address;
            self.clear_priority_override(index).await;
            self.reconfigure(index, new, primary).await;
        }
        for new in actions.start {
            let unchanged_waiting = self.waiting.iter().any(|waiting| waiting.config == new);
            if !unchanged_waiting {
                changed.push(new.name.clone());
            }
            self.start_or_wait(new).await;
        }
        self.global = config.global;
        (changed, removed)
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use super::*;
    use crate::daemon::lifecycle::tests::instance_config;

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
        let actions = instance_actions(&running(&old), &new);
        assert_eq!(
            actions
                .change
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>(),
            ["priority"]
        );
        assert_eq!(actions.stop, ["vrid", "gone"]);
        assert_eq!(
            actions
                .start
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>(),
            ["vrid", "added"]
        );
    }
}
