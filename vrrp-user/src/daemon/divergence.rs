//! The event loop's side of divergence detection (`proto::divergence`): one `Divergences` per
//! running instance, fed with the adverts that reach the daemon and with the kernel's stamp of
//! the followed Master's absorbed adverts, its raises and clears published on the event bus.
//!
//! The stamp is read when another source's advert comes up (is the absorbed Master still
//! advertising alongside it?) and at each poll while something is active (a condition carried
//! by absorbed adverts stays true as long as the kernel keeps stamping them). Polls run with
//! the status refresh, about once a second and after transitions; an instance that stops or
//! goes away has its conditions cleared there. The address list is not in the routine
//! signature: while the followed Master's list is mismatched, its next advert is fetched again
//! every [`RECHECK_PERIOD`] (`Event::RecheckMaster`), so a fixed list clears.

use std::{
    collections::HashMap,
    net::IpAddr,
    time::{Duration, Instant},
};

use super::{
    clock::instant_from_monotonic,
    events::{DaemonEvent, Divergence, EventBus},
    instance::Instance,
    interface::{NotFed, VrrpInterface},
    runtime::Daemon,
    schedule::InstanceId,
};
use crate::proto::{
    AddressFamily, DivergenceChange, DivergenceKind, Divergences, Event, LocalView, ReceivedAdvert,
    Sighting,
};

/// How often an absorbed Master's mismatched address list is rechecked: two map writes and one
/// punted advert each time, only while the mismatch lasts.
const RECHECK_PERIOD: Duration = Duration::from_secs(5);

/// The divergences of every running instance, by instance name.
#[derive(Default)]
pub(super) struct DivergenceWatch {
    watched: HashMap<String, Watched>,
}

/// One instance's tracker and the identity it was made for.
struct Watched {
    interface: String,
    family: AddressFamily,
    vrid: u8,
    divergences: Divergences,
    /// When the followed Master's address list was last rechecked.
    rechecked_at: Option<Instant>,
}

/// An active divergence, for the status snapshot.
pub(super) struct Active {
    pub(super) kind: DivergenceKind,
    pub(super) peer: IpAddr,
    pub(super) detail: String,
    pub(super) age: Duration,
}

impl DivergenceWatch {
    /// What is active on instance `name` at `now`, and how many peers its table evicted.
    pub(super) fn active(&self, name: &str, now: Instant) -> (Vec<Active>, u64) {
        self.watched.get(name).map_or((Vec::new(), 0), |watched| {
            let active = watched
                .divergences
                .active()
                .map(|active| Active {
                    kind: active.kind,
                    peer: active.peer,
                    detail: active.detail,
                    age: now.saturating_duration_since(active.since),
                })
                .collect();
            (active, watched.divergences.evictions())
        })
    }

    /// The tracker of `instance`; one made for another identity under the same name (a reload
    /// changed its VRID, family or interface) is stopped first.
    fn tracker(&mut self, instance: &Instance, now: Instant, bus: &EventBus) -> &mut Watched {
        let name = &instance.config.name;
        match self
            .watched
            .get(name)
            .map(|watched| watched.is_for(instance))
        {
            Some(true) => {}
            Some(false) => {
                if let Some(mut stale) = self.watched.remove(name) {
                    stale.divergences.stop(now);
                    publish(name, &mut stale, bus);
                }
                self.watched.insert(name.clone(), Watched::new(instance));
            }
            // Per advert: the name is cloned only for a new tracker.
            None => {
                self.watched.insert(name.clone(), Watched::new(instance));
            }
        }
        self.watched
            .get_mut(name)
            .expect("inserted or kept just above")
    }
}

impl Watched {
    fn new(instance: &Instance) -> Self {
        Self {
            interface: instance.config.interface.clone(),
            family: instance.config.family,
            vrid: instance.config.vrid,
            divergences: Divergences::new(),
            rechecked_at: None,
        }
    }

    fn is_for(&self, instance: &Instance) -> bool {
        let config = &instance.config;
        self.interface == config.interface
            && self.family == config.family
            && self.vrid == config.vrid
    }
}

impl Daemon {
    /// Instance `index` is about to handle `advert`, received at `at`: what it says of the
    /// peer, judged before the router changes what it follows.
    pub(super) fn watch_advert(&mut self, index: usize, advert: &ReceivedAdvert, at: Instant) {
        let instance = &self.instances[index];
        let local = LocalView::of(&instance.router);
        let absorbed = instance
            .router
            .routine_advert()
            .filter(|routine| routine.source != advert.source)
            .and_then(|routine| {
                let interface = self.interfaces.get_mut(&instance.config.interface)?;
                Some((routine, absorbed_at(interface, instance)?))
            });
        let watched = self.divergences.tracker(instance, at, &self.bus);
        if let Some((routine, stamp)) = absorbed {
            watched
                .divergences
                .observe(&local, Sighting::Absorbed(routine), stamp);
        }
        watched
            .divergences
            .observe(&local, Sighting::Advert(advert), at);
        publish(&instance.config.name, watched, &self.bus);
    }

