//! `cargo xtask fuzz --seconds N`: every cargo-fuzz target for N seconds each (nightly, with
//! cargo-fuzz), then one line per target with its executions and findings; fails if any target
//! crashed. The targets live in the crates they test (`<crate>/fuzz`); each run starts from
//! the committed seeds and grows `<crate>/fuzz/corpus/<target>` (not committed). A crash's
//! input lands in `<crate>/fuzz/artifacts/<target>/`: commit it as a unit test and fix the bug.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context as _, Result, bail};

use crate::{
    build_ebpf::build_ebpf,
    exec::{is_root, probe},
};

/// One fuzz target.
struct Target {
    /// The crate it tests (its fuzz crate is `<crate>/fuzz`).
    krate: &'static str,
    name: &'static str,
    /// Seed corpora, relative to the workspace.
    seeds: &'static [&'static str],
    /// Runs the BPF program (`BPF_PROG_TEST_RUN`, a namespace): root and the BPF object.
    needs_root: bool,
}

const TARGETS: &[Target] = &[
    Target {
        krate: "vrrp-common",
        name: "advert_decode",
        seeds: &[],
        needs_root: false,
    },
    Target {
        krate: "vrrp-user",
        name: "config",
        seeds: &["examples/configs", "vrrp-user/tests/import"],
        needs_root: false,
    },
    Target {
        krate: "vrrp-user",
        name: "control_request",
        seeds: &["vrrp-user/fuzz/seeds/control_request"],
        needs_root: false,
    },
    Target {
        krate: "vrrp-user",
        name: "keepalived_import",
        seeds: &["vrrp-user/tests/import"],
        needs_root: false,
    },
    Target {
        krate: "vrrp-user",
        name: "xdp_differential",
        seeds: &[],
        needs_root: true,
    },
];

/// Options of `cargo xtask fuzz`.
pub(crate) struct FuzzOptions {
    /// How long each target runs.
    pub(crate) seconds: u32,
    /// Only the targets with these names (all when empty).
    pub(crate) targets: Vec<String>,
}

/// What one target's run came to.
struct Outcome {
    name: &'static str,
    execs: Option<u64>,
    corpus: Option<u64>,
    /// The crash input's path, or why the run failed.
    finding: Option<String>,
}

pub(crate) fn fuzz(workspace: &Path, options: &FuzzOptions) -> Result<()> {
    if probe(Command::new("cargo").args(["fuzz", "--version"])).is_none() {
        bail!("cargo-fuzz is missing: run `cargo xtask setup`");
    }
    if probe(Command::new("rustup").args(["run", "nightly", "rustc", "--version"])).is_none() {
        bail!("fuzzing needs a nightly toolchain: rustup toolchain install nightly");
    }
    let selected: Vec<&Target> = TARGETS
        .iter()
        .filter(|target| {
            options.targets.is_empty() || options.targets.iter().any(|name| name == target.name)
        })
        .collect();
    if let Some(unknown) = options
        .targets
        .iter()
        .find(|name| !TARGETS.iter().any(|target| target.name == name.as_str()))
    {
        let known: Vec<&str> = TARGETS.iter().map(|target| target.name).collect();
        bail!("no fuzz target {unknown:?}; there are {known:?}");
    }
    // vrrp-user embeds the BPF object, so every vrrp-user target needs it built.
    if selected.iter().any(|target| target.krate == "vrrp-user") {
        build_ebpf(workspace)?;
    }
    let mut outcomes = Vec::new();
    for target in selected {
        if target.needs_root && !is_root() {
            eprintln!(
                "SKIPPED fuzz target {}: needs root (BPF_PROG_TEST_RUN in a network namespace)",
                target.name
            );
            continue;
        }
        outcomes.push(run_target(workspace, target, options.seconds)?);
    }
    eprintln!("fuzz: {} s per target", options.seconds);
    let show = |value: Option<u64>| value.map_or("?".to_owned(), |value| value.to_string());
    for outcome in &outcomes {
        eprintln!(
            "  {:<20} {:>12} execs, corpus {:>6}, {}",
            outcome.name,
            show(outcome.execs),
            show(outcome.corpus),
            outcome
                .finding
                .as_deref()
                .map_or("no findings".to_owned(), |finding| format!(
                    "FINDING {finding}"
                ))
        );
    }
    let findings = outcomes
        .iter()
        .filter(|outcome| outcome.finding.is_some())
        .count();
    if findings > 0 {
        bail!("{findings} fuzz target(s) found a crash (inputs above)");
    }
    Ok(())
}

fn run_target(workspace: &Path, target: &Target, seconds: u32) -> Result<Outcome> {
    let crate_dir = workspace.join(target.krate);
    let corpus = crate_dir.join("fuzz/corpus").join(target.name);
    std::fs::create_dir_all(&corpus)
        .with_context(|| format!("cannot create the corpus {}", corpus.display()))?;
    let seeds: Vec<PathBuf> = target
        .seeds
        .iter()
        .map(|seed| workspace.join(seed))
        .collect();
    let mut cmd = Command::new("cargo");
    cmd.current_dir(&crate_dir)
        .env("RUSTUP_TOOLCHAIN", "nightly")
        // Safe Rust: the sanitizer would only slow the runs; overflow checks and debug
        // assertions stay on, so an arithmetic slip is a finding.
        .args(["fuzz", "run", "--sanitizer", "none", "--debug-assertions"])
        .arg(target.name)
        .arg(&corpus)
        .args(&seeds)
        .arg("--")
        .arg(format!("-max_total_time={seconds}"))
        // An input that takes this long is a finding too (a loop, an include bomb).
        .arg("-timeout=10")
        .arg("-print_final_stats=1");
    eprintln!("fuzz: {} for {seconds} s", target.name);
    let output = cmd
        .output()
        .with_context(|| format!("cannot start cargo fuzz for {}", target.name))?;
    let log = String::from_utf8_lossy(&output.stderr);
    let stat = |name: &str| {
        log.lines()
            .filter_map(|line| line.strip_prefix(name))
            .filter_map(|value| value.trim().parse().ok())
            .next_back()
    };
    let execs = stat("stat::number_of_executed_units:");
    let corpus_size = log.lines().rev().find_map(|line| {
        line.split_once(" corp: ")?
            .1
            .split('/')
            .next()?
            .parse()
            .ok()
    });
    let finding = (!output.status.success()).then(|| {
        let tail: Vec<&str> = log.lines().rev().take(40).collect();
        for line in tail.iter().rev() {
            eprintln!("  | {line}");
        }
        log.lines()
            .find_map(|line| {
                line.split_once("Test unit written to ")
                    .map(|(_, path)| path)
            })
            .map_or(format!("{} ({})", output.status, target.name), |path| {
                crate_dir.join(path.trim()).display().to_string()
            })
    });
    Ok(Outcome {
        name: target.name,
        execs,
        corpus: corpus_size,
        finding,
    })
}
