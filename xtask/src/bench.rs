//! `cargo xtask bench <name>`: run a benchmark (root) and rewrite its section of
//! docs/BENCHMARKS.md with the machine and command, so the numbers in the repository say where
//! they came from. Each benchmark owns one section between markers; the others are kept.
//!
//! - `xdp`: ns/packet of the XDP program through BPF_PROG_TEST_RUN, and the Backup's
//!   virtual-MAC drop rate over a veth against nftables (`tests/benches/xdp/`).
//! - `failover`: takeover and client-visible outage of real daemons in namespaces, xvrrp next
//!   to keepalived (`tests/benches/failover.rs`).
//! - `forwarding`: throughput a Master forwards with the data plane in each ingress mode
//!   against no program (`tests/benches/forwarding.rs`).
//! - `scale`: 1, 16 and 255 VRIDs at 10 ms, xvrrp next to keepalived on an idle machine
//!   (`tests/benches/scale.rs`).
//! - `stress`: the same pairs while stress-ng saturates every CPU (`tests/benches/stress.rs`).
//! - `all`: each of the above in turn.

use std::{fs, path::Path, process::Command};

use anyhow::{Context as _, Result, bail};

use crate::{build_ebpf::build_ebpf, exec::is_root, exec::probe, exec::run};

/// The benchmarks `cargo xtask bench` knows.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub(crate) enum Bench {
    /// XDP program ns/packet against an empty XDP_PASS program; virtual-MAC drop rate against
    /// nftables.
    Xdp,
    /// Failover as a host sees it, two xvrrp next to two keepalived, at several advert intervals.
    Failover,
    /// Forwarding through a Master with the data plane in each mode, against no program.
    Forwarding,
    /// 1/16/255 VRIDs at 10 ms: CPU, RSS, adverts punted vs absorbed, xvrrp and keepalived.
    Scale,
    /// 1/16/255 VRIDs at 10 ms under stress-ng: false takeovers and advert jitter.
    Stress,
    /// Every benchmark above, one after the other (about 35 minutes on 2 CPUs).
    All,
}

/// What `all` runs, in this order.
const EACH: [Bench; 5] = [
    Bench::Xdp,
    Bench::Failover,
    Bench::Forwarding,
    Bench::Scale,
    Bench::Stress,
];

impl Bench {
    fn name(self) -> &'static str {
        match self {
            Self::Xdp => "xdp",
            Self::Failover => "failover",
            Self::Forwarding => "forwarding",
            Self::Scale => "scale",
            Self::Stress => "stress",
            Self::All => "all",
        }
    }
}

pub(crate) fn bench(workspace: &Path, which: Bench) -> Result<()> {
    if !is_root() {
        bail!("benchmarks need root (BPF_PROG_TEST_RUN, network namespaces, XDP)");
    }
    match which {
        Bench::All => EACH
            .into_iter()
            .try_for_each(|each| bench_one(workspace, each)),
        one => bench_one(workspace, one),
    }
}

