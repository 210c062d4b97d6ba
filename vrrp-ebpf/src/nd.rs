//! Neighbor Solicitations for a VIP (RFC 5798 §6.4.3, §8.2.2): the Master answers with a
//! Neighbor Advertisement built in place (Router flag, target link-layer address = virtual MAC)
//! and sent out of the same port (XDP_TX); a Backup must not answer (§6.4.2).
//!
//! Override flag: set. RFC 4861 §7.2.4 says it SHOULD be set unless the target is anycast or
//! proxied, and a VIP is neither; with O=1 a host that cached another router's MAC for the VIP
//! (the previous Master) switches to the virtual MAC at once. RFC 5798 §8.2.2 only adds the
//! Router flag.

use aya_ebpf::{bindings::xdp_action, helpers::bpf_xdp_adjust_tail, programs::XdpContext};
use vrrp_common::{
    counters::Counter,
    maps::{AddressFamily, Vip6Key},
};

use crate::{
    checksum::{add_bytes, fold},
    instance,
    maps::XVRRP_VIPS6,
    parse::{ETH_LEN, ETH_SRC, IPPROTO_ICMPV6, IPV6_LEN, Malformed, read, read_u8, write},
    stats::count_instance,
};

/// ICMPv6 type of a Neighbor Solicitation (RFC 4861 §4.3).
pub(crate) const NEIGHBOR_SOLICITATION: u8 = 135;
/// ICMPv6 type of a Neighbor Advertisement (RFC 4861 §4.4).
pub(crate) const NEIGHBOR_ADVERTISEMENT: u8 = 136;
/// NA flags: Router, Solicited, Override (RFC 4861 §4.4).
const FLAG_ROUTER: u8 = 0x80;
const FLAG_SOLICITED: u8 = 0x40;
const FLAG_OVERRIDE: u8 = 0x20;
/// Target Link-Layer Address option type (RFC 4861 §4.6.1), length in units of 8 bytes.
const OPTION_TARGET_LLADDR: u8 = 2;
/// ICMPv6 part of our NA: header, flags, target, one TLLA option.
const NA_LEN: usize = 4 + 4 + 16 + 8;
/// Offset of the ICMPv6 message.
const ICMP: usize = ETH_LEN + IPV6_LEN;
/// All-nodes multicast (RFC 4291 §2.7.1) and its MAC (RFC 2464 §7): the destination of an NA
/// answering a DAD probe, whose source is the unspecified address (RFC 4861 §7.2.4).
const ALL_NODES: [u8; 16] = [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const ALL_NODES_MAC: [u8; 6] = [0x33, 0x33, 0, 0, 0, 1];
/// NS/NA must arrive with hop limit 255 (RFC 4861 §7.1.1).
const ND_HOP_LIMIT: u8 = 255;

/// `Some(action)` when the frame (IPv6, next header ICMPv6) is an NS for one of our VIPs,
/// `None` to let the caller continue.
#[inline(always)]
pub(crate) fn handle(ctx: &XdpContext) -> Result<Option<u32>, Malformed> {
    if read_u8(ctx, ICMP)? != NEIGHBOR_SOLICITATION {
        return Ok(None);
    }
    let ip = read::<IPV6_LEN>(ctx, ETH_LEN)?;
    // Type, code, checksum, reserved, target.
    let solicitation = read::<24>(ctx, ICMP)?;
    // An invalid NS (RFC 4861 §7.1.1) is the stack's to discard.
    if ip[7] != ND_HOP_LIMIT || solicitation[1] != 0 {
        return Ok(None);
    }
    let mut target = [0; 16];
    target.copy_from_slice(&solicitation[8..24]);
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
    let mut solicitor = [0; 16];
    solicitor.copy_from_slice(&ip[8..24]);
    let solicitor_mac = read::<6>(ctx, ETH_SRC)?;
    let (destination, destination_mac, flags) = if solicitor == [0; 16] {
        (ALL_NODES, ALL_NODES_MAC, FLAG_ROUTER | FLAG_OVERRIDE)
    } else {
        (
            solicitor,
            solicitor_mac,
            FLAG_ROUTER | FLAG_SOLICITED | FLAG_OVERRIDE,
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
    write(ctx, 0, destination_mac)?;
    write(ctx, ETH_SRC, config.vmac)?;
    let payload_len = (NA_LEN as u16).to_be_bytes();
    write(
        ctx,
        ETH_LEN,
        [
            0x60,
            0,
            0,
            0,
            payload_len[0],
            payload_len[1],
            IPPROTO_ICMPV6,
            ND_HOP_LIMIT,
        ],
    )?;
    write(ctx, ETH_LEN + 8, target)?;
    write(ctx, ETH_LEN + 24, destination)?;
    write(ctx, ICMP, [NEIGHBOR_ADVERTISEMENT, 0, 0, 0, flags, 0, 0, 0])?;
    write(ctx, ICMP + 8, target)?;
    let vmac = config.vmac;
    write(
        ctx,
        ICMP + 24,
        [
            OPTION_TARGET_LLADDR,
            1,
            vmac[0],
            vmac[1],
            vmac[2],
            vmac[3],
            vmac[4],
            vmac[5],
        ],
    )?;
    // RFC 4443 §2.3: checksum over the pseudo-header (addresses, length, next header) and the
    // message with the checksum field zero.
    let pseudo = add_bytes(
        add_bytes(NA_LEN as u64 + u64::from(IPPROTO_ICMPV6), &target),
        &destination,
    );
    let checksum = !fold(add_bytes(pseudo, &read::<NA_LEN>(ctx, ICMP)?));
    write(ctx, ICMP + 2, checksum.to_be_bytes())?;
    count_instance(&key, Counter::NaReplies);
    Ok(Some(xdp_action::XDP_TX))
}
