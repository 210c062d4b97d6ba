//! TC ingress: frames the XDP program accepted for a virtual MAC (destination rewritten to the
//! interface's MAC, see [`crate::vmac`]) must reach the stack as addressed to this host.
//!
//! Native XDP on a NIC runs before the skb exists, so the stack classifies the rewritten frame
//! afresh. A veth (and generic XDP on some paths) builds the skb first: it is classified as
//! another host's (PACKET_OTHERHOST, from the virtual MAC), and the re-classification after a
//! native XDP program keeps that type when the new destination is ours, so IP drops the frame.
//! A frame to our own MAC that is still marked for another host can only be such a rewrite;
//! this puts it right.

use aya_ebpf::programs::TcContext;
use vrrp_common::wire::EthernetHeader;

use crate::{
    maps::XVRRP_CONTROL,
    parse::{Frame, Malformed, read},
};

/// `PACKET_OTHERHOST` of linux/if_packet.h: to someone else.
const PACKET_OTHERHOST: u32 = 3;

/// Marks a frame to the interface's MAC that is still typed as another host's as ours.
#[inline(always)]
pub(crate) fn restore(ctx: &TcContext) -> Result<(), Malformed> {
    // SAFETY: the context pointer is the kernel's; `pkt_type` is a readable field.
    if unsafe { (*ctx.skb.skb).pkt_type } != PACKET_OTHERHOST {
        return Ok(());
    }
    let Some(control) = XVRRP_CONTROL.get(0) else {
        return Ok(());
    };
    if read::<EthernetHeader>(ctx, 0)?.destination == control.if_mac {
        ctx.accept_for_host()?;
    }
    Ok(())
}
