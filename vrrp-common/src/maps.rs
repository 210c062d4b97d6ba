//! The BPF maps shared by the XDP program and the daemon: names, keys and values.
//!
//! Names are used by both `#[btf_map(name = …)]` in the XDP program and the loader's
//! `ebpf.map(…)` lookups so the two cannot drift apart. Every type is `#[repr(C)]` with explicit
//! padding and no `bool`, and its size is pinned by a const assertion. Addresses are stored in
//! network byte order (`*_be` names); IPv4 addresses use the first 4 bytes of a 16-byte field.
//!
//! Write discipline: userspace always writes whole values (one map update), so the XDP program
//! never sees a half-written instance. The XDP program writes the stamps of [`LAST_SEEN_MAP`]
//! and, when an orphaned or resigning Master yields to another router's advert, one byte: the
//! role of the [`INSTANCES_MAP`] record and of the [`ROLES_MAP`] slot (Backup).

/// Name of the XDP program (what `bpftool prog show` lists).
pub const PROGRAM_NAME: &str = "xvrrp";

/// Name of the TC egress program that puts the virtual MAC on the stack's ARP replies and
/// Neighbor Advertisements for a VIP.
pub const EGRESS_PROGRAM_NAME: &str = "xvrrp_egress";

/// Name of the data plane built for the TC ingress hook (the same logic as [`PROGRAM_NAME`]),
/// attached instead of XDP on virtual interfaces.
pub const TC_PROGRAM_NAME: &str = "xvrrp_tc";

/// Name of the TC ingress program behind XDP: types frames XDP readdressed to the interface as
/// addressed to this host (needed where the skb exists before native XDP runs: veth) and
/// enforces Accept_Mode on frames to the interface's own MAC.
pub const AFTER_XDP_PROGRAM_NAME: &str = "xvrrp_after_xdp";

/// An XDP program that only returns `XDP_PASS`, in the same object: the baseline of
/// `cargo xtask bench xdp`. The daemon never attaches it.
pub const PASS_PROGRAM_NAME: &str = "xvrrp_pass";

/// Per-CPU array of global `u64` counters indexed by [`crate::counters::Counter`].
pub const STATS_MAP: &str = "XVRRP_STATS";

/// Per-CPU array of [`crate::counters::InstanceCounters`] indexed by [`InstanceKey::slot`].
pub const INSTANCE_STATS_MAP: &str = "XVRRP_VR_STATS";

/// Hash [`InstanceKey`] -> [`Instance`]: one entry per configured virtual router, the
/// authoritative configuration.
pub const INSTANCES_MAP: &str = "XVRRP_INSTANCES";

/// Array of [`RoleEntry`] indexed by [`InstanceKey::slot`]: each virtual router's role again,
/// for the virtual-MAC fast path. A hash lookup costs more than the whole budget of a
/// virtual-MAC drop in Backup; an array lookup is inlined by the verifier. Written after
/// [`INSTANCES_MAP`] on every change; a one-byte value cannot be read half-written.
pub const ROLES_MAP: &str = "XVRRP_ROLES";

/// Array of `u64` indexed by [`InstanceKey::slot`]: CLOCK_MONOTONIC ns
/// (`bpf_ktime_get_coarse_ns`) of the last routine advert the program absorbed for that
/// virtual router; 0 for none since the daemon last wrote its [`INSTANCES_MAP`] record.
/// Created with [`LAST_SEEN_MAP_FLAGS`] so the daemon maps it into memory once and reads every
/// Backup's stamp without a syscall (a Backup at 10 ms checks each stamp ~28 times a second).
/// The program stores aligned `u64`s, which cannot be read torn.
pub const LAST_SEEN_MAP: &str = "XVRRP_LAST_SEEN";

/// `BPF_F_MMAPABLE`: the flags [`LAST_SEEN_MAP`] is created with.
pub const LAST_SEEN_MAP_FLAGS: usize = 1 << 10;

/// Hash [`Vip4Key`] -> [`VipTarget`]: the IPv4 virtual addresses and their VRID.
pub const VIPS4_MAP: &str = "XVRRP_VIPS4";

