//! Outputs of the state machine: states, actions, transition reasons and warnings.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::timing::Centiseconds;
use vrrp_common::advert::ChecksumStyle;

/// The RFC 9568 §6.4 states. RFC 9568 calls Master "Active"; xvrrp keeps the RFC 5798 names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum State {
    /// Not participating: stopped, or the interface is down.
    Initialize,
    /// Monitoring the Master, ready to take over.
    Backup,
    /// Forwarding for the virtual addresses and advertising.
    Master,
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Initialize => "Initialize",
            Self::Backup => "Backup",
            Self::Master => "Master",
        })
    }
}

/// What the data plane does for a virtual router: its [`State`], except that a Master which
/// resigned keeps forwarding for a while (make-before-break).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DataplaneRole {
    /// Drops virtual-MAC frames, hands every advert to the router.
    Initialize,
    /// Drops virtual-MAC frames and ARP/ND for the virtual addresses; may absorb routine
    /// adverts.
    Backup,
    /// Accepts virtual-MAC frames, lets ARP/ND for the virtual addresses reach the stack.
    Master,
    /// Resigned with a priority-0 advert (shutdown, demote) and still accepts virtual-MAC
    /// frames, answering no ARP/ND, until another router's advert arrives (the data plane
    /// turns Backup in that packet) or Master_Down_Interval passes. The virtual addresses stay
    /// installed meanwhile.
    Resigning,
}

/// Something the driver must do, drained with `VirtualRouter::poll_action`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    /// Send one advert with this priority (0 on shutdown) and the configured interval and
    /// virtual addresses.
    SendAdvert {
        /// Priority field of the advert.
        priority: u8,
    },
    /// Announce every virtual address with the virtual MAC: gratuitous ARP (IPv4) or
    /// unsolicited NA (IPv6).
    SendGratuitous,
    /// Make the configured virtual addresses present on the interface.
    InstallVirtualAddresses,
    /// Remove the virtual addresses from the interface.
    RemoveVirtualAddresses,
    /// Tell the data plane the role (what to do with vMAC frames and ARP/ND) and which adverts
    /// it may absorb. Emitted whenever either changes.
    SetDataplaneRole {
        /// What the data plane does: the router's state, or [`DataplaneRole::Resigning`].
        role: DataplaneRole,
        /// Adverts the data plane may absorb, stamping only their receive time; `None`: hand
        /// every advert to the router.
        routine: Option<RoutineAdvert>,
    },
    /// The Master_Down_Timer is due while a routine signature is published: read the data
    /// plane's last-seen stamp of absorbed routine adverts, answer with
    /// [`Event::AbsorbedAdvert`](super::Event::AbsorbedAdvert) or
    /// [`Event::NoAbsorbedAdvert`](super::Event::NoAbsorbedAdvert), then call `handle_timeout`
    /// again. Emitted once per deadline; the router does not take over until answered.
    ReadAbsorbedStamp,
    /// The state changed; for logs, status and monitoring.
    Transition {
        /// State before.
        from: State,
        /// State after.
        to: State,
        /// Why.
        reason: TransitionReason,
    },
    /// A misconfiguration worth logging (rate limiting is the driver's job).
    Warning(Warning),
}

/// The adverts a Backup would process exactly like the last one it accepted: from the Master it
/// follows, with the same priority and Max Adver Int, while that Master's adverts are accepted
/// (not while Preempt_Mode discards or a preempt-delay window merely tolerates them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutineAdvert {
    /// The Master's primary address (the advert's source).
    pub source: IpAddr,
    /// Its advertised priority.
    pub priority: u8,
    /// Its Max Adver Int.
    pub max_advert_interval: Centiseconds,
}

