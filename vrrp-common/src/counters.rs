//! Per-CPU counters the XDP program keeps, globally and per virtual router, indexed by
//! [`Counter`]. The names are stable: they are the export names of logs, metrics and the CLI.

/// Index of a counter, both in the global per-CPU stats array and in each
/// [`InstanceCounters`] record.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counter {
    /// VRRP (protocol 112) packets that reached the advert path.
    AdvertsReceived = 0,
    /// Routine adverts from the current Master absorbed in the kernel (last-seen stamped).
    AdvertsAbsorbed = 1,
    /// Adverts copied to the daemon through the ring buffer.
    AdvertsToUserspace = 2,
    /// Discarded: IPv4 TTL / IPv6 hop limit not 255 (RFC 5798 §5.1.1.3, §5.1.2.3).
    InvalidTtl = 3,
    /// Discarded: a VRRP version the instance does not speak (RFC 9568 §7.1; version 3, or 2
    /// too with `version = 2 | "2+3"`).
    InvalidVersion = 4,
    /// Discarded: VRRP type not 1 = ADVERTISEMENT (RFC 9568 §7.1).
    InvalidType = 5,
    /// Discarded: message shorter than fixed part + count addresses, or count 0
    /// (RFC 5798 §7.1, RFC 9568 §5.2.5).
    InvalidLength = 6,
    /// Discarded: bad VRRP checksum over the pseudo-header (RFC 5798 §5.2.8).
    InvalidChecksum = 7,
    /// Discarded: the VRID is not configured on this interface (RFC 5798 §7.1).
    UnknownVrid = 8,
    /// Discarded: Max Advertise Interval 0 (RFC 9568 §7.1).
    ZeroInterval = 9,
    /// Frames to a virtual MAC dropped because we are not (or no longer safely) Master
    /// (RFC 5798 §6.4.2).
    VmacDroppedBackup = 10,
    /// Frames to a virtual MAC accepted while Master (destination rewritten to the NIC's MAC).
    VmacAcceptedMaster = 11,
    /// IP packets to a VIP dropped by a Master without Accept_Mode (RFC 9568 §6.4.3).
    VipDroppedNoAccept = 12,
    /// ARP requests / Neighbor Solicitations for a VIP dropped while not Master (RFC 5798 §6.4.2).
    ResolutionDroppedBackup = 13,
    /// ARP replies for a VIP leaving with the virtual MAC (RFC 5798 §6.4.3): the stack's answer,
    /// stamped by the egress program.
    ArpReplies = 14,
    /// Neighbor Advertisements for a VIP leaving with the virtual MAC (RFC 5798 §6.4.3): the
    /// stack's answer, stamped by the egress program.
    NaReplies = 15,
    /// Rare-path frames (virtual MAC, ARP/NS for a VIP) handled by an orphaned Master: the
    /// daemon's heartbeat is stale and no other router has advertised since.
    HeartbeatStale = 16,
    /// Adverts lost because the ring buffer was full.
    RingBufFull = 17,
    /// Frames our parser could not handle; passed to the stack (fail-open).
    ParseErrors = 18,
    /// ARP requests / Neighbor Solicitations for a VIP passed to the stack by a Master, which
    /// answers them (the egress program puts the virtual MAC on the answer).
    ResolutionPassedMaster = 19,
    /// Discarded: an IPv4 checksum that verifies only in the style the instance does not
    /// accept (with or without the pseudo-header; `ipv4_checksum`, docs/INTEROP.md).
    ChecksumOtherStyle = 20,
    /// Discarded: the source is not among the instance's `allowed_peers`.
    PeerNotAllowed = 21,
    /// Discarded: a VRRPv2 advert with an auth type other than 0 (RFC 3768 §5.3.6, §7.1).
    AuthTypeMismatch = 22,
    /// An orphaned (stale heartbeat) or resigning Master received a valid advert from another
    /// router for its VRID and became Backup in the kernel, in that packet.
    OrphanYielded = 23,
}

