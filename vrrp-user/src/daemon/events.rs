//! The daemon's one typed stream of notable events. Logs are one consumer (`emit`); the control
//! socket, metrics and hooks of the operations layer subscribe to the same broadcast.

use std::{net::IpAddr, time::Duration};

use serde::Serialize;
use tokio::sync::broadcast;

use crate::{
    ops::protocol::Requester,
    proto::{ClearReason, DivergenceKind, State, Warning},
};

/// Something an operator may want to see or alert on.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum DaemonEvent {
    /// A virtual router changed state.
    Transition {
        /// Instance name from the configuration.
        instance: String,
        /// VRRP interface.
        interface: String,
        /// Virtual router id.
        vrid: u8,
        /// State before.
        from: State,
        /// State after.
        to: State,
        /// Human-readable reason from the state machine.
        reason: String,
        /// The other router the transition is about, if any (the silent, resigning, preempted
        /// or displacing Master).
        peer: Option<IpAddr>,
        /// For takeovers: time since the last advert from the previous Master.
        since_last_advert: Option<Duration>,
    },
    /// The state machine flagged an RFC 9568 §7.1/§8.3.2 condition.
    Warning {
        /// Instance name.
        instance: String,
        /// What it saw.
        warning: Warning,
    },
    /// A VRRP version 2 peer advertises on the VRID of an instance that speaks version 3 only.
    Version2Peer {
        /// VRRP interface.
        interface: String,
        /// The peer's address.
        source: IpAddr,
        /// Its VRID.
        vrid: u8,
    },
    /// A peer started to disagree with this router (see `proto::divergence`).
    DivergenceRaised(Divergence),
    /// A divergence ended.
    DivergenceCleared {
        /// What it was.
        #[serde(flatten)]
        divergence: Divergence,
        /// Why it ended.
        reason: ClearReason,
        /// How long it lasted.
        lasted: Duration,
    },
    /// An advert the XDP program handed up does not decode: the kernel and the codec disagree
    /// (they share one header check, so this is a bug). Rate-limited per interface.
    UndecodableAdvert {
        /// VRRP interface.
        interface: String,
        /// The codec's error.
        reason: String,
    },
    /// The configuration was reloaded (SIGHUP).
    Reloaded {
        /// Instances started (or waiting for their interface), restarted or changed.
        changed: Vec<String>,
        /// Instances stopped.
        removed: Vec<String>,
    },
    /// A reload was refused; the running configuration stays.
    ReloadRejected {
        /// Every error found in the new file.
        errors: Vec<String>,
    },
    /// An operator's command (demote, promote, priority, drill) was applied, or the daemon
    /// undid one (a reload cleared a priority override).
    Operator {
        /// Instance name.
        instance: String,
        /// VRRP interface.
        interface: String,
        /// Virtual router id.
        vrid: u8,
        /// The command and what it did, in words.
        what: String,
        /// Who asked; `None` when the daemon acted on its own.
        requester: Option<Requester>,
    },
}

impl DaemonEvent {
    /// Writes the event to the log with structured fields.
    pub fn emit(&self) {
        match self {
            Self::Transition {
                instance,
                interface,
                vrid,
                from,
                to,
                reason,
                peer,
                since_last_advert,
            } => tracing::info!(
                instance,
                interface,
                vrid,
                %from,
                %to,
                reason,
                peer = peer.map(|peer| peer.to_string()),
                since_last_advert_ms = since_last_advert.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
                "state change {from} -> {to}: {reason}"
            ),
            Self::Warning { instance, warning } => {
                tracing::warn!(instance, %warning, "{warning}");
            }
            Self::Version2Peer {
                interface,
                source,
                vrid,
            } => tracing::warn!(
                interface,
                %source,
                vrid,
                "VRRP version 2 advert from {source} on VRID {vrid}: this instance speaks version \
                 3 only; set version = \"2+3\" (or 2) to interoperate"
            ),
            Self::DivergenceRaised(divergence) => {
                let Divergence {
                    kind, peer, detail, ..
                } = divergence;
                tracing::warn!(
                    instance = divergence.instance,
                    interface = divergence.interface,
                    vrid = divergence.vrid,
                    kind = kind.name(),
                    %peer,
                    detail,
                    "divergence {kind} from {peer}: {detail}"
                );
            }
            Self::DivergenceCleared {
                divergence,
                reason,
                lasted,
            } => {
                let Divergence {
                    kind, peer, detail, ..
                } = divergence;
                tracing::info!(
                    instance = divergence.instance,
                    interface = divergence.interface,
                    vrid = divergence.vrid,
                    kind = kind.name(),
                    %peer,
                    detail,
                    reason = reason.name(),
                    lasted_ms = u64::try_from(lasted.as_millis()).unwrap_or(u64::MAX),
                    "divergence {kind} from {peer} ended ({reason}) after {} ms",
                    lasted.as_millis()
                );
            }
            Self::UndecodableAdvert { interface, reason } => tracing::warn!(
                interface,
                reason,
                "advert from the XDP program does not decode (rate-limited per interface)"
            ),
            Self::Reloaded { changed, removed } => {
                tracing::info!(?changed, ?removed, "configuration reloaded");
            }
            Self::ReloadRejected { errors } => {
                tracing::error!(
                    ?errors,
                    "new configuration rejected; keeping the running one"
                );
            }
            Self::Operator {
                instance,
                interface,
                vrid,
                what,
                requester,
            } => tracing::info!(
                instance,
                interface,
                vrid,
                uid = requester.map(|r| r.uid),
                pid = requester.and_then(|r| r.pid),
                "operator: {what}"
            ),
        }
    }
}

/// Who disagrees with which instance on what (the payload of the divergence events).
#[derive(Clone, Debug, Serialize)]
pub struct Divergence {
    /// Instance name.
    pub instance: String,
    /// VRRP interface.
    pub interface: String,
    /// Virtual router id.
    pub vrid: u8,
    /// What the peer disagrees on.
    pub kind: DivergenceKind,
    /// The peer's address.
    pub peer: IpAddr,
    /// In words.
    pub detail: String,
}

/// Fan-out of [`DaemonEvent`]s: every event is logged, then offered to subscribers.
#[derive(Clone)]
pub struct EventBus {
    sender: broadcast::Sender<DaemonEvent>,
}

impl EventBus {
    /// A bus that keeps up to `capacity` events for slow subscribers.
    pub fn new(capacity: usize) -> Self {
        Self {
            sender: broadcast::channel(capacity).0,
        }
    }

    /// Logs `event` and hands it to current subscribers (none is fine).
    pub fn publish(&self, event: DaemonEvent) {
        event.emit();
        // No subscriber is the normal case for a daemon without an ops client attached.
        let _no_subscribers = self.sender.send(event);
    }

    /// A new subscriber that sees events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<DaemonEvent> {
        self.sender.subscribe()
    }
}