/// Runs one benchmark (not [`Bench::All`]) and rewrites its section.
fn bench_one(workspace: &Path, which: Bench) -> Result<()> {
    build_ebpf(workspace)?;
    if let Bench::Failover | Bench::Scale | Bench::Stress = which {
        // The benchmark runs the optimised daemon, as deployed.
        run(Command::new("cargo")
            .current_dir(workspace)
            .args(["build", "--locked", "--release"])
            .args(["--package", "vrrp-user", "--bin", "xvrrp"]))?;
    }
    let command = [
        "cargo",
        "bench",
        "--locked",
        "-p",
        "vrrp-tests",
        "--bench",
        which.name(),
    ];
    eprintln!("+ {}", command.join(" "));
    let output = Command::new(command[0])
        .args(&command[1..])
        .current_dir(workspace)
        .output()
        .context("failed to start cargo bench")?;
    if !output.status.success() {
        bail!(
            "`{}` failed with {}: {}",
            command.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let table = String::from_utf8(output.stdout).context("benchmark output is not UTF-8")?;
    print!("{table}");
    let section = match which {
        Bench::Xdp => xdp_section(&table),
        Bench::Failover => failover_section(&table),
        Bench::Forwarding => forwarding_section(&table),
        Bench::Scale => scale_section(&table),
        Bench::Stress => stress_section(&table),
        Bench::All => unreachable!("`all` runs each benchmark on its own"),
    };
    let path = workspace.join("docs/BENCHMARKS.md");
    let existing = fs::read_to_string(&path).unwrap_or_default();
    fs::write(&path, with_section(&existing, which.name(), &section))
        .with_context(|| format!("write {}", path.display()))?;
    eprintln!("wrote {}", path.display());
    Ok(())
}

/// `document` with the section of `name` replaced by (or, when absent, followed by) `section`.
fn with_section(document: &str, name: &str, section: &str) -> String {
    let (begin, end) = (
        format!("<!-- begin {name} -->\n"),
        format!("<!-- end {name} -->\n"),
    );
    let marked = format!("{begin}{section}{end}");
    match (document.find(&begin), document.find(&end)) {
        (Some(start), Some(stop)) if start < stop => format!(
            "{}{marked}{}",
            &document[..start],
            &document[stop + end.len()..]
        ),
        _ if document.is_empty() => format!(
            "# Benchmarks\n\nEach section is written by `cargo xtask bench <name>` (as root); do \
             not edit them by hand.\n\n{marked}"
        ),
        _ => format!("{document}\n{marked}"),
    }
}

fn machine() -> String {
    let cpu = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, model)| model.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned());
    let cpus = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let kernel = probe(Command::new("uname").arg("-r")).unwrap_or_else(|| "unknown".to_owned());
    let date = probe(Command::new("date").args(["-u", "+%Y-%m-%d"]))
        .unwrap_or_else(|| "unknown".to_owned());
    format!("{cpu}, {cpus} CPUs, kernel {kernel}; measured {date}")
}

fn xdp_section(table: &str) -> String {
    format!(
        "## XDP data plane: ns per packet, virtual-MAC drop rate (`cargo xtask bench xdp`)\n\n\
         - Machine: {}.\n\
         - Both parts run pinned to one CPU and interleave the program with its baseline round\n  \
           by round; every ratio is taken within a round, and tables show the median (min–max)\n  \
           over the rounds, so drift between rounds (frequency, other load) cancels.\n\
         - *Per packet*: `BPF_PROG_TEST_RUN` of the program attached (generic mode) to a veth in\n  \
           a private namespace, each call timed by the thread's CPU time (time other processes\n  \
           take from the CPU is not counted) at R and 2R repetitions: (T(2R) − T(R)) / R\n  \
           cancels the fixed cost of the call and has no whole-nanosecond rounding (the\n  \
           kernel's own mean has). Baseline: `xvrrp_pass`, a second program in the same object\n  \
           that only returns `XDP_PASS`, on the same frame; program and baseline alternate which\n  \
           runs first.\n\
         - *Virtual-MAC drop rate*: a generator namespace sends an ICMP echo to a virtual MAC\n  \
           over a veth, as fast as one core can: AF_PACKET, `sendmmsg` batches,\n  \
           `PACKET_QDISC_BYPASS`, thread pinned to the bench CPU. On the other end, in the\n  \
           receiver namespace: the data plane as Backup for that VRID (in the hook `auto` picks\n  \
           on a veth, and native XDP), or no program and an nftables rule `ether daddr <virtual\n  \
           MAC> counter drop` at the device's netdev ingress hook.\n  \
           Discarded frames are counted by `vmac_dropped_backup` or the rule's counter over\n  \
           each burst; every receiver sees the same generator in each round. Rates are per\n  \
           second of the generator thread's CPU time, so time other processes take from the\n  \
           CPU is not counted (the share of the window it had is printed; receive work the\n  \
           kernel defers to ksoftirqd would escape it).\n\
         - What bounds the rate: a veth delivers on the sending CPU, so the one core runs the\n  \
           generator (a syscall share, an skb allocation and copy per frame) and the whole\n  \
           receive path (*sent* = *discarded* says the receiver kept up), and the generator's\n  \
           cost sits in every frame of every row. The rate is what one core does end to end,\n  \
           and its ratio compresses the hooks' difference towards 1; *saved ns per frame* is\n  \
           that difference on its own (the generator's share cancels).\n\n\
         {table}\n\
         Targets (ratio to the empty program, from the design): transit ≤ 1.1, virtual-MAC\n\
         drop ≤ 1.25, routine advert with checksum ≤ 5.\n\n",
        machine()
    )
}

