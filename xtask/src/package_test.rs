//! The package step of `cargo xtask test`: install the `.deb` with dpkg on this machine, check
//! what it installed, purge it. A guard purges it on every way out (an error, a panic), so the
//! machine is left as it was found; an installation this test did not make is never touched.

use std::{path::Path, process::Command};

use anyhow::{Context as _, Result, bail, ensure};

use crate::{
    exec::{probe, run},
    package::{CONFFILE, PACKAGE, UNIT_PATH, VERSION},
};

const BINARY: &str = "/usr/bin/xvrrp";
const DOC_DIR: &str = "/usr/share/doc/xvrrp";

/// Installs `deb`, checks it, purges it.
pub(crate) fn test_package(deb: &Path) -> Result<()> {
    if let Some(status) = installed_status() {
        bail!(
            "package {PACKAGE} is already installed ({status}): the package test installs and \
             purges it and will not touch an installation it did not make; `dpkg --purge \
             {PACKAGE}` first"
        );
    }
    ensure!(
        !Path::new(BINARY).exists(),
        "{BINARY} exists but belongs to no package: the package test would overwrite it"
    );
    let installed = Installed;
    run(Command::new("dpkg").arg("--install").arg(deb))?;
    check_installed()?;
    drop(installed);
    check_purged()
}

/// Purges the package when dropped.
struct Installed;

impl Drop for Installed {
    fn drop(&mut self) {
        if let Err(error) = run(Command::new("dpkg").args(["--purge", PACKAGE])) {
            eprintln!("package test: purging {PACKAGE} failed: {error:#}");
        }
    }
}

/// dpkg's status of the package, when it is known to dpkg at all (installed, or removed with
/// its conffiles left).
fn installed_status() -> Option<String> {
    probe(Command::new("dpkg-query").args(["--show", "--showformat=${Status}", PACKAGE]))
        .filter(|status| !status.is_empty() && !status.ends_with("not-installed"))
}

fn check_installed() -> Result<()> {
    let version = probe(Command::new(BINARY).arg("--version"))
        .with_context(|| format!("`{BINARY} --version` failed"))?;
    ensure!(
        version == format!("xvrrp {VERSION}"),
        "`{BINARY} --version` says {version:?}, the package is {VERSION}"
    );
    eprintln!("package test: {BINARY} --version: {version}");
    let conffiles =
        probe(Command::new("dpkg-query").args(["--show", "--showformat=${Conffiles}", PACKAGE]))
            .unwrap_or_default();
    ensure!(
        conffiles.contains(CONFFILE),
        "{CONFFILE} is not a conffile of the installed package: {conffiles:?}"
    );
    // dpkg compares every installed file with the package's md5sums; it prints what differs.
    let verify = probe(Command::new("dpkg").args(["--verify", PACKAGE]));
    ensure!(
        verify.as_deref() == Some(""),
        "`dpkg --verify {PACKAGE}` found differences: {verify:?}"
    );
    for doc in [
        "README.md",
        "OPERATIONS.md",
        "copyright",
        "examples/systemd/xvrrp.service",
    ] {
        let path = Path::new(DOC_DIR).join(doc);
        ensure!(path.is_file(), "{} is not installed", path.display());
    }
    // The unit refuses to start on a configuration with errors: the shipped one has none.
    run(Command::new(BINARY).args(["check-config", CONFFILE]))?;
    verify_unit()
}

/// `systemd-analyze verify` on the installed unit: its directives, its commands (the binary
/// must exist and be executable) and its dependencies.
fn verify_unit() -> Result<()> {
    if probe(Command::new("systemd-analyze").arg("--version")).is_none() {
        eprintln!(
            "SKIPPED package test: systemd-analyze is not installed, so {UNIT_PATH} was NOT \
             verified (Debian package systemd)"
        );
        return Ok(());
    }
    let output = Command::new("systemd-analyze")
        .args(["verify", UNIT_PATH])
        .output()
        .context("run systemd-analyze verify")?;
    let complaints = String::from_utf8_lossy(&output.stderr).into_owned()
        + &String::from_utf8_lossy(&output.stdout);
    ensure!(
        output.status.success() && !complaints.contains("xvrrp.service"),
        "`systemd-analyze verify {UNIT_PATH}` failed ({}):\n{complaints}",
        output.status
    );
    eprintln!("package test: systemd-analyze verify {UNIT_PATH}: ok");
    security_exposure()
}

/// `systemd-analyze security` of the installed unit must stay at most this (exposure x 10;
/// docs/OPERATIONS.md "Security" explains the 2.3 it has and what is left).
const MAX_EXPOSURE: &str = "25";

/// The unit's exposure score, which fails when the sandbox is loosened.
fn security_exposure() -> Result<()> {
    let output = Command::new("systemd-analyze")
        .args(["security", "--offline=yes", "--no-pager"])
        .arg(format!("--threshold={MAX_EXPOSURE}"))
        .arg(UNIT_PATH)
        .output()
        .context("run systemd-analyze security")?;
    let report = String::from_utf8_lossy(&output.stdout);
    let overall = report
        .lines()
        .find(|line| line.contains("Overall exposure level"))
        .map(str::trim);
    let Some(overall) = overall else {
        eprintln!(
            "SKIPPED package test: `systemd-analyze security --offline=yes` gave no score \
             (systemd older than 250?), so the unit's sandbox was NOT scored:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        return Ok(());
    };
    ensure!(
        output.status.success(),
        "the unit's exposure is above {MAX_EXPOSURE}/100: {overall}\n{report}"
    );
    eprintln!("package test: systemd-analyze security: {overall}");
    Ok(())
}

fn check_purged() -> Result<()> {
    ensure!(
        installed_status().is_none(),
        "{PACKAGE} is still known to dpkg after --purge"
    );
    for path in [BINARY, UNIT_PATH, CONFFILE, DOC_DIR] {
        ensure!(
            !Path::new(path).exists(),
            "{path} is still there after dpkg --purge"
        );
    }
    eprintln!("package test: installed, checked and purged {PACKAGE} {VERSION}");
    Ok(())
}
