//! The BPF maps, as BTF-defined maps so `bpftool map dump` prints named fields. The exported
//! names are the constants of `vrrp_common::maps` (the loader and the tests look maps up by
//! those constants; `#[btf_map(name = …)]` needs a literal, so keep both in sync).

use aya_ebpf::{
    bindings::BPF_F_NO_PREALLOC,
    btf_maps::{Array, HashMap, PerCpuArray, RingBuf},
    macros::btf_map,
};
use vrrp_common::{
    counters::{Counter, InstanceCounters},
    event::{AdvertEvent, MESSAGE_CAPACITY},
    maps::{
        Control, EVENTS_RING_BYTES, INSTANCE_SLOTS, Instance, InstanceKey, LAST_SEEN_MAP_FLAGS,
        MAX_INSTANCES, MAX_PEERS, MAX_VIPS, PeerEntry, PeerKey, RoleEntry, Vip4Key, Vip6Key,
        VipTarget,
    },
};

/// Global counters, one `u64` per [`Counter`] per CPU (`STATS_MAP`).
#[btf_map(name = "XVRRP_STATS")]
pub(crate) static XVRRP_STATS: PerCpuArray<u64, { Counter::COUNT as usize }> = PerCpuArray::new();

/// Per-virtual-router counters by slot (`INSTANCE_STATS_MAP`).
#[btf_map(name = "XVRRP_VR_STATS")]
pub(crate) static XVRRP_VR_STATS: PerCpuArray<InstanceCounters, { INSTANCE_SLOTS as usize }> =
    PerCpuArray::new();

/// Each virtual router's role by slot, for the virtual-MAC fast path (`ROLES_MAP`).
#[btf_map(name = "XVRRP_ROLES")]
pub(crate) static XVRRP_ROLES: Array<RoleEntry, { INSTANCE_SLOTS as usize }> = Array::new();

/// When each virtual router's routine adverts were last absorbed, by slot (`LAST_SEEN_MAP`,
/// mmapable: the daemon reads it from memory).
#[btf_map(name = "XVRRP_LAST_SEEN")]
pub(crate) static XVRRP_LAST_SEEN: Array<u64, { INSTANCE_SLOTS as usize }, LAST_SEEN_MAP_FLAGS> =
    Array::new();

/// Configured virtual routers (`INSTANCES_MAP`).
#[btf_map(name = "XVRRP_INSTANCES")]
pub(crate) static XVRRP_INSTANCES: HashMap<InstanceKey, Instance, { MAX_INSTANCES as usize }> =
    HashMap::new();

/// The advert sources instances that list peers accept (`PEERS_MAP`). Not preallocated
/// (`BPF_F_NO_PREALLOC`): its memory follows the peers configured.
#[btf_map(name = "XVRRP_PEERS")]
pub(crate) static XVRRP_PEERS: HashMap<
    PeerKey,
    PeerEntry,
    { MAX_PEERS as usize },
    { BPF_F_NO_PREALLOC as usize },
> = HashMap::new();

/// IPv4 virtual addresses (`VIPS4_MAP`).
#[btf_map(name = "XVRRP_VIPS4")]
pub(crate) static XVRRP_VIPS4: HashMap<Vip4Key, VipTarget, { MAX_VIPS as usize }> = HashMap::new();

/// IPv6 virtual addresses (`VIPS6_MAP`).
#[btf_map(name = "XVRRP_VIPS6")]
pub(crate) static XVRRP_VIPS6: HashMap<Vip6Key, VipTarget, { MAX_VIPS as usize }> = HashMap::new();

/// The interface's MAC and the daemon heartbeat (`CONTROL_MAP`, index 0).
#[btf_map(name = "XVRRP_CONTROL")]
pub(crate) static XVRRP_CONTROL: Array<Control, 1> = Array::new();

/// Adverts for the daemon (`EVENTS_MAP`).
#[btf_map(name = "XVRRP_EVENTS")]
pub(crate) static XVRRP_EVENTS: RingBuf<AdvertEvent, { EVENTS_RING_BYTES as usize }> =
    RingBuf::new();

/// Per-CPU working memory outside packet memory: a ring-buffer record is staged here (the
/// message is also where `checksum::add_frame` sums long messages) and copied to the ring at
/// its real length, which `bpf_ringbuf_reserve` (constant sizes only) cannot do.
#[repr(C)]
pub(crate) struct Scratch {
    /// The record's fixed part; `message` must follow it directly (repr(C), no padding).
    pub(crate) event: AdvertEvent,
    pub(crate) message: [u8; MESSAGE_CAPACITY],
    /// CLOCK_MONOTONIC ns of this CPU's last "ring buffer full" log line.
    pub(crate) ring_full_logged_ns: u64,
    /// CLOCK_MONOTONIC ns of this CPU's last sampled advert in the other checksum style.
    pub(crate) other_style_sampled_ns: u64,
    /// CLOCK_MONOTONIC ns of this CPU's last sampled advert from a peer not listed.
    pub(crate) peer_refused_sampled_ns: u64,
}

const _: () = assert!(core::mem::offset_of!(Scratch, message) == size_of::<AdvertEvent>());

/// One [`Scratch`] per CPU (`SCRATCH_MAP`); internal to the program.
#[btf_map(name = "XVRRP_SCRATCH")]
pub(crate) static XVRRP_SCRATCH: PerCpuArray<Scratch, 1> = PerCpuArray::new();
