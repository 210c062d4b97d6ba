//! Looking up a virtual router and deciding whether it may act as Master right now.

use aya_ebpf::{bindings::xdp_action, helpers::bpf_ktime_get_ns};
use vrrp_common::{
    counters::Counter,
    maps::{AddressFamily, Instance, InstanceKey, Role},
};

use crate::{
    maps::{XVRRP_CONTROL, XVRRP_INSTANCES, XVRRP_ROLES},
    parse::Frame,
    stats::count_instance,
};

/// The key of virtual router `vrid` of `family` on the interface the frame is on.
#[inline(always)]
pub(crate) fn key(ctx: &impl Frame, family: AddressFamily, vrid: u8) -> InstanceKey {
    InstanceKey::new(ctx.ifindex(), family, vrid)
}

/// A copy of the instance configured under `key`.
#[inline(always)]
pub(crate) fn lookup(key: &InstanceKey) -> Option<Instance> {
    // SAFETY: a successful lookup; userspace replaces whole values, we copy it once.
    XVRRP_INSTANCES.get_ptr(key).map(|value| unsafe { *value })
}

/// The interface MAC, if `instance` answers for its VIPs: its role is Master. A stale
/// heartbeat means the daemon died while the pinned program kept running: the orphan stays
/// Master (the peer takes over only at Master_Down_Interval, later than the heartbeat ends)
/// and yields in the kernel to the first advert from another router ([`yield_to_peer`]).
/// Counted, and reads the clock, so only call it on the rare paths.
#[inline(always)]
pub(crate) fn acting_master(key: &InstanceKey, instance: &Instance) -> Option<[u8; 6]> {
    if instance.role != Role::Master as u8 {
        return None;
    }
    let control = XVRRP_CONTROL.get(0)?;
    if orphaned(instance) {
        count_instance(key, Counter::HeartbeatStale);
    }
    Some(control.if_mac)
}

/// The interface MAC, if `instance` accepts frames to its virtual MAC: Master, or a Master
/// that resigned and forwards until the new Master's first advert (make-before-break).
#[inline(always)]
pub(crate) fn forwarding_mac(key: &InstanceKey, instance: &Instance) -> Option<[u8; 6]> {
    if instance.role == Role::Resigning as u8 {
        return XVRRP_CONTROL.get(0).map(|control| control.if_mac);
    }
    acting_master(key, instance)
}

/// Whether the daemon's heartbeat is older than `instance`'s timeout: nobody decides for it.
#[inline(always)]
fn orphaned(instance: &Instance) -> bool {
    let Some(control) = XVRRP_CONTROL.get(0) else {
        return true;
    };
    // SAFETY: bpf_ktime_get_ns has no preconditions.
    let now = unsafe { bpf_ktime_get_ns() };
    instance.heartbeat_stale(control, now)
}

/// A valid advert for the instance under `key` (stored at `stored`, a copy in `current`)
/// arrived from `source`. An orphaned Master (stale heartbeat) or a resigning one becomes Backup
/// in this packet: any other router advertising for the VRID is Master or about to be, and an
/// orphan can neither advertise nor compare priorities for a daemon that is gone. The record
/// and the role slot get one byte each (the daemon writes whole values; a byte cannot tear).
/// Our own address as source is not another router. Returns whether it yielded.
#[inline(always)]
pub(crate) fn yield_to_peer(
    key: &InstanceKey,
    stored: *mut Instance,
    current: &Instance,
    source: &[u8; 16],
) -> bool {
    let master = current.role == Role::Master as u8;
    let resigning = current.role == Role::Resigning as u8;
    if !(resigning || master && orphaned(current)) || current.master_addr_be == *source {
        return false;
    }
    // SAFETY: `stored` is a successful hash lookup; one aligned byte is written in place.
    unsafe { (*stored).role = Role::Backup as u8 };
    if let Some(entry) = XVRRP_ROLES.get_ptr_mut(key.slot()) {
        // SAFETY: a successful array lookup; one byte written in place.
        unsafe { (*entry).role = Role::Backup as u8 };
    }
    count_instance(key, Counter::OrphanYielded);
    true
}

/// The ingress verdict on an ARP request / Neighbor Solicitation for a VIP of the instance
/// under `key`: to the stack while acting as Master (it answers, the egress program stamps the
/// virtual MAC); dropped otherwise (a resigning Master too: it answers nothing new), so the
/// stack cannot answer with the physical MAC (RFC 5798 §6.4.2) — except for the address owner,
/// whose VIPs are its own addresses. `None` when no such instance is configured.
#[inline(always)]
pub(crate) fn resolution_verdict(key: &InstanceKey) -> Option<u32> {
    let config = lookup(key)?;
    if acting_master(key, &config).is_some() {
        count_instance(key, Counter::ResolutionPassedMaster);
        return Some(xdp_action::XDP_PASS);
    }
    if config.owner != 0 {
        return None;
    }
    count_instance(key, Counter::ResolutionDroppedBackup);
    Some(xdp_action::XDP_DROP)
}