/// Hash [`Vip6Key`] -> [`VipTarget`]: the IPv6 virtual addresses and their VRID.
pub const VIPS6_MAP: &str = "XVRRP_VIPS6";

/// Array of one [`Control`] record at index 0: the interface's MAC and the daemon heartbeat.
pub const CONTROL_MAP: &str = "XVRRP_CONTROL";

/// Ring buffer of [`crate::event::AdvertEvent`] records, XDP -> daemon.
pub const EVENTS_MAP: &str = "XVRRP_EVENTS";

/// Per-CPU scratch buffer the program sums VRRP messages in; internal, no userspace use.
pub const SCRATCH_MAP: &str = "XVRRP_SCRATCH";

/// Hash [`PeerKey`] -> [`PeerEntry`]: the advert sources a virtual router accepts, for the
/// instances whose [`Instance::peers_listed`] is set (`allowed_peers`; later unicast peers).
/// Created without preallocation, so its memory follows the peers configured, not
/// [`MAX_PEERS`].
pub const PEERS_MAP: &str = "XVRRP_PEERS";

/// Version of this contract: the maps, their keys and values, and what the program does with
/// them. A daemon adopts the pinned maps and links of a previous run (hitless restart) only
/// when the [`Control::contract_version`] they carry is this one, so bump it with every change
/// a running program and a new daemon could disagree on: a map added, removed or resized, a
/// key or value changed, a field read differently. Never 0. 2: `Instance.versions` (VRRPv2).
pub const CONTRACT_VERSION: u16 = 2;

/// Every map the object defines, for pinning and teardown.
pub const ALL_MAPS: [&str; 11] = [
    STATS_MAP,
    INSTANCE_STATS_MAP,
    INSTANCES_MAP,
    ROLES_MAP,
    LAST_SEEN_MAP,
    VIPS4_MAP,
    VIPS6_MAP,
    CONTROL_MAP,
    EVENTS_MAP,
    SCRATCH_MAP,
    PEERS_MAP,
];

/// Capacity of [`INSTANCES_MAP`]: 255 VRIDs in each family.
pub const MAX_INSTANCES: u32 = 510;

/// Length of the arrays indexed by [`InstanceKey::slot`] ([`ROLES_MAP`], [`LAST_SEEN_MAP`],
/// [`INSTANCE_STATS_MAP`]): 256 per family (slot 0 and 256 stay unused, VRID 0 is invalid).
pub const INSTANCE_SLOTS: u32 = 512;

/// Capacity of each VIP map.
pub const MAX_VIPS: u32 = 1024;

/// Peers one virtual router may list (`allowed_peers`).
pub const MAX_PEERS_PER_INSTANCE: usize = 16;

/// Capacity of [`PEERS_MAP`]: allowed peers of all instances on one interface together (the
/// configuration is checked against it). Without preallocation only the hash buckets, 16 bytes
/// each, are allocated up front; entries as they are added.
pub const MAX_PEERS: u32 = 1024;

/// Size of the [`EVENTS_MAP`] ring buffer in bytes (a power of two, a multiple of the page size).
/// Records are sized to their message, so one advert per VRID in both families (510) takes
/// 39 KB with one address each and 661 KB ([`crate::event::MTU_BURST_BYTES`]) with as many as
/// a 1500-byte MTU holds: 1 MiB keeps the worst burst with 1.6x headroom, and ~25 bursts of
/// typical ones while the daemon is busy.
pub const EVENTS_RING_BYTES: u32 = 1024 * 1024;

const _: () = assert!(
    crate::event::MTU_BURST_BYTES * 3 / 2 <= EVENTS_RING_BYTES as usize,
    "the ring must hold a worst-case burst from 255 VRIDs in both families, with headroom"
);

/// Address family of a virtual router, as stored in [`InstanceKey::family`] and
/// [`crate::event::AdvertEvent::family`].
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AddressFamily {
    /// VRRP over IPv4 (virtual MAC 00:00:5e:00:01:VRID).
    Ipv4 = 4,
    /// VRRP over IPv6 (virtual MAC 00:00:5e:00:02:VRID).
    Ipv6 = 6,
}

