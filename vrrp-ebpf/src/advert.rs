//! VRRP adverts (IP protocol 112): validate per RFC 5798 §7.1, absorb routine ones from the
//! current Master in the kernel, hand everything else to the daemon through the ring buffer.
//! Every advert is dropped here: the daemon learns about them only from us.

use aya_ebpf::{
    bindings::xdp_action,
    helpers::{bpf_ktime_get_coarse_ns, bpf_ktime_get_ns},
};
use vrrp_common::{
    consts::{
        ETHERNET_HEADER_LEN, IPPROTO_VRRP, IPV4_HEADER_LEN, IPV6_HEADER_LEN, VRRP_HEADER_LEN,
        VRRP_TTL, VRRP_TYPE_ADVERTISEMENT, VRRP_VERSION_2, VRRP_VERSION_3,
    },
    counters::Counter,
    event::MESSAGE_CAPACITY,
    maps::{AddressFamily, Role},
    wire::{Ipv4Header, Ipv6Header, VrrpHeader},
};

use crate::{
    checksum::{add_bytes, add_frame, fold},
    instance,
    maps::{XVRRP_EVENTS, XVRRP_INSTANCES},
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

#[inline(always)]
fn handle(ctx: &impl Frame, ip: &AdvertIp) -> Result<u32, Malformed> {
    count(Counter::AdvertsReceived);
    // RFC 5798 §7.1, in its order: TTL, version, (type), length, checksum, VRID.
    if ip.hop_limit != VRRP_TTL {
        return drop_as(Counter::InvalidTtl);
    }
    let Ok(header) = read::<VrrpHeader>(ctx, ip.offset) else {
        return drop_as(Counter::InvalidLength);
    };
    if header.version() != VRRP_VERSION_3 {
        // A VRRPv2 (RFC 3768) router on the link is a misconfiguration the operator must see:
        // hand its advert to the daemon, which reports it, rather than only counting it.
        let frame_len = ctx.end() - ctx.start();
        if header.version() == VRRP_VERSION_2
            && ip.family == AddressFamily::Ipv4
            && ip.len >= VRRP_HEADER_LEN
            && ip.len <= MESSAGE_CAPACITY
            && ip.offset + ip.len <= frame_len
        {
            deliver(ctx, ip, &instance::key(ctx, ip.family, header.vrid));
        }
        return drop_as(Counter::InvalidVersion);
    }
    // RFC 9568 §7.1: the only type is 1, ADVERTISEMENT.
    if header.kind() != VRRP_TYPE_ADVERTISEMENT {
        return drop_as(Counter::InvalidType);
    }
    let address_len = match ip.family {
        AddressFamily::Ipv4 => 4,
        AddressFamily::Ipv6 => 16,
    };
    let address_count = usize::from(header.address_count);
    // RFC 9568 §5.2.5 (erratum 8299): count 0 is ignored. The IP payload must hold the whole
    // message, and the frame the whole payload. Well-formed messages are 8 + 4n or 8 + 16n
    // bytes; other lengths are rejected too (the checksum is summed 4 bytes at a time).
    let frame_len = ctx.end() - ctx.start();
    if address_count == 0
        || ip.len < VRRP_HEADER_LEN + address_count * address_len
        || ip.len > MESSAGE_CAPACITY
        || !ip.len.is_multiple_of(4)
        || ip.offset + ip.len > frame_len
    {
        return drop_as(Counter::InvalidLength);
    }
    let interval_cs = header.max_advert_interval();
    // RFC 9568 §7.1 (erratum 8301).
    if interval_cs == 0 {
        return drop_as(Counter::ZeroInterval);
    }
    if !checksum_valid(ctx, ip)? {
        return drop_as(Counter::InvalidChecksum);
    }
    let vrid = header.vrid;
    let priority = header.priority;
    let key = instance::key(ctx, ip.family, vrid);
    let Some(stored) = XVRRP_INSTANCES.get_ptr_mut(key) else {
        return drop_as(Counter::UnknownVrid);
    };
    // SAFETY: a successful hash lookup; the fields are plain integers.
    let current = unsafe { *stored };
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
        // SAFETY: in-place write of one aligned u64 of the looked-up value; a torn read by the
        // daemon is impossible for an aligned 8-byte store.
        unsafe { (*stored).master_last_seen_ns = bpf_ktime_get_coarse_ns() };
        count_instance(&key, Counter::AdvertsAbsorbed);
        return Ok(xdp_action::XDP_DROP);
    }
    deliver(ctx, ip, &key);
    Ok(xdp_action::XDP_DROP)
}

