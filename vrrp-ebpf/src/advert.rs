//! VRRP adverts (IP protocol 112): validate per RFC 9568 §7.1 with the codec's own header check
//! (`vrrp_common::advert::check_header`), absorb routine ones from the current Master in the
//! kernel, hand everything else to the daemon through the ring buffer. Every advert is dropped
//! here: the daemon learns about them only from us.

use aya_ebpf::{
    bindings::xdp_action,
    helpers::{bpf_ktime_get_coarse_ns, bpf_ktime_get_ns},
};
use vrrp_common::{
    advert::{ChecksumStyle, Discard, MessageChecksum, MessageSums, VersionMode, check_header},
    consts::{
        ETHERNET_HEADER_LEN, IPPROTO_VRRP, IPV4_HEADER_LEN, IPV6_HEADER_LEN, VRRP_HEADER_LEN,
        VRRP_VERSION_2,
    },
    counters::Counter,
    event::{AdvertEvent, MESSAGE_CAPACITY, record_len},
    maps::{AddressFamily, InstanceKey, PeerKey, Role},
    wire::{Ipv4Header, Ipv6Header, VrrpHeader},
};

use crate::{
    checksum::{add_bytes, add_frame, fold},
    instance,
    maps::{XVRRP_EVENTS, XVRRP_INSTANCES, XVRRP_LAST_SEEN, XVRRP_PEERS, XVRRP_SCRATCH},
    parse::{Frame, Malformed, read},
    stats::{count, count_instance},
};

/// Where the VRRP message sits and what the IP header says about it.
struct AdvertIp {
    family: AddressFamily,
    hop_limit: u8,
    /// Offset of the VRRP message in the frame.
    offset: usize,
    /// Length of the IP payload, i.e. of the VRRP message.
    len: usize,
    source: [u8; 16],
    destination: [u8; 16],
}

/// An IPv4 frame with protocol 112.
#[inline(always)]
pub(crate) fn handle_ipv4(ctx: &impl Frame) -> Result<u32, Malformed> {
    let ip = read::<Ipv4Header>(ctx, ETHERNET_HEADER_LEN)?;
    let header_len = ip.header_len();
    let total_len = usize::from(ip.total_length());
    if ip.version() != 4 || header_len < IPV4_HEADER_LEN || total_len < header_len {
        return Err(Malformed);
    }
    let mut source = [0; 16];
    let mut destination = [0; 16];
    source[..4].copy_from_slice(&ip.source);
    destination[..4].copy_from_slice(&ip.destination);
    handle(
        ctx,
        &AdvertIp {
            family: AddressFamily::Ipv4,
            hop_limit: ip.ttl,
            offset: ETHERNET_HEADER_LEN + header_len,
            len: total_len - header_len,
            source,
            destination,
        },
    )
}

/// An IPv6 frame with next header 112 (adverts carry no extension headers).
#[inline(always)]
pub(crate) fn handle_ipv6(ctx: &impl Frame) -> Result<u32, Malformed> {
    let ip = read::<Ipv6Header>(ctx, ETHERNET_HEADER_LEN)?;
    handle(
        ctx,
        &AdvertIp {
            family: AddressFamily::Ipv6,
            hop_limit: ip.hop_limit,
            offset: ETHERNET_HEADER_LEN + IPV6_HEADER_LEN,
            len: usize::from(ip.payload_length()),
            source: ip.source,
            destination: ip.destination,
        },
    )
}

#[inline(always)]
fn drop_as(counter: Counter) -> Result<u32, Malformed> {
    count(counter);
    Ok(xdp_action::XDP_DROP)
}

/// Why [`check_header`] stopped: a discard reason, or our own failure to sum the message.
enum Rejected {
    Discard(Discard),
    Malformed(Malformed),
}

impl From<Discard> for Rejected {
    #[inline(always)]
    fn from(discard: Discard) -> Self {
        Self::Discard(discard)
    }
}

