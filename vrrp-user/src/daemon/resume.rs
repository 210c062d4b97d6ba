//! Hitless restart, the daemon's side: turns what an adopted data plane recorded for an
//! instance into `proto::resume`'s input, and says what was decided. The rules are there.

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    time::Instant,
};

use vrrp_common::maps::Role;

use super::{
    clock::instant_from_monotonic,
    instance::Instance,
    interface::{VrrpInterface, dataplane_settings},
};
use crate::{
    dataplane::{PinnedInstance, monotonic_now},
    proto::{
        AddressFamily, Centiseconds, DataplaneRole, RoutineAdvert, State,
        resume::{PinnedRecord, Resumption, decide},
    },
};

/// How `instance` starts on `interface`: `Some((resumption, at))` to feed
/// `Event::Resume(resumption)` at `at`, `None` for Startup. Consumes the pinned record (it is
/// only ever good for the first start). Call it after tracking set the instance's priority:
/// the record of a Master carries its effective priority.
pub(super) fn resumption(
    interface: &mut VrrpInterface,
    instance: &Instance,
) -> Option<(Resumption, Instant)> {
    let pinned = interface.take_pinned(instance)?;
    if !interface.info.running {
        tracing::info!(
            instance = instance.config.name,
            interface = instance.config.interface,
            "not resuming the previous run's state: the interface is down"
        );
        return None;
    }
    let record = pinned_record(instance, &pinned);
    match decide(&record, instance.router.config()) {
        Ok(resumption) => {
            let at = match resumption {
                // The Master_Down_Timer runs from the kernel's newest stamp of that Master.
                Resumption::Backup(_) if !pinned.last_seen.is_zero() => {
                    instant_from_monotonic(pinned.last_seen)
                }
                Resumption::Backup(_) | Resumption::Master => Instant::now(),
            };
            tracing::info!(
                instance = instance.config.name,
                interface = instance.config.interface,
                role = %record.role,
                heartbeat_age_ms = u64::try_from(record.heartbeat_age.as_millis()).unwrap_or(u64::MAX),
                "resuming the previous run's state"
            );
            Some((resumption, at))
        }
        Err(why) => {
            tracing::info!(
                instance = instance.config.name,
                interface = instance.config.interface,
                role = %record.role,
                reason = %why,
                "not resuming the previous run's state: {why}"
            );
            None
        }
    }
}

/// `pinned` in the state machine's terms, compared with the record `instance`'s configuration
/// writes as Master.
fn pinned_record(instance: &Instance, pinned: &PinnedInstance) -> PinnedRecord {
    let record = &pinned.record;
    let role = match Role::from_u8(record.role) {
        Some(Role::Master) => State::Master,
        Some(Role::Backup) => State::Backup,
        // A resigning Master handed its role away: the start-up path, never a resumption.
        Some(Role::Initialize | Role::Resigning) | None => State::Initialize,
    };
    let family = instance.family();
    let vrid = instance.config.vrid;
    let as_master = dataplane_settings(instance, DataplaneRole::Master, None)
        .record(super::interface::contract_family(family), vrid);
    let routine = (role == State::Backup && record.master_priority != 0)
        .then(|| {
            Some(RoutineAdvert {
                source: address(family, record.master_addr_be),
                priority: record.master_priority,
                max_advert_interval: Centiseconds::new(record.master_interval_cs).ok()?,
            })
        })
        .flatten();
    PinnedRecord {
        role,
        routine,
        same_config: *record == as_master,
        heartbeat_age: monotonic_now().saturating_sub(pinned.heartbeat),
    }
}

fn address(family: AddressFamily, bytes: [u8; 16]) -> IpAddr {
    match family {
        AddressFamily::Ipv4 => IpAddr::V4(Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3])),
        AddressFamily::Ipv6 => IpAddr::V6(Ipv6Addr::from(bytes)),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::daemon::{interface::contract_family, lifecycle::tests::instance_config};

    const PRIMARY: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));

    fn instance(priority: u8) -> Instance {
        Instance::new(instance_config("lan", 1, priority), PRIMARY)
    }

    fn pinned(record: vrrp_common::maps::Instance) -> PinnedInstance {
        PinnedInstance {
            record,
            last_seen: Duration::ZERO,
            heartbeat: monotonic_now(),
        }
    }

    fn master_record_of(instance: &Instance) -> vrrp_common::maps::Instance {
        dataplane_settings(instance, DataplaneRole::Master, None)
            .record(contract_family(instance.family()), instance.config.vrid)
    }

    #[test]
    fn the_master_record_of_the_same_configuration_is_the_same_configuration() {
        let record = pinned_record(&instance(100), &pinned(master_record_of(&instance(100))));
        assert_eq!(record.role, State::Master);
        assert!(record.same_config);
        assert_eq!(record.routine, None);
        assert!(record.heartbeat_age < Duration::from_secs(1));
    }

    #[test]
    fn another_priority_or_interval_is_another_configuration() {
        let old = master_record_of(&instance(100));
        assert!(!pinned_record(&instance(150), &pinned(old)).same_config);
        let mut faster = instance_config("lan", 1, 100);
        faster.advert_interval = crate::proto::Centiseconds::new(10).unwrap();
        let faster = Instance::new(faster, PRIMARY);
        assert!(!pinned_record(&faster, &pinned(old)).same_config);
    }

    #[test]
    fn a_backup_record_carries_its_masters_signature_unless_it_had_none() {
        let backup = instance(100);
        let master = RoutineAdvert {
            source: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)),
            priority: 200,
            max_advert_interval: crate::proto::Centiseconds::DEFAULT,
        };
        let record = dataplane_settings(&backup, DataplaneRole::Backup, Some(master))
            .record(contract_family(backup.family()), 1);
        let seen = pinned_record(&backup, &pinned(record));
        assert_eq!((seen.role, seen.routine), (State::Backup, Some(master)));
        let without = dataplane_settings(&backup, DataplaneRole::Backup, None)
            .record(contract_family(backup.family()), 1);
        assert_eq!(pinned_record(&backup, &pinned(without)).routine, None);
    }
}
