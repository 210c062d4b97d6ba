//! A raw ICMPv6 socket that receives Router Solicitations (RFC 4861 §4.1) for the daemon's
//! IPv6 Masters, with the interface and hop limit of each (IPV6_PKTINFO, IPV6_HOPLIMIT).
//!
//! The kernel filters it down to type 133 (ICMP6_FILTER) and verifies the ICMPv6 checksum
//! before delivery (raw ICMPv6 sockets always do). It joins ff02::2 on each VRRP interface a
//! Master answers on, so solicitations reach it even where IPv6 forwarding (which joins the
//! group) is off. Solicitations are rare — a host sends up to three when it comes up — so a
//! socket in the daemon costs nothing on the packet path; the answer waits up to 500 ms by
//! RFC anyway (docs/ARCHITECTURE.md, Router Advertisements).

use std::{
    io,
    mem::{self, MaybeUninit},
    net::Ipv6Addr,
    os::fd::{AsRawFd, FromRawFd, OwnedFd},
};

use tokio::io::{Interest, unix::AsyncFd};
use vrrp_common::router_advert::ICMPV6_ROUTER_SOLICITATION;

use super::NetError;

/// ICMP6_FILTER (linux/icmpv6.h); not in libc.
const ICMP6_FILTER: libc::c_int = 1;
/// All-routers, link scope.
const ALL_ROUTERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 2);
/// A solicitation with options fits easily; longer ones are truncated and still checked by
/// their first bytes (MSG_TRUNC is reported as a short read of the whole length).
const MAX_MESSAGE: usize = 1500;

/// One received message, before the RFC 4861 §6.1.1 checks.
#[derive(Debug)]
pub struct ReceivedSolicitation {
    /// Interface it arrived on.
    pub ifindex: u32,
    /// IPv6 source.
    pub source: Ipv6Addr,
    /// IPv6 destination (ff02::2, or an address of the interface).
    pub destination: Ipv6Addr,
    /// IPv6 hop limit.
    pub hop_limit: u8,
    /// The ICMPv6 message.
    pub message: Vec<u8>,
}

/// The socket.
pub struct SolicitationSocket {
    fd: AsyncFd<OwnedFd>,
}

impl SolicitationSocket {
    /// Opens the socket (CAP_NET_RAW), filtered to Router Solicitations.
    pub fn open() -> Result<Self, NetError> {
        let fail = |op| move |source| NetError::SolicitationSocket { op, source };
        // SAFETY: plain socket(2) call; the result is checked before use.
        let raw = unsafe {
            libc::socket(
                libc::AF_INET6,
                libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                libc::IPPROTO_ICMPV6,
            )
        };
        if raw < 0 {
            return Err(fail("open")(io::Error::last_os_error()));
        }
        // SAFETY: `raw` is a freshly opened descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // Linux's filter blocks the types whose bit is set.
        let mut filter = [u32::MAX; 8];
        let kind = usize::from(ICMPV6_ROUTER_SOLICITATION);
        filter[kind / 32] &= !(1 << (kind % 32));
        set_option(&fd, libc::IPPROTO_ICMPV6, ICMP6_FILTER, &filter).map_err(fail("filter"))?;
        let on: libc::c_int = 1;
        set_option(&fd, libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO, &on)
            .map_err(fail("IPV6_RECVPKTINFO"))?;
        set_option(&fd, libc::IPPROTO_IPV6, libc::IPV6_RECVHOPLIMIT, &on)
            .map_err(fail("IPV6_RECVHOPLIMIT"))?;
        // SAFETY: the OwnedFd stays open and unchanged until the AsyncFd (which owns it) is
        // dropped.
        let fd = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }
            .map_err(|error| fail("register")(error.into_parts().1))?;
        Ok(Self { fd })
    }

    /// Joins ff02::2 on `ifindex`. Joining twice is not an error; the membership ends with the
    /// socket or the interface.
    pub fn join_all_routers(&self, ifindex: u32) -> Result<(), NetError> {
        let request = libc::ipv6_mreq {
            ipv6mr_multiaddr: libc::in6_addr {
                s6_addr: ALL_ROUTERS.octets(),
            },
            ipv6mr_interface: ifindex,
        };
        match set_option(
            self.fd.get_ref(),
            libc::IPPROTO_IPV6,
            libc::IPV6_ADD_MEMBERSHIP,
            &request,
        ) {
            Err(error) if error.raw_os_error() != Some(libc::EADDRINUSE) => {
                Err(NetError::SolicitationSocket {
                    op: "join ff02::2",
                    source: error,
                })
            }
            _ => Ok(()),
        }
    }

    /// The next message; waits until one arrives.
    pub async fn recv(&self) -> io::Result<ReceivedSolicitation> {
        loop {
            let mut guard = self.fd.readable().await?;
            match guard.try_io(|fd| receive(fd.get_ref())) {
                Ok(result) => return result,
                Err(_would_block) => {}
            }
        }
    }
}

