//! The ring-buffer record the XDP program sends to the daemon for every advert it does not
//! absorb (new or different Master, priority or interval change, anything while Master or
//! Initialize). It carries the raw VRRP message, not a parsed form: the daemon decodes it again
//! with the codec, so there is one decoder.

/// Longest VRRP message we deliver: the 8-byte fixed part plus 255 IPv6 addresses
/// (RFC 5798 §5.2: Count IPvX Addr is 8 bits).
pub const MESSAGE_CAPACITY: usize = 8 + 255 * 16;

/// One received advert (value of [`crate::maps::EVENTS_MAP`]).
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
    /// Valid bytes in `message` (the VRRP message as bounded by the IP payload length).
    pub message_len: u16,
    /// Source address of the IP packet (network order; IPv4 in the first 4 bytes).
    pub source_be: [u8; 16],
    /// Destination address of the IP packet (network order; IPv4 in the first 4 bytes), needed
    /// for the checksum pseudo-header.
    pub destination_be: [u8; 16],
    /// The VRRP message (header and addresses); bytes past `message_len` are unspecified.
    pub message: [u8; MESSAGE_CAPACITY],
}

impl AdvertEvent {
    /// The valid part of the message.
    pub fn message(&self) -> &[u8] {
        &self.message[..usize::from(self.message_len).min(MESSAGE_CAPACITY)]
    }
}

const _: () = assert!(size_of::<AdvertEvent>() == 48 + MESSAGE_CAPACITY);
const _: () = assert!(MESSAGE_CAPACITY <= u16::MAX as usize);

#[cfg(feature = "user")]
// SAFETY: repr(C), integer and byte-array fields only, padding spelled out as a field.
unsafe impl aya::Pod for AdvertEvent {}