impl Counter {
    /// Number of counters: the length of the stats array and of [`InstanceCounters`].
    pub const COUNT: u32 = 24;

    /// All counters in index order, for export.
    pub const ALL: [Counter; Self::COUNT as usize] = [
        Counter::AdvertsReceived,
        Counter::AdvertsAbsorbed,
        Counter::AdvertsToUserspace,
        Counter::InvalidTtl,
        Counter::InvalidVersion,
        Counter::InvalidType,
        Counter::InvalidLength,
        Counter::InvalidChecksum,
        Counter::UnknownVrid,
        Counter::ZeroInterval,
        Counter::VmacDroppedBackup,
        Counter::VmacAcceptedMaster,
        Counter::VipDroppedNoAccept,
        Counter::ResolutionDroppedBackup,
        Counter::ArpReplies,
        Counter::NaReplies,
        Counter::HeartbeatStale,
        Counter::RingBufFull,
        Counter::ParseErrors,
        Counter::ResolutionPassedMaster,
        Counter::ChecksumOtherStyle,
        Counter::PeerNotAllowed,
        Counter::AuthTypeMismatch,
        Counter::OrphanYielded,
    ];

    /// Stable name for logs, metrics and the CLI.
    pub const fn name(self) -> &'static str {
        match self {
            Counter::AdvertsReceived => "adverts_received",
            Counter::AdvertsAbsorbed => "adverts_absorbed",
            Counter::AdvertsToUserspace => "adverts_to_userspace",
            Counter::InvalidTtl => "invalid_ttl",
            Counter::InvalidVersion => "invalid_version",
            Counter::InvalidType => "invalid_type",
            Counter::InvalidLength => "invalid_length",
            Counter::InvalidChecksum => "invalid_checksum",
            Counter::UnknownVrid => "unknown_vrid",
            Counter::ZeroInterval => "zero_interval",
            Counter::VmacDroppedBackup => "vmac_dropped_backup",
            Counter::VmacAcceptedMaster => "vmac_accepted_master",
            Counter::VipDroppedNoAccept => "vip_dropped_no_accept",
            Counter::ResolutionDroppedBackup => "resolution_dropped_backup",
            Counter::ArpReplies => "arp_replies",
            Counter::NaReplies => "na_replies",
            Counter::HeartbeatStale => "heartbeat_stale",
            Counter::RingBufFull => "ringbuf_full",
            Counter::ParseErrors => "parse_errors",
            Counter::ResolutionPassedMaster => "resolution_passed_master",
            Counter::ChecksumOtherStyle => "checksum_other_style",
            Counter::PeerNotAllowed => "peer_not_allowed",
            Counter::AuthTypeMismatch => "auth_type_mismatch",
            Counter::OrphanYielded => "orphan_yielded",
        }
    }
}

/// One virtual router's counters on one CPU, indexed by [`Counter`] (value type of
/// [`crate::maps::INSTANCE_STATS_MAP`]). Only counters attributable to a configured virtual
/// router move here (invalid adverts, parse errors and the advert total stay global).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InstanceCounters {
    /// Values in [`Counter`] index order.
    pub by_counter: [u64; Counter::COUNT as usize],
}

impl InstanceCounters {
    /// All zeros: what userspace writes when it removes an instance.
    pub const ZERO: Self = Self {
        by_counter: [0; Counter::COUNT as usize],
    };
}

#[cfg(feature = "user")]
// SAFETY: repr(C), only u64s, no padding.
unsafe impl aya::Pod for InstanceCounters {}

#[cfg(test)]
mod tests {
    use super::Counter;

    #[test]
    fn all_lists_every_counter_at_its_index() {
        for (index, counter) in Counter::ALL.iter().enumerate() {
            assert_eq!(*counter as usize, index, "{}", counter.name());
        }
    }

    #[test]
    fn names_are_unique() {
        for (i, a) in Counter::ALL.iter().enumerate() {
            for b in &Counter::ALL[i + 1..] {
                assert_ne!(a.name(), b.name());
            }
        }
    }
}