fn set_option<T>(fd: &OwnedFd, level: libc::c_int, name: libc::c_int, value: &T) -> io::Result<()> {
    let len = libc::socklen_t::try_from(mem::size_of::<T>()).unwrap_or(libc::socklen_t::MAX);
    // SAFETY: `value` points to a live T of exactly `len` bytes.
    let rc =
        unsafe { libc::setsockopt(fd.as_raw_fd(), level, name, (&raw const *value).cast(), len) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// One recvmsg(2) with the packet info and hop limit ancillary data.
fn receive(fd: &OwnedFd) -> io::Result<ReceivedSolicitation> {
    let mut message = vec![0u8; MAX_MESSAGE];
    let mut source = MaybeUninit::<libc::sockaddr_in6>::zeroed();
    // Room for in6_pktinfo and an int, with their headers and alignment.
    let mut control = [0u64; 16];
    let mut iov = libc::iovec {
        iov_base: message.as_mut_ptr().cast(),
        iov_len: message.len(),
    };
    // SAFETY: an all-zero msghdr is valid; every pointer set below outlives the call.
    let mut header: libc::msghdr = unsafe { mem::zeroed() };
    header.msg_name = source.as_mut_ptr().cast();
    header.msg_namelen = libc::socklen_t::try_from(mem::size_of::<libc::sockaddr_in6>())
        .unwrap_or(libc::socklen_t::MAX);
    header.msg_iov = &raw mut iov;
    header.msg_iovlen = 1;
    header.msg_control = control.as_mut_ptr().cast();
    header.msg_controllen = mem::size_of_val(&control);
    // SAFETY: `header` describes buffers owned by this frame.
    let len = unsafe { libc::recvmsg(fd.as_raw_fd(), &raw mut header, 0) };
    let len = usize::try_from(len).map_err(|_| io::Error::last_os_error())?;
    message.truncate(len.min(MAX_MESSAGE));
    // SAFETY: recvmsg filled the address (zeroed beforehand, so valid either way).
    let source = unsafe { source.assume_init() };
    let mut received = ReceivedSolicitation {
        ifindex: 0,
        source: Ipv6Addr::from(source.sin6_addr.s6_addr),
        destination: Ipv6Addr::UNSPECIFIED,
        hop_limit: 0,
        message,
    };
    // SAFETY: the CMSG_* helpers walk the control buffer recvmsg filled, within
    // msg_controllen; each payload is read unaligned at the size its type says.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&raw const header);
        while !cmsg.is_null() {
            let data = libc::CMSG_DATA(cmsg);
            match ((*cmsg).cmsg_level, (*cmsg).cmsg_type) {
                (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO) => {
                    let info = data.cast::<libc::in6_pktinfo>().read_unaligned();
                    received.ifindex = info.ipi6_ifindex;
                    received.destination = Ipv6Addr::from(info.ipi6_addr.s6_addr);
                }
                (libc::IPPROTO_IPV6, libc::IPV6_HOPLIMIT) => {
                    let hop_limit = data.cast::<libc::c_int>().read_unaligned();
                    received.hop_limit = u8::try_from(hop_limit).unwrap_or(0);
                }
                _ => {}
            }
            cmsg = libc::CMSG_NXTHDR(&raw const header, cmsg);
        }
    }
    Ok(received)
}
