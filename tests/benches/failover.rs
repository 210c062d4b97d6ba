//! `cargo xtask bench failover`: takeover and client-visible outage of two real xvrrp daemons in
//! network namespaces, for a daemon crash, the loss of the whole Master node and a planned
//! switchover (SIGTERM), at several advert intervals. Prints a Markdown table (xtask writes it to docs/BENCHMARKS.md). Needs root
//! and the release `xvrrp` (xtask builds it).

use std::time::Duration;

use vrrp_tests::{
    failover::{Failover, FailoverLab, Failure, millis},
    privilege::require_root,
    vrrp::RouterSpec,
};

/// (advert interval in ms, runs per failure kind). Fewer runs where each one takes seconds.
const INTERVALS: [(u32, usize); 3] = [(1000, 3), (100, 5), (10, 5)];

/// One failover in a fresh lab.
fn run_once(interval_ms: u32, failure: Failure) -> Failover {
    FailoverLab::start("ho-bench", interval_ms).fail(failure)
}

fn median_and_max(mut values: Vec<Duration>) -> String {
    values.sort();
    let median = values[values.len() / 2];
    let max = values[values.len() - 1];
    format!("{} ({})", millis(median), millis(max))
}

fn main() {
    // `cargo bench` passes --bench; nothing else is configurable.
    if !require_root("failover benchmark") {
        return;
    }
    println!(
        "| advert interval | failure | Master_Down_Interval (r2) | runs | takeover | reply gap | lost replies |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|");
    for (interval_ms, runs) in INTERVALS {
        let bound = RouterSpec {
            interval_ms,
            ..RouterSpec::new(100)
        }
        .master_down_interval();
        for failure in [
            Failure::DaemonKilled,
            Failure::NodeLost,
            Failure::PlannedSwitchover,
        ] {
            let results: Vec<Failover> =
                (0..runs).map(|_| run_once(interval_ms, failure)).collect();
            let takeovers = results.iter().map(|r| r.takeover).collect();
            let gaps = results.iter().map(|r| r.outages[0].gap).collect();
            let mut lost: Vec<u64> = results.iter().map(|r| r.outages[0].lost).collect();
            lost.sort_unstable();
            println!(
                "| {interval_ms} ms | {} | {} | {runs} | {} | {} | {} ({}) |",
                failure.label(),
                millis(bound),
                median_and_max(takeovers),
                median_and_max(gaps),
                lost[lost.len() / 2],
                lost[lost.len() - 1],
            );
        }
    }
}
