//! The ring-buffer record the XDP program sends to the daemon for every advert it does not
//! absorb (new or different Master, priority or interval change, anything while Master or
//! Initialize). It carries the raw VRRP message, not a parsed form: the daemon decodes it again
//! with the codec, so there is one decoder.
//!
//! A record is an [`AdvertEvent`] followed by exactly `message_len` message bytes
//! ([`record_len`]): sized to the message, so a burst of small adverts from 255 VRIDs in both
//! families fits the ring many times over (see [`crate::maps::EVENTS_RING_BYTES`]).

use crate::consts::{MAX_ADDRESSES_V4, MAX_ADDRESSES_V6, VRRP_HEADER_LEN};

/// Longest VRRP message we deliver: the 8-byte fixed part plus 255 IPv6 addresses
/// (RFC 9568 §5.2.5: Count IPvX Addr is 8 bits).
pub const MESSAGE_CAPACITY: usize = VRRP_HEADER_LEN + 255 * 16;

/// The fixed part of every record (value type of [`crate::maps::EVENTS_MAP`]); the message
/// follows it in the same record.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AdvertEvent {
    /// CLOCK_MONOTONIC ns (`bpf_ktime_get_ns`) when the XDP program saw the frame.
    pub received_ns: u64,
    /// Interface the advert arrived on.
    pub ifindex: u32,
    /// [`crate::maps::AddressFamily`] as `u8`.
    pub family: u8,
    /// Always 0.
    pub _pad: u8,
    /// Bytes of VRRP message after this header (the IP payload), at most [`MESSAGE_CAPACITY`].
    pub message_len: u16,
    /// Source address of the IP packet (network order; IPv4 in the first 4 bytes).
    pub source_be: [u8; 16],
    /// Destination address of the IP packet (network order; IPv4 in the first 4 bytes), needed
    /// for the checksum pseudo-header.
    pub destination_be: [u8; 16],
}

/// Length of the record carrying a message of `message_len` bytes.
pub const fn record_len(message_len: usize) -> usize {
    size_of::<AdvertEvent>() + message_len
}

/// Ring-buffer bytes one record of `message_len` bytes occupies: the kernel's 8-byte record
/// header plus the record rounded up to 8 bytes.
pub const fn ring_footprint(message_len: usize) -> usize {
    8 + record_len(message_len).next_multiple_of(8)
}

/// Ring-buffer bytes a burst of one advert per VRID in both families takes when every advert
/// carries as many addresses as a 1500-byte MTU allows (255 IPv4, 90 IPv6): the worst case the
/// ring is sized for.
pub const MTU_BURST_BYTES: usize = 255
    * (ring_footprint(VRRP_HEADER_LEN + MAX_ADDRESSES_V4 * 4)
        + ring_footprint(VRRP_HEADER_LEN + MAX_ADDRESSES_V6 * 16));

const _: () = assert!(size_of::<AdvertEvent>() == 48);
const _: () = assert!(MESSAGE_CAPACITY <= u16::MAX as usize);
// 255 × (1088 + 1504) bytes.
const _: () = assert!(MTU_BURST_BYTES == 660_960);

#[cfg(feature = "user")]
// SAFETY: repr(C), integer and byte-array fields only, padding spelled out as a field.
unsafe impl aya::Pod for AdvertEvent {}
