//! Installing and removing the virtual addresses on the VRRP interface (rtnetlink).
//!
//! Addresses are host routes (/32, /128). They carry a short kernel lifetime that the daemon
//! refreshes while Master: if the daemon dies, the kernel removes them by itself (the second line
//! of the fail-safe, after the XDP heartbeat; see docs/ARCHITECTURE.md).

use std::{net::IpAddr, time::Duration};

use rtnetlink::{
    Handle,
    packet_route::{
        AddressFamily,
        address::{AddressAttribute, AddressFlags, AddressMessage, CacheInfo},
    },
};

use super::{NetError, interface::addresses};

/// Adds (or refreshes, when present) `address` on interface `index` with the given lifetime
/// (`None` = permanent). IPv6 addresses skip duplicate address detection: the VRRP election,
/// not DAD, decides who owns a virtual address; and they are installed deprecated.
pub async fn install(
    handle: &Handle,
    ifname: &str,
    index: u32,
    address: IpAddr,
    lifetime: Option<Duration>,
) -> Result<(), NetError> {
    let mut request = handle
        .address()
        .add(index, address, host_prefix_len(address))
        .replace();
    let message = request.message_mut();
    if address.is_ipv6() {
        message
            .attributes
            .push(AddressAttribute::Flags(AddressFlags::Nodad));
    }
    // IPv6: preferred lifetime 0 (deprecated), so the kernel never picks a virtual address as
    // the source of its own traffic or neighbour solicitations, where hosts would learn it at
    // the physical MAC (the IPv6 counterpart of arp_announce=2). It still answers for it.
    let preferred = |valid: u32| if address.is_ipv6() { 0 } else { valid };
    let valid =
        lifetime.map(|lifetime| u32::try_from(lifetime.as_secs().max(1)).unwrap_or(u32::MAX));
    if valid.is_some() || address.is_ipv6() {
        // No lifetime: u32::MAX is the kernel's "forever".
        let valid = valid.unwrap_or(u32::MAX);
        let mut cache_info = CacheInfo::default();
        cache_info.ifa_preferred = preferred(valid);
        cache_info.ifa_valid = valid;
        message
            .attributes
            .push(AddressAttribute::CacheInfo(cache_info));
    }
    request
        .execute()
        .await
        .map_err(|source| NetError::VirtualAddress {
            op: "add",
            address,
            ifname: ifname.to_owned(),
            source: Box::new(source),
        })
}

/// Removes `address` from interface `index`; an address that is already gone (or whose
/// interface is) is not an error.
pub async fn remove(
    handle: &Handle,
    ifname: &str,
    index: u32,
    address: IpAddr,
) -> Result<(), NetError> {
    let message = host_address_message(index, address);
    match handle.address().del(message).execute().await {
        Ok(()) => Ok(()),
        Err(rtnetlink::Error::NetlinkError(ref error))
            if error.code.is_some_and(|code| {
                code.get() == -libc::EADDRNOTAVAIL || code.get() == -libc::ENODEV
            }) =>
        {
            Ok(())
        }
        Err(source) => Err(NetError::VirtualAddress {
            op: "remove",
            address,
            ifname: ifname.to_owned(),
            source: Box::new(source),
        }),
    }
}

/// Which of `candidates` are currently configured on interface `index` (used at start to clean
/// up after a crashed run, and by tests).
pub async fn present(
    handle: &Handle,
    ifname: &str,
    index: u32,
    candidates: &[IpAddr],
) -> Result<Vec<IpAddr>, NetError> {
    let configured = addresses(handle, ifname, index).await?;
    Ok(candidates
        .iter()
        .copied()
        .filter(|candidate| configured.contains(candidate))
        .collect())
}

fn host_prefix_len(address: IpAddr) -> u8 {
    match address {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

fn host_address_message(index: u32, address: IpAddr) -> AddressMessage {
    let mut message = AddressMessage::default();
    message.header.index = index;
    message.header.prefix_len = host_prefix_len(address);
    message.header.family = match address {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    };
    message.attributes.push(AddressAttribute::Address(address));
    if let IpAddr::V4(v4) = address {
        message
            .attributes
            .push(AddressAttribute::Local(IpAddr::V4(v4)));
    }
    message
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;

    #[test]
    fn virtual_addresses_are_host_routes() {
        assert_eq!(
            host_prefix_len(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100))),
            32
        );
        assert_eq!(host_prefix_len(IpAddr::V6(Ipv6Addr::LOCALHOST)), 128);
    }
}
