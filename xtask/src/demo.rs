//! `cargo xtask demo`: build what is needed, then run the namespace demo (two xvrrp routers and
//! a host; a measured failover; preemption; cleanup). The demo itself lives in
//! `tests/src/bin/xvrrp-demo.rs` so it shares the test harness's lab and process guards.

use std::{path::Path, process::Command};

use anyhow::{Result, bail};

use crate::{build_ebpf::build_ebpf, exec::is_root, exec::run, setup::setup};

pub(crate) fn demo(workspace: &Path) -> Result<()> {
    if !is_root() {
        bail!("the demo creates network namespaces and loads XDP programs: run it as root");
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
    ]))?;
    run(Command::new("cargo").current_dir(workspace).args([
        "run",
        "--locked",
        "--quiet",
        "--package",
        "vrrp-tests",
        "--bin",
        "xvrrp-demo",
    ]))
}
