//! Hitless restart: the role a virtual router takes when the daemon starts on the pinned data
//! plane of a previous run, decided from what the pinned instance record says.
//!
//! RFC 9568 §6.4.1 starts every non-owner in Backup for Master_Down_Interval, so restarting a
//! Master's daemon would be a failover. But the pinned program kept forwarding through the
//! restart, and the Backups kept hearing the last Master's adverts: the virtual router never
//! changed hands on the wire. The rules below resume only what the wire could not have
//! contradicted yet:
//!
//! - **Master** when the record says Master, it is exactly the record this configuration
//!   writes as Master (same primary address, priority, interval, Accept_Mode, owner,
//!   heartbeat timeout, checksum style, allowed-peers flag), and the previous run's last
//!   heartbeat is younger than [`resume_window`] (two advert intervals). A running daemon
//!   advertises every interval, so its last advert went out at most one interval before its
//!   last heartbeat, and no Backup's Master_Down_Timer (three intervals + Skew_Time after that
//!   advert) can have fired within two intervals of the heartbeat: no other Master can exist
//!   yet, and our first advert (sent at once) restarts every Backup's timer.
//! - **Backup following the recorded Master** when the record publishes a routine signature:
//!   the data plane kept stamping that Master's adverts, so the Master_Down_Timer runs from the
//!   kernel's newest stamp (the driver feeds the event at it). Waiting for a Master we followed
//!   is never less safe than the start-up path, which waits for anyone.
//! - **Anything else** (no record, another configuration, a stale heartbeat, Initialize, a
//!   Backup that followed nobody, the address owner not recorded as Master) takes the RFC
//!   start-up path.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::action::{RoutineAdvert, State};
use super::config::RouterConfig;
use super::timing::Centiseconds;

/// What the previous run left in the data plane for one virtual router.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PinnedRecord {
    /// The role the record holds.
    pub role: State,
    /// The routine signature it publishes (a Backup absorbing its Master's adverts), if any.
    pub routine: Option<RoutineAdvert>,
    /// Whether the record is the one this router's configuration writes as Master.
    pub same_config: bool,
    /// Time since the previous run's last heartbeat.
    pub heartbeat_age: Duration,
}

/// The role a router resumes in (the payload of [`super::Event::Resume`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Resumption {
    /// Master at once: first advert now, virtual addresses refreshed.
    Master,
    /// Backup following this Master; the event is fed at the kernel's newest stamp of it.
    Backup(RoutineAdvert),
}

/// Why a pinned record is not resumed (the router takes the start-up path).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotResumed {
    /// The record holds Initialize, or Backup without a Master to follow.
    NothingToResume,
    /// A Master record other than the one this configuration writes.
    ConfigChanged,
    /// The previous run's heartbeat is older than the window: a Backup may have taken over.
    HeartbeatTooOld {
        /// Its age.
        age: Duration,
        /// [`resume_window`].
        window: Duration,
    },
    /// The address owner starts as Master anyway (RFC 9568 §6.4.1), never as a Backup.
    Owner,
    /// The recorded Master is this router's own address.
    FollowedItself,
}

impl std::fmt::Display for NotResumed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NothingToResume => {
                f.write_str("the record is neither Master nor a following Backup")
            }
            Self::ConfigChanged => {
                f.write_str("the configuration changed since the record was written")
            }
            Self::HeartbeatTooOld { age, window } => write!(
                f,
                "the previous run's heartbeat is {} ms old, beyond the {} ms a Backup needs at least to take over",
                age.as_millis(),
                window.as_millis()
            ),
            Self::Owner => f.write_str("the address owner starts as Master"),
            Self::FollowedItself => f.write_str("the recorded Master is this router's own address"),
        }
    }
}

/// How long after the previous run's last heartbeat a Master may resume: two advert intervals
/// (see the module docs).
pub fn resume_window(advert_interval: Centiseconds) -> Duration {
    advert_interval.as_duration() * 2
}

