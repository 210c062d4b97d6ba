//! Capturing frames on a lab interface (AF_PACKET, all protocols) in a background thread, with
//! receive times, so tests can assert what a router put on the wire and when.

use std::{
    os::fd::{AsRawFd, FromRawFd, OwnedFd},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    thread::JoinHandle,
    time::{Duration, Instant, SystemTime},
};

use crate::netns::NetNs;

/// One captured frame.
#[derive(Clone, Debug)]
pub struct Captured {
    /// When the kernel received it (its socket timestamp, not when the capture thread got
    /// to read it: on a loaded machine that thread runs late, and the gaps between frames
    /// are what tests assert).
    pub at: Instant,
    /// The Ethernet frame, destination MAC first.
    pub data: Vec<u8>,
    /// Sent by this interface's own host (PACKET_OUTGOING) rather than received.
    pub outgoing: bool,
}

/// A running capture; stops when dropped.
pub struct Capture {
    frames: Arc<Mutex<Vec<Captured>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

const ETH_P_ALL_BE: u16 = (libc::ETH_P_ALL as u16).to_be();

impl Capture {
    /// Starts capturing everything `ifname` in `ns` receives or sends. Returns once the socket
    /// is open, so no frame sent after this call is missed.
    pub fn start(ns: &NetNs, ifname: &str) -> Self {
        Self::start_with(ns, ifname, None)
    }

    /// Like [`Self::start`], but the kernel hands the socket only the frames `filter` (a
    /// classic BPF socket filter) accepts: a LAN carrying 25,000 adverts a second would
    /// otherwise cost the test a core and fill its memory with frames it does not look at.
    pub fn start_filtered(ns: &NetNs, ifname: &str, filter: Vec<libc::sock_filter>) -> Self {
        Self::start_with(ns, ifname, Some(filter))
    }

    fn start_with(ns: &NetNs, ifname: &str, filter: Option<Vec<libc::sock_filter>>) -> Self {
        let frames = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = {
            let (frames, stop) = (Arc::clone(&frames), Arc::clone(&stop));
            let ifname = std::ffi::CString::new(ifname).expect("interface name");
            let netns_path = format!("/run/netns/{}", ns.name());
            std::thread::spawn(move || {
                let target = std::fs::File::open(&netns_path).expect("open netns");
                // SAFETY: valid namespace fd; only this thread moves.
                let rc = unsafe { libc::setns(target.as_raw_fd(), libc::CLONE_NEWNET) };
                assert_eq!(rc, 0, "setns for capture");
                let socket = open_socket(&ifname);
                let mut buffer = vec![0_u8; 65536];
                if let Some(filter) = &filter {
                    attach_filter(&socket, filter);
                    // Frames queued between bind and attach passed no filter: drop them.
                    // SAFETY: buffer valid for its length; non-blocking, bounded by the queue.
                    while unsafe {
                        libc::recv(
                            socket.as_raw_fd(),
                            buffer.as_mut_ptr().cast(),
                            buffer.len(),
                            libc::MSG_DONTWAIT,
                        )
                    } >= 0
                    {}
                }
                ready_tx.send(()).expect("signal ready");
                while !stop.load(Ordering::Relaxed) {
                    let Some((n, at, outgoing)) = receive(&socket, &mut buffer) else {
                        continue;
                    };
                    frames.lock().expect("capture lock").push(Captured {
                        at,
                        data: buffer[..n].to_vec(),
                        outgoing,
                    });
                }
            })
        };
        ready_rx.recv().expect("capture thread started");
        Self {
            frames,
            stop,
            thread: Some(thread),
        }
    }

    /// The frames captured so far.
    pub fn frames(&self) -> Vec<Captured> {
        self.frames.lock().expect("capture lock").clone()
    }

    /// Forgets what was captured so far.
    pub fn clear(&self) {
        self.frames.lock().expect("capture lock").clear();
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            // The receive timeout bounds this join.
            let _panicked = thread.join();
        }
    }
}

