//! Virtual addresses on the VRRP interface: installed with a kernel lifetime while Master,
//! refreshed every third of it, deleted when a reload drops them, and, when netlink fails,
//! retried on the [`Retry`] schedule instead of on every loop turn. Each instance's next
//! piece of address work is one deadline on the timetable (no scan of all instances).

use std::time::Instant;

use anyhow::Result;
use rtnetlink::Handle;

use super::{
    instance::Instance,
    interface::VrrpInterface,
    retry::{self, Retry},
    runtime::Daemon,
};
use crate::{net::virtual_addresses, proto::State};

impl Daemon {
    /// Installs (or refreshes) instance `index`'s virtual addresses with a fresh lifetime. A
    /// failure is logged and scheduled for a retry; the refresh schedule resumes once one
    /// succeeds.
    pub(super) async fn install_virtual_addresses(&mut self, index: usize, now: Instant) {
        let instance = &self.instances[index];
        let Some(interface) = self.interfaces.get(&instance.config.interface) else {
            return;
        };
        let result = install_addresses(&self.netlink, interface, instance).await;
        let instance = &mut self.instances[index];
        match result {
            Ok(()) => {
                if let Some(retry) = instance.address_retry.take() {
                    tracing::info!(
                        instance = instance.config.name,
                        failures = retry.failures(),
                        "virtual addresses installed after earlier failures"
                    );
                }
                instance.addresses_refreshed_at = Some(now);
            }
            Err(err) => {
                let retry = Retry::after_failure(retry::NETLINK, instance.address_retry, now);
                // The retry replaces the refresh schedule, whose due time has passed and would
                // otherwise wake the loop at once, again and again.
                instance.addresses_refreshed_at = None;
                instance.address_retry = Some(retry);
                tracing::error!(
                    instance = instance.config.name,
                    failures = retry.failures(),
                    retry_in_ms =
                        u64::try_from((retry.due() - now).as_millis()).unwrap_or(u64::MAX),
                    error = format!("{err:#}"),
                    "installing virtual addresses failed; retrying"
                );
            }
        }
    }

    /// Removes instance `index`'s virtual addresses and cancels any pending install retry.
    pub(super) async fn remove_virtual_addresses(&mut self, index: usize) -> Result<()> {
        let instance = &mut self.instances[index];
        instance.addresses_refreshed_at = None;
        instance.address_retry = None;
        let instance = &self.instances[index];
        let Some(interface) = self.interfaces.get(&instance.config.interface) else {
            return Ok(());
        };
        remove_addresses(&self.netlink, interface, instance).await
    }

    /// Deletes from the interface the addresses a reload took out of instance `index`'s
    /// configuration; what fails is retried on schedule.
    pub(super) async fn remove_dropped_addresses(&mut self, index: usize, now: Instant) {
        let instance = &self.instances[index];
        let Some(interface) = self.interfaces.get(&instance.config.interface) else {
            return;
        };
        let mut still_there = Vec::new();
        let mut last_error = None;
        for address in &instance.dropped_addresses {
            if let Err(err) = virtual_addresses::remove(
                &self.netlink,
                &interface.info.name,
                interface.info.index,
                *address,
            )
            .await
            {
                still_there.push(*address);
                last_error = Some(err);
            }
        }
        let instance = &mut self.instances[index];
        instance.dropped_addresses = still_there;
        instance.dropped_retry = match last_error {
            None => None,
            Some(err) => {
                let retry = Retry::after_failure(retry::NETLINK, instance.dropped_retry, now);
                tracing::error!(
                    instance = instance.config.name,
                    addresses = ?instance.dropped_addresses,
                    failures = retry.failures(),
                    error = %err,
                    "removing virtual addresses dropped from the configuration failed; retrying"
                );
                Some(retry)
            }
        };
        // Called from a reload too: the retry must be on the timetable.
        self.reschedule(index);
    }

    /// Does instance `index`'s address work that is due (its deadline is filed by
    /// `reschedule` with [`Instance::next_address_work`]): the removal retry of addresses a
    /// reload dropped, the install retry (forgotten once the instance left Master), or the
    /// lifetime refresh when a third of it has passed.
    pub(super) async fn maintain_addresses_if_due(&mut self, index: usize, now: Instant) {
        if self.instances[index]
            .dropped_retry
            .is_some_and(|retry| retry.due() <= now)
        {
            self.remove_dropped_addresses(index, Instant::now()).await;
        }
        let instance = &mut self.instances[index];
        if instance.router.state() != State::Master {
            instance.address_retry = None;
            return;
        }
        let refresh_due = instance.address_refresh_due().is_some_and(|due| due <= now);
        let retry_due = instance
            .address_retry
            .is_some_and(|retry| retry.due() <= now);
        if refresh_due || retry_due {
            self.install_virtual_addresses(index, Instant::now()).await;
        }
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

/// Removes `instance`'s virtual addresses from `interface` (also used at start, for addresses
/// a crashed run left behind).
pub(super) async fn remove_addresses(
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
