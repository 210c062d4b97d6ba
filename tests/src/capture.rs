//! Capturing frames on a lab interface (AF_PACKET, all protocols) in a background thread, with
//! receive times, so tests can assert what a router put on the wire and when.

use std::{
    os::fd::{AsRawFd, FromRawFd, OwnedFd},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    thread::JoinHandle,
    time::{Duration, Instant, SystemTime},
};

use crate::netns::NetNs;

/// One captured frame.
#[derive(Clone, Debug)]
pub struct Captured {
    /// When the kernel received it (the socket's receive timestamp, so a capture thread the
    /// scheduler delays still sees the real spacing; the thread's clock if there is none).
    pub at: Instant,
    /// The Ethernet frame, destination MAC first.
    pub data: Vec<u8>,
    /// Sent by this interface's own host (PACKET_OUTGOING) rather than received.
    pub outgoing: bool,
}

/// A running capture; stops when dropped.
pub struct Capture {
    frames: Arc<Mutex<Vec<Captured>>>,
    /// Frames the kernel dropped because the socket's queue was full.
    dropped: Arc<AtomicU64>,
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
        let dropped = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = {
            let (frames, dropped, stop) =
                (Arc::clone(&frames), Arc::clone(&dropped), Arc::clone(&stop));
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
                let mut received: u32 = 0;
                while !stop.load(Ordering::Relaxed) {
                    // SAFETY: an all-zero sockaddr_ll is valid.
                    let mut from: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
                    let mut from_len = u32::try_from(size_of::<libc::sockaddr_ll>()).expect("size");
                    // SAFETY: buffer and address valid for their lengths; the socket has a
                    // receive timeout.
                    let n = unsafe {
                        libc::recvfrom(
                            socket.as_raw_fd(),
                            buffer.as_mut_ptr().cast(),
                            buffer.len(),
                            0,
                            (&raw mut from).cast(),
                            &raw mut from_len,
                        )
                    };
                    let Ok(n) = usize::try_from(n) else {
                        dropped.fetch_add(queue_drops(&socket), Ordering::Relaxed);
                        continue;
                    };
                    frames.lock().expect("capture lock").push(Captured {
                        at: received_at(&socket),
                        data: buffer[..n].to_vec(),
                        outgoing: from.sll_pkttype == libc::PACKET_OUTGOING,
                    });
                    received = received.wrapping_add(1);
                    // A busy LAN never lets the socket idle: count drops as it goes too.
                    if received.is_multiple_of(1024) {
                        dropped.fetch_add(queue_drops(&socket), Ordering::Relaxed);
                    }
                }
                dropped.fetch_add(queue_drops(&socket), Ordering::Relaxed);
            })
        };
        ready_rx.recv().expect("capture thread started");
        Self {
            frames,
            dropped,
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

    /// The frames captured since the last call (or the start), forgotten here: a long capture
    /// of a busy LAN is read in pieces, not kept whole.
    pub fn take(&self) -> Vec<Captured> {
        std::mem::take(&mut *self.frames.lock().expect("capture lock"))
    }

    /// Frames the kernel dropped so far because the capture's queue was full (counted every
    /// 1024 frames and when the socket idles): each one is a gap the capture did not see.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
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

/// linux/sockios.h `SIOCGSTAMPNS` (its `_OLD` value: the native `timespec`), absent from libc.
const SIOCGSTAMPNS: libc::Ioctl = 0x8907;

/// The kernel's receive time of the frame last read from `socket` (SIOCGSTAMPNS, which also
/// turns stamping on: the very first frame may have none and gets the current time).
fn received_at(socket: &OwnedFd) -> Instant {
    let (now, wall_now) = (Instant::now(), SystemTime::now());
    let mut stamp = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: SIOCGSTAMPNS writes one timespec to the valid pointer.
    let rc = unsafe { libc::ioctl(socket.as_raw_fd(), SIOCGSTAMPNS, &raw mut stamp) };
    let (Ok(secs), Ok(nanos)) = (u64::try_from(stamp.tv_sec), u32::try_from(stamp.tv_nsec)) else {
        return now;
    };
    let stamped = SystemTime::UNIX_EPOCH + Duration::new(secs, nanos);
    match wall_now.duration_since(stamped) {
        Ok(age) if rc == 0 => now.checked_sub(age).unwrap_or(now),
        _ => now,
    }
}

/// Frames `socket`'s full queue made the kernel drop since the last call (PACKET_STATISTICS
/// reads and resets).
fn queue_drops(socket: &OwnedFd) -> u64 {
    // SAFETY: an all-zero tpacket_stats is valid.
    let mut stats: libc::tpacket_stats = unsafe { std::mem::zeroed() };
    let mut len = u32::try_from(size_of::<libc::tpacket_stats>()).expect("size");
    // SAFETY: valid buffer and length for PACKET_STATISTICS.
    let rc = unsafe {
        libc::getsockopt(
            socket.as_raw_fd(),
            libc::SOL_PACKET,
            libc::PACKET_STATISTICS,
            (&raw mut stats).cast(),
            &raw mut len,
        )
    };
    if rc == 0 {
        u64::from(stats.tp_drops)
    } else {
        0
    }
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
    // Room for a second of a LAN carrying 255 virtual routers at 10 ms while the capture thread
    // waits for a CPU (FORCE: above rmem_max; as root). Best effort: the default is smaller.
    let buffer_bytes: libc::c_int = 32 << 20;
    // SAFETY: valid int with its size.
    let _best_effort = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUFFORCE,
            (&raw const buffer_bytes).cast(),
            u32::try_from(size_of::<libc::c_int>()).expect("size"),
        )
    };
    socket
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