/// The role the router configured as `config` resumes in from `record`, or why it starts as
/// on startup.
pub fn decide(record: &PinnedRecord, config: &RouterConfig) -> Result<Resumption, NotResumed> {
    match (record.role, record.routine) {
        (State::Master, _) => {
            if !record.same_config {
                return Err(NotResumed::ConfigChanged);
            }
            let window = resume_window(config.advert_interval);
            if record.heartbeat_age >= window {
                return Err(NotResumed::HeartbeatTooOld {
                    age: record.heartbeat_age,
                    window,
                });
            }
            Ok(Resumption::Master)
        }
        (State::Backup, Some(_)) if config.is_owner() => Err(NotResumed::Owner),
        (State::Backup, Some(master)) if master.source == config.primary_address => {
            Err(NotResumed::FollowedItself)
        }
        (State::Backup, Some(master)) => Ok(Resumption::Backup(master)),
        (State::Backup | State::Initialize, _) => Err(NotResumed::NothingToResume),
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use proptest::prelude::*;

    use std::time::Instant;

    use super::*;
    use crate::proto::{Action, AddressFamily, Event, TransitionReason, VirtualRouter};

    const OWN: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    const PEER: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));

    fn config(priority: u8, interval_cs: u16) -> RouterConfig {
        RouterConfig {
            vrid: 1,
            family: AddressFamily::Ipv4,
            priority,
            advert_interval: Centiseconds::new(interval_cs).unwrap(),
            preempt: true,
            preempt_delay: Duration::ZERO,
            accept_mode: false,
            primary_address: OWN,
            virtual_addresses: vec![IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100))],
            version: vrrp_common::advert::VersionMode::V3,
        }
    }

    fn master_record(age_ms: u64) -> PinnedRecord {
        PinnedRecord {
            role: State::Master,
            routine: None,
            same_config: true,
            heartbeat_age: Duration::from_millis(age_ms),
        }
    }

    fn peer_signature() -> RoutineAdvert {
        RoutineAdvert {
            source: PEER,
            priority: 200,
            max_advert_interval: Centiseconds::new(10).unwrap(),
        }
    }

    #[test]
    fn a_fresh_master_record_of_the_same_configuration_resumes_as_master() {
        assert_eq!(
            decide(&master_record(150), &config(100, 10)),
            Ok(Resumption::Master)
        );
    }

    #[test]
    fn a_master_record_resumes_only_within_two_advert_intervals_of_the_heartbeat() {
        assert_eq!(
            decide(&master_record(200), &config(100, 10)),
            Err(NotResumed::HeartbeatTooOld {
                age: Duration::from_millis(200),
                window: Duration::from_millis(200)
            })
        );
        assert_eq!(
            decide(&master_record(1999), &config(100, 100)),
            Ok(Resumption::Master)
        );
    }

    #[test]
    fn a_changed_configuration_takes_the_startup_path() {
        let record = PinnedRecord {
            same_config: false,
            ..master_record(0)
        };
        assert_eq!(
            decide(&record, &config(100, 100)),
            Err(NotResumed::ConfigChanged)
        );
    }

    #[test]
    fn a_following_backup_resumes_following_its_master_whatever_the_heartbeat() {
        let record = PinnedRecord {
            role: State::Backup,
            routine: Some(peer_signature()),
            same_config: false,
            heartbeat_age: Duration::from_secs(3600),
        };
        assert_eq!(
            decide(&record, &config(100, 100)),
            Ok(Resumption::Backup(peer_signature()))
        );
        assert_eq!(decide(&record, &config(255, 100)), Err(NotResumed::Owner));
        let itself = PinnedRecord {
            routine: Some(RoutineAdvert {
                source: OWN,
                ..peer_signature()
            }),
            ..record
        };
        assert_eq!(
            decide(&itself, &config(100, 100)),
            Err(NotResumed::FollowedItself)
        );
    }

    #[test]
    fn initialize_and_a_backup_without_a_master_take_the_startup_path() {
        for role in [State::Initialize, State::Backup] {
            let record = PinnedRecord {
                role,
                routine: None,
                same_config: true,
                heartbeat_age: Duration::ZERO,
            };
            assert_eq!(
                decide(&record, &config(100, 100)),
                Err(NotResumed::NothingToResume)
            );
        }
    }

    fn drain(router: &mut VirtualRouter) -> Vec<Action> {
        std::iter::from_fn(|| router.poll_action()).collect()
    }

    #[test]
    fn a_resumed_master_advertises_at_once_without_passing_through_backup() {
        let mut router = VirtualRouter::new(config(100, 10));
        let now = Instant::now();
        router.handle_event(Event::Resume(Resumption::Master), now);
        let actions = drain(&mut router);
        assert_eq!(
            actions.first(),
            Some(&Action::Transition {
                from: State::Initialize,
                to: State::Master,
                reason: TransitionReason::Resumed
            })
        );
        assert!(actions.contains(&Action::SendAdvert { priority: 100 }));
        assert!(actions.contains(&Action::InstallVirtualAddresses));
        let transitions = actions
            .iter()
            .filter(|action| matches!(action, Action::Transition { .. }))
            .count();
        assert_eq!(transitions, 1, "{actions:?}");
        assert_eq!(
            router.poll_timeout(),
            Some(now + Duration::from_millis(100))
        );
    }

    #[test]
    fn a_resumed_backup_times_its_master_from_the_kernel_stamp() {
        let mut router = VirtualRouter::new(config(100, 10));
        let stamp = Instant::now();
        router.handle_event(Event::Resume(Resumption::Backup(peer_signature())), stamp);
        let actions = drain(&mut router);
        assert!(actions.contains(&Action::Transition {
            from: State::Initialize,
            to: State::Backup,
            reason: TransitionReason::Resumed
        }));
        assert!(actions.contains(&Action::SetDataplaneRole {
            role: crate::proto::DataplaneRole::Backup,
            routine: Some(peer_signature())
        }));
        assert_eq!(router.routine_advert(), Some(peer_signature()));
        let master_down = crate::proto::master_down_interval(100, Centiseconds::new(10).unwrap());
        assert_eq!(router.poll_timeout(), Some(stamp + master_down));
    }

    #[test]
    fn a_resumption_naming_the_router_itself_starts_as_on_startup() {
        let mut router = VirtualRouter::new(config(100, 10));
        let itself = RoutineAdvert {
            source: OWN,
            ..peer_signature()
        };
        router.handle_event(Event::Resume(Resumption::Backup(itself)), Instant::now());
        assert!(drain(&mut router).contains(&Action::Transition {
            from: State::Initialize,
            to: State::Backup,
            reason: TransitionReason::Startup { owner: false }
        }));
        assert_eq!(router.routine_advert(), None);
    }

    fn any_state() -> impl Strategy<Value = State> {
        prop_oneof![
            Just(State::Initialize),
            Just(State::Backup),
            Just(State::Master)
        ]
    }

    proptest! {
        /// Resuming as Master needs a Master record of this configuration younger than two of
        /// its intervals; resuming as Backup needs a Backup record with a Master that is not
        /// this router, and never happens for the owner.
        #[test]
        fn resumption_needs_everything_the_rules_name(
            role in any_state(),
            signature in any::<bool>(),
            same_config in any::<bool>(),
            age_ms in 0_u64..10_000,
            priority in 1_u8..=255,
            interval_cs in 1_u16..=300,
            followed_self in any::<bool>(),
        ) {
            let master = RoutineAdvert {
                source: if followed_self { OWN } else { PEER },
                ..peer_signature()
            };
            let record = PinnedRecord {
                role,
                routine: signature.then_some(master),
                same_config,
                heartbeat_age: Duration::from_millis(age_ms),
            };
            let config = config(priority, interval_cs);
            match decide(&record, &config) {
                Ok(Resumption::Master) => {
                    prop_assert_eq!(role, State::Master);
                    prop_assert!(same_config);
                    prop_assert!(record.heartbeat_age < Duration::from_millis(20 * u64::from(interval_cs)));
                }
                Ok(Resumption::Backup(followed)) => {
                    prop_assert_eq!(role, State::Backup);
                    prop_assert_eq!(Some(followed), record.routine);
                    prop_assert_ne!(followed.source, OWN);
                    prop_assert!(priority != 255);
                }
                Err(_) => {
                    let resumable_master = role == State::Master
                        && same_config
                        && record.heartbeat_age < Duration::from_millis(20 * u64::from(interval_cs));
                    let resumable_backup =
                        role == State::Backup && signature && !followed_self && priority != 255;
                    prop_assert!(!resumable_master && !resumable_backup);
                }
            }
        }
    }
}
