//! Errors of the network edge; each names the interface and the operation.

use std::net::IpAddr;

/// A failed netlink or socket operation.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// Opening the netlink connection failed.
    #[error("opening a netlink socket failed")]
    Connect(#[source] std::io::Error),
    /// The interface does not exist (in this network namespace).
    #[error("interface {ifname} does not exist")]
    NoSuchInterface {
        /// The name looked up.
        ifname: String,
    },
    /// A netlink request failed.
    #[error("netlink {op} on {ifname} failed")]
    Netlink {
        /// What we asked for.
        op: &'static str,
        /// The interface it was about.
        ifname: String,
        /// What the kernel answered.
        #[source]
        source: Box<rtnetlink::Error>,
    },
    /// Adding or removing a virtual address failed.
    #[error("{op} virtual address {address} on {ifname} failed")]
    VirtualAddress {
        /// "add", "refresh" or "remove".
        op: &'static str,
        /// The virtual address.
        address: IpAddr,
        /// The interface.
        ifname: String,
        /// What the kernel answered.
        #[source]
        source: Box<rtnetlink::Error>,
    },
    /// An operation on the Router Solicitation socket failed.
    #[error("router solicitation socket: {op} failed")]
    SolicitationSocket {
        /// What we were doing.
        op: &'static str,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A packet socket operation failed.
    #[error("packet socket {op} on interface index {ifindex} failed")]
    PacketSocket {
        /// What we were doing.
        op: &'static str,
        /// The interface index.
        ifindex: u32,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A raw IP socket operation (adverts to unicast peers) failed.
    #[error("raw {family} socket {op} on interface index {ifindex} failed")]
    RawIpSocket {
        /// What we were doing.
        op: &'static str,
        /// The socket's family.
        family: crate::proto::AddressFamily,
        /// The interface index.
        ifindex: u32,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}
