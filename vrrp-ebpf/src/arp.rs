//! ARP requests for a VIP (RFC 5798 §6.4.3, §8.1.2): the Master answers with the virtual MAC,
//! in place and out of the same port (XDP_TX); a Backup must not answer (§6.4.2), so we drop
//! the request before the stack could answer with the physical MAC.

use aya_ebpf::{bindings::xdp_action, programs::XdpContext};
use vrrp_common::{
    counters::Counter,
    maps::{AddressFamily, Vip4Key},
};

use crate::{
    instance,
    maps::XVRRP_VIPS4,
    parse::{ETH_LEN, ETH_SRC, Malformed, read, write},
    stats::count_instance,
};

/// Ethernet/IPv4 ARP: htype 1, ptype 0x0800, hlen 6, plen 4, then the opcode.
const ARP_ETHERNET_IPV4: [u8; 6] = [0x00, 0x01, 0x08, 0x00, 6, 4];
const ARP_REQUEST: [u8; 2] = [0x00, 0x01];
const ARP_REPLY: [u8; 2] = [0x00, 0x02];
/// Offsets in the ARP packet.
const ARP_OPCODE: usize = 6;
const ARP_SHA: usize = 8;
const ARP_SPA: usize = 14;
const ARP_THA: usize = 18;
const ARP_TPA: usize = 24;
const ARP_LEN: usize = 28;

/// `Some(action)` when the frame is an ARP request for one of our VIPs, `None` to let the
/// caller continue.
#[inline(always)]
pub(crate) fn handle(ctx: &XdpContext) -> Result<Option<u32>, Malformed> {
    let arp = read::<ARP_LEN>(ctx, ETH_LEN)?;
    if arp[..ARP_OPCODE] != ARP_ETHERNET_IPV4 || arp[ARP_OPCODE..ARP_SHA] != ARP_REQUEST {
        return Ok(None);
    }
    let mut sender_mac = [0; 6];
    let mut sender_ip = [0; 4];
    let mut target_ip = [0; 4];
    sender_mac.copy_from_slice(&arp[ARP_SHA..ARP_SPA]);
    sender_ip.copy_from_slice(&arp[ARP_SPA..ARP_THA]);
    target_ip.copy_from_slice(&arp[ARP_TPA..ARP_LEN]);
    // A gratuitous ARP announces rather than asks: nothing to answer.
    if sender_ip == target_ip {
        return Ok(None);
    }
    let Some(vip) = XVRRP_VIPS4.get_ptr(Vip4Key { addr_be: target_ip }) else {
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
    write(ctx, 0, sender_mac)?;
    write(ctx, ETH_SRC, config.vmac)?;
    write(ctx, ETH_LEN + ARP_OPCODE, ARP_REPLY)?;
    write(ctx, ETH_LEN + ARP_SHA, config.vmac)?;
    write(ctx, ETH_LEN + ARP_SPA, target_ip)?;
    write(ctx, ETH_LEN + ARP_THA, sender_mac)?;
    write(ctx, ETH_LEN + ARP_TPA, sender_ip)?;
    count_instance(&key, Counter::ArpReplies);
    Ok(Some(xdp_action::XDP_TX))
}