/// A classic BPF filter accepting IPv4 packets of `protocol` from `source`. (Frames that
/// arrived between the socket's bind and the filter's attach are dropped by the capture.)
pub fn ipv4_filter(source: std::net::Ipv4Addr, protocol: u8) -> Vec<libc::sock_filter> {
    let op = |code: u32, jt: u8, jf: u8, k: u32| libc::sock_filter {
        code: u16::try_from(code).expect("BPF opcode"),
        jt,
        jf,
        k,
    };
    let (load_half, load_byte, load_word) = (
        libc::BPF_LD | libc::BPF_H | libc::BPF_ABS,
        libc::BPF_LD | libc::BPF_B | libc::BPF_ABS,
        libc::BPF_LD | libc::BPF_W | libc::BPF_ABS,
    );
    let jump_equal = libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K;
    let ret = libc::BPF_RET | libc::BPF_K;
    // Loads are big-endian, as the header fields are.
    vec![
        op(load_half, 0, 0, 12),
        op(
            jump_equal,
            0,
            5,
            u32::from(vrrp_common::consts::ETHERTYPE_IPV4),
        ),
        op(load_byte, 0, 0, 23),
        op(jump_equal, 0, 3, u32::from(protocol)),
        op(load_word, 0, 0, 26),
        op(jump_equal, 0, 1, u32::from(source)),
        op(ret, 0, 0, u32::MAX),
        op(ret, 0, 0, 0),
    ]
}

fn attach_filter(socket: &OwnedFd, filter: &[libc::sock_filter]) {
    let program = libc::sock_fprog {
        len: u16::try_from(filter.len()).expect("filter length"),
        filter: filter.as_ptr().cast_mut(),
    };
    // SAFETY: `program` points at `filter`, which outlives the call; the kernel copies it.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ATTACH_FILTER,
            (&raw const program).cast(),
            u32::try_from(size_of::<libc::sock_fprog>()).expect("size"),
        )
    };
    assert_eq!(
        rc,
        0,
        "SO_ATTACH_FILTER: {}",
        std::io::Error::last_os_error()
    );
}

fn open_socket(ifname: &std::ffi::CStr) -> OwnedFd {
    // SAFETY: plain socket(2); checked below.
    let raw = unsafe {
        libc::socket(
            libc::AF_PACKET,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            i32::from(ETH_P_ALL_BE),
        )
    };
    assert!(
        raw >= 0,
        "AF_PACKET socket: {}",
        std::io::Error::last_os_error()
    );
    // SAFETY: freshly opened fd owned by nobody else.
    let socket = unsafe { OwnedFd::from_raw_fd(raw) };
    // SAFETY: valid C string.
    let ifindex = unsafe { libc::if_nametoindex(ifname.as_ptr()) };
    assert!(ifindex != 0, "no interface {ifname:?}");
    let address = libc::sockaddr_ll {
        sll_family: libc::AF_PACKET as u16,
        sll_protocol: ETH_P_ALL_BE,
        sll_ifindex: i32::try_from(ifindex).expect("ifindex"),
        sll_hatype: 0,
        sll_pkttype: 0,
        sll_halen: 0,
        sll_addr: [0; 8],
    };
    // SAFETY: valid sockaddr_ll with its size.
    let rc = unsafe {
        libc::bind(
            socket.as_raw_fd(),
            (&raw const address).cast(),
            u32::try_from(size_of::<libc::sockaddr_ll>()).expect("size"),
        )
    };
    assert_eq!(rc, 0, "bind capture: {}", std::io::Error::last_os_error());
    let timeout = libc::timeval {
        tv_sec: 0,
        tv_usec: 50_000,
    };
    // SAFETY: valid timeval with its size.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&raw const timeout).cast(),
            u32::try_from(size_of::<libc::timeval>()).expect("size"),
        )
    };
    assert_eq!(rc, 0, "SO_RCVTIMEO");
    let on: libc::c_int = 1;
    // SAFETY: valid int with its size.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_TIMESTAMPNS,
            (&raw const on).cast(),
            u32::try_from(size_of::<libc::c_int>()).expect("size"),
        )
    };
    assert_eq!(rc, 0, "SO_TIMESTAMPNS");
    socket
}

