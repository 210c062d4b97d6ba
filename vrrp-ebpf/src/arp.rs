//! ARP for the VIPs (RFC 5798 §6.4.2, §6.4.3, §8.1.2).
//!
//! Ingress (XDP): a request for a VIP goes to the stack while we are Master, which answers it
//! because the daemon installed the VIP; a Backup must not answer, so the request is dropped
//! before the stack could. Egress (TC): the stack's answer leaves with the virtual MAC as
//! Ethernet source and sender hardware address. Answering through the stack instead of with
//! XDP_TX works on every driver and attach mode (native XDP_TX on a veth is dropped unless the
//! peer runs NAPI); see docs/ARCHITECTURE.md.

use vrrp_common::{
    consts::{ETHERNET_HEADER_LEN, ETHERTYPE_IPV4},
    counters::Counter,
    maps::{AddressFamily, Vip4Key},
    wire::{
        ARP_HARDWARE_ETHERNET, ARP_OPERATION_REPLY, ARP_OPERATION_REQUEST, ArpEthernetIpv4,
        EthernetHeader,
    },
};

use crate::{
    instance,
    maps::XVRRP_VIPS4,
    parse::{Frame, Malformed, read, write},
    stats::count_instance,
};

/// An Ethernet/IPv4 ARP packet with operation `operation`, if the frame holds one.
#[inline(always)]
fn arp_packet(ctx: &impl Frame, operation: u16) -> Result<Option<ArpEthernetIpv4>, Malformed> {
    let packet = read::<ArpEthernetIpv4>(ctx, ETHERNET_HEADER_LEN)?;
    let wanted = packet.hardware_type_be == ARP_HARDWARE_ETHERNET.to_be_bytes()
        && packet.protocol_type_be == ETHERTYPE_IPV4.to_be_bytes()
        && packet.hardware_len == 6
        && packet.protocol_len == 4
        && packet.operation_be == operation.to_be_bytes()
        // A gratuitous ARP announces rather than asks or answers: not ours to touch.
        && packet.sender_protocol != packet.target_protocol;
    Ok(wanted.then_some(packet))
}

/// The VRID owning IPv4 VIP `address`, if it is one.
#[inline(always)]
fn vip_vrid(address: [u8; 4]) -> Option<u8> {
    // SAFETY: a successful lookup of a plain-integer value.
    XVRRP_VIPS4
        .get_ptr(Vip4Key { addr_be: address })
        .map(|vip| unsafe { (*vip).vrid })
}

/// Ingress: `Some(verdict)` when the frame is an ARP request for one of our VIPs, `None` to
/// let the caller continue.
#[inline(always)]
pub(crate) fn handle_request(ctx: &impl Frame) -> Result<Option<u32>, Malformed> {
    let Some(request) = arp_packet(ctx, ARP_OPERATION_REQUEST)? else {
        return Ok(None);
    };
    let Some(vrid) = vip_vrid(request.target_protocol) else {
        return Ok(None);
    };
    Ok(instance::resolution_verdict(&instance::key(
        ctx,
        AddressFamily::Ipv4,
        vrid,
    )))
}

/// Egress: puts the virtual MAC on the stack's ARP reply for a VIP while we act as Master
/// (RFC 5798 §8.1.2, §7.3: Ethernet source and sender hardware address). Anything else is left
/// as it is.
#[inline(always)]
pub(crate) fn stamp_reply(ctx: &impl Frame) -> Result<(), Malformed> {
    let Some(reply) = arp_packet(ctx, ARP_OPERATION_REPLY)? else {
        return Ok(());
    };
    let Some(vrid) = vip_vrid(reply.sender_protocol) else {
        return Ok(());
    };
    let key = instance::key(ctx, AddressFamily::Ipv4, vrid);
    let Some(config) = instance::lookup(&key) else {
        return Ok(());
    };
    if instance::acting_master(&key, &config).is_none() {
        return Ok(());
    }
    let eth = read::<EthernetHeader>(ctx, 0)?;
    write(
        ctx,
        0,
        EthernetHeader {
            source: config.vmac,
            ..eth
        },
    )?;
    write(
        ctx,
        ETHERNET_HEADER_LEN,
        ArpEthernetIpv4 {
            sender_hardware: config.vmac,
            ..reply
        },
    )?;
    count_instance(&key, Counter::ArpReplies);
    Ok(())
}
