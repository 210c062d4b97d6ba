//! Backups that follow a Master through the kernel's stamps are checked a whole interface at a
//! time. The kernel stamps every routine advert it absorbs; a Backup's Master_Down_Timer only
//! needs the newest stamp fed before it fires. So these Backups are not filed one by one in the
//! timetable: each interface has one sweep deadline, the earliest of their timers, and a sweep
//! feeds every stamp (read from memory, see `dataplane::last_seen`) and fires the timers still
//! due. At 255 VRIDs this is one wake-up per Master_Down_Interval per interface instead of one
//! per instance, and a check costs a memory read instead of a syscall and a reschedule.

use std::time::Instant;

use super::{clock::instant_from_monotonic, instance::Instance, runtime::Daemon};
use crate::proto::{Event, State};

/// Whether `instance` is checked by its interface's sweep: a Backup whose data plane absorbs
/// its Master's routine adverts.
pub(super) fn is_swept(instance: &Instance) -> bool {
    instance.router.state() == State::Backup && instance.router.routine_advert().is_some()
}

impl Daemon {
    /// Sweeps every interface whose sweep deadline has passed.
    pub(super) async fn sweep_due_interfaces(&mut self, now: Instant) {
        let due: Vec<String> = self
            .interfaces
            .iter()
            .filter(|(_, interface)| interface.sweep_at.is_some_and(|at| at <= now))
            .map(|(name, _)| name.clone())
            .collect();
        for ifname in due {
            self.sweep(&ifname).await;
        }
    }

    /// Feeds each swept Backup on `ifname` the kernel's newest stamp of its Master, fires the
    /// timers that are still due (the `proto` stamp check then decides), and sets the next
    /// sweep deadline.
    async fn sweep(&mut self, ifname: &str) {
        let Some(interface) = self.interfaces.get_mut(ifname) else {
            return;
        };
        // Rebuilt below, and by `reschedule` for Backups whose timer fired and stay swept.
        interface.sweep_at = None;
        let mut next: Option<Instant> = None;
        for index in 0..self.instances.len() {
            let instance = &mut self.instances[index];
            if instance.config.interface != ifname || !is_swept(instance) {
                continue;
            }
            let Some(interface) = self.interfaces.get(ifname) else {
                return;
            };
            if let Some(seen) = interface.last_routine_advert(&instance.router) {
                let at = instant_from_monotonic(seen);
                if instance
                    .router
                    .master_heard_at()
                    .is_some_and(|heard| heard < at)
                {
                    instance.router.handle_event(Event::AbsorbedAdvert, at);
                }
            }
            let now = Instant::now();
            match instance.router.poll_timeout() {
                Some(deadline) if deadline <= now => {
                    instance.router.handle_timeout(now);
                    self.drive(index, now).await;
                }
                deadline => next = next.into_iter().chain(deadline).min(),
            }
        }
        if let Some(interface) = self.interfaces.get_mut(ifname) {
            interface.sweep_at = interface.sweep_at.into_iter().chain(next).min();
        }
    }
}
