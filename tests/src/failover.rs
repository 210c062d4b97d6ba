//! Measuring a failover as a host sees it: the takeover on the wire (the old Master's last
//! advert to the new Master's first) and the longest gap in replies to 1 ms-spaced pings of the
//! virtual addresses. Shared by `cargo xtask demo`, the failover benchmark and the hand-off
//! tests ([`FailoverLab`]).

use std::{
    io::{BufRead as _, BufReader},
    os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd},
    path::Path,
    process::{Child, Stdio},
    thread::JoinHandle,
    time::{Duration, Instant},
};

use vrrp_common::consts::{ETHERNET_HEADER_LEN, ETHERTYPE_ARP, ETHERTYPE_IPV4};

use crate::{
    capture::{Capture, Captured},
    daemon::Daemon,
    keepalived::Keepalived,
    lab::{LAN_IF, Lab},
    netns::NetNs,
    router::{Implementation, Router},
    vrrp::{Family, RouterSpec, VIP4, adverts_from},
    wait,
};

/// A host pinging an address every millisecond; `-D` stamps each reply. A thread reads the
/// replies as they come: a pipe left unread fills up and stalls ping, hiding the very gap we
/// measure.
pub struct Prober {
    child: Child,
    /// Each reply's stamp and icmp_seq.
    reader: Option<JoinHandle<Vec<(Duration, u64)>>>,
}

/// What a prober saw.
pub struct Outage {
    /// The probed address.
    pub target: String,
    /// The longest time between two replies (also stretched by a loaded machine delaying
    /// ping itself).
    pub gap: Duration,
    /// How many replies came.
    pub replies: usize,
    /// Probes between the first and the last reply that got none: traffic the path lost,
    /// whatever the machine's load.
    pub lost: u64,
}

impl Prober {
    /// Starts pinging `address` from `host` (bounded: ping stops by itself after 20 s).
    pub fn start(host: &NetNs, address: &str) -> Self {
        let mut child = host
            .command(&[
                "ping", "-D", "-n", "-i", "0.001", "-W", "0.2", "-w", "20", address,
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start ping");
        let stdout = child.stdout.take().expect("ping stdout");
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .filter(|line| line.contains("bytes from"))
                .filter_map(|line| {
                    let stamp = parse_stamp(line.strip_prefix('[')?.split(']').next()?)?;
                    let seq = line
                        .split("icmp_seq=")
                        .nth(1)?
                        .split(' ')
                        .next()?
                        .parse()
                        .ok()?;
                    Some((stamp, seq))
                })
                .collect()
        });
        Self {
            child,
            reader: Some(reader),
        }
    }

    /// Stops the prober and returns what it saw.
    pub fn outage(mut self, target: String) -> Outage {
        let pid = libc::pid_t::try_from(self.child.id()).expect("pid");
        // SAFETY: kill(2) on our own child; SIGINT makes ping print its summary and exit.
        unsafe { libc::kill(pid, libc::SIGINT) };
        let _exited = self.child.wait();
        // ping has exited, so its stdout is closed and the reader finishes.
        let stamps = self
            .reader
            .take()
            .map(|reader| reader.join().expect("ping reader"))
            .unwrap_or_default();
        let gap = stamps
            .windows(2)
            .map(|pair| pair[1].0.saturating_sub(pair[0].0))
            .max()
            .unwrap_or_default();
        let mut seqs: Vec<u64> = stamps.iter().map(|(_, seq)| *seq).collect();
        seqs.sort_unstable();
        seqs.dedup();
        let lost = match (seqs.first(), seqs.last()) {
            (Some(first), Some(last)) => last - first + 1 - seqs.len() as u64,
            _ => 0,
        };
        Outage {
            target,
            gap,
            replies: stamps.len(),
            lost,
        }
    }
}

impl Drop for Prober {
    fn drop(&mut self) {
        let _already_gone = self.child.kill();
        let _reaped = self.child.wait();
        if let Some(reader) = self.reader.take() {
            let _stamps = reader.join();
        }
    }
}

/// `ping -D` stamps: seconds.microseconds since the epoch.
fn parse_stamp(stamp: &str) -> Option<Duration> {
    let (seconds, micros) = stamp.split_once('.')?;
    Some(Duration::from_secs(seconds.parse().ok()?) + Duration::from_micros(micros.parse().ok()?))
}

