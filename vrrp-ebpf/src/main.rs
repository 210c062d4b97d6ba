//! xvrrp's XDP data plane, attached to every VRRP interface by the daemon (`vrrp-user`).
//!
//! Per frame, cheapest test first: a destination MAC in the VRRP virtual-MAC range goes to
//! [`vmac`]; otherwise the EtherType picks VRRP adverts ([`advert`]), ARP requests ([`arp`]) and
//! Neighbor Solicitations ([`nd`]). Everything else is transit and passes after at most one more
//! byte comparison, without a map lookup.
//!
//! Fails open: any error in our own parsing passes the frame to the stack and counts it, because
//! a bug in the fast path must never blackhole a router's traffic.
#![no_std]
#![no_main]

mod advert;
mod arp;
mod checksum;
mod instance;
mod maps;
mod nd;
mod parse;
mod stats;
mod vmac;

use core::mem::offset_of;

use aya_ebpf::{bindings::xdp_action, macros::xdp, programs::XdpContext};
use vrrp_common::{
    consts::{
        ETHERNET_HEADER_LEN, ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, IPPROTO_ICMPV6,
        IPPROTO_VRRP,
    },
    counters::Counter,
    wire::{EthernetHeader, Ipv4Header, Ipv6Header},
};

use crate::parse::{Malformed, read, read_u8};

/// The data plane. See the crate docs for the dispatch order.
#[xdp]
// Without this LLVM outlines the (large) body into a BPF-to-BPF call, which costs transit
// frames a call frame: ~30% over an empty program instead of ~5%.
#[inline(always)]
fn xvrrp(ctx: XdpContext) -> u32 {
    match dispatch(&ctx) {
        Ok(action) => action,
        Err(Malformed) => {
            stats::count(Counter::ParseErrors);
            xdp_action::XDP_PASS
        }
    }
}

/// Returns `XDP_PASS` and nothing else: the baseline `cargo xtask bench xdp` measures against,
/// kept in this object so both run under the same kernel and build. Never attached.
#[xdp]
fn xvrrp_pass(_ctx: XdpContext) -> u32 {
    xdp_action::XDP_PASS
}

#[inline(always)]
fn dispatch(ctx: &XdpContext) -> Result<u32, Malformed> {
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
                    if let Some(action) = nd::handle(ctx)? {
                        return Ok(action);
                    }
                }
                _ => {}
            }
        }
        ETHERTYPE_ARP => {
            if let Some(action) = arp::handle(ctx)? {
                return Ok(action);
            }
        }
        _ => {}
    }
    Ok(xdp_action::XDP_PASS)
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}

#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
static LICENSE: [u8; 13] = *b"Dual MIT/GPL\0";