fn failover_section(table: &str) -> String {
    format!(
        "## Failover as a host sees it, xvrrp next to keepalived (`cargo xtask bench failover`)\n\n\
         - Machine: {}.\n\
         - Method: identical network namespace labs: r1 (priority 200, Master) and r2 (priority\n  \
           100) on one bridge with a host, VRID 51, virtual address 192.0.2.100, at 1 s, 100 ms\n  \
           and 10 ms adverts. Either both run the release `xvrrp` in the default mode (TC\n  \
           ingress on veths, accept mode on), or both run Debian's keepalived (`vrrp_version 3`,\n  \
           `use_vmac`: its virtual MAC on a macvlan; it accepts for the address). Every run\n  \
           is a fresh lab; xvrrp and keepalived runs alternate (xvrrp, keepalived, ...) so a\n  \
           change in the machine's load hits both. The host captures adverts and pings the\n  \
           virtual address every millisecond. *Takeover* is r1's last advert to r2's first on\n  \
           the host's wire; *reply gap* is the longest time between two echo replies\n  \
           (stretched by the loaded machine delaying ping itself); *lost replies* counts\n  \
           probes without a reply (ping sends fewer while none are answered, so it\n  \
           undercounts long outages: the gap measures those). Median (max) over the runs;\n  \
           the ratios divide xvrrp's median by keepalived's from the same interleaved runs.\n\
         - *RFC bound*: r2's Master_Down_Interval (3 × interval + Skew_Time) after a crash or\n  \
           loss; Skew_Time after the priority-0 advert of a planned switchover (RFC 9568\n  \
           §6.4.2).\n\
         - *Old node answers after takeover*: runs in which r1's node still answered for the\n  \
           virtual address (ARP replies for it, echo replies from it) on its own switch port,\n  \
           captured in the switch namespace, later than 50 ms after r2's first advert; after\n  \
           the takeover the host also flushes its neighbour cache and pings the address three\n  \
           times, so a node still holding the address is asked by broadcast.\n\
         - *daemon SIGKILL*: only r1's daemon dies (keepalived: its whole process group);\n  \
           xvrrp's pinned data plane stays Master until r2's first advert, and yields in that\n  \
           packet (docs/ARCHITECTURE.md, \"In-kernel hand-off\"); keepalived's macvlan and\n  \
           address stay behind and go on answering. *node loss*: r1's daemon is killed and\n  \
           its switch port cut at the same instant. *planned switchover*: SIGTERM; both\n  \
           resign with priority 0; xvrrp's data plane forwards until r2's first advert\n  \
           (make-before-break), keepalived removes the address at once. *daemon restart\n  \
           (handover)*: SIGUSR2; r1's daemon re-executes itself on its pinned state and resumes\n  \
           as Master (docs/OPERATIONS.md, \"Restarts and upgrades without a failover\");\n  \
           *takeover* then says whether any run did not resume or let r2 advertise (\"none\":\n  \
           every run resumed). keepalived has no in-place restart to compare it with.\n\
         - Runs per row: the *runs* column (10 unless `XVRRP_BENCH_RUNS` lowers it for\n  \
           development).\n\
         - Before the hand-off (2026-11-23, generic XDP): daemon SIGKILL lost 782.2 ms of\n  \
           replies at 1 s adverts, 41.5 ms at 100 ms, 11.1 ms at 10 ms; SIGTERM lost Skew_Time\n  \
           (~610 ms at 1 s).\n\n\
         {table}\n",
        machine()
    )
}

fn forwarding_section(table: &str) -> String {
    format!(
        "## Forwarding through a Master (`cargo xtask bench forwarding`)\n\n\
         - Machine: {}.\n\
         - Method: host – veth – router – veth – host in namespaces; the router runs the data\n  \
           plane on both ports (a Master instance each) in each ingress mode, and iperf3 sends\n  \
           TCP (2 streams) and 64-byte UDP for 3 s per run. Modes are interleaved over 5\n  \
           rounds; ratio = the mode's rate over the same round's no-program rate, median\n  \
           (min–max); rates are medians.\n\
         - Goal: the default mode keeps >= 0.97x of no program. Native XDP on a veth takes GSO\n  \
           from its peer and generic XDP linearizes every skb, which is why `auto` runs at TC\n  \
           ingress on software devices (docs/ARCHITECTURE.md, \"Choosing the ingress hook\").\n\n\
         {table}\n",
        machine()
    )
}

