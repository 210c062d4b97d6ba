//! `cargo xtask test`: the one command CI and developers run.
//!
//! setup (fast when done) -> build the XDP object -> lints -> the alert rules' promtool tests
//! -> the Debian package, installed, checked and purged -> every test in the workspace,
//! including the root-only namespace suites in `tests/`.

use std::{path::Path, process::Command};

use anyhow::{Result, bail};

use crate::{
    build_ebpf::build_ebpf,
    exec::{is_root, probe, run},
    lint::lint,
    package::{build_deb, release_build},
    package_test::test_package,
    setup::setup,
};

/// The example alert rules and their unit tests (synthetic series).
const ALERT_RULES: &str = "examples/prometheus/alerts.yml";
const ALERT_TESTS: &str = "examples/prometheus/alerts_test.yml";

/// Options of `cargo xtask test`.
pub(crate) struct TestOptions {
    /// Skip (loudly) the tests that need root, CAP_BPF and network namespaces.
    pub(crate) unprivileged: bool,
    /// Extra arguments for the test binaries (a name filter, `--nocapture`, ...).
    pub(crate) test_args: Vec<String>,
}

pub(crate) fn test(workspace: &Path, options: &TestOptions) -> Result<()> {
    if !options.unprivileged && !is_root() {
        bail!(
            "the namespace and XDP tests need root (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN): run as \
             root, or pass --unprivileged to skip them (they will be reported as skipped)"
        );
    }
    setup(!is_root())?;
    build_ebpf(workspace)?;
    lint(workspace)?;
    // The scale test runs the optimised daemon, as deployed (the others the debug one, which
    // `cargo test` builds); the package ships it.
    run(&mut release_build(workspace))?;
    test_alert_rules(workspace)?;
    if options.unprivileged {
        eprintln!("SKIPPED package test: installing the package with dpkg needs root");
    } else {
        test_package(&build_deb(workspace)?)?;
    }
    let mut cmd = Command::new("cargo");
    cmd.current_dir(workspace)
        .args([
            "test",
            "--locked",
            "--workspace",
            "--exclude",
            "vrrp-ebpf",
            "--",
        ])
        .args(&options.test_args)
        .env("RUST_BACKTRACE", "1")
        // Two tests at a time per binary, also on bigger machines, so a run measures the same
        // everywhere: the namespace suites assert protocol timing, and the ones a neighbour
        // could disturb (10 ms adverts, 255 VRIDs, floods, the soak) take the machine alone
        // (`vrrp_tests::turn`).
        .env("RUST_TEST_THREADS", "2");
    if options.unprivileged {
        cmd.env("XVRRP_UNPRIVILEGED", "1");
    }
    run(&mut cmd)
}

/// `promtool check rules` and `promtool test rules` on the example alerts. A missing promtool
/// fails the run: the rules are shipped, so they are tested.
fn test_alert_rules(workspace: &Path) -> Result<()> {
    if probe(Command::new("promtool").arg("--version")).is_none() {
        bail!(
            "promtool is missing, so {ALERT_RULES} cannot be tested: run `cargo xtask setup` \
             (Debian package prometheus)"
        );
    }
    run(Command::new("promtool")
        .current_dir(workspace)
        .args(["check", "rules", ALERT_RULES]))?;
    run(Command::new("promtool")
        .current_dir(workspace)
        .args(["test", "rules", ALERT_TESTS]))
}