/// Why a state transition happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TransitionReason {
    /// Administrative start (RFC 9568 §6.4.1).
    Startup {
        /// True for the address owner, which goes straight to Master.
        owner: bool,
    },
    /// Started on the pinned state of a previous run, in the role it recorded (hitless
    /// restart, `proto::resume`).
    Resumed,
    /// The interface came back up; handled like Startup.
    InterfaceUp {
        /// True for the address owner, which goes straight to Master.
        owner: bool,
    },
    /// Administrative stop.
    Shutdown,
    /// The interface went down.
    InterfaceDown,
    /// A configuration change that needs a restart (VRID, family or primary address changed).
    ConfigChanged,
    /// A configuration change made this router the address owner (priority 255).
    BecameOwner,
    /// The Master_Down_Timer fired: nothing accepted from a Master for this long.
    MasterDownTimerExpired {
        /// The last Master heard, if any.
        master: Option<IpAddr>,
        /// Time since the last accepted advert (or since entering Backup).
        silent_for: Duration,
    },
    /// The Master resigned with a priority-0 advert and Skew_Time passed.
    MasterResigned {
        /// The resigning Master.
        master: IpAddr,
    },
    /// Preempt_Mode: adverts of a lower-priority Master were discarded until the
    /// Master_Down_Timer fired.
    PreemptedLowerPriority {
        /// The displaced Master.
        master: IpAddr,
        /// Its advertised priority.
        priority: u8,
    },
    /// A Master stepped down for an advert with a higher priority.
    HigherPriority {
        /// Sender of the advert.
        source: IpAddr,
        /// Its priority.
        priority: u8,
    },
    /// A Master stepped down for an equal-priority advert from a greater primary address.
    EqualPriorityGreaterAddress {
        /// Sender of the advert.
        source: IpAddr,
        /// The shared priority.
        priority: u8,
    },
    /// The operator demoted this Master: it resigned with a priority-0 advert.
    Demoted,
    /// The operator promoted this demoted router and it took over at once: it is the address
    /// owner, or no Master was heard for Master_Down_Interval while it was demoted.
    Promoted {
        /// True for the address owner.
        owner: bool,
    },
}

impl TransitionReason {
    /// The other router the transition is about (the Master that went silent, resigned, was
    /// preempted or displaced this one), if any.
    pub fn peer(&self) -> Option<IpAddr> {
        match self {
            Self::MasterDownTimerExpired { master, .. } => *master,
            Self::MasterResigned { master } | Self::PreemptedLowerPriority { master, .. } => {
                Some(*master)
            }
            Self::HigherPriority { source, .. }
            | Self::EqualPriorityGreaterAddress { source, .. } => Some(*source),
            Self::Startup { .. }
            | Self::Resumed
            | Self::InterfaceUp { .. }
            | Self::Shutdown
            | Self::InterfaceDown
            | Self::ConfigChanged
            | Self::BecameOwner
            | Self::Demoted
            | Self::Promoted { .. } => None,
        }
    }
}

/// Seconds with two decimals, from integer math.
struct Seconds(Duration);

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let centis = self.0.as_millis() / 10;
        write!(f, "{}.{:02} s", centis / 100, centis % 100)
    }
}

impl fmt::Display for TransitionReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let owner_note = |owner: bool| {
            if owner {
                " as address owner (priority 255)"
            } else {
                ""
            }
        };
        match self {
            Self::Startup { owner } => write!(f, "startup{}", owner_note(*owner)),
            Self::Resumed => f.write_str("resumed from the previous run's pinned state"),
            Self::InterfaceUp { owner } => write!(f, "interface up{}", owner_note(*owner)),
            Self::Shutdown => f.write_str("shutdown"),
            Self::InterfaceDown => f.write_str("interface down"),
            Self::ConfigChanged => f.write_str("configuration changed"),
            Self::BecameOwner => f.write_str("configured as address owner (priority 255)"),
            Self::MasterDownTimerExpired {
                master: Some(master),
                silent_for,
            } => write!(
                f,
                "master down timer expired (no advert from {master} for {})",
                Seconds(*silent_for)
            ),
            Self::MasterDownTimerExpired {
                master: None,
                silent_for,
            } => write!(
                f,
                "master down timer expired (no master heard for {})",
                Seconds(*silent_for)
            ),
            Self::MasterResigned { master } => {
                write!(f, "master {master} resigned (priority 0), skew time passed")
            }
            Self::PreemptedLowerPriority { master, priority } => {
                write!(
                    f,
                    "preempted lower-priority master {master} (priority {priority})"
                )
            }
            Self::HigherPriority { source, priority } => {
                write!(f, "higher priority {priority} from {source}")
            }
            Self::EqualPriorityGreaterAddress { source, priority } => {
                write!(f, "equal priority {priority} from greater address {source}")
            }
            Self::Demoted => f.write_str("demoted by the operator (priority-0 advert sent)"),
            Self::Promoted { owner: true } => {
                f.write_str("promoted by the operator as address owner (priority 255)")
            }
            Self::Promoted { owner: false } => {
                f.write_str("promoted by the operator, no master heard while demoted")
            }
        }
    }
}