/// `d` as milliseconds with one decimal, e.g. "360.9 ms".
pub fn millis(duration: Duration) -> String {
    format!(
        "{}.{} ms",
        duration.as_millis(),
        (duration.as_micros() % 1000) / 100
    )
}

/// What the host saw around one failover.
pub struct Failover {
    /// The old Master's last advert to the new Master's first, as captured on the host.
    pub takeover: Duration,
    /// When the host captured the new Master's first advert.
    pub first_new_advert: Instant,
    /// Per probed address, what its prober saw.
    pub outages: Vec<Outage>,
}

impl Failover {
    /// Pings every address of `targets` each millisecond from `host`, runs `fail`, waits until
    /// `to` advertises after it, and measures against `from`'s last advert.
    pub fn measure(
        host: &NetNs,
        capture: &Capture,
        from: &str,
        to: &str,
        targets: &[&str],
        fail: impl FnOnce(),
    ) -> Self {
        let probes: Vec<(String, Prober)> = targets
            .iter()
            .map(|target| ((*target).to_owned(), Prober::start(host, target)))
            .collect();
        std::thread::sleep(Duration::from_millis(500));
        let failed_at = Instant::now();
        fail();
        let first_new = wait::until(
            "the Backup to take over",
            Duration::from_secs(30),
            // Timestamps come from the capture thread; polling only decides when to look.
            Duration::from_millis(20),
            || {
                adverts_from(&capture.frames(), to)
                    .iter()
                    .map(|advert| advert.at)
                    .find(|at| *at > failed_at)
            },
        );
        let last_old = adverts_from(&capture.frames(), from)
            .iter()
            .rev()
            .map(|advert| advert.at)
            .find(|at| *at < first_new)
            .expect("the Master advertised before failing");
        // Let the probes see the recovery.
        std::thread::sleep(Duration::from_millis(700));
        Self {
            takeover: first_new - last_old,
            first_new_advert: first_new,
            outages: probes
                .into_iter()
                .map(|(target, probe)| probe.outage(target))
                .collect(),
        }
    }
}

/// How the Master stops.
#[derive(Clone, Copy, Debug)]
pub enum Failure {
    /// Its daemon is SIGKILLed; the node, with its pinned data plane, stays on the LAN.
    DaemonKilled,
    /// Its daemon is SIGKILLed and its switch port goes down.
    NodeLost,
    /// Its daemon gets SIGTERM: it resigns (priority 0) and hands over, make-before-break.
    PlannedSwitchover,
}

impl Failure {
    /// The benchmark table's label.
    pub fn label(self) -> &'static str {
        match self {
            Self::DaemonKilled => "daemon SIGKILL",
            Self::NodeLost => "node loss",
            Self::PlannedSwitchover => "planned switchover (SIGTERM)",
        }
    }
}

/// r1 (priority 200, Master) and r2 (100) running xvrrp with Accept_Mode, or keepalived with
/// `use_vmac` (its virtual MAC on a macvlan; it accepts for its addresses unless strict), a
/// host, and a capture on the host, in a fresh lab whose namespaces are tagged `tag`.
pub struct FailoverLab {
    // Routers and capture first: they stop before the namespaces go.
    /// r1's and r2's routers.
    pub routers: [Router; 2],
    /// Everything the host's `eth0` saw.
    pub capture: Capture,
    /// The LAN.
    pub lab: Lab,
    /// Index of r1 in `lab.nodes`.
    pub r1: usize,
    /// Index of r2.
    pub r2: usize,
    /// Index of the host.
    pub host: usize,
    /// r2's configuration (its Master_Down_Interval bounds the takeover).
    pub backup_spec: RouterSpec,
}

/// What one failure in a [`FailoverLab`] showed.
pub struct LabFailover {
    /// What the host saw.
    pub failover: Failover,
    /// Frames in which r1's node answered for the virtual address (ARP replies, echo replies)
    /// on its switch port after r2's first advert (plus [`IN_FLIGHT`]), including to the
    /// host's fresh ARP requests once r2 had taken over: 0 when the old node fell silent.
    pub old_node_answers: usize,
}

/// Answers r1 sent just before it yielded to r2's first advert, stamped later by a capture
/// thread the loaded machine delayed, are not answers after the takeover.
const IN_FLIGHT: Duration = Duration::from_millis(50);

