//! ARP requests for a VIP (RFC 5798 §6.4.3, §8.1.2): the Master answers with the virtual MAC,
//! in place and out of the same port (XDP_TX); a Backup must not answer (§6.4.2), so we drop
//! the request before the stack could answer with the physical MAC.

use aya_ebpf::{bindings::xdp_action, programs::XdpContext};
use vrrp_common::{
    consts::{ETHERNET_HEADER_LEN, ETHERTYPE_ARP, ETHERTYPE_IPV4},
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
    parse::{Malformed, read, write},
    stats::count_instance,
};

/// `Some(action)` when the frame is an ARP request for one of our VIPs, `None` to let the
/// caller continue.
#[inline(always)]
pub(crate) fn handle(ctx: &XdpContext) -> Result<Option<u32>, Malformed> {
    let request = read::<ArpEthernetIpv4>(ctx, ETHERNET_HEADER_LEN)?;
    if request.hardware_type_be != ARP_HARDWARE_ETHERNET.to_be_bytes()
        || request.protocol_type_be != ETHERTYPE_IPV4.to_be_bytes()
        || request.hardware_len != 6
        || request.protocol_len != 4
        || request.operation_be != ARP_OPERATION_REQUEST.to_be_bytes()
    {
        return Ok(None);
    }
    // A gratuitous ARP announces rather than asks: nothing to answer.
    if request.sender_protocol == request.target_protocol {
        return Ok(None);
    }
    let Some(vip) = XVRRP_VIPS4.get_ptr(Vip4Key {
        addr_be: request.target_protocol,
    }) else {
        return Ok(None);
    };
    // SAFETY: a successful lookup of a plain-integer value.
    let vrid = unsafe { (*vip).vrid };
    let key = instance::key(ctx, AddressFamily::Ipv4, vrid);
    let Some(config) = instance::lookup(&key) else {
        return Ok(None);
    };
    if instance::acting_master(&key, &config).is_none() {
        count_instance(&key, Counter::ResolutionDroppedBackup);
        return Ok(Some(xdp_action::XDP_DROP));
    }
    // RFC 5798 §8.1.2 / §7.3: the reply comes from the virtual MAC, Ethernet and ARP alike.
    write(
        ctx,
        0,
        EthernetHeader {
            destination: request.sender_hardware,
            source: config.vmac,
            ethertype_be: ETHERTYPE_ARP.to_be_bytes(),
        },
    )?;
    write(
        ctx,
        ETHERNET_HEADER_LEN,
        ArpEthernetIpv4 {
            operation_be: ARP_OPERATION_REPLY.to_be_bytes(),
            sender_hardware: config.vmac,
            sender_protocol: request.target_protocol,
            target_hardware: request.sender_hardware,
            target_protocol: request.sender_protocol,
            ..request
        },
    )?;
    count_instance(&key, Counter::ArpReplies);
    Ok(Some(xdp_action::XDP_TX))
}