/// RFC 9568 §7.1 and §8.3.2 conditions that SHOULD be logged. The advert is still processed,
/// except for the two the driver raises about adverts the data plane discarded
/// ([`Self::ChecksumOtherStyle`], [`Self::PeerNotAllowed`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Warning {
    /// The advertised addresses differ from the configured virtual addresses (§7.1, MAY check).
    AddressListMismatch {
        /// Sender of the advert.
        source: IpAddr,
        /// Addresses in the advert.
        advertised: Vec<IpAddr>,
        /// Addresses in the local configuration.
        configured: Vec<IpAddr>,
    },
    /// The advertised interval differs from the configured one (§7.1 SHOULD check).
    IntervalMismatch {
        /// Sender of the advert.
        source: IpAddr,
        /// Its Max Adver Int.
        advertised: Centiseconds,
        /// The local Advertisement_Interval.
        configured: Centiseconds,
    },
    /// This router is the address owner and received an advert from someone else (§7.1).
    OwnerReceivedAdvert {
        /// Sender of the advert.
        source: IpAddr,
        /// Its priority.
        priority: u8,
    },
    /// Another router also advertises priority 255 (§8.3.2).
    DualOwner {
        /// The other router claiming ownership.
        source: IpAddr,
    },
    /// This router is demoted and heard no Master for Master_Down_Interval: nobody serves the
    /// virtual addresses, and it will not take over until promoted.
    DemotedWithoutMaster {
        /// The Master it followed last, if any.
        last_master: Option<IpAddr>,
    },
    /// An IPv4 advert whose checksum verifies only in the other style (§5.2.8: with or without
    /// the pseudo-header), discarded: a peer this instance cannot interoperate with as set.
    ChecksumOtherStyle {
        /// Sender of the advert.
        source: IpAddr,
        /// The sender's style (`rfc9568` or `without-pseudo-header`), the setting that matches
        /// it.
        #[serde(with = "style_name")]
        sender: ChecksumStyle,
        /// This instance's `ipv4_checksum`.
        #[serde(with = "style_name")]
        configured: ChecksumStyle,
    },
    /// An advert from a source not in `allowed_peers`, discarded by the data plane (a sample;
    /// `peer_not_allowed` counts them all).
    PeerNotAllowed {
        /// Sender of the advert.
        source: IpAddr,
    },
}

/// Serde for [`ChecksumStyle`] by its configuration name.
mod style_name {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    use super::ChecksumStyle;

    pub(super) fn serialize<S: Serializer>(
        style: &ChecksumStyle,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(style.name())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<ChecksumStyle, D::Error> {
        let name = String::deserialize(deserializer)?;
        ChecksumStyle::from_name(&name)
            .ok_or_else(|| D::Error::custom(format!("unknown checksum style {name:?}")))
    }
}

impl Warning {
    /// A stable snake_case name of the kind, for rate limiting and metric labels.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::AddressListMismatch { .. } => "address_list_mismatch",
            Self::IntervalMismatch { .. } => "interval_mismatch",
            Self::OwnerReceivedAdvert { .. } => "owner_received_advert",
            Self::DualOwner { .. } => "dual_owner",
            Self::DemotedWithoutMaster { .. } => "demoted_without_master",
            Self::ChecksumOtherStyle { .. } => "checksum_other_style",
            Self::PeerNotAllowed { .. } => "peer_not_allowed",
        }
    }
}

