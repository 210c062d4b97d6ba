//! `cargo xtask soak --minutes N [--seed S]`: build what is needed, then run the chaos soak
//! (`tests/src/bin/xvrrp-soak.rs`, engine in `tests/src/soak/`): three xvrrp routers and two
//! hosts in namespaces under random faults, checked after each; fails on any break.

use std::{path::Path, process::Command};

use anyhow::{Result, bail};

use crate::{build_ebpf::build_ebpf, exec::is_root, exec::run, setup::setup};

/// Options of `cargo xtask soak`.
pub(crate) struct SoakOptions {
    /// How long faults are injected.
    pub(crate) minutes: u64,
    /// The fault schedule's seed, to replay a run; random when absent.
    pub(crate) seed: Option<u64>,
}

pub(crate) fn soak(workspace: &Path, options: &SoakOptions) -> Result<()> {
    if !is_root() {
        bail!("the soak creates network namespaces and loads XDP programs: run it as root");
    }
    setup(false)?;
    build_ebpf(workspace)?;
    // The debug daemon, as the integration suite runs it (the soak binary finds it next to
    // itself).
    run(Command::new("cargo").current_dir(workspace).args([
        "build",
        "--locked",
        "--quiet",
        "--package",
        "vrrp-user",
        "--bin",
        "xvrrp",
    ]))?;
    let mut soak = Command::new("cargo");
    soak.current_dir(workspace)
        .args([
            "run",
            "--locked",
            "--quiet",
            "--package",
            "vrrp-tests",
            "--bin",
            "xvrrp-soak",
            "--",
            "--minutes",
        ])
        .arg(options.minutes.to_string());
    if let Some(seed) = options.seed {
        soak.args(["--seed", &seed.to_string()]);
    }
    run(&mut soak)
}