/// One frame from `socket` into `buffer`: its length, the kernel's receive time as an
/// [`Instant`], and whether this host sent it. `None` on the receive timeout.
fn receive(socket: &OwnedFd, buffer: &mut [u8]) -> Option<(usize, Instant, bool)> {
    // SAFETY: an all-zero sockaddr_ll is valid.
    let mut from: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    let mut io = libc::iovec {
        iov_base: buffer.as_mut_ptr().cast(),
        iov_len: buffer.len(),
    };
    // Room for one SCM_TIMESTAMPNS message, u64-aligned as cmsghdr needs.
    let mut control = [0_u64; 8];
    // SAFETY: an all-zero msghdr is valid; the fields are set below.
    let mut message: libc::msghdr = unsafe { std::mem::zeroed() };
    message.msg_name = (&raw mut from).cast();
    message.msg_namelen = u32::try_from(size_of::<libc::sockaddr_ll>()).expect("size");
    message.msg_iov = &raw mut io;
    message.msg_iovlen = 1;
    message.msg_control = control.as_mut_ptr().cast();
    message.msg_controllen = size_of_val(&control);
    // SAFETY: every pointer in `message` is valid for its length; the socket has a receive
    // timeout.
    let n =
        usize::try_from(unsafe { libc::recvmsg(socket.as_raw_fd(), &raw mut message, 0) }).ok()?;
    let (now, wall_now) = (Instant::now(), SystemTime::now());
    let mut at = now;
    // SAFETY: the kernel filled `message.msg_control` with well-formed cmsgs up to
    // msg_controllen; CMSG_* walk only within it.
    unsafe {
        let mut header = libc::CMSG_FIRSTHDR(&raw const message);
        while !header.is_null() {
            if (*header).cmsg_level == libc::SOL_SOCKET
                && (*header).cmsg_type == libc::SCM_TIMESTAMPNS
            {
                let stamp =
                    std::ptr::read_unaligned(libc::CMSG_DATA(header).cast::<libc::timespec>());
                if let (Ok(seconds @ 1..), Ok(nanos)) =
                    (u64::try_from(stamp.tv_sec), u32::try_from(stamp.tv_nsec))
                {
                    let received = SystemTime::UNIX_EPOCH + Duration::new(seconds, nanos);
                    // How long ago, by the wall clock, taken back from the monotonic now.
                    let ago = wall_now.duration_since(received).unwrap_or_default();
                    at = now.checked_sub(ago).unwrap_or(now);
                }
            }
            header = libc::CMSG_NXTHDR(&raw const message, header);
        }
    }
    Some((n, at, from.sll_pkttype == libc::PACKET_OUTGOING))
}

/// Sends raw Ethernet `frames` out of `ifname` in `ns`, `spacing` apart (as a probe host
/// injecting adverts would).
pub fn inject(ns: &NetNs, ifname: &str, frames: &[Vec<u8>], spacing: std::time::Duration) {
    let netns_path = format!("/run/netns/{}", ns.name());
    let ifname = std::ffi::CString::new(ifname).expect("interface name");
    let frames = frames.to_vec();
    std::thread::spawn(move || {
        let target = std::fs::File::open(&netns_path).expect("open netns");
        // SAFETY: valid namespace fd; only this short-lived thread moves.
        let rc = unsafe { libc::setns(target.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns for injection");
        let socket = open_socket(&ifname);
        for frame in &frames {
            // SAFETY: the frame buffer is valid for its length.
            let sent =
                unsafe { libc::send(socket.as_raw_fd(), frame.as_ptr().cast(), frame.len(), 0) };
            assert!(sent >= 0, "inject: {}", std::io::Error::last_os_error());
            std::thread::sleep(spacing);
        }
    })
    .join()
    .expect("injection thread");
}