fn scale_section(table: &str) -> String {
    format!(
        "## 1, 16 and 255 VRIDs at 10 ms, xvrrp next to keepalived (`cargo xtask bench scale`)\n\n\
         - Machine: {}.\n\
         - Method: network namespaces on one bridge: a Master (priority 200, started first) and\n  \
           a Backup (priority 100), each with 1, 16 or 255 IPv4 instances (VRIDs 1..=N, one\n  \
           virtual address each, 10 ms adverts): the release `xvrrp` in its default attach\n  \
           mode, or Debian's keepalived with the same instances (`vrrp_version 3`; no\n  \
           `use_vmac`, at 255 VRIDs too). Each runs its defaults otherwise: xvrrp's event loop\n  \
           is SCHED_FIFO (`realtime_priority = 10`), keepalived sets no `vrrp_rt_priority`.\n  \
           The benchmark starts no load (the machine may be shared with other work: its load\n  \
           is not controlled). Once the Master holds every VRID and the Backup is Backup of\n  \
           every VRID, after 5 s of warm-up, a 30 s window measures CPU time (utime + stime\n  \
           of the daemon's processes, from /proc/<pid>/stat: keepalived's parent and child),\n  \
           peak RSS (VmHWM, summed the same way), the adverts the Backup's data plane copied to\n  \
           its daemon (`adverts_to_userspace`) and absorbed in the kernel (`adverts_absorbed`;\n  \
           keepalived receives every advert in userspace), and the state changes of both\n  \
           routers (both stay alive: must be 0). One run per row; the ratio row divides\n  \
           xvrrp's numbers by keepalived's of the same run.\n\
         - Goal (issue 10): Backup CPU <= 1/10 of keepalived's at 255 VRIDs (ratio <= 0.10).\n\
         - Under a competing CPU load: see the stress section.\n\n\
         {table}\n",
        machine()
    )
}

fn stress_section(table: &str) -> String {
    format!(
        "## 1, 16 and 255 VRIDs at 10 ms under CPU saturation (`cargo xtask bench stress`)\n\n\
         - Machine: {}.\n\
         - Method: the scale section's pairs (Master priority 200, Backup 100, 10 ms adverts),\n  \
           xvrrp or keepalived, while Debian's `stress-ng --cpu <2 x CPUs>` (more workers than\n  \
           CPUs) runs for the whole run, started before the Master (xvrrp's event loop is\n  \
           SCHED_FIFO by default, keepalived's is not: each runs its defaults). Once the\n  \
           Master holds every VRID and the Backup is Backup of every VRID, after 5 s of\n  \
           warm-up, a 60 s window counts false takeovers (the Backup's transitions to Master:\n  \
           the Master stays alive) and the state changes of both routers, while a host on the\n  \
           bridge captures the Master's adverts with the kernel's receive times (a capture\n  \
           thread the load delays still sees the real spacing). For each VRID, every gap\n  \
           between two consecutive adverts counts, the first from the window's start and the\n  \
           last to the latest advert seen (a silent VRID is one long gap); *jitter* is the gap\n  \
           minus the 10 ms interval (early adverts count as 0): the worst and the 99th\n  \
           percentile over all VRIDs' gaps. *Capture drops*: frames the host's socket queue\n  \
           lost (each one inflates a gap; 0 means every gap is real). One run per row; the\n  \
           ratio row divides xvrrp's jitter by keepalived's of the same run.\n\
         - Goal (issue 10): 0 false takeovers for xvrrp.\n\n\
         {table}\n",
        machine()
    )
}

#[cfg(test)]
mod tests {
    use super::with_section;

    #[test]
    fn sections_are_replaced_in_place_and_others_kept() {
        let first = with_section("", "xdp", "x1\n");
        assert!(first.starts_with("# Benchmarks"));
        let both = with_section(&first, "failover", "f1\n");
        let updated = with_section(&both, "xdp", "x2\n");
        assert!(updated.contains("<!-- begin xdp -->\nx2\n<!-- end xdp -->"));
        assert!(updated.contains("<!-- begin failover -->\nf1\n<!-- end failover -->"));
        assert!(!updated.contains("x1"));
    }
}
