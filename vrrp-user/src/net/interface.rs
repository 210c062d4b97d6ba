//! Facts about an interface (index, MAC, carrier, primary addresses) and a stream of link and
//! address changes.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use futures_util::{StreamExt as _, TryStreamExt as _};
use rtnetlink::{
    Handle, MulticastGroup,
    packet_core::NetlinkPayload,
    packet_route::{
        RouteNetlinkMessage,
        address::{AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage},
        link::{LinkAttribute, LinkFlags, LinkMessage},
    },
};
use tokio::sync::mpsc;

use super::NetError;

/// What the daemon needs to know about a VRRP or tracked interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterfaceInfo {
    /// Interface name.
    pub name: String,
    /// Kernel interface index.
    pub index: u32,
    /// Hardware address (all zero when it has none).
    pub mac: [u8; 6],
    /// Administratively up with carrier (IFF_RUNNING).
    pub running: bool,
    /// IPv4 addresses in kernel order: the first is the primary, the advert source (RFC 5798
    /// §5.1.1.1).
    pub ipv4: Vec<Ipv4Addr>,
    /// IPv6 link-local addresses in kernel order; the first that is not a virtual address is
    /// the advert source for IPv6 (RFC 5798 §5.1.2.1).
    pub ipv6_link_local: Vec<Ipv6Addr>,
}

/// Reads `ifname`'s index, MAC, state and addresses over netlink.
pub async fn interface_info(handle: &Handle, ifname: &str) -> Result<InterfaceInfo, NetError> {
    let link = handle
        .link()
        .get()
        .match_name(ifname.to_owned())
        .execute()
        .try_next()
        .await
        .map_err(|source| match source {
            rtnetlink::Error::NetlinkError(ref msg)
                if msg.code.is_some_and(|code| code.get() == -libc::ENODEV) =>
            {
                NetError::NoSuchInterface {
                    ifname: ifname.to_owned(),
                }
            }
            source => NetError::Netlink {
                op: "get link",
                ifname: ifname.to_owned(),
                source: Box::new(source),
            },
        })?
        .ok_or_else(|| NetError::NoSuchInterface {
            ifname: ifname.to_owned(),
        })?;
    let (index, running) = link_state(&link);
    let mac = link
        .attributes
        .iter()
        .find_map(|attribute| match attribute {
            LinkAttribute::Address(bytes) => bytes.as_slice().try_into().ok(),
            _ => None,
        })
        .unwrap_or_default();
    let addresses = addresses(handle, ifname, index).await?;
    Ok(InterfaceInfo {
        name: ifname.to_owned(),
        index,
        mac,
        running,
        ipv4: addresses
            .iter()
            .filter_map(|address| match address {
                IpAddr::V4(v4) => Some(*v4),
                IpAddr::V6(_) => None,
            })
            .collect(),
        ipv6_link_local: addresses
            .iter()
            .filter_map(|address| match address {
                IpAddr::V6(v6) if v6.is_unicast_link_local() => Some(*v6),
                _ => None,
            })
            .collect(),
    })
}

/// Every usable address configured on interface `index` (named `ifname` in errors), in kernel
/// order. IPv6 addresses still in duplicate address detection (or that failed it) are left out:
/// the kernel does not let them source packets yet.
pub async fn addresses(handle: &Handle, ifname: &str, index: u32) -> Result<Vec<IpAddr>, NetError> {
    handle
        .address()
        .get()
        .set_link_index_filter(index)
        .execute()
        .map_ok(|message| {
            if is_tentative(&message) {
                return Vec::new();
            }
            message
                .attributes
                .into_iter()
                .filter_map(|attribute| match attribute {
                    AddressAttribute::Address(address) => Some(address),
                    _ => None,
                })
                .collect::<Vec<_>>()
        })
        .try_concat()
        .await
        .map_err(|source| NetError::Netlink {
            op: "get addresses",
            ifname: ifname.to_owned(),
            source: Box::new(source),
        })
}

