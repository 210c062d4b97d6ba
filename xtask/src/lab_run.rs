//! What `cargo xtask demo` and `cargo xtask soak` share: both run a binary of the test harness
//! (`tests/src/bin/`) that drives the debug daemon in network namespaces.

use std::{path::Path, process::Command};

use anyhow::{Result, bail};

use crate::{build_ebpf::build_ebpf, exec::is_root, exec::run, setup::setup};

/// Checks for root, installs what is missing and builds the XDP object and the debug daemon
/// (the harness binary finds it next to itself). `what` names the command in the error.
pub(crate) fn prepare(workspace: &Path, what: &str) -> Result<()> {
    if !is_root() {
        bail!("the {what} creates network namespaces and loads XDP programs: run it as root");
    }
    setup(false)?;
    build_ebpf(workspace)?;
    run(Command::new("cargo").current_dir(workspace).args([
        "build",
        "--locked",
        "--quiet",
        "--package",
        "vrrp-user",
        "--bin",
        "xvrrp",
    ]))
}

/// `cargo run` of the harness binary `bin`; the caller adds its arguments after `--`.
pub(crate) fn harness_binary(workspace: &Path, bin: &str) -> Command {
    let mut command = Command::new("cargo");
    command.current_dir(workspace).args([
        "run",
        "--locked",
        "--quiet",
        "--package",
        "vrrp-tests",
        "--bin",
        bin,
    ]);
    command
}
