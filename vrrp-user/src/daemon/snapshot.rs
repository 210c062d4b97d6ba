//! Building the read-only [`StatusSnapshot`] the event loop publishes for the operations layer
//! (control socket, metrics). Called after state changes and once a second, never per advert:
//! it reads a few BPF map entries per instance.

use std::{
    collections::{BTreeMap, HashMap},
    time::Instant,
};

use super::{
    clock::instant_from_monotonic,
    commands::OperatorMarks,
    divergence::DivergenceWatch,
    instance::Instance,
    interface::{VrrpInterface, contract_family},
};
use crate::{
    dataplane::{CounterValues, IngressHook, PinVisibility, virtual_mac},
    ops::{
        status::{
            DivergenceStatus, InstanceStatus, InterfaceStatus, MasterStatus, StatusSnapshot,
            TrackedDown, mac_text,
        },
        time::unix_ms_now,
    },
    proto::{State, router_advert::RouterAdvertScheduler},
};

/// The snapshot of `instances` running on `interfaces` now.
pub(crate) fn build(
    instances: &[Instance],
    interfaces: &mut BTreeMap<String, VrrpInterface>,
    pins: &PinVisibility,
    divergences: &DivergenceWatch,
) -> StatusSnapshot {
    let now = Instant::now();
    let instances = instances
        .iter()
        .map(|instance| {
            instance_status(
                instance,
                interfaces.get_mut(&instance.config.interface),
                divergences,
                now,
            )
        })
        .collect();
    let interfaces = interfaces
        .values()
        .map(|interface| InterfaceStatus {
            name: interface.info.name.clone(),
            ingress_hook: hook_name(interface.ingress_hook()).to_owned(),
            dataplane: named(interface.counters().ok()),
        })
        .collect();
    StatusSnapshot {
        taken_at_ms: unix_ms_now(),
        instances,
        interfaces,
        private_pins: match pins {
            PinVisibility::Shared => None,
            PinVisibility::Private { reason } => Some(reason.clone()),
        },
    }
}

fn instance_status(
    instance: &Instance,
    mut interface: Option<&mut VrrpInterface>,
    divergences: &DivergenceWatch,
    now: Instant,
) -> InstanceStatus {
    let config = &instance.config;
    let status = instance.router.status();
    let weights: HashMap<&str, u8> = config
        .track
        .iter()
        .map(|tracked| (tracked.interface.as_str(), tracked.weight))
        .collect();
    let master = status.master_address.map(|address| {
        let local = status.state == State::Master;
        // Routine adverts are absorbed in the kernel: its stamp is fresher than the router's.
        let absorbed = interface
            .as_deref_mut()
            .filter(|_| !local)
            .and_then(|interface| interface.last_routine_advert(&instance.router))
            .map(instant_from_monotonic);
        let heard = instance.router.master_heard_at().max(absorbed);
        MasterStatus {
            address,
            local,
            priority: status.master_priority,
            advert_interval_ms: millis(status.master_adver_interval.as_duration()),
            last_heard_ms_ago: heard.map(|at| millis(now.saturating_duration_since(at))),
        }
    });
    let dataplane = interface
        .and_then(|interface| interface.instance_counters(config.family, config.vrid).ok());
    let (active, divergence_evictions) = divergences.active(&config.name, now);
    InstanceStatus {
        name: config.name.clone(),
        group: config.group.clone(),
        interface: config.interface.clone(),
        family: config.family.to_string(),
        vrid: config.vrid,
        vrrp_version: instance.config.version.name().to_owned(),
        unicast_peers: instance.config.unicast_peers.clone(),
        state: status.state,
        virtual_addresses: config.virtual_addresses.clone(),
        virtual_mac: mac_text(virtual_mac(contract_family(config.family), config.vrid)),
        configured_priority: config.priority,
        effective_priority: status.priority,
        tracked_down: instance
            .tracked_down
            .iter()
            .map(|name| TrackedDown {
                interface: name.clone(),
                weight: weights.get(name.as_str()).copied().unwrap_or(0),
            })
            .collect(),
        priority_override: OperatorMarks::priority_override(instance),
        demoted: OperatorMarks::demoted(instance),
        preempt: config.preempt,
        preempt_delay_ms: millis(config.preempt_delay),
        accept_mode: config.accept_mode,
        advert_interval_ms: millis(config.advert_interval.as_duration()),
        master_advert_interval_ms: millis(status.master_adver_interval.as_duration()),
        master_down_interval_us: micros(status.master_down_interval),
        skew_time_us: micros(status.skew_time),
        master,
        counters: status.counters,
        dataplane: named(dataplane),
        divergences: active
            .into_iter()
            .map(|active| DivergenceStatus {
                kind: active.kind,
                peer: active.peer,
                detail: active.detail,
                for_ms: millis(active.age),
            })
            .collect(),
        divergence_evictions,
        router_adverts: instance
            .router_adverts
            .as_ref()
            .map(RouterAdvertScheduler::counters),
    }
}

fn named(values: Option<CounterValues>) -> BTreeMap<String, u64> {
    values.map_or_else(BTreeMap::new, |values| {
        values
            .named()
            .map(|(name, value)| (name.to_owned(), value))
            .collect()
    })
}

/// The stable name `status --json` and the metrics use.
fn hook_name(hook: IngressHook) -> &'static str {
    match hook {
        IngressHook::NativeXdp => "native_xdp",
        IngressHook::GenericXdp => "generic_xdp",
        IngressHook::Tc => "tc",
    }
}

fn millis(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

fn micros(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}
