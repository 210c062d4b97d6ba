//! Accept_Mode False (RFC 9568 §6.1, §6.4.3): a Master that is not the address owner must not
//! accept packets addressed to its VIPs, however they reach it — to the virtual MAC
//! ([`crate::vmac`] drops those), or to the interface's own MAC (a router with a stale
//! neighbour entry, a static route, traffic routed in from this link). Runs at TC ingress, on
//! the skb the stack is about to take, so XDP's transit path stays free of lookups. Neighbor
//! Discovery for the VIPs is never dropped (RFC 9568 §6.1).

use aya_ebpf::programs::TcContext;
use vrrp_common::{
    consts::{
        ETHERNET_HEADER_LEN, ETHERTYPE_IPV4, ETHERTYPE_IPV6, IPPROTO_ICMPV6, IPV6_HEADER_LEN,
    },
    counters::Counter,
    maps::{AddressFamily, Role, Vip4Key, Vip6Key},
    wire::{EthernetHeader, Ipv4Header, Ipv6Header},
};

use crate::{
    instance,
    maps::{XVRRP_CONTROL, XVRRP_VIPS4, XVRRP_VIPS6},
    nd,
    parse::{Malformed, read, read_u8},
    stats::count_instance,
};

/// Whether the frame is an IP packet to a VIP of a Master without Accept_Mode (counted).
#[inline(always)]
pub(crate) fn refused(ctx: &TcContext) -> Result<bool, Malformed> {
    let (family, destination, last_byte) = match read::<EthernetHeader>(ctx, 0)?.ethertype() {
        ETHERTYPE_IPV4 => {
            let destination = read::<Ipv4Header>(ctx, ETHERNET_HEADER_LEN)?.destination;
            let mut padded = [0; 16];
            padded[..4].copy_from_slice(&destination);
            (AddressFamily::Ipv4, padded, destination[3])
        }
        ETHERTYPE_IPV6 => {
            let ip = read::<Ipv6Header>(ctx, ETHERNET_HEADER_LEN)?;
            (AddressFamily::Ipv6, ip.destination, ip.destination[15])
        }
        _ => return Ok(false),
    };
    let Some(control) = XVRRP_CONTROL.get(0) else {
        return Ok(false);
    };
    if !control.may_be_vip(last_byte) {
        return Ok(false);
    }
    // SAFETY (both): successful lookups of plain-integer values.
    let vrid = match family {
        AddressFamily::Ipv4 => {
            let mut address = [0; 4];
            address.copy_from_slice(&destination[..4]);
            XVRRP_VIPS4
                .get_ptr(Vip4Key { addr_be: address })
                .map(|vip| unsafe { (*vip).vrid })
        }
        AddressFamily::Ipv6 => XVRRP_VIPS6
            .get_ptr(Vip6Key {
                addr_be: destination,
            })
            .map(|vip| unsafe { (*vip).vrid }),
    };
    let Some(vrid) = vrid else {
        return Ok(false);
    };
    let key = instance::key(ctx, family, vrid);
    let Some(config) = instance::lookup(&key) else {
        return Ok(false);
    };
    let forwarding = config.role == Role::Master as u8 || config.role == Role::Resigning as u8;
    if !forwarding || config.accept != 0 || config.owner != 0 {
        return Ok(false);
    }
    if family == AddressFamily::Ipv6
        && read::<Ipv6Header>(ctx, ETHERNET_HEADER_LEN)?.next_header == IPPROTO_ICMPV6
        && nd::is_neighbor_discovery(read_u8(ctx, ETHERNET_HEADER_LEN + IPV6_HEADER_LEN)?)
    {
        return Ok(false);
    }
    count_instance(&key, Counter::VipDroppedNoAccept);
    Ok(true)
}
