//! Neighbor Discovery for the VIPs (RFC 5798 §6.4.2, §6.4.3, §8.2.2).
//!
//! Ingress (XDP): a Neighbor Solicitation for a VIP goes to the stack while we are Master, which
//! answers it (the VIP is installed); a Backup must not answer, so it is dropped. Egress (TC):
//! the stack's Neighbor Advertisement for a VIP leaves with the virtual MAC as Ethernet source
//! and, when it carries one, in the target link-layer address option (checksum updated); so
//! does a Neighbor Solicitation the stack sends from a VIP, in its source link-layer option. The
//! stack sets the flags: Override on answers to multicast solicitations (RFC 4861 §7.2.4),
//! Router while forwarding is on, Solicited unless it answers DAD.

use vrrp_common::{
    consts::{ETHERNET_HEADER_LEN, IPV6_HEADER_LEN},
    counters::Counter,
    maps::{AddressFamily, Vip6Key},
    router_advert::ICMPV6_ROUTER_SOLICITATION,
    wire::{
        EthernetHeader, ICMPV6_NEIGHBOR_ADVERTISEMENT, ICMPV6_NEIGHBOR_SOLICITATION, Icmpv6Header,
        Ipv6Header, LinkLayerAddressOption, ND_OPTION_SOURCE_LINK_LAYER,
        ND_OPTION_TARGET_LINK_LAYER, NeighborMessage,
    },
};

use crate::{
    checksum::fold,
    instance,
    maps::XVRRP_VIPS6,
    parse::{Frame, Malformed, read, read_u8, write},
    stats::count_instance,
};

/// Offset of the ICMPv6 message.
const ICMP: usize = ETHERNET_HEADER_LEN + IPV6_HEADER_LEN;
/// Offset of the NS/NA body (flags, target) after the ICMPv6 header.
const BODY: usize = ICMP + size_of::<Icmpv6Header>();
/// Offset of the first option.
const OPTION: usize = BODY + size_of::<NeighborMessage>();
/// NS/NA travel with hop limit 255 (RFC 4861 §7.1.1).
const ND_HOP_LIMIT: u8 = 255;

/// Whether an ICMPv6 type is Neighbor Discovery's NS or NA (RFC 9568 §6.1: never dropped for
/// lack of Accept_Mode), or a Router Solicitation, which the Master answers for the virtual
/// router (RFC 9568 §8.2.3) whatever its Accept_Mode.
#[inline(always)]
pub(crate) fn is_neighbor_discovery(icmp_type: u8) -> bool {
    icmp_type == ICMPV6_NEIGHBOR_SOLICITATION
        || icmp_type == ICMPV6_NEIGHBOR_ADVERTISEMENT
        || icmp_type == ICMPV6_ROUTER_SOLICITATION
}

/// The VRID owning the target of the NS or NA (type `kind`) in the frame (IPv6, next header
/// ICMPv6), if it is a valid one for one of our VIPs.
#[inline(always)]
fn vip_target(ctx: &impl Frame, kind: u8) -> Result<Option<(u8, [u8; 16])>, Malformed> {
    if read_u8(ctx, ICMP)? != kind {
        return Ok(None);
    }
    let ip = read::<Ipv6Header>(ctx, ETHERNET_HEADER_LEN)?;
    let icmp = read::<Icmpv6Header>(ctx, ICMP)?;
    // An invalid NS (RFC 4861 §7.1.1) is the stack's to discard.
    if ip.hop_limit != ND_HOP_LIMIT || icmp.code != 0 {
        return Ok(None);
    }
    let target = read::<NeighborMessage>(ctx, BODY)?.target;
    // SAFETY: a successful lookup of a plain-integer value.
    Ok(XVRRP_VIPS6
        .get_ptr(Vip6Key { addr_be: target })
        .map(|vip| (unsafe { (*vip).vrid }, target)))
}

