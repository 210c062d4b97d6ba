//! `cargo xtask bench scale`: 1, 16 and 255 IPv4 virtual routers at 10 ms adverts between a
//! Master (priority 200) and a Backup (100), for xvrrp and for keepalived with the same
//! configuration, on an otherwise idle machine. After a warm-up, a 30 s window
//! (`XVRRP_BENCH_WINDOW_S` shortens it) measures each daemon's CPU time and peak RSS, the
//! adverts the Backup's data plane passed to its daemon or absorbed, and the state changes
//! (both routers stay alive: there should be none). Prints a Markdown table with the ratios
//! xvrrp / keepalived of the same run (xtask writes it to docs/BENCHMARKS.md). Needs root, the
//! release `xvrrp` (xtask builds it) and keepalived (`cargo xtask setup`).

use std::time::Duration;

use vrrp_tests::{
    keepalived,
    pair::{INTERVAL_MS, Pair, Snapshot, VRID_COUNTS, WARM_UP, ratio, window},
    privilege::require_root,
    router::Implementation,
};

/// The measured window (issue 10).
const WINDOW: Duration = Duration::from_secs(30);

/// One pair's window.
struct Measured {
    window: Snapshot,
    master_rss_kib: u64,
    backup_rss_kib: u64,
}

fn run(implementation: Implementation, count: u8, window: Duration) -> Measured {
    let pair = Pair::start("sc", implementation, 1..=count, INTERVAL_MS, WARM_UP);
    let before = pair.snapshot();
    std::thread::sleep(window);
    Measured {
        window: pair.snapshot().since(&before),
        master_rss_kib: pair.master.peak_rss_kib(),
        backup_rss_kib: pair.backup.peak_rss_kib(),
    }
}

/// A CPU time in seconds with two decimals (/proc counts 10 ms ticks).
fn seconds(cpu: Duration) -> String {
    format!("{}.{:02} s", cpu.as_secs(), cpu.subsec_millis() / 10)
}

/// KiB as MiB with one decimal.
fn mib(kib: u64) -> String {
    format!("{}.{} MiB", kib / 1024, (kib % 1024) * 10 / 1024)
}

fn kib_ratio(measured: u64, baseline: u64) -> String {
    let as_f64 = |kib: u64| f64::from(u32::try_from(kib).unwrap_or(u32::MAX));
    ratio(as_f64(measured), as_f64(baseline))
}

fn row(count: u8, daemon: &str, measured: &Measured) -> String {
    let window = &measured.window;
    let punted = match (window.backup_to_userspace, window.backup_absorbed) {
        (Some(to_userspace), Some(absorbed)) => format!("{to_userspace} / {absorbed}"),
        _ => "all / 0".to_owned(),
    };
    format!(
        "| {count} | {daemon} | {} | {punted} | {} | {} | {} | {} |",
        window.state_changes,
        seconds(window.master_cpu),
        seconds(window.backup_cpu),
        mib(measured.master_rss_kib),
        mib(measured.backup_rss_kib),
    )
}

fn main() {
    if !require_root("scale benchmark") {
        return;
    }
    let window = window(WINDOW);
    let baseline = keepalived::version();
    println!(
        "| VRIDs | daemon | state changes in {} s | Backup adverts to userspace / absorbed in \
         kernel | Master CPU | Backup CPU | Master peak RSS | Backup peak RSS |",
        window.as_secs()
    );
    println!("|---:|---|---:|---:|---:|---:|---:|---:|");
    for count in VRID_COUNTS {
        let xvrrp = run(Implementation::Xvrrp, count, window);
        println!("{}", row(count, "xvrrp", &xvrrp));
        let keepalived = run(Implementation::Keepalived, count, window);
        println!("{}", row(count, &baseline, &keepalived));
        let cpu_ratio =
            |measured: Duration, base: Duration| ratio(measured.as_secs_f64(), base.as_secs_f64());
        println!(
            "| {count} | **ratio xvrrp / keepalived** | | | {} | {} | {} | {} |",
            cpu_ratio(xvrrp.window.master_cpu, keepalived.window.master_cpu),
            cpu_ratio(xvrrp.window.backup_cpu, keepalived.window.backup_cpu),
            kib_ratio(xvrrp.master_rss_kib, keepalived.master_rss_kib),
            kib_ratio(xvrrp.backup_rss_kib, keepalived.backup_rss_kib),
        );
    }
}
