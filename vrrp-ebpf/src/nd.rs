//! Neighbor Solicitations for a VIP (RFC 5798 §6.4.3, §8.2.2): the Master answers with a
//! Neighbor Advertisement built in place (Router flag, target link-layer address = virtual MAC)
//! and sent out of the same port (XDP_TX); a Backup must not answer (§6.4.2).
//!
//! Override flag: set. RFC 4861 §7.2.4 says it SHOULD be set unless the target is anycast or
//! proxied, and a VIP is neither; with O=1 a host that cached another router's MAC for the VIP
//! (the previous Master) switches to the virtual MAC at once. RFC 5798 §8.2.2 only adds the
//! Router flag. The layout matches the codec's unsolicited NA (`vrrp_common::frames`).

use aya_ebpf::{bindings::xdp_action, helpers::bpf_xdp_adjust_tail, programs::XdpContext};
use vrrp_common::{
    consts::{
        ALL_NODES_MAC_V6, ALL_NODES_V6, ETHERNET_HEADER_LEN, ETHERTYPE_IPV6, IPPROTO_ICMPV6,
        IPV6_HEADER_LEN,
    },
    counters::Counter,
    maps::{AddressFamily, Vip6Key},
    wire::{
        EthernetHeader, ICMPV6_NEIGHBOR_ADVERTISEMENT, ICMPV6_NEIGHBOR_SOLICITATION, Icmpv6Header,
        Ipv6Header, LinkLayerAddressOption, NA_FLAG_OVERRIDE, NA_FLAG_ROUTER, NA_FLAG_SOLICITED,
        ND_OPTION_TARGET_LINK_LAYER, NeighborMessage,
    },
};

use crate::{
    checksum::{add_bytes, fold},
    instance,
    maps::XVRRP_VIPS6,
    parse::{Malformed, read, read_u8, write},
    stats::count_instance,
};

/// Offset of the ICMPv6 message.
const ICMP: usize = ETHERNET_HEADER_LEN + IPV6_HEADER_LEN;
/// Offset of the NS/NA body (flags, target) after the ICMPv6 header.
const BODY: usize = ICMP + size_of::<Icmpv6Header>();
/// Offset of the option in our NA.
const OPTION: usize = BODY + size_of::<NeighborMessage>();
/// ICMPv6 part of our NA: header, flags and target, one TLLA option.
const NA_LEN: usize = OPTION + size_of::<LinkLayerAddressOption>() - ICMP;
/// NS/NA must arrive with hop limit 255 (RFC 4861 §7.1.1), and we send ours with it.
const ND_HOP_LIMIT: u8 = 255;
/// Version 6, traffic class 0, flow label 0, as the Linux ND code sends.
const IPV6_VERSION_ONLY: [u8; 4] = [0x60, 0, 0, 0];

/// Whether an ICMPv6 type is Neighbor Discovery's NS or NA (RFC 9568 §6.1: never dropped for
/// lack of Accept_Mode).
#[inline(always)]
pub(crate) fn is_neighbor_discovery(icmp_type: u8) -> bool {
    icmp_type == ICMPV6_NEIGHBOR_SOLICITATION || icmp_type == ICMPV6_NEIGHBOR_ADVERTISEMENT
}

/// `Some(action)` when the frame (IPv6, next header ICMPv6) is an NS for one of our VIPs,
/// `None` to let the caller continue.
#[inline(always)]
pub(crate) fn handle(ctx: &XdpContext) -> Result<Option<u32>, Malformed> {
    if read_u8(ctx, ICMP)? != ICMPV6_NEIGHBOR_SOLICITATION {
        return Ok(None);
    }
    let eth = read::<EthernetHeader>(ctx, 0)?;
    let ip = read::<Ipv6Header>(ctx, ETHERNET_HEADER_LEN)?;
    let icmp = read::<Icmpv6Header>(ctx, ICMP)?;
    let solicitation = read::<NeighborMessage>(ctx, BODY)?;
    // An invalid NS (RFC 4861 §7.1.1) is the stack's to discard.
    if ip.hop_limit != ND_HOP_LIMIT || icmp.code != 0 {
        return Ok(None);
    }
    let target = solicitation.target;
    let Some(vip) = XVRRP_VIPS6.get_ptr(Vip6Key { addr_be: target }) else {
        return Ok(None);
    };
    // SAFETY: a successful lookup of a plain-integer value.
    let vrid = unsafe { (*vip).vrid };
    let key = instance::key(ctx, AddressFamily::Ipv6, vrid);
    let Some(config) = instance::lookup(&key) else {
        return Ok(None);
    };
    if instance::acting_master(&key, &config).is_none() {
        count_instance(&key, Counter::ResolutionDroppedBackup);
        return Ok(Some(xdp_action::XDP_DROP));
    }
    // RFC 4861 §7.2.4: a DAD probe (unspecified source) is answered to all-nodes, unsolicited.
    let (destination, destination_mac, flags) = if ip.source == [0; 16] {
        (
            ALL_NODES_V6.octets(),
            ALL_NODES_MAC_V6,
            NA_FLAG_ROUTER | NA_FLAG_OVERRIDE,
        )
    } else {
        (
            ip.source,
            eth.source,
            NA_FLAG_ROUTER | NA_FLAG_SOLICITED | NA_FLAG_OVERRIDE,
        )
    };
    // The NS may be shorter (no option) or longer (more options) than our NA.
    let frame_len = (ctx.data_end() - ctx.data()) as i32;
    let delta = (ICMP + NA_LEN) as i32 - frame_len;
    // SAFETY: the context pointer is the one the kernel gave us; every access after this goes
    // through the bounds checks again.
    if delta != 0 && unsafe { bpf_xdp_adjust_tail(ctx.ctx, delta) } != 0 {
        return Err(Malformed);
    }
    write(
        ctx,
        0,
        EthernetHeader {
            destination: destination_mac,
            source: config.vmac,
            ethertype_be: ETHERTYPE_IPV6.to_be_bytes(),
        },
    )?;
    write(
        ctx,
        ETHERNET_HEADER_LEN,
        Ipv6Header {
            version_class_flow_be: IPV6_VERSION_ONLY,
            payload_length_be: (NA_LEN as u16).to_be_bytes(),
            next_header: IPPROTO_ICMPV6,
            hop_limit: ND_HOP_LIMIT,
            source: target,
            destination,
        },
    )?;
    write(
        ctx,
        BODY,
        NeighborMessage {
            flags_reserved: [flags, 0, 0, 0],
            target,
        },
    )?;
    write(
        ctx,
        OPTION,
        LinkLayerAddressOption {
            kind: ND_OPTION_TARGET_LINK_LAYER,
            length_units: 1,
            address: config.vmac,
        },
    )?;
    // RFC 4443 §2.3: checksum over the pseudo-header (addresses, length, next header) and the
    // message, computed with the checksum field zero.
    write(
        ctx,
        ICMP,
        Icmpv6Header {
            kind: ICMPV6_NEIGHBOR_ADVERTISEMENT,
            code: 0,
            checksum_be: [0; 2],
        },
    )?;
    let pseudo = add_bytes(
        add_bytes(NA_LEN as u64 + u64::from(IPPROTO_ICMPV6), &target),
        &destination,
    );
    let checksum = !fold(add_bytes(pseudo, &read::<[u8; NA_LEN]>(ctx, ICMP)?));
    write(
        ctx,
        ICMP + core::mem::offset_of!(Icmpv6Header, checksum_be),
        checksum.to_be_bytes(),
    )?;
    count_instance(&key, Counter::NaReplies);
    Ok(Some(xdp_action::XDP_TX))
}
