//! One configured virtual router at run time: the pure state machine plus what the driver must
//! remember around it (tracked links, virtual address refresh).

use std::{
    collections::BTreeSet,
    net::IpAddr,
    time::{Duration, Instant},
};

use super::{commands::OperatorMarks, retry::Retry};
use crate::{
    config::InstanceConfig,
    proto::{
        AddressFamily, RouterConfig, State, VirtualRouter, master_down_interval_for,
        router_advert::RouterAdvertScheduler,
    },
};

/// A running instance.
pub(crate) struct Instance {
    /// The validated configuration it was started from (compared on reload).
    pub(crate) config: InstanceConfig,
    /// The election state machine.
    pub(crate) router: VirtualRouter,
    /// Tracked interfaces that are down now.
    pub(crate) tracked_down: BTreeSet<String>,
    /// When the installed virtual addresses' kernel lifetime was last refreshed (None = not
    /// installed by us, or an install is being retried).
    pub(crate) addresses_refreshed_at: Option<Instant>,
    /// The pending retry of a failed install or refresh of the virtual addresses.
    pub(crate) address_retry: Option<Retry>,
    /// Addresses a reload took out of the configuration that are still to be deleted from the
    /// interface, and when to try again.
    pub(crate) dropped_addresses: Vec<IpAddr>,
    pub(crate) dropped_retry: Option<Retry>,
    /// Who demoted it or overrode its priority.
    pub(crate) operator: OperatorMarks,
    /// When to send Router Advertisements (IPv6 with `router_advertisement` configured).
    pub(crate) router_adverts: Option<RouterAdvertScheduler>,
}

impl Instance {
    /// A new instance in Initialize, with `primary_address` as advert source.
    pub(crate) fn new(config: InstanceConfig, primary_address: IpAddr) -> Self {
        let router = VirtualRouter::new(router_config(&config, primary_address));
        let router_adverts = super::router_adverts::scheduler(&config);
        Self {
            config,
            router,
            tracked_down: BTreeSet::new(),
            addresses_refreshed_at: None,
            address_retry: None,
            dropped_addresses: Vec::new(),
            dropped_retry: None,
            operator: OperatorMarks::default(),
            router_adverts,
        }
    }

    /// The state machine's family.
    pub(crate) fn family(&self) -> AddressFamily {
        self.router.config().family
    }

    /// The priority with the down tracked interfaces' weights subtracted.
    pub(crate) fn tracked_priority(&self) -> u8 {
        self.config
            .effective_priority(|interface| !self.tracked_down.contains(interface))
    }

    /// Kernel lifetime of installed virtual addresses. A dead daemon's orphaned data plane
    /// stays Master until a peer's first advert, which comes at the latest the longest
    /// Master_Down_Interval any Backup can have (priority 1's Skew_Time) after our last
    /// advert; the last refresh may be a third of the lifetime older. So 3/2 × (that + 1 s),
    /// at least 2 s: the addresses outlive every takeover, and if nobody ever takes over the
    /// stack stops answering for them soon after (cached hosts keep forwarding through the
    /// virtual MAC). docs/ARCHITECTURE.md, "In-kernel hand-off".
    pub(crate) fn address_lifetime(&self) -> Duration {
        let longest_takeover =
            master_down_interval_for(self.config.version, 1, self.config.advert_interval);
        ((longest_takeover + Duration::from_secs(1)) * 3 / 2).max(Duration::from_secs(2))
    }

    /// When the installed addresses' lifetime is next refreshed: a third of it after the last
    /// install, while Master (the only state that refreshes them). A resigning router keeps
    /// them for at most Master_Down_Interval, well within their lifetime; None otherwise and
    /// while nothing is installed.
    pub(crate) fn address_refresh_due(&self) -> Option<Instant> {
        (self.router.state() == State::Master)
            .then_some(self.addresses_refreshed_at)
            .flatten()
            .map(|at| at + self.address_lifetime() / 3)
    }

    /// When address work is next due: the lifetime refresh (a third of it after the last
    /// install), an install retry, or the removal retry of addresses a reload dropped.
    pub(crate) fn next_address_work(&self) -> Option<Instant> {
        [
            self.address_refresh_due(),
            self.address_retry.map(Retry::due),
            self.dropped_retry.map(Retry::due),
        ]
        .into_iter()
        .flatten()
        .min()
    }
}

/// Maps the validated configuration onto the state machine's.
pub(crate) fn router_config(config: &InstanceConfig, primary_address: IpAddr) -> RouterConfig {
    RouterConfig {
        vrid: config.vrid,
        family: config.family,
        priority: config.priority,
        advert_interval: config.advert_interval,
        preempt: config.preempt,
        preempt_delay: config.preempt_delay,
        accept_mode: config.accept_mode,
        primary_address,
        virtual_addresses: config.virtual_addresses.clone(),
        version: config.version,
    }
}

/// How long the data plane keeps acting as Master for an instance without a heartbeat from the
/// daemon: three of its advert intervals. That always ends before a Backup's
/// Master_Down_Interval (3 intervals + Skew_Time), so a dead daemon's node has stopped
/// answering for the virtual addresses by the time another router takes over. A live daemon
/// that stalls that long would miss its own adverts too, and lose Master anyway.
pub(crate) fn heartbeat_timeout(config: &InstanceConfig) -> Duration {
    config.advert_interval.as_duration() * 3
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::{
        daemon::lifecycle::tests::instance_config,
        proto::{Command, Event},
    };

    /// A resigning router keeps its addresses but refreshes nothing: a refresh it would never
    /// do must not be on the timetable (the loop popped it again and again, stalling every
    /// other task, until the resign ended).
    #[test]
    fn only_a_master_has_an_address_refresh_due() {
        let mut instance = Instance::new(
            instance_config("lan", 1, 100),
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
        );
        let now = Instant::now();
        instance.router.handle_event(Event::Startup, now);
        instance.addresses_refreshed_at = Some(now);
        assert_eq!(instance.address_refresh_due(), None, "Backup");
        let down = instance.router.poll_timeout().expect("Master_Down_Timer");
        instance.router.handle_timeout(down);
        assert_eq!(instance.router.state(), State::Master);
        instance.addresses_refreshed_at = Some(down);
        let due = down + instance.address_lifetime() / 3;
        assert_eq!(instance.address_refresh_due(), Some(due));
        assert_eq!(instance.next_address_work(), Some(due));
        let _applied = instance.router.handle_command(Command::Demote, down);
        assert_ne!(instance.router.state(), State::Master);
        assert_eq!(instance.address_refresh_due(), None, "resigning");
        assert_eq!(instance.next_address_work(), None);
    }
}
