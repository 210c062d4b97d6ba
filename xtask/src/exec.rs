//! Running external commands: echo what runs, fail with its status and a readable name.

use std::process::Command;

use anyhow::{Context as _, Result, bail};

/// Prints `cmd` the way a shell user would type it, runs it inheriting stdio, and fails unless it
/// exits 0.
pub(crate) fn run(cmd: &mut Command) -> Result<()> {
    let shown = display(cmd);
    eprintln!("+ {shown}");
    let status = cmd
        .status()
        .with_context(|| format!("failed to start `{shown}`"))?;
    if !status.success() {
        bail!("`{shown}` failed with {status}");
    }
    Ok(())
}

/// Runs `cmd` quietly and returns its trimmed stdout when it succeeds, `None` otherwise (used for
/// probes like "is this tool installed").
pub(crate) fn probe(cmd: &mut Command) -> Option<String> {
    let output = cmd.output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

fn display(cmd: &Command) -> String {
    let envs = cmd
        .get_envs()
        .filter_map(|(k, v)| Some(format!("{}={}", k.to_string_lossy(), v?.to_string_lossy())));
    let words = std::iter::once(cmd.get_program().to_string_lossy().into_owned())
        .chain(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    envs.chain(words).collect::<Vec<_>>().join(" ")
}

/// Whether this process runs as root (needed for apt-get and for the namespace tests).
pub(crate) fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}
