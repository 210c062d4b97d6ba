//! Looking up a virtual router and deciding whether it may act as Master right now.

use aya_ebpf::{bindings::xdp_action, helpers::bpf_ktime_get_ns};
use vrrp_common::{
    counters::Counter,
    maps::{AddressFamily, Instance, InstanceKey, Role},
};

use crate::{
    maps::{XVRRP_CONTROL, XVRRP_INSTANCES},
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

/// The interface MAC, if `instance` may act as Master: its role is Master and the daemon's
/// heartbeat is fresh. A stale heartbeat means the daemon died while the pinned program kept
/// running, so we behave as Backup rather than answer for VIPs nobody manages (counted). Reads
/// the clock, so only call it on the rare paths (VIP resolution, virtual-MAC frames).
#[inline(always)]
pub(crate) fn acting_master(key: &InstanceKey, instance: &Instance) -> Option<[u8; 6]> {
    if instance.role != Role::Master as u8 {
        return None;
    }
    let control = XVRRP_CONTROL.get(0)?;
    // SAFETY: bpf_ktime_get_ns has no preconditions.
    let now = unsafe { bpf_ktime_get_ns() };
    if instance.heartbeat_stale(control, now) {
        count_instance(key, Counter::HeartbeatStale);
        return None;
    }
    Some(control.if_mac)
}

/// The ingress verdict on an ARP request / Neighbor Solicitation for a VIP of the instance
/// under `key`: to the stack while acting as Master (it answers, the egress program stamps the
/// virtual MAC); dropped otherwise, so the stack cannot answer with the physical MAC (RFC 5798
/// §6.4.2) — except for the address owner, whose VIPs are its own addresses. `None` when no
/// such instance is configured.
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