/// The advert's message as it sits in the frame, for [`check_header`]'s checksum.
struct InFrame<'a, C> {
    ctx: &'a C,
    ip: &'a AdvertIp,
}

impl<C: Frame> MessageChecksum for InFrame<'_, C> {
    type Error = Rejected;

    #[inline(always)]
    fn sums(self) -> Result<MessageSums, Rejected> {
        checksum_sums(self.ctx, self.ip).map_err(Rejected::Malformed)
    }
}

#[inline(always)]
fn handle(ctx: &impl Frame, ip: &AdvertIp) -> Result<u32, Malformed> {
    count(Counter::AdvertsReceived);
    // The IP payload must be in the frame and hold the fixed header (the codec's `Truncated`).
    let frame_len = ctx.end() - ctx.start();
    if ip.len < VRRP_HEADER_LEN || ip.offset + ip.len > frame_len {
        return drop_as(Counter::InvalidLength);
    }
    let header = read::<VrrpHeader>(ctx, ip.offset)?;
    let key = instance::key(ctx, ip.family, header.vrid);
    // Looked up before the header check: the instance's checksum style and VRRP versions are
    // part of it. An unconfigured VRID is checked as RFC 9568 VRRPv3 and counted as unknown
    // afterwards (§7.1 order).
    let stored = XVRRP_INSTANCES.get_ptr_mut(key);
    let (style, versions) = match stored {
        // SAFETY: a successful hash lookup; two plain bytes of the value.
        Some(stored) => unsafe {
            (
                ChecksumStyle::from_u8((*stored).checksum_style).unwrap_or(ChecksumStyle::Rfc9568),
                VersionMode::from_u8((*stored).versions).unwrap_or(VersionMode::V3),
            )
        },
        None => (ChecksumStyle::Rfc9568, VersionMode::V3),
    };
    match check_header(
        ip.hop_limit,
        &header,
        ip.len,
        ip.family,
        style,
        versions,
        InFrame { ctx, ip },
    ) {
        Ok(()) => {}
        Err(Rejected::Discard(discard)) => {
            // A VRRPv2 (RFC 3768) router on the link of an instance that speaks only VRRPv3 is
            // a misconfiguration the operator must see: hand its advert to the daemon, which
            // reports it, rather than only counting it.
            if matches!(
                discard,
                Discard::BadVersion {
                    version: VRRP_VERSION_2
                }
            ) && ip.family == AddressFamily::Ipv4
            {
                deliver(ctx, ip, &key);
            }
            // A peer using the other checksum style: the daemon names it and the setting that
            // would interoperate, from a sample.
            if let Discard::ChecksumOtherStyle { .. } = discard
                && stored.is_some()
            {
                count_instance(&key, Counter::ChecksumOtherStyle);
                deliver_sample(ctx, ip, &key, Sample::OtherChecksumStyle);
                return Ok(xdp_action::XDP_DROP);
            }
            return drop_as(discard.counter());
        }
        Err(Rejected::Malformed(malformed)) => return Err(malformed),
    }
    // VRRPv2's seconds in centiseconds (RFC 9568 §8.4): a v2 Master's routine adverts match
    // the signature the daemon publishes for it, so they are absorbed like VRRPv3 ones.
    let interval_cs = header.advert_interval_cs();
    let priority = header.priority;
    let Some(stored) = stored else {
        return drop_as(Counter::UnknownVrid);
    };
    // SAFETY: a successful hash lookup; the fields are plain integers.
    let current = unsafe { *stored };
    // Only listed peers: one more hash lookup, paid only by instances that list peers.
    if current.peers_listed != 0 {
        let peer = PeerKey {
            instance: key,
            addr_be: ip.source,
        };
        if XVRRP_PEERS.get_ptr(peer).is_none() {
            count_instance(&key, Counter::PeerNotAllowed);
            deliver_sample(ctx, ip, &key, Sample::PeerNotAllowed);
            return Ok(xdp_action::XDP_DROP);
        }
    }
    // An orphaned or resigning Master yields to another router in this very packet; the
    // advert still goes to the daemon (a resigning one's is alive and decides the same).
    if instance::yield_to_peer(&key, stored, &current, &ip.source) {
        deliver(ctx, ip, &key);
        return Ok(xdp_action::XDP_DROP);
    }
    // Routine: a Backup hearing the Master it already knows, unchanged. Only the timestamp
    // matters to the daemon (it restarts Master_Down_Timer from it, RFC 5798 §6.4.2), so stamp
    // it in place and never wake userspace.
    if current.role == Role::Backup as u8
        && current.master_priority == priority
        && current.master_interval_cs == interval_cs
        && current.master_addr_be == ip.source
    {
        // The coarse clock (CLOCK_MONOTONIC_COARSE, same timeline, one tick of resolution)
        // costs a few ns where the precise one costs ~40: a tick is far below the 30 ms
        // minimum Master_Down_Interval the stamp feeds.
        if let Some(stamp) = XVRRP_LAST_SEEN.get_ptr_mut(key.slot()) {
            // SAFETY: in-place write of one aligned u64 of an array element; a torn read by the
            // daemon is impossible for an aligned 8-byte store.
            unsafe { *stamp = bpf_ktime_get_coarse_ns() };
        }
        count_instance(&key, Counter::AdvertsAbsorbed);
        return Ok(xdp_action::XDP_DROP);
    }
    deliver(ctx, ip, &key);
    Ok(xdp_action::XDP_DROP)
}

