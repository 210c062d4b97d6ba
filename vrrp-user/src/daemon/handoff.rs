//! Make-before-break on SIGTERM: after every Master resigned (priority 0), the daemon keeps
//! handling the adverts the data plane hands it until each resigning instance heard its
//! successor (the data plane yielded in that packet, the router ends Resigning on the same
//! advert) or its bound passed (`proto`: Master_Down_Interval), never longer than
//! [`SHUTDOWN_WAIT_LIMIT`]; only then are the programs detached. What happened is logged per
//! instance.
//!
//! The program also yields on its own while the daemon is alive but stalled past the heartbeat
//! timeout: the heartbeat refresh notices (`orphan_yielded` moved) and the records of routers
//! that stayed Master are written again (a lower-priority peer that took over during the stall
//! is overruled by the router's next advert, and the record must say Master again).

use std::time::{Duration, Instant};

use tokio::{sync::mpsc, time::sleep_until};

use super::runtime::Daemon;
use crate::{
    dataplane::DeliveredAdvert,
    proto::{DataplaneRole, Event},
};

/// The longest SIGTERM waits for successors, whatever the intervals: a service manager's stop
/// timeout must not be at the mercy of a 40 s advert interval.
pub(super) const SHUTDOWN_WAIT_LIMIT: Duration = Duration::from_secs(3);

impl Daemon {
    /// Waits (bounded) until no instance's data plane is resigning, feeding punted adverts and
    /// the routers' own bounds; ends what is left at [`SHUTDOWN_WAIT_LIMIT`].
    pub(super) async fn wait_for_successors(
        &mut self,
        started: Instant,
        punted: &mut mpsc::Receiver<DeliveredAdvert>,
    ) {
        let limit = started + SHUTDOWN_WAIT_LIMIT;
        loop {
            // Each resigning instance with its own bound (a stopped router has no other timer).
            let resigning: Vec<(usize, Instant)> = (0..self.instances.len())
                .filter_map(|index| {
                    let router = &self.instances[index].router;
                    (router.dataplane_role() == DataplaneRole::Resigning)
                        .then(|| (index, router.poll_timeout().unwrap_or(limit).min(limit)))
                })
                .collect();
            let Some(due) = resigning.iter().map(|(_, bound)| *bound).min() else {
                return;
            };
            if Instant::now() >= limit {
                for (index, _) in resigning {
                    let now = Instant::now();
                    // A second Shutdown ends the resign at once.
                    self.instances[index]
                        .router
                        .handle_event(Event::Shutdown, now);
                    self.end_of_resign(index, started, now, "shutdown wait limit passed")
                        .await;
                }
                return;
            }
            tokio::select! {
                Some(advert) = punted.recv() => self.on_punted_advert(advert).await,
                () = sleep_until(due.into()) => {
                    for (index, _) in &resigning {
                        self.instances[*index].router.handle_timeout(Instant::now());
                    }
                }
            }
            for (index, bound) in resigning {
                if self.instances[index].router.dataplane_role() == DataplaneRole::Resigning {
                    continue;
                }
                let now = Instant::now();
                let why = if now < bound {
                    "another router advertised"
                } else {
                    "Master_Down_Interval passed without another router advertising"
                };
                self.end_of_resign(index, started, now, why).await;
            }
        }
    }

    /// Writes the records of interface `name` the program yielded behind a Master router
    /// again, after `orphan_yielded` moved (see the module docs).
    pub(super) async fn rewrite_records_after_yield(&mut self, name: &str, now: Instant) {
        for index in 0..self.instances.len() {
            if self.instances[index].config.interface != name {
                continue;
            }
            let behind = self.interfaces.get_mut(name).is_some_and(|interface| {
                interface.forget_yield_behind(&self.instances[index].router)
            });
            if !behind {
                continue;
            }
            let config = &self.instances[index].config;
            tracing::warn!(
                instance = config.name,
                interface = config.interface,
                vrid = config.vrid,
                "the data plane yielded to another router while the daemon was stalled; \
                 the router stays Master and its record is restored"
            );
            self.drive(index, now).await;
        }
    }

    /// Performs what ending instance `index`'s resign asked for and logs it.
    async fn end_of_resign(&mut self, index: usize, started: Instant, now: Instant, why: &str) {
        self.drive(index, now).await;
        let config = &self.instances[index].config;
        tracing::info!(
            instance = config.name,
            interface = config.interface,
            vrid = config.vrid,
            forwarded_ms = now.saturating_duration_since(started).as_millis() as u64,
            why,
            "resigned Master stopped forwarding"
        );
    }
}
