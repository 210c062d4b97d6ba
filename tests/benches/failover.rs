//! `cargo xtask bench failover`: takeover and client-visible outage of two real xvrrp daemons in
//! network namespaces, for a daemon crash, the loss of the whole Master node and a planned
//! switchover (SIGTERM), at several advert intervals, and a hitless restart (SIGUSR2 handover). Prints a Markdown table (xtask writes it to docs/BENCHMARKS.md). Needs root
//! and the release `xvrrp` (xtask builds it).

use std::time::Duration;

use vrrp_tests::{
    failover::{Failover, FailoverLab, Failure, Outage, Prober, millis},
    privilege::require_root,
    vrrp::{RouterSpec, VIP4, adverts_from},
    wait,
};

/// (advert interval in ms, runs per failure kind). Fewer runs where each one takes seconds.
const INTERVALS: [(u32, usize); 3] = [(1000, 3), (100, 5), (10, 5)];

/// One failover in a fresh lab.
fn run_once(interval_ms: u32, failure: Failure) -> Failover {
    FailoverLab::start("ho-bench", interval_ms).fail(failure)
}

/// What a host and the Backup saw of one handover.
struct Handover {
    /// The host's pings to the virtual address across it.
    outage: Outage,
    /// The new run resumed as Master (else it took the start-up path: window missed).
    resumed: bool,
    /// The Backup advertised meanwhile (took over).
    backup_advertised: bool,
}

/// One hitless restart in a fresh lab: the Master's daemon hands over (SIGUSR2) while the host
/// pings the virtual address every millisecond.
fn handover_once(interval_ms: u32) -> Handover {
    let lab = FailoverLab::start("hr-bench", interval_ms);
    let [daemon1, _daemon2] = &lab.daemons;
    lab.capture.clear();
    let prober = Prober::start(&lab.lab.nodes[lab.host].ns, VIP4);
    std::thread::sleep(Duration::from_millis(500));
    daemon1.signal(libc::SIGUSR2);
    let resumed = wait::until(
        "the new run to decide whether it resumes",
        Duration::from_secs(5),
        Duration::from_millis(10),
        || {
            let log = daemon1.log();
            if log.contains("resumed from the previous run") {
                Some(true)
            } else {
                log.contains("not resuming the previous run")
                    .then_some(false)
            }
        },
    );
    // Let the probes and the Backup see a few intervals of the new run.
    std::thread::sleep(Duration::from_millis(700) + lab.backup_spec.master_down_interval());
    let r2_address = &lab.lab.nodes[lab.r2].ipv4;
    Handover {
        outage: prober.outage(VIP4.to_owned()),
        resumed,
        backup_advertised: !adverts_from(&lab.capture.frames(), r2_address).is_empty(),
    }
}

/// "median (max)" of lost replies.
fn lost_median_and_max(mut lost: Vec<u64>) -> String {
    lost.sort_unstable();
    format!("{} ({})", lost[lost.len() / 2], lost[lost.len() - 1])
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
            let lost = results.iter().map(|r| r.outages[0].lost).collect();
            println!(
                "| {interval_ms} ms | {} | {} | {runs} | {} | {} | {} |",
                failure.label(),
                millis(bound),
                median_and_max(takeovers),
                median_and_max(gaps),
                lost_median_and_max(lost),
            );
        }
    }
    // The Master's daemon restarted in place (SIGUSR2 handover): no takeover is the result.
    for (interval_ms, runs) in INTERVALS {
        let bound = RouterSpec {
            interval_ms,
            ..RouterSpec::new(100)
        }
        .master_down_interval();
        let results: Vec<Handover> = (0..runs).map(|_| handover_once(interval_ms)).collect();
        let missed = results.iter().filter(|run| !run.resumed).count();
        let takeovers = results.iter().filter(|run| run.backup_advertised).count();
        let outcome = if missed + takeovers == 0 {
            "none".to_owned()
        } else {
            format!("{missed} not resumed, {takeovers} Backup took over")
        };
        let gaps = results.iter().map(|run| run.outage.gap).collect();
        let lost = results.iter().map(|run| run.outage.lost).collect();
        println!(
            "| {interval_ms} ms | daemon restart (handover) | {} | {runs} | {outcome} | {} | {} |",
            millis(bound),
            median_and_max(gaps),
            lost_median_and_max(lost),
        );
    }
}
