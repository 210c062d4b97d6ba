//! Chaos soak (`cargo xtask soak`, and a short run in the integration suite): three xvrrp
//! routers and two hosts on the lab LAN, a random fault every few seconds, and after each
//! settles the checks of [`checks`]. Faults come in rounds holding every kind once, in a
//! random order, so even a short soak injects each. Everything is removed when it ends, also
//! on a panic (the lab's guards).

mod checks;
mod faults;
mod lab;
mod report;

use std::time::{Duration, Instant};

pub use faults::FaultKind;
pub use report::{Break, Report};

use self::{
    faults::Fault,
    lab::{SoakLab, settle_time},
};

/// How long a check polls for consistency before it counts a break: a dropped virtual
/// address lives up to its kernel lifetime (2.1 s at 100 ms adverts), an IPv6 instance whose
/// link came back waits for DAD (about 2 s).
const CHECK_BOUND: Duration = Duration::from_secs(6);
/// How long the first election may take: the daemons start, IPv6 waits for DAD.
const START_BOUND: Duration = Duration::from_secs(20);
/// Log lines of each daemon a break shows.
const LOG_LINES: usize = 12;

/// What to run.
pub struct SoakOptions {
    /// Faults are injected until this much time passed and at least one full round ran.
    pub duration: Duration,
    /// Seed of the fault schedule: the same seed injects the same faults in the same order.
    pub seed: u64,
}

/// Runs a soak, printing each fault as it goes, and returns the report.
pub fn soak(options: &SoakOptions) -> Report {
    println!(
        "soak: seed {} (replay with --seed {}), faults for {} s",
        options.seed,
        options.seed,
        options.duration.as_secs()
    );
    let mut rng = fastrand::Rng::with_seed(options.seed);
    let mut soak = SoakLab::start();
    let mut report = Report::new(options.seed);
    let started = Instant::now();
    if let Err(problems) = checks::until_consistent(&mut soak, START_BOUND) {
        panic!(
            "the soak lab never converged: {problems:?}\n{}",
            soak.evidence(LOG_LINES)
        );
    }
    let mut round: Vec<FaultKind> = Vec::new();
    let mut rounds = 0;
    loop {
        if round.is_empty() {
            if rounds > 0 && started.elapsed() >= options.duration {
                break;
            }
            rounds += 1;
            round = FaultKind::ALL.to_vec();
            rng.shuffle(&mut round);
        }
        let kind = round.pop().expect("a round is never empty here");
        run_fault(&mut soak, kind, &mut rng, &mut report, started);
        // "Every few seconds": a quiet LAN between faults too.
        std::thread::sleep(Duration::from_millis(rng.u64(300..=1500)));
    }
    report.duration = started.elapsed();
    report
}

/// One fault: inject, check while it lasts (if it took a router away), heal, check; with the
/// hosts probing throughout.
fn run_fault(
    soak: &mut SoakLab,
    kind: FaultKind,
    rng: &mut fastrand::Rng,
    report: &mut Report,
    started: Instant,
) {
    let probers = soak.probers();
    std::thread::sleep(Duration::from_millis(100));
    let takeovers_before = soak.takeovers();
    let fault = faults::inject(soak, kind, rng);
    println!("{:>5} s  {}", started.elapsed().as_secs(), fault.what);
    if fault.impairs {
        check(soak, &fault, "during", report, started);
    }
    faults::heal(soak, &fault);
    check(soak, &fault, "after", report, started);
    if fault.no_takeover {
        let takeovers = soak.takeovers() - takeovers_before;
        report.checks += 1;
        if takeovers > 0 {
            record_break(
                soak,
                &fault,
                "after",
                vec![format!(
                    "{takeovers} takeover(s) without a fault that allows one"
                )],
                report,
                started,
            );
        }
    }
    let gap = probers
        .into_iter()
        .map(|(target, prober)| prober.outage(target).gap)
        .max()
        .unwrap_or_default();
    report.record(kind, gap);
}

/// Lets the fault settle, then polls the checks (bounded); a failure is a break.
fn check(
    soak: &mut SoakLab,
    fault: &Fault,
    phase: &'static str,
    report: &mut Report,
    started: Instant,
) {
    std::thread::sleep(settle_time());
    report.checks += 1;
    if let Err(problems) = checks::until_consistent(soak, CHECK_BOUND) {
        record_break(soak, fault, phase, problems, report, started);
        // A daemon that died on its own is started again, so the soak goes on.
        for router in &mut soak.routers {
            if router.condition != lab::Condition::Killed && !router.daemon.is_running() {
                router.daemon.wait_exit(Duration::from_secs(1));
                router.daemon.restart();
            }
        }
    }
}

fn record_break(
    soak: &SoakLab,
    fault: &Fault,
    phase: &'static str,
    problems: Vec<String>,
    report: &mut Report,
    started: Instant,
) {
    println!("BREAK {phase} {}: {problems:?}", fault.what);
    report.breaks.push(Break {
        fault: format!("{} ({})", fault.what, fault.kind.label()),
        at: started.elapsed(),
        phase,
        problems,
        logs: soak.evidence(LOG_LINES),
    });
}