/// Ingress: `Some(verdict)` when the frame (IPv6, next header ICMPv6) is an NS for one of our
/// VIPs, `None` to let the caller continue.
#[inline(always)]
pub(crate) fn handle_solicitation(ctx: &impl Frame) -> Result<Option<u32>, Malformed> {
    let Some((vrid, _)) = vip_target(ctx, ICMPV6_NEIGHBOR_SOLICITATION)? else {
        return Ok(None);
    };
    Ok(instance::resolution_verdict(&instance::key(
        ctx,
        AddressFamily::Ipv6,
        vrid,
    )))
}

/// Egress: puts the virtual MAC on the stack's NA for a VIP while we act as Master. Anything
/// else is left as it is.
#[inline(always)]
pub(crate) fn stamp_advertisement(ctx: &impl Frame) -> Result<(), Malformed> {
    let Some((vrid, _)) = vip_target(ctx, ICMPV6_NEIGHBOR_ADVERTISEMENT)? else {
        return Ok(());
    };
    if stamp_virtual_mac(ctx, vrid, ND_OPTION_TARGET_LINK_LAYER)? {
        count_instance(
            &instance::key(ctx, AddressFamily::Ipv6, vrid),
            Counter::NaReplies,
        );
    }
    Ok(())
}

/// Egress: an NS the stack sends *from* a VIP (it resolves a host it answers from the VIP)
/// leaves with the virtual MAC too. Its source link-layer option is what the host records for
/// the VIP (RFC 4861 §7.2.3): with the physical MAC there, the host would reach the VIP through
/// this router's own MAC and lose it at the next failover until its neighbour entry expires.
#[inline(always)]
pub(crate) fn stamp_solicitation(ctx: &impl Frame) -> Result<(), Malformed> {
    if read_u8(ctx, ICMP)? != ICMPV6_NEIGHBOR_SOLICITATION {
        return Ok(());
    }
    let source = read::<Ipv6Header>(ctx, ETHERNET_HEADER_LEN)?.source;
    // SAFETY: a successful lookup of a plain-integer value.
    let Some(vrid) = XVRRP_VIPS6
        .get_ptr(Vip6Key { addr_be: source })
        .map(|vip| unsafe { (*vip).vrid })
    else {
        return Ok(());
    };
    stamp_virtual_mac(ctx, vrid, ND_OPTION_SOURCE_LINK_LAYER)?;
    Ok(())
}

/// Rewrites the Ethernet source and the link-layer option of kind `option_kind` (when the
/// message carries one) to the virtual MAC of `vrid`, if we act as its Master. Whether it did.
#[inline(always)]
fn stamp_virtual_mac(ctx: &impl Frame, vrid: u8, option_kind: u8) -> Result<bool, Malformed> {
    let key = instance::key(ctx, AddressFamily::Ipv6, vrid);
    let Some(config) = instance::lookup(&key) else {
        return Ok(false);
    };
    if instance::acting_master(&key, &config).is_none() {
        return Ok(false);
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
    // Answers to unicast solicitations (reachability probes) carry no option: the Ethernet
    // source is all there is to stamp.
    if let Ok(option) = read::<LinkLayerAddressOption>(ctx, OPTION)
        && option.kind == option_kind
        && option.length_units == 1
    {
        let icmp = read::<Icmpv6Header>(ctx, ICMP)?;
        let checksum = replace_words(
            u16::from_be_bytes(icmp.checksum_be),
            &option.address,
            &config.vmac,
        );
        write(
            ctx,
            OPTION,
            LinkLayerAddressOption {
                address: config.vmac,
                ..option
            },
        )?;
        write(
            ctx,
            ICMP,
            Icmpv6Header {
                checksum_be: checksum.to_be_bytes(),
                ..icmp
            },
        )?;
    }
    Ok(true)
}

/// The checksum `checksum` after the 16-bit words `old` of the message became `new`
/// (RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m')).
#[inline(always)]
fn replace_words<const N: usize>(checksum: u16, old: &[u8; N], new: &[u8; N]) -> u16 {
    let mut sum = u64::from(!checksum);
    let mut index = 0;
    while index + 1 < N {
        sum += u64::from(!u16::from_be_bytes([old[index], old[index + 1]]));
        sum += u64::from(u16::from_be_bytes([new[index], new[index + 1]]));
        index += 2;
    }
    !fold(sum)
}
