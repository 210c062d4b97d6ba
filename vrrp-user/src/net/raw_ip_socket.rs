//! A send-only raw IP socket on one interface, for adverts to unicast peers (`unicast_peers`).
//!
//! The codec builds the whole IP packet (`build_ipv4_advert_packet`, `build_ipv6_advert_packet`:
//! TTL / hop limit 255, protocol 112, the checksum over the peer's address), so the socket
//! includes the header (`IPPROTO_RAW`: `IP_HDRINCL` implied; `IPV6_HDRINCL` set). The kernel
//! routes it out of the bound interface and resolves the peer's MAC with ARP / ND, queueing
//! the packet meanwhile: no neighbour table handling here, and the source MAC is the
//! interface's own, which clouds that police source MACs require. `IPPROTO_RAW` sockets
//! receive nothing.

use std::{
    io,
    net::IpAddr,
    os::fd::{AsRawFd, FromRawFd, OwnedFd},
};

use super::{NetError, packet_socket::socklen_of};
use crate::proto::AddressFamily;

/// A send-only raw IP socket of one family, bound to one interface.
pub struct RawIpSocket {
    fd: OwnedFd,
    family: AddressFamily,
    ifindex: u32,
}

impl RawIpSocket {
    /// Opens the socket for `family` and binds it to interface `ifname` (index `ifindex`).
    pub fn open(family: AddressFamily, ifindex: u32, ifname: &str) -> Result<Self, NetError> {
        let domain = match family {
            AddressFamily::Ipv4 => libc::AF_INET,
            AddressFamily::Ipv6 => libc::AF_INET6,
        };
        // SAFETY: plain socket(2) call; the result is checked before use.
        let raw = unsafe {
            libc::socket(
                domain,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::IPPROTO_RAW,
            )
        };
        if raw < 0 {
            return Err(error(family, ifindex, "open"));
        }
        // SAFETY: `raw` is a freshly opened descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let socket = Self {
            fd,
            family,
            ifindex,
        };
        if family == AddressFamily::Ipv6 {
            let on: libc::c_int = 1;
            socket.set_option(
                libc::IPPROTO_IPV6,
                libc::IPV6_HDRINCL,
                &on,
                "set IPV6_HDRINCL",
            )?;
        }
        // The kernel keeps the index, so a later rename does not matter.
        socket.set_option(
            libc::SOL_SOCKET,
            libc::SO_BINDTODEVICE,
            ifname.as_bytes(),
            "bind to device",
        )?;
        Ok(socket)
    }

    /// Sends one IP `packet` (header included) to `destination`, which must be the packet's
    /// destination; an IPv6 link-local one is scoped to the bound interface.
    pub fn send_to(&self, packet: &[u8], destination: IpAddr) -> Result<(), NetError> {
        let sent = match destination {
            IpAddr::V4(address) => {
                let socket_address = libc::sockaddr_in {
                    sin_family: family_of(libc::AF_INET),
                    sin_port: 0,
                    sin_addr: libc::in_addr {
                        s_addr: u32::from_ne_bytes(address.octets()),
                    },
                    sin_zero: [0; 8],
                };
                self.send_with(packet, &socket_address)
            }
            IpAddr::V6(address) => {
                let socket_address = libc::sockaddr_in6 {
                    sin6_family: family_of(libc::AF_INET6),
                    sin6_port: 0,
                    sin6_flowinfo: 0,
                    sin6_addr: libc::in6_addr {
                        s6_addr: address.octets(),
                    },
                    sin6_scope_id: if address.is_unicast_link_local() {
                        self.ifindex
                    } else {
                        0
                    },
                };
                self.send_with(packet, &socket_address)
            }
        };
        if sent < 0 {
            return Err(error(self.family, self.ifindex, "send"));
        }
        Ok(())
    }

    fn send_with<A>(&self, packet: &[u8], address: &A) -> isize {
        // SAFETY: the buffer is valid for `packet.len()` bytes and `address` is a sockaddr of
        // the socket's family whose exact size is passed.
        unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                packet.as_ptr().cast(),
                packet.len(),
                0,
                (&raw const *address).cast(),
                socklen_of::<A>(),
            )
        }
    }

    fn set_option<T: ?Sized>(
        &self,
        level: libc::c_int,
        name: libc::c_int,
        value: &T,
        op: &'static str,
    ) -> Result<(), NetError> {
        // SAFETY: `value` is valid for its exact size for the duration of the call.
        let rc = unsafe {
            libc::setsockopt(
                self.fd.as_raw_fd(),
                level,
                name,
                (&raw const *value).cast(),
                libc::socklen_t::try_from(size_of_val(value)).unwrap_or(libc::socklen_t::MAX),
            )
        };
        if rc < 0 {
            return Err(error(self.family, self.ifindex, op));
        }
        Ok(())
    }
}

/// The last OS error as a [`NetError::RawIpSocket`].
fn error(family: AddressFamily, ifindex: u32, op: &'static str) -> NetError {
    NetError::RawIpSocket {
        op,
        family,
        ifindex,
        source: io::Error::last_os_error(),
    }
}

fn family_of(domain: libc::c_int) -> libc::sa_family_t {
    libc::sa_family_t::try_from(domain).unwrap_or_default()
}