impl AddressFamily {
    /// The family stored as `value`, if valid.
    pub const fn from_u8(value: u8) -> Option<Self> {
        match value {
            4 => Some(Self::Ipv4),
            6 => Some(Self::Ipv6),
            _ => None,
        }
    }

    /// Length of one address of this family in bytes.
    #[inline(always)]
    pub const fn address_len(self) -> usize {
        match self {
            Self::Ipv4 => 4,
            Self::Ipv6 => 16,
        }
    }
}

/// Role of a virtual router as the XDP program acts on it (RFC 5798 §6.4).
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Not running: behaves like Backup for frames, every advert goes to the daemon.
    Initialize = 0,
    /// Backup: drop virtual-MAC frames and ARP/NS for the VIPs; absorb routine adverts.
    Backup = 1,
    /// Master: answer ARP/NS for the VIPs with the virtual MAC, accept virtual-MAC frames. With
    /// a stale heartbeat (the daemon died) it stays Master until another router's valid advert
    /// for the VRID arrives; the program then yields: it writes Backup itself.
    Master = 2,
    /// A Master that resigned (priority 0: shutdown or demote) and keeps forwarding: accepts
    /// virtual-MAC frames, but lets no ARP/NS for the VIPs reach the stack, until another
    /// router's valid advert for the VRID arrives (the program writes Backup in that packet) or
    /// the daemon ends it (Master_Down_Interval). Make-before-break switchover.
    Resigning = 3,
}

impl Role {
    /// The role stored as `value`, if valid.
    pub const fn from_u8(value: u8) -> Option<Self> {
        match value {
            0 => Some(Self::Initialize),
            1 => Some(Self::Backup),
            2 => Some(Self::Master),
            3 => Some(Self::Resigning),
            _ => None,
        }
    }
}

/// Key of [`INSTANCES_MAP`] and [`INSTANCE_STATS_MAP`].
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct InstanceKey {
    /// Interface index the program is attached to.
    pub ifindex: u32,
    /// [`AddressFamily`] as `u8`.
    pub family: u8,
    /// Virtual router id, 1..=255.
    pub vrid: u8,
    /// Always 0 (hash keys compare every byte).
    pub _pad: [u8; 2],
}

impl InstanceKey {
    /// The key of virtual router `vrid` in `family` on interface `ifindex`.
    pub const fn new(ifindex: u32, family: AddressFamily, vrid: u8) -> Self {
        Self {
            ifindex,
            family: family as u8,
            vrid,
            _pad: [0; 2],
        }
    }

    /// Index into the per-interface arrays ([`ROLES_MAP`], [`INSTANCE_STATS_MAP`]): IPv4
    /// VRIDs first, then IPv6. Each program instance serves one interface, so the ifindex is
    /// not part of the slot.
    #[inline(always)]
    pub const fn slot(&self) -> u32 {
        slot(self.family == AddressFamily::Ipv6 as u8, self.vrid)
    }
}

/// [`InstanceKey::slot`] from its parts.
#[inline(always)]
pub const fn slot(ipv6: bool, vrid: u8) -> u32 {
    (ipv6 as u32) * 256 + vrid as u32
}

/// Value of [`ROLES_MAP`].
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RoleEntry {
    /// [`Role`] as `u8`; [`Role::Initialize`] (0) also for unconfigured slots.
    pub role: u8,
    /// Always 0.
    pub _pad: [u8; 3],
}

