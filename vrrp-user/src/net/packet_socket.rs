//! An AF_PACKET socket bound to one interface, for sending complete Ethernet frames: adverts with
//! the virtual MAC as source, gratuitous ARPs and unsolicited NAs. Protocol 0: it receives nothing.

use std::{
    io,
    os::fd::{AsRawFd, FromRawFd, OwnedFd},
};

use super::{NetError, frame_batch::FrameBatch};

/// A send-only raw socket on one interface.
pub struct PacketSocket {
    fd: OwnedFd,
    ifindex: u32,
}

impl PacketSocket {
    /// Opens the socket and binds it to `ifindex`.
    pub fn open(ifindex: u32) -> Result<Self, NetError> {
        let fail = |op| {
            move |source| NetError::PacketSocket {
                op,
                ifindex,
                source,
            }
        };
        // SAFETY: plain socket(2) call; the result is checked before use.
        let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if raw < 0 {
            return Err(fail("open")(io::Error::last_os_error()));
        }
        // SAFETY: `raw` is a freshly opened descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let address = link_layer_address(ifindex);
        // SAFETY: `address` is a valid sockaddr_ll and its exact size is passed.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&raw const address).cast(),
                socklen_of::<libc::sockaddr_ll>(),
            )
        };
        if rc < 0 {
            return Err(fail("bind")(io::Error::last_os_error()));
        }
        Ok(Self { fd, ifindex })
    }

    /// Makes the NIC accept frames to the multicast `mac` (the VRRP group's 01:00:5e:00:00:12 or
    /// 33:33:00:00:00:12), so adverts reach the XDP hook even on NICs that filter multicast.
    /// The membership lasts as long as the socket.
    pub fn join_multicast(&self, mac: [u8; 6]) -> Result<(), NetError> {
        let mut request = libc::packet_mreq {
            mr_ifindex: ifindex_as_c_int(self.ifindex),
            mr_type: u16::try_from(libc::PACKET_MR_MULTICAST).unwrap_or_default(),
            mr_alen: 6,
            mr_address: [0; 8],
        };
        request.mr_address[..6].copy_from_slice(&mac);
        // SAFETY: `request` is a valid packet_mreq and its exact size is passed.
        let rc = unsafe {
            libc::setsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_ADD_MEMBERSHIP,
                (&raw const request).cast(),
                socklen_of::<libc::packet_mreq>(),
            )
        };
        if rc < 0 {
            return Err(NetError::PacketSocket {
                op: "join multicast",
                ifindex: self.ifindex,
                source: io::Error::last_os_error(),
            });
        }
        Ok(())
    }

    /// Sends one complete Ethernet frame (destination MAC first).
    pub fn send(&self, frame: &[u8]) -> Result<(), NetError> {
        // SAFETY: the buffer is valid for `frame.len()` bytes for the duration of the call.
        let sent =
            unsafe { libc::send(self.fd.as_raw_fd(), frame.as_ptr().cast(), frame.len(), 0) };
        if sent < 0 {
            return Err(NetError::PacketSocket {
                op: "send",
                ifindex: self.ifindex,
                source: io::Error::last_os_error(),
            });
        }
        Ok(())
    }

    /// Sends every frame of `batch`, in order, with as few `sendmmsg` calls as the kernel
    /// allows. A frame the kernel refuses is skipped and the rest still go out; returns the
    /// first refusal with how many frames were refused.
    pub fn send_batch(&self, batch: &FrameBatch) -> Result<(), BatchRefused> {
        let mut iovecs: Vec<libc::iovec> = batch
            .frames()
            .map(|frame| libc::iovec {
                iov_base: frame.as_ptr().cast_mut().cast(),
                iov_len: frame.len(),
            })
            .collect();
        let mut headers: Vec<libc::mmsghdr> = iovecs
            .iter_mut()
            .map(|iovec| {
                // SAFETY: msghdr is plain data; all-zero is a valid empty header.
                let mut header: libc::msghdr = unsafe { std::mem::zeroed() };
                header.msg_iov = iovec;
                header.msg_iovlen = 1;
                libc::mmsghdr {
                    msg_hdr: header,
                    msg_len: 0,
                }
            })
            .collect();
        let mut refused: Option<BatchRefused> = None;
        let mut next = 0;
        while next < headers.len() {
            let remaining = &mut headers[next..];
            let count = libc::c_uint::try_from(remaining.len()).unwrap_or(libc::c_uint::MAX);
            // SAFETY: every header points at one iovec of `iovecs`, which points into `batch`;
            // both outlive the call, and `count` headers follow `remaining`'s start.
            let sent =
                unsafe { libc::sendmmsg(self.fd.as_raw_fd(), remaining.as_mut_ptr(), count, 0) };
            match usize::try_from(sent) {
                Ok(sent) if sent > 0 => next += sent,
                _ => {
                    // The first remaining frame was refused (sendmmsg reports an error only
                    // for the first message it tried): skip it, unless a signal interrupted
                    // the call before anything went out.
                    let source = io::Error::last_os_error();
                    if source.kind() == io::ErrorKind::Interrupted {
                        continue;
                    }
                    let refusal = refused.get_or_insert(BatchRefused {
                        frames: 0,
                        first: NetError::PacketSocket {
                            op: "sendmmsg",
                            ifindex: self.ifindex,
                            source,
                        },
                    });
                    refusal.frames += 1;
                    next += 1;
                }
            }
        }
        refused.map_or(Ok(()), Err)
    }
}

fn ifindex_as_c_int(ifindex: u32) -> libc::c_int {
    // Interface indexes are positive kernel ints; anything else cannot come from the kernel.
    libc::c_int::try_from(ifindex).unwrap_or(0)
}

fn link_layer_address(ifindex: u32) -> libc::sockaddr_ll {
    libc::sockaddr_ll {
        sll_family: u16::try_from(libc::AF_PACKET).unwrap_or_default(),
        // Protocol 0: bound for sending only, never receives.
        sll_protocol: 0,
        sll_ifindex: ifindex_as_c_int(ifindex),
        sll_hatype: 0,
        sll_pkttype: 0,
        sll_halen: 0,
        sll_addr: [0; 8],
    }
}

pub(super) fn socklen_of<T>() -> libc::socklen_t {
    libc::socklen_t::try_from(size_of::<T>()).unwrap_or(libc::socklen_t::MAX)
}

/// Frames of a batch the kernel refused (the others were sent).
#[derive(Debug, thiserror::Error)]
#[error("{frames} frame(s) of a batch refused")]
pub struct BatchRefused {
    /// How many were refused.
    pub frames: usize,
    /// The first refusal.
    #[source]
    pub first: NetError,
}
