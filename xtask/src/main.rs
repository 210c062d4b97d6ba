//! Developer tasks for xvrrp: `cargo xtask <command>` (see `cargo xtask --help`).

mod bench;
mod build_ebpf;
mod demo;
mod exec;
mod fuzz;
mod lab_run;
mod lint;
mod package;
mod package_test;
mod setup;
mod soak;
mod test;

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "Build, set up and test xvrrp")]
struct Cli {
    #[command(subcommand)]
    command: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Install what this machine lacks (Debian packages, bpf-linker); idempotent.
    Setup {
        /// Only report what is missing; fail if anything is.
        #[arg(long)]
        check: bool,
    },
    /// Two xvrrp routers and a host in namespaces: a measured failover, then cleanup.
    Demo,
    /// Chaos soak: three xvrrp routers and two hosts in namespaces under random faults (kill,
    /// stop, link down, partition, priority change, reload, CPU stress), checked after each.
    Soak {
        /// How long to inject faults.
        #[arg(long, default_value_t = 30)]
        minutes: u64,
        /// Seed of the fault schedule (printed at start): replays a run.
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Build the XDP object (always optimised: unoptimised BPF fails the verifier).
    BuildEbpf,
    /// Build the Debian package (target/debian/xvrrp_<version>_<arch>.deb) of the release daemon.
    Package {
        /// Then install it with dpkg, check it and purge it (root; `cargo xtask test` does).
        #[arg(long)]
        check: bool,
    },
    /// rustfmt check and clippy (host crates and the XDP crate for its BPF target).
    Lint,
    /// Run a benchmark (root) and write docs/BENCHMARKS.md.
    Bench {
        /// Which benchmark.
        #[arg(value_enum)]
        which: bench::Bench,
    },
    /// Run every cargo-fuzz target (nightly) for a while; fails on a crash.
    Fuzz {
        /// How long each target runs.
        #[arg(long, default_value_t = 60)]
        seconds: u32,
        /// Only these targets (all by default).
        targets: Vec<String>,
    },
    /// setup, build-ebpf, lint, the package test, then every test including the root-only
    /// namespace suites.
    Test {
        /// Skip the tests that need root/CAP_BPF; each says loudly that it was skipped.
        #[arg(long)]
        unprivileged: bool,
        /// Passed to the test binaries (e.g. a test name filter, --nocapture).
        #[arg(last = true)]
        test_args: Vec<String>,
    },
}

fn workspace_root() -> Result<PathBuf> {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(PathBuf::from)
        .context("xtask is not inside the workspace")
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let workspace = workspace_root()?;
    match cli.command {
        Task::Setup { check } => setup::setup(check),
        Task::BuildEbpf => {
            let object = build_ebpf::build_ebpf(&workspace)?;
            eprintln!("built {}", object.display());
            Ok(())
        }
        Task::Package { check } => {
            let deb = package::package(&workspace)?;
            if check {
                package_test::test_package(&deb)?;
            }
            Ok(())
        }
        Task::Lint => lint::lint(&workspace),
        Task::Bench { which } => bench::bench(&workspace, which),
        Task::Demo => demo::demo(&workspace),
        Task::Soak { minutes, seed } => {
            soak::soak(&workspace, &soak::SoakOptions { minutes, seed })
        }
        Task::Fuzz { seconds, targets } => {
            fuzz::fuzz(&workspace, &fuzz::FuzzOptions { seconds, targets })
        }
        Task::Test {
            unprivileged,
            test_args,
        } => test::test(
            &workspace,
            &test::TestOptions {
                unprivileged,
                test_args,
            },
        ),
    }
}
