//! Router Advertisements of IPv6 Masters (RFC 9568 §8.2.3): drives each instance's
//! [`RouterAdvertScheduler`] from its transitions and the Router Solicitations the
//! [`SolicitationSocket`] receives, and sends what is due from the virtual MAC and the
//! link-local virtual address on the interface's packet socket.

use std::{collections::HashSet, net::IpAddr, sync::Arc, time::Instant};

use anyhow::{Context as _, Result};
use tokio::sync::mpsc;
use vrrp_common::router_advert::{build_router_advert, check_router_solicitation};

use super::{interface::VrrpInterface, runtime::Daemon};
use crate::{
    config::{InstanceConfig, RouterAdvertConfig},
    net::solicitation_socket::{ReceivedSolicitation, SolicitationSocket},
    proto::{
        State, TransitionReason,
        router_advert::{RouterAdvertIntervals, RouterAdvertKind, RouterAdvertScheduler},
    },
};

/// Solicitations waiting for the loop; more are dropped (hosts solicit again, and an RA is
/// due within MaxRtrAdvInterval anyway).
const SOLICITATION_QUEUE: usize = 64;
/// An RA is at most the IPv6 minimum MTU (the config checks) plus Ethernet.
const MAX_FRAME: usize = 14 + 1280;

/// The scheduler of `config`, if it sends RAs; seeded from the process's random source.
pub(super) fn scheduler(config: &InstanceConfig) -> Option<RouterAdvertScheduler> {
    let ra = config.router_advertisement.as_ref()?;
    Some(RouterAdvertScheduler::new(intervals(ra), fastrand::u64(..)))
}

fn intervals(ra: &RouterAdvertConfig) -> RouterAdvertIntervals {
    RouterAdvertIntervals {
        min: ra.min_interval,
        max: ra.max_interval,
    }
}

/// The daemon's side of solicitations: the socket, what its reader forwards, the groups it
/// joined, what it discarded.
pub(super) struct Solicitations {
    socket: Option<Arc<SolicitationSocket>>,
    received: mpsc::Receiver<ReceivedSolicitation>,
    joined: HashSet<u32>,
    /// Solicitations that failed RFC 4861 §6.1.1's checks.
    discarded: u64,
}

impl Solicitations {
    /// Opens the socket and starts forwarding what it receives to the loop. Without it RAs
    /// are still sent unsolicited; a warning says why solicitations go unanswered.
    pub(super) fn open() -> Self {
        let (sender, received) = mpsc::channel(SOLICITATION_QUEUE);
        let without_socket = |received| Self {
            socket: None,
            received,
            joined: HashSet::new(),
            discarded: 0,
        };
        let socket = match SolicitationSocket::open() {
            Ok(socket) => Arc::new(socket),
            Err(error) => {
                tracing::warn!(
                    error = format!("{:#}", anyhow::Error::from(error)),
                    "router solicitations will not be answered"
                );
                return without_socket(received);
            }
        };
        let reader = Arc::clone(&socket);
        tokio::spawn(async move {
            loop {
                match reader.recv().await {
                    // A full queue drops the solicitation (see SOLICITATION_QUEUE).
                    Ok(solicitation) => {
                        if sender.is_closed() {
                            return;
                        }
                        let _dropped_when_full = sender.try_send(solicitation);
                    }
                    Err(error) => {
                        tracing::warn!(%error, "router solicitation socket failed");
                        return;
                    }
                }
            }
        });
        Self {
            socket: Some(socket),
            ..without_socket(received)
        }
    }

    /// The next solicitation the socket received (never, without a socket).
    pub(super) async fn next(&mut self) -> Option<ReceivedSolicitation> {
        self.received.recv().await
    }

    /// Makes sure solicitations to ff02::2 on `ifindex` reach the socket.
    fn join(&mut self, ifindex: u32) {
        let Some(socket) = &self.socket else {
            return;
        };
        if !self.joined.insert(ifindex) {
            return;
        }
        if let Err(error) = socket.join_all_routers(ifindex) {
            self.joined.remove(&ifindex);
            tracing::warn!(
                ifindex,
                error = format!("{:#}", anyhow::Error::from(error)),
                "router solicitations to ff02::2 may not arrive"
            );
        }
    }
}

impl Daemon {
    /// Instance `index` changed state (called for each `Transition` action).
    pub(super) fn router_adverts_transition(
        &mut self,
        index: usize,
        from: State,
        to: State,
        reason: &TransitionReason,
        now: Instant,
    ) {
        if let Some(scheduler) = &mut self.instances[index].router_adverts {
            scheduler.on_transition(from, to, reason, now);
        }
    }