/// RFC 5798 §5.2.8: the checksum covers the VRRP message and the IPv4 / IPv6 pseudo-header.
#[inline(always)]
fn checksum_valid(ctx: &impl Frame, ip: &AdvertIp) -> Result<bool, Malformed> {
    // Upper-layer length and protocol, as the pseudo-header carries them (RFC 8200 §8.1 for
    // IPv6; the IPv4 layout sums the same).
    let mut sum = ip.len as u64 + u64::from(IPPROTO_VRRP);
    sum = match ip.family {
        AddressFamily::Ipv4 => {
            let mut addresses = [0; 8];
            addresses[..4].copy_from_slice(&ip.source[..4]);
            addresses[4..].copy_from_slice(&ip.destination[..4]);
            add_bytes(sum, &addresses)
        }
        AddressFamily::Ipv6 => add_bytes(add_bytes(sum, &ip.source), &ip.destination),
    };
    // Common sizes (one or two addresses) are summed straight from the frame: a constant-size
    // read is far cheaper than copying into the scratch buffer and calling the helper.
    let sum = match ip.len {
        12 => add_exact::<12>(ctx, sum, ip.offset)?,
        16 => add_exact::<16>(ctx, sum, ip.offset)?,
        24 => add_exact::<24>(ctx, sum, ip.offset)?,
        40 => add_exact::<40>(ctx, sum, ip.offset)?,
        _ => add_frame(ctx, sum, ip.offset, ip.len)?,
    };
    Ok(fold(sum) == 0xffff)
}

/// Adds the `N` frame bytes at `offset` to `sum`.
#[inline(always)]
fn add_exact<const N: usize>(ctx: &impl Frame, sum: u64, offset: usize) -> Result<u64, Malformed> {
    Ok(add_bytes(sum, &read::<[u8; N]>(ctx, offset)?))
}

/// Copies the advert to the ring buffer for the daemon; a full ring is counted.
#[inline(always)]
fn deliver(ctx: &impl Frame, ip: &AdvertIp, key: &vrrp_common::maps::InstanceKey) {
    let Some(mut entry) = XVRRP_EVENTS.reserve(0) else {
        count_instance(key, Counter::RingBufFull);
        // Rare (the daemon stopped reading) and worth a line in its log.
        aya_log_ebpf::warn!(
            ctx,
            "advert ring buffer full: advert for VRID {} lost",
            key.vrid
        );
        return;
    };
    let event = entry.as_mut_ptr();
    // Re-checked here so the verifier sees the bound on the copy length.
    let len = ip.len;
    if len == 0 || len > MESSAGE_CAPACITY {
        entry.discard(0);
        return;
    }
    // SAFETY: `event` points to a reserved, writable AdvertEvent; fields are written before
    // submit and the copy stays inside `message` (len <= MESSAGE_CAPACITY).
    let copied = unsafe {
        (*event).received_ns = bpf_ktime_get_ns();
        (*event).ifindex = key.ifindex;
        (*event).family = key.family;
        (*event)._pad = 0;
        (*event).message_len = len as u16;
        (*event).source_be = ip.source;
        (*event).destination_be = ip.destination;
        ctx.load_bytes(ip.offset, (*event).message.as_mut_ptr().cast(), len)
    };
    if copied != 0 {
        entry.discard(0);
        return;
    }
    entry.submit(0);
    count_instance(key, Counter::AdvertsToUserspace);
}
