//! `cargo xtask lint`: rustfmt, then clippy twice — host crates, and the XDP crate for its real
//! target (host clippy cannot type-check BPF-only code paths faithfully).

use std::{path::Path, process::Command};

use anyhow::{Result, bail};

use crate::exec::run;

const DEBIAN_CLIPPY_DRIVER: &str = "/usr/bin/clippy-driver";

/// Runs every lint; fails on the first finding.
pub(crate) fn lint(workspace: &Path) -> Result<()> {
    run(Command::new("cargo")
        .current_dir(workspace)
        .args(["fmt", "--all", "--check"]))?;
    run(Command::new("cargo").current_dir(workspace).args([
        "clippy",
        "--locked",
        "--workspace",
        "--exclude",
        "vrrp-ebpf",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    clippy_ebpf(workspace)
}

/// Clippy for bpfel-unknown-none with Debian's clippy-driver, which matches Debian's rustc-web
/// (rustup's clippy is built for a different compiler and sysroot).
fn clippy_ebpf(workspace: &Path) -> Result<()> {
    if !Path::new(DEBIAN_CLIPPY_DRIVER).exists() {
        bail!(
            "{DEBIAN_CLIPPY_DRIVER} is missing: run `cargo xtask setup` (package rust-web-clippy)"
        );
    }
    run(Command::new("cargo")
        .current_dir(workspace)
        .args(["check", "--locked", "--package", "vrrp-ebpf", "--release"])
        .args(["--target", "bpfel-unknown-none", "-Zbuild-std=core"])
        .args(["--target-dir", "target/ebpf"])
        .env("RUSTC", "/usr/bin/rustc")
        .env("RUSTC_BOOTSTRAP", "1")
        .env("RUSTC_WORKSPACE_WRAPPER", DEBIAN_CLIPPY_DRIVER)
        // clippy-driver reads its lint flags from here, joined the way cargo-clippy joins them.
        .env(
            "CLIPPY_ARGS",
            "-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__",
        ))
}
