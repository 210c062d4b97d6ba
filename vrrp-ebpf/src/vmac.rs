//! Frames addressed to a virtual MAC (RFC 5798 §7.3). A Backup must discard them (§6.4.2); a
//! Master accepts them (§6.4.3) by rewriting the destination to the interface's own MAC, so the
//! stack treats them as addressed to this host.

use aya_ebpf::bindings::xdp_action;
use vrrp_common::{
    consts::{
        ETHERNET_HEADER_LEN, ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, IPPROTO_ICMPV6,
        IPV6_HEADER_LEN,
    },
    counters::Counter,
    maps::{AddressFamily, Role, Vip4Key, Vip6Key},
    wire::{ICMPV6_NEIGHBOR_SOLICITATION, Ipv4Header, Ipv6Header},
};

use crate::{
    instance,
    maps::{XVRRP_ROLES, XVRRP_VIPS4, XVRRP_VIPS6},
    nd,
    parse::{Frame, Malformed, read, read_u8, write},
    stats::count_instance,
};

/// The family encoded in byte 4 of a virtual MAC, if it is one.
#[inline(always)]
pub(crate) fn family(byte: u8) -> Option<AddressFamily> {
    match byte {
        0x01 => Some(AddressFamily::Ipv4),
        0x02 => Some(AddressFamily::Ipv6),
        _ => None,
    }
}

/// A frame whose destination is the virtual MAC of (`family`, `vrid`).
#[inline(always)]
pub(crate) fn handle(
    ctx: &impl Frame,
    family: AddressFamily,
    vrid: u8,
    ethertype: u16,
) -> Result<u32, Malformed> {
    let key = instance::key(ctx, family, vrid);
    // Fast path: the role array, not the instance hash (see `ROLES_MAP`).
    let role = XVRRP_ROLES
        .get(key.slot())
        .map_or(Role::Initialize as u8, |entry| entry.role);
    if role != Role::Master as u8 && role != Role::Resigning as u8 {
        // RFC 5798 §6.4.2: a Backup (or a router not running) discards them. Slots we do not
        // run stay Initialize, so a foreign VRID's virtual MAC is not accepted either.
        count_instance(&key, Counter::VmacDroppedBackup);
        return Ok(xdp_action::XDP_DROP);
    }
    let Some(config) = instance::lookup(&key) else {
        return Ok(xdp_action::XDP_PASS);
    };
    let Some(if_mac) = instance::forwarding_mac(&key, &config) else {
        count_instance(&key, Counter::VmacDroppedBackup);
        return Ok(xdp_action::XDP_DROP);
    };
    let resigning = config.role == Role::Resigning as u8;
    // ARP and NS for a VIP (neighbour-unreachability probes are unicast to the virtual MAC) go
    // to the stack like everything else we accept: it answers, the egress program stamps the
    // virtual MAC on the answer. A resigning Master forwards but answers nothing new.
    match ethertype {
        ETHERTYPE_ARP if resigning => {
            count_instance(&key, Counter::ResolutionDroppedBackup);
            return Ok(xdp_action::XDP_DROP);
        }
        ETHERTYPE_IPV4 if config.accept == 0 => {
            // RFC 9568 §6.4.3: without Accept_Mode (and not the owner) the Master does not
            // accept packets addressed to the VIPs.
            let ip = read::<Ipv4Header>(ctx, ETHERNET_HEADER_LEN)?;
            if XVRRP_VIPS4
                .get_ptr(Vip4Key {
                    addr_be: ip.destination,
                })
                .is_some()
            {
                count_instance(&key, Counter::VipDroppedNoAccept);
                return Ok(xdp_action::XDP_DROP);
            }
        }
        ETHERTYPE_IPV6 => {
            let ip = read::<Ipv6Header>(ctx, ETHERNET_HEADER_LEN)?;
            let icmp = ip.next_header == IPPROTO_ICMPV6;
            // RFC 9568 §6.1: NS/NA for the VIPs are never dropped for lack of Accept_Mode.
            let icmp_type = if icmp {
                read_u8(ctx, ETHERNET_HEADER_LEN + IPV6_HEADER_LEN)?
            } else {
                0
            };
            if resigning && icmp && icmp_type == ICMPV6_NEIGHBOR_SOLICITATION {
                count_instance(&key, Counter::ResolutionDroppedBackup);
                return Ok(xdp_action::XDP_DROP);
            }
            let neighbor_discovery = icmp && nd::is_neighbor_discovery(icmp_type);
            if config.accept == 0
                && !neighbor_discovery
                && XVRRP_VIPS6
                    .get_ptr(Vip6Key {
                        addr_be: ip.destination,
                    })
                    .is_some()
            {
                count_instance(&key, Counter::VipDroppedNoAccept);
                return Ok(xdp_action::XDP_DROP);
            }
        }
        _ => {}
    }
    write(ctx, 0, if_mac)?;
    ctx.accept_for_host()?;
    count_instance(&key, Counter::VmacAcceptedMaster);
    Ok(xdp_action::XDP_PASS)
}
