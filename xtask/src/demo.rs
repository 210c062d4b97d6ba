//! `cargo xtask demo`: build what is needed, then run the namespace demo (two xvrrp routers and
//! a host; a measured failover; preemption; cleanup). The demo itself lives in
//! `tests/src/bin/xvrrp-demo.rs` so it shares the test harness's lab and process guards.

use std::path::Path;

use anyhow::Result;

use crate::{exec::run, lab_run};

pub(crate) fn demo(workspace: &Path) -> Result<()> {
    lab_run::prepare(workspace, "demo")?;
    run(&mut lab_run::harness_binary(workspace, "xvrrp-demo"))
}
