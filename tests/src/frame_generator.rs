//! A one-core frame generator: one frame sent over and over through an AF_PACKET socket with
//! `sendmmsg` batches and `PACKET_QDISC_BYPASS` (no pktgen on the test kernel), from a thread
//! pinned to one CPU. The frame goes straight to the driver's transmit, as fast as that CPU
//! can hand it over.

use std::{
    ffi::CString,
    mem,
    os::fd::{AsRawFd, FromRawFd, OwnedFd},
    ptr,
    time::{Duration, Instant},
};

use crate::{
    cpu::{pin_current_thread, thread_cpu_time},
    netns::NetNs,
    os_call::expect_success,
};

/// Frames per `sendmmsg` call.
const BATCH: usize = 64;

/// A raw socket bound to one interface, and the frame it sends.
pub struct FrameGenerator {
    socket: OwnedFd,
    frame: Vec<u8>,
}

/// What one [`FrameGenerator::send_for`] did.
#[derive(Clone, Copy, Debug)]
pub struct Sent {
    /// Frames the kernel took.
    pub frames: u64,
    /// Wall-clock length of the burst.
    pub elapsed: Duration,
    /// CPU time the sending thread got in it (the kernel's receive work a veth does on the
    /// sending CPU included, when it runs in the thread's softirq).
    pub cpu_time: Duration,
}

impl FrameGenerator {
    /// A generator for `frame` on interface `ifname` of `ns`; panics with the reason if the
    /// socket cannot be set up.
    pub fn new(ns: &NetNs, ifname: &str, frame: Vec<u8>) -> Self {
        // The socket belongs to the namespace it was created in; the thread may leave after.
        let _inside = ns.enter();
        // Protocol 0: the socket receives nothing, so it costs nothing per frame on receive.
        // SAFETY: plain socket(2); the result is checked before use.
        let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        assert!(
            raw >= 0,
            "AF_PACKET socket in {}: {}",
            ns.name(),
            std::io::Error::last_os_error()
        );
        // SAFETY: `raw` is a fresh descriptor nothing else owns.
        let socket = unsafe { OwnedFd::from_raw_fd(raw) };
        let name = CString::new(ifname).expect("interface name without NUL");
        // SAFETY: a NUL-terminated name; the call has no other preconditions.
        let ifindex = unsafe { libc::if_nametoindex(name.as_ptr()) };
        assert_ne!(ifindex, 0, "no interface {ifname} in {}", ns.name());
        // SAFETY: an all-zero sockaddr_ll is valid; the fields that matter are set below.
        let mut address: libc::sockaddr_ll = unsafe { mem::zeroed() };
        address.sll_family = libc::AF_PACKET as u16;
        address.sll_ifindex = i32::try_from(ifindex).expect("ifindex fits an int");
        // SAFETY: `address` is a valid sockaddr_ll of the length passed.
        let bound = unsafe {
            libc::bind(
                socket.as_raw_fd(),
                ptr::from_ref(&address).cast(),
                mem::size_of_val(&address) as libc::socklen_t,
            )
        };
        expect_success(bound, format_args!("bind to {ifname}"));
        let bypass: libc::c_int = 1;
        // SAFETY: an int option of the size passed.
        let set = unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_QDISC_BYPASS,
                ptr::from_ref(&bypass).cast(),
                mem::size_of_val(&bypass) as libc::socklen_t,
            )
        };
        expect_success(set, format_args!("PACKET_QDISC_BYPASS on {ifname}"));
        Self { socket, frame }
    }

    /// Sends the frame as fast as a thread pinned to `cpu` can for `window`.
    pub fn send_for(&self, window: Duration, cpu: usize) -> Sent {
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    pin_current_thread(cpu);
                    self.burst(window)
                })
                .join()
                .expect("the generator thread")
        })
    }

    fn burst(&self, window: Duration) -> Sent {
        let mut frame = libc::iovec {
            iov_base: self.frame.as_ptr().cast_mut().cast(),
            iov_len: self.frame.len(),
        };
        // Every message of the batch is the same frame (the kernel copies it into each skb).
        // SAFETY: an all-zero mmsghdr is valid; the iovec is set below.
        let mut messages: Vec<libc::mmsghdr> = (0..BATCH)
            .map(|_| unsafe { mem::zeroed::<libc::mmsghdr>() })
            .collect();
        for message in &mut messages {
            message.msg_hdr.msg_iov = ptr::from_mut(&mut frame);
            message.msg_hdr.msg_iovlen = 1;
        }
        let start = Instant::now();
        let cpu_start = thread_cpu_time();
        let mut frames = 0u64;
        while start.elapsed() < window {
            // SAFETY: `messages` holds BATCH valid headers whose iovec points at the frame,
            // which outlives the call; the kernel only reads it.
            let sent = unsafe {
                libc::sendmmsg(
                    self.socket.as_raw_fd(),
                    messages.as_mut_ptr(),
                    BATCH as libc::c_uint,
                    libc::MSG_DONTWAIT,
                )
            };
            match u64::try_from(sent) {
                Ok(count) => frames += count,
                // A full send buffer or device queue: the receiver is behind, try again.
                Err(_) => {
                    let error = std::io::Error::last_os_error();
                    assert!(
                        matches!(error.raw_os_error(), Some(libc::EAGAIN | libc::ENOBUFS)),
                        "sendmmsg: {error}"
                    );
                }
            }
        }
        Sent {
            frames,
            elapsed: start.elapsed(),
            cpu_time: thread_cpu_time().saturating_sub(cpu_start),
        }
    }
}