/// Value of [`INSTANCES_MAP`]: what the XDP program needs to know about one virtual router.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Instance {
    /// Current Master's address (network order; IPv4 in the first 4 bytes, rest 0).
    pub master_addr_be: [u8; 16],
    /// Current Master's Max Advertise Interval in centiseconds.
    pub master_interval_cs: u16,
    /// Our virtual MAC (00:00:5e:00:01:VRID or 00:00:5e:00:02:VRID).
    pub vmac: [u8; 6],
    /// [`Role`] as `u8`.
    pub role: u8,
    /// Current Master's priority (what a routine advert must carry).
    pub master_priority: u8,
    /// 1 when packets to the VIPs are accepted while Master (Accept_Mode, or the owner).
    pub accept: u8,
    /// 1 for the address owner (priority 255): the VIPs are the interface's own addresses, so
    /// the program never drops their resolution, Master or not.
    pub owner: u8,
    /// Without a daemon heartbeat for this long (centiseconds) a Master is orphaned: it keeps
    /// acting as Master but yields in the kernel to the first valid advert from another router
    /// (the daemon is not there to decide). Three of its advert intervals, which ends before
    /// any Backup's Master_Down_Interval, so the peer's first advert as Master finds it
    /// orphaned. Per instance (intervals differ on one interface).
    pub heartbeat_timeout_cs: u16,
    /// `vrrp_common::advert::ChecksumStyle` as `u8`: the checksum adverts must carry (IPv4;
    /// IPv6 is always RFC 9568).
    pub checksum_style: u8,
    /// 1 when only the sources listed in [`PEERS_MAP`] for this instance are accepted; the
    /// others are dropped and counted (`peer_not_allowed`).
    pub peers_listed: u8,
    /// `vrrp_common::advert::VersionMode` as `u8`: the VRRP versions adverts may carry (IPv4;
    /// IPv6 is always VRRPv3).
    pub versions: u8,
    /// Always 0.
    pub _pad: u8,
}

impl Instance {
    /// Whether `control`'s heartbeat is older than this instance's timeout at `now_ns`
    /// (CLOCK_MONOTONIC). A record never written (heartbeat 0) is stale.
    #[inline(always)]
    pub const fn heartbeat_stale(&self, control: &Control, now_ns: u64) -> bool {
        now_ns.saturating_sub(control.heartbeat_ns)
            > self.heartbeat_timeout_cs as u64 * NS_PER_CENTISECOND
    }
}

/// Key of [`PEERS_MAP`]: one accepted advert source of one virtual router.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PeerKey {
    /// The virtual router.
    pub instance: InstanceKey,
    /// The peer's address as adverts carry it in the IP source (network order; IPv4 in the
    /// first 4 bytes, rest 0).
    pub addr_be: [u8; 16],
}

/// Value of [`PEERS_MAP`]: the key is what matters.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerEntry {
    /// Always 0.
    pub _reserved: [u8; 4],
}

/// Nanoseconds in a centisecond.
const NS_PER_CENTISECOND: u64 = 10_000_000;

/// Key of [`VIPS4_MAP`].
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Vip4Key {
    /// The virtual IPv4 address, network order.
    pub addr_be: [u8; 4],
}

/// Key of [`VIPS6_MAP`].
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Vip6Key {
    /// The virtual IPv6 address, network order.
    pub addr_be: [u8; 16],
}

/// Value of the VIP maps: which virtual router owns the address.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VipTarget {
    /// Virtual router id; the family is the map's.
    pub vrid: u8,
    /// Always 0.
    pub _pad: [u8; 3],
}

/// Value of [`CONTROL_MAP`] index 0: per-interface state the daemon owns.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Control {
    /// CLOCK_MONOTONIC ns of the daemon's last heartbeat refresh. A Master whose
    /// [`Instance::heartbeat_timeout_cs`] passed since then is orphaned (the daemon died while
    /// the pinned links kept the programs): it yields to another router's advert by itself.
    pub heartbeat_ns: u64,
    /// The interface's own MAC: frames to a virtual MAC are rewritten to it while Master.
    pub if_mac: [u8; 6],
    /// [`CONTRACT_VERSION`] of the daemon that wrote the record; the program ignores it. A
    /// restarted daemon adopts pinned maps and links only from a build with its own version
    /// (0: a build from before adoption, which left this padding zero).
    pub contract_version: u16,
    /// Bit `b` (word `b / 64`, bit `b % 64`) set when some VIP (IPv4 or IPv6) ends in byte `b`:
    /// a filter that spares the VIP lookup to nearly every packet the Accept_Mode check sees.
    pub vip_last_bytes: [u64; 4],
}

impl Control {
    /// Whether an address ending in `last_byte` may be a VIP (no false negatives).
    #[inline(always)]
    pub const fn may_be_vip(&self, last_byte: u8) -> bool {
        self.vip_last_bytes[(last_byte / 64) as usize] & (1 << (last_byte % 64)) != 0
    }