    /// Sends instance `index`'s due RA, if any (after its actions were performed).
    pub(super) fn send_due_router_advert(&mut self, index: usize, now: Instant) {
        let instance = &mut self.instances[index];
        let Some(kind) = instance
            .router_adverts
            .as_mut()
            .and_then(|scheduler| scheduler.poll_send(now))
        else {
            return;
        };
        let instance = &self.instances[index];
        let Some(interface) = self.interfaces.get(&instance.config.interface) else {
            return;
        };
        if kind == RouterAdvertKind::Announce {
            self.solicitations.join(interface.info.index);
        }
        if let Some(ra) = &instance.config.router_advertisement
            && let Err(error) = send(interface, &instance.config, ra, kind)
        {
            tracing::error!(
                instance = instance.config.name,
                error = format!("{error:#}"),
                "sending a router advertisement failed"
            );
        }
    }

    /// A reload changed instance `index` in place from `old`: new intervals apply; RAs enabled
    /// or changed while Master go out at once, RAs disabled while Master end with a final RA.
    pub(super) fn reconfigure_router_adverts(
        &mut self,
        index: usize,
        old: &InstanceConfig,
        now: Instant,
    ) {
        let instance = &mut self.instances[index];
        let master = instance.router.state() == State::Master;
        match (
            &instance.config.router_advertisement,
            old.router_advertisement.as_ref(),
        ) {
            (Some(ra), before) => {
                let scheduler = instance.router_adverts.get_or_insert_with(|| {
                    RouterAdvertScheduler::new(intervals(ra), fastrand::u64(..))
                });
                scheduler.set_intervals(intervals(ra), now);
                // RFC 4861 §6.2.4: changed contents go out at once, with the initial burst.
                if master && (!scheduler.is_advertising() || before != Some(ra)) {
                    scheduler.start(now);
                }
            }
            (None, Some(old_ra)) => {
                instance.router_adverts = None;
                let instance = &self.instances[index];
                if let (true, Some(interface)) =
                    (master, self.interfaces.get(&instance.config.interface))
                    && let Err(error) = send(interface, old, old_ra, RouterAdvertKind::Final)
                {
                    tracing::error!(
                        instance = instance.config.name,
                        error = format!("{error:#}"),
                        "sending the final router advertisement failed"
                    );
                }
            }
            (None, None) => {}
        }
    }

    /// A message from the solicitation socket: checked (RFC 4861 §6.1.1), then answered by
    /// the Masters it is for — every advertising instance on the interface for ff02::2, the
    /// one owning the address for a solicitation to a virtual address.
    pub(super) fn on_router_solicitation(&mut self, received: ReceivedSolicitation) {
        if let Err(problem) =
            check_router_solicitation(&received.message, received.hop_limit, &received.source)
        {
            self.solicitations.discarded += 1;
            tracing::debug!(
                ifindex = received.ifindex,
                source = %received.source,
                %problem,
                discarded = self.solicitations.discarded,
                "router solicitation discarded"
            );
            return;
        }
        let now = Instant::now();
        for index in 0..self.instances.len() {
            let instance = &self.instances[index];
            let on_interface = self
                .interfaces
                .get(&instance.config.interface)
                .is_some_and(|interface| interface.info.index == received.ifindex);
            let addressed = received.destination.is_multicast()
                || instance
                    .config
                    .virtual_addresses
                    .contains(&IpAddr::V6(received.destination));
            if !(on_interface && addressed) {
                continue;
            }
            if let Some(scheduler) = &mut self.instances[index].router_adverts {
                scheduler.on_solicitation(now);
                self.reschedule(index);
            }
        }
    }
}

/// The RA of `config` as `kind` on `interface`, from the link-local virtual address (the
/// first one, RFC 9568 §5.2.9) and the virtual MAC.
fn send(
    interface: &VrrpInterface,
    config: &InstanceConfig,
    ra: &RouterAdvertConfig,
    kind: RouterAdvertKind,
) -> Result<()> {
    let Some(IpAddr::V6(source)) = config.virtual_addresses.first() else {
        anyhow::bail!("instance {}: no link-local virtual address", config.name);
    };
    let lifetime = match kind {
        RouterAdvertKind::Announce => ra.router_lifetime_s,
        RouterAdvertKind::Final => 0,
    };
    let mut frame = [0u8; MAX_FRAME];
    let len = build_router_advert(&mut frame, config.vrid, source, &ra.advert(lifetime))
        .map_err(|error| anyhow::anyhow!("build router advertisement: {error}"))?;
    interface
        .send_frame(&frame[..len])
        .with_context(|| format!("instance {}: send router advertisement", config.name))?;
    tracing::debug!(
        instance = config.name,
        router_lifetime_s = lifetime,
        source = %source,
        "router advertisement sent"
    );
    Ok(())
}