    /// A punted advert was not fed to a router: a VRRPv2 one counts as a divergence of the
    /// instance with its VRID, if there is one.
    pub(super) fn watch_not_fed(&mut self, ifindex: u32, problem: &NotFed, at: Instant) {
        let NotFed::Version2 {
            source,
            vrid,
            interval,
        } = *problem
        else {
            return;
        };
        let id = InstanceId {
            ifindex,
            family: AddressFamily::of(source),
            vrid,
        };
        let Some(index) = self.position(id) else {
            return;
        };
        let instance = &self.instances[index];
        let local = LocalView::of(&instance.router);
        let watched = self.divergences.tracker(instance, at, &self.bus);
        watched
            .divergences
            .observe(&local, Sighting::Version2 { source, interval }, at);
        publish(&instance.config.name, watched, &self.bus);
    }

    /// Makes each followed Master whose address list is mismatched send its next advert to the
    /// daemon again, at most every [`RECHECK_PERIOD`]: the kernel absorbs it otherwise, list
    /// and all, so a list fixed on the Master would never be seen.
    pub(super) async fn recheck_address_lists(&mut self, now: Instant) {
        for index in 0..self.instances.len() {
            let instance = &self.instances[index];
            let Some(routine) = instance.router.routine_advert() else {
                continue;
            };
            let Some(watched) = self.divergences.watched.get_mut(&instance.config.name) else {
                continue;
            };
            let due = watched
                .rechecked_at
                .is_none_or(|at| now.saturating_duration_since(at) >= RECHECK_PERIOD);
            if !due
                || !watched
                    .divergences
                    .is_active(routine.source, DivergenceKind::AddressListMismatch)
            {
                continue;
            }
            // The router counts the stamp before it withdraws the signature: never without.
            let Some(stamp) = self
                .interfaces
                .get_mut(&instance.config.interface)
                .and_then(|interface| absorbed_at(interface, instance))
            else {
                continue;
            };
            watched.rechecked_at = Some(now);
            let local = LocalView::of(&instance.router);
            watched
                .divergences
                .observe(&local, Sighting::Absorbed(routine), stamp);
            publish(&instance.config.name, watched, &self.bus);
            self.instances[index]
                .router
                .handle_event(Event::RecheckMaster, stamp);
            self.drive(index, now).await;
        }
    }

    /// Ends what timed out, no longer applies, or belongs to an instance that stopped or went
    /// away. Reads the stamp of instances with something active, so absorbed Masters count as
    /// heard.
    pub(super) fn poll_divergences(&mut self, now: Instant) {
        let Self {
            divergences,
            instances,
            interfaces,
            bus,
            ..
        } = self;
        divergences.watched.retain(|name, watched| {
            let running = instances
                .iter()
                .any(|instance| &instance.config.name == name && watched.is_for(instance));
            if !running {
                watched.divergences.stop(now);
                publish(name, watched, bus);
            }
            running
        });
        for instance in instances.iter() {
            let Some(watched) = divergences.watched.get_mut(&instance.config.name) else {
                continue;
            };
            let local = LocalView::of(&instance.router);
            if watched.divergences.any_active()
                && let Some(routine) = instance.router.routine_advert()
                && let Some(interface) = interfaces.get_mut(&instance.config.interface)
                && let Some(stamp) = absorbed_at(interface, instance)
            {
                watched
                    .divergences
                    .observe(&local, Sighting::Absorbed(routine), stamp);
            }
            watched.divergences.poll(&local, now);
            publish(&instance.config.name, watched, bus);
        }
    }
}

/// The kernel's newest absorbed advert for `instance`, if it absorbed one since the record
/// was written.
fn absorbed_at(interface: &mut VrrpInterface, instance: &Instance) -> Option<Instant> {
    interface
        .last_routine_advert(&instance.router)
        .map(instant_from_monotonic)
}

/// Publishes what `watched` raised and cleared.
fn publish(name: &str, watched: &mut Watched, bus: &EventBus) {
    while let Some(change) = watched.divergences.poll_change() {
        let divergence = |kind, peer, detail| Divergence {
            instance: name.to_owned(),
            interface: watched.interface.clone(),
            vrid: watched.vrid,
            kind,
            peer,
            detail,
        };
        bus.publish(match change {
            DivergenceChange::Raised { kind, peer, detail } => {
                DaemonEvent::DivergenceRaised(divergence(kind, peer, detail))
            }
            DivergenceChange::Cleared {
                kind,
                peer,
                detail,
                reason,
                lasted,
            } => DaemonEvent::DivergenceCleared {
                divergence: divergence(kind, peer, detail),
                reason,
                lasted,
            },
        });
    }
}
