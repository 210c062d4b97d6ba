//! `cargo xtask bench stress`: the scale benchmark's pair (1, 16 and 255 IPv4 virtual routers
//! at 10 ms adverts, Master priority 200, Backup 100) while `stress-ng --cpu <2 × CPUs>`
//! saturates every CPU, for xvrrp and for keepalived in the same conditions. Over a 60 s
//! window (`XVRRP_BENCH_WINDOW_S` shortens it) it counts false takeovers (the Backup becoming
//! Master of a VRID whose Master is alive) and the state changes of both routers, and a host
//! on the LAN measures the gaps between consecutive adverts of each VRID from the Master
//! (kernel receive times; a VRID's first gap runs from the window's start, its last to the
//! latest advert seen): the worst and the 99th-percentile jitter (gap minus the interval).
//! Prints a Markdown table with the ratios xvrrp / keepalived of the same run (xtask writes it
//! to docs/BENCHMARKS.md). Needs root, the release `xvrrp` (xtask builds it), keepalived and
//! stress-ng (`cargo xtask setup`).

use std::time::{Duration, Instant};

use vrrp_tests::{
    advert_gaps::AdvertGaps,
    cpu_load::CpuLoad,
    failover::millis,
    keepalived,
    pair::{INTERVAL_MS, Pair, Snapshot, VRID_COUNTS, WARM_UP, ratio, window},
    privilege::require_root,
    router::Implementation,
    vrrp::adverts,
};

/// The measured window (issue 10).
const WINDOW: Duration = Duration::from_secs(60);
/// How often the capture is read while the window runs (bounds the frames held at once).
const DRAIN: Duration = Duration::from_secs(1);
/// How long the capture may lag behind the wire when the window ends, and how often it is
/// read meanwhile.
const CATCH_UP: Duration = Duration::from_secs(3);
const CATCH_UP_STEP: Duration = Duration::from_millis(50);
/// Longer than any run's election, warm-up and window: stress-ng then stops by itself even if
/// this process dies without stopping it.
const LOAD_MARGIN: Duration = Duration::from_secs(60);

/// One pair's window under load.
struct Measured {
    window: Snapshot,
    gaps: AdvertGaps,
    capture_drops: u64,
}

fn run(implementation: Implementation, count: u8, window: Duration) -> Measured {
    let mut pair = Pair::start("st", implementation, 1..=count, INTERVAL_MS, WARM_UP);
    let capture = pair.capture_master_adverts("st");
    let before = pair.snapshot();
    let start = Instant::now();
    let mut gaps = AdvertGaps::new(Duration::from_millis(INTERVAL_MS.into()), 1..=count, start);
    let end = start + window;
    // On a loaded machine the capture thread may lag behind the wire: read on until it saw an
    // advert after the window (bounded), so the window's last adverts count too.
    let mut after = None;
    let mut caught_up = false;
    while !caught_up && Instant::now() < end + CATCH_UP {
        let left = end.saturating_duration_since(Instant::now());
        std::thread::sleep(left.clamp(CATCH_UP_STEP, DRAIN));
        if after.is_none() && Instant::now() >= end {
            after = Some(pair.snapshot());
        }
        for advert in adverts(&capture.take()) {
            if advert.at <= end {
                gaps.record(advert.vrid, advert.at);
            } else {
                caught_up = true;
            }
        }
    }
    gaps.finish();
    let after = after.unwrap_or_else(|| pair.snapshot());
    Measured {
        window: after.since(&before),
        gaps,
        capture_drops: capture.dropped(),
    }
}

fn jitter(value: Option<Duration>) -> String {
    value.map_or_else(|| "—".to_owned(), millis)
}

fn row(count: u8, daemon: &str, load: &CpuLoad, measured: &Measured) -> String {
    let gaps = &measured.gaps;
    format!(
        "| {count} | {daemon} | {} | {} | {} | {} | {} | {} | {} |",
        load.command(),
        measured.window.false_takeovers,
        measured.window.state_changes,
        gaps.count(),
        jitter(gaps.worst_jitter()),
        jitter(gaps.jitter_percentile(99)),
        measured.capture_drops,
    )
}

fn main() {
    if !require_root("stress benchmark") {
        return;
    }
    let window = window(WINDOW);
    let baseline = keepalived::version();
    println!(
        "| VRIDs | daemon | CPU load | false takeovers in {} s | state changes (both routers) | \
         Master advert gaps measured | worst jitter | p99 jitter | capture drops |",
        window.as_secs()
    );
    println!("|---:|---|---|---:|---:|---:|---:|---:|---:|");
    for count in VRID_COUNTS {
        // One load per VRID count, across both daemons' runs: the same conditions for both.
        let load = CpuLoad::start(2 * (window + WARM_UP + LOAD_MARGIN));
        let xvrrp = run(Implementation::Xvrrp, count, window);
        println!("{}", row(count, "xvrrp", &load, &xvrrp));
        let keepalived = run(Implementation::Keepalived, count, window);
        println!("{}", row(count, &baseline, &load, &keepalived));
        let jitter_ratio = |pick: fn(&AdvertGaps) -> Option<Duration>| {
            let seconds =
                |measured: &Measured| pick(&measured.gaps).map_or(0.0, |d| d.as_secs_f64());
            ratio(seconds(&xvrrp), seconds(&keepalived))
        };
        println!(
            "| {count} | **ratio xvrrp / keepalived** | | | | | {} | {} | |",
            jitter_ratio(AdvertGaps::worst_jitter),
            jitter_ratio(|gaps| gaps.jitter_percentile(99)),
        );
    }
}