/// How often the host asks anew who has the virtual address after a takeover.
const FRESH_ARP_ROUNDS: usize = 3;

impl FailoverLab {
    /// Starts both routers running xvrrp at `interval_ms` adverts and returns once r1 is
    /// Master and r2 has heard it for a while.
    pub fn start(tag: &str, interval_ms: u32) -> Self {
        Self::start_with(Implementation::Xvrrp, tag, interval_ms)
    }

    /// [`Self::start`] with both routers running `implementation`.
    pub fn start_with(implementation: Implementation, tag: &str, interval_ms: u32) -> Self {
        let mut lab = Lab::new();
        let r1 = lab.add_node(&format!("{tag}-r1"), 1);
        let r2 = lab.add_node(&format!("{tag}-r2"), 2);
        let host = lab.add_node(&format!("{tag}-h"), 10);
        let capture = Capture::start(&lab.nodes[host].ns, LAN_IF);
        let spec = |priority| RouterSpec {
            interval_ms,
            accept_mode: true,
            ..RouterSpec::new(priority)
        };
        let start = |node: usize, priority| {
            let ns = &lab.nodes[node].ns;
            match implementation {
                Implementation::Xvrrp => {
                    let bpffs = Self::bpffs(ns);
                    Router::Xvrrp(Daemon::start(
                        ns,
                        "xvrrp",
                        &spec(priority).config(&bpffs),
                        Path::new(&bpffs),
                    ))
                }
                Implementation::Keepalived => Router::Keepalived(Keepalived::start_with(
                    ns,
                    Family::V4,
                    priority,
                    interval_ms,
                    "    use_vmac\n",
                )),
            }
        };
        let routers = [start(r1, 200), start(r2, 100)];
        let r1_address = lab.nodes[r1].ipv4.clone();
        let r1_adverts = || adverts_from(&capture.frames(), &r1_address).len();
        wait::until(
            "r1 to become Master",
            // keepalived on a loaded machine was seen taking 9 s to start.
            Duration::from_secs(30) + spec(200).master_down_interval(),
            Duration::from_millis(10),
            || (r1_adverts() > 0).then_some(()),
        );
        // A settled LAN: the Backup has heard a few of the Master's adverts (so it runs on
        // the Master's interval, and the bridge has learnt where the virtual MAC is). Bounded
        // loosely: a loaded machine delays adverts.
        wait::until(
            "r1's third advert",
            Duration::from_secs(5) + spec(200).master_down_interval() * 2,
            Duration::from_millis(5),
            || (r1_adverts() >= 3).then_some(()),
        );
        Self {
            routers,
            capture,
            lab,
            r1,
            r2,
            host,
            backup_spec: spec(100),
        }
    }

    /// Where the daemon of `ns` pins its data plane.
    fn bpffs(ns: &NetNs) -> String {
        format!("/sys/fs/bpf/xvrrp-failover-{}", ns.name())
    }

    /// The pin directory of node `node`'s LAN interface (`<bpffs>/eth0`).
    pub fn pin_dir(&self, node: usize) -> std::path::PathBuf {
        Path::new(&Self::bpffs(&self.lab.nodes[node].ns)).join(LAN_IF)
    }

    /// Makes r1 fail as `failure` says while the host pings the VIP every millisecond,
    /// measures until r2 advertises, then has the host ask who has the VIP a few times,
    /// watching r1's switch port for answers.
    pub fn fail(&self, failure: Failure) -> LabFailover {
        let r1_node = &self.lab.nodes[self.r1];
        let port = r1_node.switch_port.clone();
        let r1_port = Capture::start(&self.lab.switch, &port);
        let host = &self.lab.nodes[self.host].ns;
        let failover = Failover::measure(
            host,
            &self.capture,
            &r1_node.ipv4,
            &self.lab.nodes[self.r2].ipv4,
            &[VIP4],
            || match failure {
                Failure::DaemonKilled => self.routers[0].signal(libc::SIGKILL),
                Failure::NodeLost => {
                    set_link_down(&self.lab.switch, &port);
                    self.routers[0].signal(libc::SIGKILL);
                }
                Failure::PlannedSwitchover => self.routers[0].signal(libc::SIGTERM),
            },
        );
        ask_who_has_vip(host, FRESH_ARP_ROUNDS);
        let taken_over = failover.first_new_advert + IN_FLIGHT;
        let old_node_answers = answers_for_vip(&r1_port.frames())
            .into_iter()
            .filter(|at| *at > taken_over)
            .count();
        LabFailover {
            failover,
            old_node_answers,
        }
    }
}