/// RFC 9568 §5.2.8: the sums of the IPv4 / IPv6 pseudo-header and of the VRRP message, field
/// included, apart (`check_header` verifies them in the instance's style). `check_header` has
/// bounded `ip.len` (8 + 4n or 8 + 16n, n <= 255) before this reads the frame.
#[inline(always)]
fn checksum_sums(ctx: &impl Frame, ip: &AdvertIp) -> Result<MessageSums, Malformed> {
    // Upper-layer length and protocol, as the pseudo-header carries them (RFC 8200 §8.1 for
    // IPv6; the IPv4 layout sums the same).
    let sum = ip.len as u64 + u64::from(IPPROTO_VRRP);
    let pseudo_header = match ip.family {
        AddressFamily::Ipv4 => {
            let mut addresses = [0; 8];
            addresses[..4].copy_from_slice(&ip.source[..4]);
            addresses[4..].copy_from_slice(&ip.destination[..4]);
            add_bytes(sum, &addresses)
        }
        AddressFamily::Ipv6 => add_bytes(add_bytes(sum, &ip.source), &ip.destination),
    };
    // Common sizes (one or two addresses; 20 is VRRPv2 with one) are summed straight from the frame: a constant-size
    // read is far cheaper than copying into the scratch buffer and calling the helper.
    let message = match ip.len {
        12 => add_exact::<12>(ctx, 0, ip.offset)?,
        16 => add_exact::<16>(ctx, 0, ip.offset)?,
        20 => add_exact::<20>(ctx, 0, ip.offset)?,
        24 => add_exact::<24>(ctx, 0, ip.offset)?,
        40 => add_exact::<40>(ctx, 0, ip.offset)?,
        _ => add_frame(ctx, 0, ip.offset, ip.len)?,
    };
    Ok(MessageSums {
        pseudo_header: fold(pseudo_header),
        message: fold(message),
    })
}

/// Adds the `N` frame bytes at `offset` to `sum`.
#[inline(always)]
fn add_exact<const N: usize>(ctx: &impl Frame, sum: u64, offset: usize) -> Result<u64, Malformed> {
    Ok(add_bytes(sum, &read::<[u8; N]>(ctx, offset)?))
}

/// Least time between two "ring buffer full" log lines of one CPU: a burst from 255 VRIDs
/// must not flood the log ring too (`ringbuf_full` counts every loss).
const RING_FULL_LOG_INTERVAL_NS: u64 = 1_000_000_000;

