//! `cargo xtask soak`: the chaos soak of `vrrp_tests::soak` for as long as asked; prints the
//! report and fails if any check broke. Everything it creates is removed when it ends.

use std::{process::ExitCode, time::Duration};

use clap::Parser;
use vrrp_tests::soak::{SoakOptions, soak};

/// Three xvrrp routers and two hosts in namespaces under random faults.
#[derive(Parser)]
struct Args {
    /// How long to inject faults (a round holding every kind always completes).
    #[arg(long, default_value_t = 2)]
    minutes: u64,
    /// Seed of the fault schedule (printed at start, so a break can be replayed); random by
    /// default.
    #[arg(long)]
    seed: Option<u64>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    assert!(
        // SAFETY: geteuid cannot fail.
        unsafe { libc::geteuid() } == 0,
        "the soak creates network namespaces and loads XDP: run it as root"
    );
    let report = soak(&SoakOptions {
        duration: Duration::from_secs(args.minutes * 60),
        seed: args.seed.unwrap_or_else(|| fastrand::u64(..)),
    });
    println!("{report}");
    let missing = report.missing_kinds();
    if !report.breaks.is_empty() || !missing.is_empty() {
        eprintln!(
            "soak FAILED: {} breaks, kinds never injected: {missing:?}",
            report.breaks.len()
        );
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
