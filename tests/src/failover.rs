//! Measuring a failover as a host sees it: the takeover on the wire (the old Master's last
//! advert to the new Master's first) and the longest gap in replies to 1 ms-spaced pings of the
//! virtual addresses. Shared by `cargo xtask demo` and the failover benchmark.

use std::{
    io::{BufRead as _, BufReader},
    process::{Child, Stdio},
    thread::JoinHandle,
    time::{Duration, Instant},
};

use crate::{capture::Capture, netns::NetNs, vrrp::adverts_from, wait};

/// A host pinging an address every millisecond; `-D` stamps each reply. A thread reads the
/// replies as they come: a pipe left unread fills up and stalls ping, hiding the very gap we
/// measure.
pub struct Prober {
    child: Child,
    reader: Option<JoinHandle<Vec<Duration>>>,
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
                .filter_map(|line| parse_stamp(line.strip_prefix('[')?.split(']').next()?))
                .collect()
        });
        Self {
            child,
            reader: Some(reader),
        }
    }

    /// Stops the prober and returns the longest time between two replies and the reply count.
    pub fn longest_gap(mut self) -> (Duration, usize) {
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
            .map(|pair| pair[1].saturating_sub(pair[0]))
            .max()
            .unwrap_or_default();
        (gap, stamps.len())
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
    /// Per probed address: the longest gap between replies and how many replies came.
    pub outages: Vec<(String, Duration, usize)>,
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
            outages: probes
                .into_iter()
                .map(|(target, probe)| {
                    let (gap, replies) = probe.longest_gap();
                    (target, gap, replies)
                })
                .collect(),
        }
    }
}