/// Least time between two sampled discarded adverts of one kind from one CPU: the daemon needs
/// one to name the peer (its warning is rate-limited per peer anyway); the counters count all.
const SAMPLE_INTERVAL_NS: u64 = 1_000_000_000;

/// Discarded adverts the daemon sees a sample of.
#[derive(Clone, Copy)]
enum Sample {
    /// The checksum verifies only in the style the instance does not accept.
    OtherChecksumStyle,
    /// The source is not among the instance's listed peers.
    PeerNotAllowed,
}

/// [`deliver`], at most once per [`SAMPLE_INTERVAL_NS`] per CPU and kind of sample.
#[inline(always)]
fn deliver_sample(ctx: &impl Frame, ip: &AdvertIp, key: &InstanceKey, sample: Sample) {
    let Some(scratch) = XVRRP_SCRATCH.get_ptr_mut(0) else {
        return;
    };
    // SAFETY: bpf_ktime_get_ns has no preconditions; `scratch` is this CPU's Scratch.
    unsafe {
        let now = bpf_ktime_get_ns();
        let last = match sample {
            Sample::OtherChecksumStyle => &mut (*scratch).other_style_sampled_ns,
            Sample::PeerNotAllowed => &mut (*scratch).peer_refused_sampled_ns,
        };
        if now.saturating_sub(*last) < SAMPLE_INTERVAL_NS {
            return;
        }
        *last = now;
    }
    deliver(ctx, ip, key);
}

/// Copies the advert to the ring buffer for the daemon, in a record sized to the message
/// (staged in the per-CPU scratch, then `bpf_ringbuf_output` at its real length); a full ring
/// is counted.
#[inline(always)]
fn deliver(ctx: &impl Frame, ip: &AdvertIp, key: &InstanceKey) {
    let Some(scratch) = XVRRP_SCRATCH.get_ptr_mut(0) else {
        return;
    };
    // LLVM may know bounds the verifier lost on the way: launder the length through a volatile
    // stack slot so the check below stays in the program and bounds both copies.
    // SAFETY: a read of a local we own.
    let len = unsafe { core::ptr::read_volatile(&ip.len) };
    if len == 0 || len > MESSAGE_CAPACITY {
        return;
    }
    // SAFETY: `scratch` is this CPU's Scratch; the message copy stays inside `message`
    // (len <= MESSAGE_CAPACITY) and the output reads the event and the first `len` message
    // bytes, which follow it directly.
    let result = unsafe {
        (*scratch).event = AdvertEvent {
            received_ns: bpf_ktime_get_ns(),
            ifindex: key.ifindex,
            family: key.family,
            _pad: 0,
            message_len: len as u16,
            source_be: ip.source,
            destination_be: ip.destination,
        };
        let copied = ctx.load_bytes(ip.offset, (*scratch).message.as_mut_ptr().cast(), len);
        if copied != 0 {
            return;
        }
        let record = core::slice::from_raw_parts(scratch.cast::<u8>(), record_len(len));
        XVRRP_EVENTS.output_untyped::<[u8]>(record, 0)
    };
    if result.is_ok() {
        count_instance(key, Counter::AdvertsToUserspace);
        return;
    }
    count_instance(key, Counter::RingBufFull);
    // SAFETY: bpf_ktime_get_ns has no preconditions; `scratch` as above.
    unsafe {
        let now = bpf_ktime_get_ns();
        if now.saturating_sub((*scratch).ring_full_logged_ns) >= RING_FULL_LOG_INTERVAL_NS {
            (*scratch).ring_full_logged_ns = now;
            // Rare (the daemon stopped reading) and worth a line in its log.
            aya_log_ebpf::warn!(
                ctx,
                "advert ring buffer full: advert for VRID {} lost (ringbuf_full counts all)",
                key.vrid
            );
        }
    }
}