/// A short list of addresses for log lines.
struct AddressList<'a>(&'a [IpAddr]);

impl fmt::Display for AddressList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (index, address) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{address}")?;
        }
        f.write_str("]")
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AddressListMismatch {
                source,
                advertised,
                configured,
            } => write!(
                f,
                "advert from {source} lists {} but {} is configured",
                AddressList(advertised),
                AddressList(configured)
            ),
            Self::IntervalMismatch {
                source,
                advertised,
                configured,
            } => write!(
                f,
                "advert from {source} has interval {advertised} but {configured} is configured"
            ),
            Self::OwnerReceivedAdvert { source, priority } => write!(
                f,
                "address owner received an advert from {source} (priority {priority})"
            ),
            Self::DualOwner { source } => {
                write!(f, "{source} also claims address ownership (priority 255)")
            }
            Self::DemotedWithoutMaster { .. } => f.write_str(
                "demoted and no master heard for Master_Down_Interval: nobody serves the \
                 virtual addresses (xvrrp promote ends the demotion)",
            ),
            Self::ChecksumOtherStyle {
                source,
                sender,
                configured,
            } => {
                let how = if sender.sends_pseudo_header() {
                    "with"
                } else {
                    "without"
                };
                write!(
                    f,
                    "advert from {source} discarded: its VRRPv3 checksum is computed {how} the \
                     IPv4 pseudo-header, which ipv4_checksum = \"{}\" does not accept; set \
                     ipv4_checksum = \"{}\" to interoperate (\"accept-both\" while migrating)",
                    configured.name(),
                    sender.name()
                )
            }
            Self::PeerNotAllowed { source } => write!(
                f,
                "advert from {source} discarded: not in allowed_peers or unicast_peers \
                 (counted as peer_not_allowed)"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transition_reasons_read_well() {
        let master: IpAddr = "192.0.2.1".parse().expect("address");
        let expired = TransitionReason::MasterDownTimerExpired {
            master: Some(master),
            silent_for: Duration::from_micros(3_609_375),
        };
        assert_eq!(
            expired.to_string(),
            "master down timer expired (no advert from 192.0.2.1 for 3.60 s)"
        );
        let higher = TransitionReason::HigherPriority {
            source: "192.0.2.2".parse().expect("address"),
            priority: 200,
        };
        assert_eq!(higher.to_string(), "higher priority 200 from 192.0.2.2");
        assert_eq!(
            TransitionReason::Startup { owner: true }.to_string(),
            "startup as address owner (priority 255)"
        );
    }

    #[test]
    fn warnings_read_well() {
        let source: IpAddr = "192.0.2.2".parse().expect("address");
        let mismatch = Warning::AddressListMismatch {
            source,
            advertised: vec!["192.0.2.100".parse().expect("address")],
            configured: vec![
                "192.0.2.100".parse().expect("address"),
                "192.0.2.101".parse().expect("address"),
            ],
        };
        assert_eq!(
            mismatch.to_string(),
            "advert from 192.0.2.2 lists [192.0.2.100] but [192.0.2.100, 192.0.2.101] is configured"
        );
        assert_eq!(
            Warning::DualOwner { source }.to_string(),
            "192.0.2.2 also claims address ownership (priority 255)"
        );
    }

    #[test]
    fn actions_round_trip_through_json() {
        let action = Action::Transition {
            from: State::Backup,
            to: State::Master,
            reason: TransitionReason::MasterResigned {
                master: "2001:db8::1".parse().expect("address"),
            },
        };
        let json = serde_json::to_string(&action).expect("serialize");
        assert_eq!(
            serde_json::from_str::<Action>(&json).expect("deserialize"),
            action
        );
    }
}
