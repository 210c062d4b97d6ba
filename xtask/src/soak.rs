//! `cargo xtask soak --minutes N [--seed S]`: build what is needed, then run the chaos soak
//! (`tests/src/bin/xvrrp-soak.rs`, engine in `tests/src/soak/`): three xvrrp routers and two
//! hosts in namespaces under random faults, checked after each; fails on any break.

use std::path::Path;

use anyhow::Result;

use crate::{exec::run, lab_run};

/// Options of `cargo xtask soak`.
pub(crate) struct SoakOptions {
    /// How long faults are injected.
    pub(crate) minutes: u64,
    /// The fault schedule's seed, to replay a run; random when absent.
    pub(crate) seed: Option<u64>,
}

pub(crate) fn soak(workspace: &Path, options: &SoakOptions) -> Result<()> {
    lab_run::prepare(workspace, "soak")?;
    let mut soak = lab_run::harness_binary(workspace, "xvrrp-soak");
    soak.args(["--", "--minutes", &options.minutes.to_string()]);
    if let Some(seed) = options.seed {
        soak.args(["--seed", &seed.to_string()]);
    }
    run(&mut soak)
}
