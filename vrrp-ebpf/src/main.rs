//! xvrrp's data plane, attached to every VRRP interface by the daemon (`vrrp-user`): an XDP
//! program on ingress and a TC program on egress, sharing one set of maps.
//!
//! Ingress (XDP), per frame, cheapest test first: a destination MAC in the VRRP virtual-MAC
//! range goes to [`vmac`]; otherwise the EtherType picks VRRP adverts ([`advert`]), ARP requests
//! ([`arp`]) and Neighbor Solicitations ([`nd`]). Everything else is transit and passes after at
//! most one more byte comparison, without a map lookup. Verdicts are only PASS and DROP, which
//! every driver and attach mode implements.
//!
//! Ingress (TC, after the verdict, on every hook): Accept_Mode for frames to the interface's
//! own MAC ([`accept`]); behind XDP also the packet-type repair ([`packet_type`]; needed where
//! the skb exists before native XDP runs, as on a veth).
//!
//! Egress (TC): the stack's ARP replies and Neighbor Advertisements for a VIP get the virtual
//! MAC ([`arp::stamp_reply`], [`nd::stamp_advertisement`]); everything else leaves untouched
//! after one EtherType comparison.
//!
//! Fails open: any error in our own parsing passes the frame to the stack and counts it, because
//! a bug in the fast path must never blackhole a router's traffic.
#![no_std]
#![no_main]

mod accept;
mod advert;
mod arp;
mod checksum;
mod instance;
mod maps;
mod nd;
mod packet_type;
mod parse;
mod stats;
mod vmac;

use core::mem::offset_of;

use aya_ebpf::{
    bindings::{TC_ACT_OK, TC_ACT_SHOT, xdp_action},
    macros::{classifier, xdp},
    programs::{TcContext, XdpContext},
};
use vrrp_common::{
    consts::{
        ETHERNET_HEADER_LEN, ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, IPPROTO_ICMPV6,
        IPPROTO_VRRP,
    },
    counters::Counter,
    wire::{EthernetHeader, Ipv4Header, Ipv6Header},
};

use crate::parse::{Frame, Malformed, read, read_u8};

/// The data plane. See the crate docs for the dispatch order.
#[xdp]
// Without this LLVM outlines the (large) body into a BPF-to-BPF call, which costs transit
// frames a call frame: ~30% over an empty program instead of ~5%.
#[inline(always)]
fn xvrrp(ctx: XdpContext) -> u32 {
    xvrrp_verdict(&ctx)
}

/// Returns `XDP_PASS` and nothing else: the baseline `cargo xtask bench xdp` measures against,
/// kept in this object so both run under the same kernel and build. Never attached.
#[xdp]
fn xvrrp_pass(_ctx: XdpContext) -> u32 {
    xdp_action::XDP_PASS
}

#[inline(always)]
fn dispatch(ctx: &impl Frame) -> Result<u32, Malformed> {
    let eth = read::<EthernetHeader>(ctx, 0)?;
    let ethertype = eth.ethertype();
    let destination = eth.destination;
    // RFC 5798 §7.3: 00-00-5E-00-01-{VRID} (IPv4) and 00-00-5E-00-02-{VRID} (IPv6). Byte
    // compares, no map lookup: this test runs on every frame.
    if destination[0] == 0x00
        && destination[1] == 0x00
        && destination[2] == 0x5e
        && destination[3] == 0x00
    {
        if let Some(family) = vmac::family(destination[4]) {
            return vmac::handle(ctx, family, destination[5], ethertype);
        }
    }
    match ethertype {
        ETHERTYPE_IPV4 => {
            if read_u8(ctx, ETHERNET_HEADER_LEN + offset_of!(Ipv4Header, protocol))? == IPPROTO_VRRP
            {
                return advert::handle_ipv4(ctx);
            }
        }
        ETHERTYPE_IPV6 => {
            match read_u8(
                ctx,
                ETHERNET_HEADER_LEN + offset_of!(Ipv6Header, next_header),
            )? {
                IPPROTO_VRRP => return advert::handle_ipv6(ctx),
                IPPROTO_ICMPV6 => {
                    if let Some(action) = nd::handle_solicitation(ctx)? {
                        return Ok(action);
                    }
                }
                _ => {}
            }
        }
        ETHERTYPE_ARP => {
            if let Some(action) = arp::handle_request(ctx)? {
                return Ok(action);
            }
        }
        _ => {}
    }
    Ok(xdp_action::XDP_PASS)
}

/// The egress stamp. Never drops or redirects: it only rewrites the stack's answers for VIPs,
/// so any error leaves the frame as the stack built it (counted).
#[classifier]
fn xvrrp_egress(ctx: TcContext) -> i32 {
    if stamp(&ctx).is_err() {
        stats::count(Counter::ParseErrors);
    }
    TC_ACT_OK
}

/// The same data plane at the TC ingress hook, for interfaces where XDP costs more than it
/// saves (virtual devices: native XDP on a veth takes GSO away from its peer, generic XDP
/// linearizes every skb). XDP verdicts map onto TC's: DROP is SHOT, everything else OK.
#[classifier]
fn xvrrp_tc(ctx: TcContext) -> i32 {
    match xvrrp_verdict(&ctx) {
        xdp_action::XDP_DROP => TC_ACT_SHOT,
        _ => after_ingress(&ctx),
    }
}

/// What the stack may take, after the ingress verdict passed the frame: Accept_Mode for frames
/// to the interface's own MAC (see [`accept`]). Fails open.
#[inline(always)]
fn after_ingress(ctx: &TcContext) -> i32 {
    match accept::refused(ctx) {
        Ok(true) => TC_ACT_SHOT,
        Ok(false) => TC_ACT_OK,
        Err(Malformed) => {
            stats::count(Counter::ParseErrors);
            TC_ACT_OK
        }
    }
}

/// [`dispatch`], failing open.
#[inline(always)]
fn xvrrp_verdict(ctx: &impl Frame) -> u32 {
    match dispatch(ctx) {
        Ok(action) => action,
        Err(Malformed) => {
            stats::count(Counter::ParseErrors);
            xdp_action::XDP_PASS
        }
    }
}

/// TC ingress behind XDP (native or generic): the packet-type repair (see [`packet_type`])
/// and the Accept_Mode check (see [`accept`]).
#[classifier]
fn xvrrp_after_xdp(ctx: TcContext) -> i32 {
    if packet_type::restore(&ctx).is_err() {
        stats::count(Counter::ParseErrors);
    }
    after_ingress(&ctx)
}

#[inline(always)]
fn stamp(ctx: &TcContext) -> Result<(), Malformed> {
    match read::<EthernetHeader>(ctx, 0)?.ethertype() {
        ETHERTYPE_ARP => arp::stamp_reply(ctx),
        ETHERTYPE_IPV6
            if read_u8(
                ctx,
                ETHERNET_HEADER_LEN + offset_of!(Ipv6Header, next_header),
            )? == IPPROTO_ICMPV6 =>
        {
            nd::stamp_advertisement(ctx)?;
            nd::stamp_solicitation(ctx)
        }
        _ => Ok(()),
    }
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}

#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
static LICENSE: [u8; 13] = *b"Dual MIT/GPL\0";