    /// The filter for VIPs whose last bytes are `last_bytes`.
    pub fn vip_filter(last_bytes: impl IntoIterator<Item = u8>) -> [u64; 4] {
        let mut words = [0; 4];
        for byte in last_bytes {
            words[usize::from(byte / 64)] |= 1 << (byte % 64);
        }
        words
    }
}

const _: () = assert!(size_of::<InstanceKey>() == 8);
const _: () = assert!(size_of::<Instance>() == 34);
const _: () = assert!(size_of::<Vip4Key>() == 4);
const _: () = assert!(size_of::<Vip6Key>() == 16);
const _: () = assert!(size_of::<VipTarget>() == 4);
const _: () = assert!(size_of::<Control>() == 48);
const _: () = assert!(size_of::<RoleEntry>() == 4);
const _: () = assert!(size_of::<PeerKey>() == 24);
const _: () = assert!(size_of::<PeerEntry>() == 4);

#[cfg(feature = "user")]
mod pod {
    // SAFETY (all): repr(C), integer and byte-array fields only, padding spelled out as fields.
    unsafe impl aya::Pod for super::InstanceKey {}
    unsafe impl aya::Pod for super::Instance {}
    unsafe impl aya::Pod for super::Vip4Key {}
    unsafe impl aya::Pod for super::Vip6Key {}
    unsafe impl aya::Pod for super::VipTarget {}
    unsafe impl aya::Pod for super::Control {}
    unsafe impl aya::Pod for super::RoleEntry {}
    unsafe impl aya::Pod for super::PeerKey {}
    unsafe impl aya::Pod for super::PeerEntry {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heartbeat_is_stale_only_after_the_instances_timeout() {
        let control = Control {
            heartbeat_ns: 1_000_000_000,
            if_mac: [0; 6],
            contract_version: CONTRACT_VERSION,
            vip_last_bytes: [0; 4],
        };
        let instance = Instance {
            master_addr_be: [0; 16],
            master_interval_cs: 1,
            vmac: [0; 6],
            role: Role::Master as u8,
            master_priority: 255,
            accept: 0,
            owner: 0,
            heartbeat_timeout_cs: 3,
            checksum_style: 0,
            peers_listed: 0,
            versions: 0,
            _pad: 0,
        };
        assert!(!instance.heartbeat_stale(&control, 1_030_000_000));
        assert!(instance.heartbeat_stale(&control, 1_030_000_001));
        // A clock read before the refresh (another CPU) is not stale.
        assert!(!instance.heartbeat_stale(&control, 900_000_000));
    }

    #[test]
    fn the_vip_filter_has_no_false_negatives() {
        let control = Control {
            heartbeat_ns: 0,
            if_mac: [0; 6],
            contract_version: CONTRACT_VERSION,
            vip_last_bytes: Control::vip_filter([0, 63, 64, 100, 255]),
        };
        for byte in 0..=255 {
            assert_eq!(
                control.may_be_vip(byte),
                [0, 63, 64, 100, 255].contains(&byte),
                "{byte}"
            );
        }
    }

    #[test]
    fn slots_are_distinct_per_family_and_vrid() {
        let v4 = InstanceKey::new(3, AddressFamily::Ipv4, 255);
        let v6 = InstanceKey::new(3, AddressFamily::Ipv6, 1);
        assert_eq!(v4.slot(), 255);
        assert_eq!(v6.slot(), 257);
        assert!(InstanceKey::new(3, AddressFamily::Ipv6, 255).slot() < INSTANCE_SLOTS);
    }

    #[test]
    fn stored_enums_round_trip() {
        for role in [
            Role::Initialize,
            Role::Backup,
            Role::Master,
            Role::Resigning,
        ] {
            assert_eq!(Role::from_u8(role as u8), Some(role));
        }
        assert_eq!(Role::from_u8(4), None);
        for family in [AddressFamily::Ipv4, AddressFamily::Ipv6] {
            assert_eq!(AddressFamily::from_u8(family as u8), Some(family));
        }
        assert_eq!(AddressFamily::from_u8(0), None);
    }
}
