//! xvrrp's XDP data plane. Attached to every VRRP interface by the daemon (`vrrp-user`).
//!
//! Fails open: any error in our own parsing passes the frame to the stack and counts it, because a
//! bug in the fast path must never blackhole a router's traffic.
#![no_std]
#![no_main]

mod maps;
mod stats;

use aya_ebpf::{bindings::xdp_action, macros::xdp, programs::XdpContext};
use vrrp_common::counters::Counter;

/// Ethernet header length: shorter frames are malformed.
const ETH_HEADER_LEN: usize = 14;

#[xdp]
fn xvrrp(ctx: XdpContext) -> u32 {
    stats::count(Counter::RxFrames);
    if ctx.data_end() - ctx.data() < ETH_HEADER_LEN {
        // Rare and worth seeing: a runt frame on a VRRP interface.
        aya_log_ebpf::debug!(&ctx, "runt frame of {} bytes", ctx.data_end() - ctx.data());
    }
    xdp_action::XDP_PASS
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}

#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
static LICENSE: [u8; 13] = *b"Dual MIT/GPL\0";