/// Whether `message` is an address in (or after a failed) duplicate address detection. The
/// 32-bit flags attribute supersedes the header's 8 bits when present.
fn is_tentative(message: &AddressMessage) -> bool {
    let flags = message
        .attributes
        .iter()
        .find_map(|attribute| match attribute {
            AddressAttribute::Flags(flags) => Some(*flags),
            _ => None,
        });
    match flags {
        Some(flags) => flags.intersects(AddressFlags::Tentative | AddressFlags::Dadfailed),
        None => message
            .header
            .flags
            .intersects(AddressHeaderFlags::Tentative | AddressHeaderFlags::Dadfailed),
    }
}

/// A change the kernel announced about an interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InterfaceChange {
    /// A link appeared, changed state, or was renamed (RTM_NEWLINK).
    Link {
        /// Kernel interface index.
        index: u32,
        /// Its name now.
        name: String,
        /// Up with carrier.
        running: bool,
    },
    /// A link was deleted (RTM_DELLINK).
    Removed {
        /// Kernel interface index it had.
        index: u32,
    },
    /// An IPv4 or IPv6 address was added to, changed on, or removed from a link
    /// (RTM_NEWADDR, RTM_DELADDR).
    Addresses {
        /// Kernel interface index of the link.
        index: u32,
    },
}

/// Subscribes to link and address notifications; the returned receiver yields every change
/// until the daemon drops it. The netlink connection runs as a task on the current tokio
/// runtime.
pub fn watch_interfaces() -> Result<mpsc::UnboundedReceiver<InterfaceChange>, NetError> {
    let (connection, _handle, mut messages) = rtnetlink::new_multicast_connection(&[
        MulticastGroup::Link,
        MulticastGroup::Ipv4Ifaddr,
        MulticastGroup::Ipv6Ifaddr,
    ])
    .map_err(NetError::Connect)?;
    tokio::spawn(connection);
    let (sender, receiver) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some((message, _)) = messages.next().await {
            let NetlinkPayload::InnerMessage(message) = message.payload else {
                continue;
            };
            let change = match message {
                RouteNetlinkMessage::NewLink(link) => {
                    let (index, running) = link_state(&link);
                    let Some(name) = link_name(&link) else {
                        continue;
                    };
                    InterfaceChange::Link {
                        index,
                        name,
                        running,
                    }
                }
                RouteNetlinkMessage::DelLink(link) => InterfaceChange::Removed {
                    index: link.header.index,
                },
                RouteNetlinkMessage::NewAddress(address)
                | RouteNetlinkMessage::DelAddress(address) => InterfaceChange::Addresses {
                    index: address.header.index,
                },
                _ => continue,
            };
            if sender.send(change).is_err() {
                break;
            }
        }
    });
    Ok(receiver)
}

fn link_name(link: &LinkMessage) -> Option<String> {
    link.attributes
        .iter()
        .find_map(|attribute| match attribute {
            LinkAttribute::IfName(name) => Some(name.clone()),
            _ => None,
        })
}

fn link_state(link: &LinkMessage) -> (u32, bool) {
    let flags = link.header.flags;
    (
        link.header.index,
        flags.contains(LinkFlags::Up) && flags.contains(LinkFlags::Running),
    )
}

#[cfg(test)]
mod tests {
    use std::net::Ipv6Addr;

    use super::*;

    fn link_local(flags: Option<AddressFlags>, header: AddressHeaderFlags) -> AddressMessage {
        let mut message = AddressMessage::default();
        message.header.flags = header;
        message
            .attributes
            .push(AddressAttribute::Address(IpAddr::V6(Ipv6Addr::new(
                0xfe80, 0, 0, 0, 0, 0, 0, 1,
            ))));
        if let Some(flags) = flags {
            message.attributes.push(AddressAttribute::Flags(flags));
        }
        message
    }

    #[test]
    fn addresses_in_or_after_a_failed_dad_are_not_usable() {
        let none = AddressHeaderFlags::empty();
        assert!(!is_tentative(&link_local(None, none)));
        assert!(is_tentative(&link_local(
            None,
            AddressHeaderFlags::Tentative
        )));
        assert!(is_tentative(&link_local(
            Some(AddressFlags::Tentative | AddressFlags::Permanent),
            none
        )));
        assert!(is_tentative(&link_local(
            Some(AddressFlags::Dadfailed),
            none
        )));
        // The 32-bit attribute wins over the header's copy.
        assert!(!is_tentative(&link_local(
            Some(AddressFlags::Permanent),
            AddressHeaderFlags::Tentative
        )));
    }
}