/// Takes `ifname` in `ns` down with one ioctl from this thread: `ip link set down` is a
/// process to start, which a loaded machine delays by hundreds of milliseconds, during
/// which a "lost" node would go on answering.
fn set_link_down(ns: &NetNs, ifname: &str) {
    let _inside = ns.enter();
    // SAFETY: plain socket(2); checked below.
    let raw = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    assert!(raw >= 0, "socket: {}", std::io::Error::last_os_error());
    // SAFETY: a fresh fd owned by nobody else.
    let socket = unsafe { OwnedFd::from_raw_fd(raw) };
    // SAFETY: an all-zero ifreq is valid.
    let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
    assert!(
        ifname.len() < request.ifr_name.len(),
        "interface name {ifname} too long"
    );
    for (slot, byte) in request.ifr_name.iter_mut().zip(ifname.bytes()) {
        *slot = libc::c_char::try_from(byte).expect("ASCII interface name");
    }
    for (what, call) in [
        ("SIOCGIFFLAGS", libc::SIOCGIFFLAGS),
        ("SIOCSIFFLAGS", libc::SIOCSIFFLAGS),
    ] {
        if call == libc::SIOCSIFFLAGS {
            // SAFETY: SIOCGIFFLAGS filled the flags member of the union.
            unsafe {
                request.ifr_ifru.ifru_flags &=
                    !libc::c_short::try_from(libc::IFF_UP).expect("flag");
            }
        }
        // SAFETY: `request` is a valid ifreq naming the interface, for the call's duration.
        let rc = unsafe { libc::ioctl(socket.as_raw_fd(), call, &raw mut request) };
        assert_eq!(
            rc,
            0,
            "{what} {ifname}: {}",
            std::io::Error::last_os_error()
        );
    }
}

/// Has `host` forget the virtual address's MAC and ping it once, `rounds` times: each round
/// broadcasts an ARP request that every node holding the address answers.
pub fn ask_who_has_vip(host: &NetNs, rounds: usize) {
    for _ in 0..rounds {
        host.run(&["ip", "neigh", "flush", "dev", LAN_IF]);
        let _reply_or_not = host
            .command(&["ping", "-c", "1", "-W", "0.2", VIP4])
            .output();
    }
}

/// When each ARP reply for the VIP in `frames` was seen.
pub fn arp_replies(frames: &[Captured]) -> Vec<Instant> {
    let vip = vip4_octets();
    frames
        .iter()
        .filter(|f| {
            f.data.get(12..14) == Some(&ETHERTYPE_ARP.to_be_bytes())
                && f.data.get(20..22) == Some(&[0, 2])
                && f.data.get(28..32) == Some(&vip)
        })
        .map(|f| f.at)
        .collect()
}

/// When a node, seen from its switch port (frames the port received), answered for the VIP:
/// ARP replies for it and ICMP echo replies from it.
fn answers_for_vip(frames: &[Captured]) -> Vec<Instant> {
    let from_node: Vec<Captured> = frames.iter().filter(|f| !f.outgoing).cloned().collect();
    let vip = vip4_octets();
    let echo_replies = from_node.iter().filter(|f| {
        f.data.get(12..14) == Some(&ETHERTYPE_IPV4.to_be_bytes())
            && f.data.get(ETHERNET_HEADER_LEN + 9) == Some(&ICMP)
            && f.data
                .get(ETHERNET_HEADER_LEN + 12..ETHERNET_HEADER_LEN + 16)
                == Some(&vip)
            && f.data.get(ETHERNET_HEADER_LEN + 20) == Some(&ICMP_ECHO_REPLY)
    });
    let mut answers: Vec<Instant> = echo_replies.map(|f| f.at).collect();
    answers.extend(arp_replies(&from_node));
    answers
}

/// IPv4 protocol number of ICMP.
const ICMP: u8 = 1;
/// ICMP type of an echo reply.
const ICMP_ECHO_REPLY: u8 = 0;

fn vip4_octets() -> [u8; 4] {
    VIP4.parse::<std::net::Ipv4Addr>()
        .expect("VIP4 is an IPv4 address")
        .octets()
}
