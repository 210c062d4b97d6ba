//! `cargo xtask build-ebpf`: build the XDP object for bpfel-unknown-none.
//!
//! Building `core` for the BPF target needs a compiler with its library sources. We look for a
//! rustup nightly that has `rust-src`, then Debian's `rustc-web` with `rust-web-src` (a stable
//! compiler, so `RUSTC_BOOTSTRAP=1` unlocks `-Zbuild-std`). The object is always built with the
//! release profile: unoptimised BPF code does not pass the verifier.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context as _, Result, bail};

use crate::exec::{probe, run};

const DEBIAN_RUSTC: &str = "/usr/bin/rustc";

/// Where the object lands; `vrrp-user/build.rs` reads the same path (`XVRRP_EBPF_OBJECT`
/// overrides both).
pub(crate) fn object_path(workspace: &Path) -> PathBuf {
    workspace.join("target/ebpf/bpfel-unknown-none/release/vrrp-ebpf")
}

enum BpfCompiler {
    RustupNightly,
    DebianRustcWeb,
}

fn has_core_sources(sysroot: &str) -> bool {
    Path::new(sysroot)
        .join("lib/rustlib/src/rust/library/core/Cargo.toml")
        .exists()
}

fn find_compiler() -> Result<BpfCompiler> {
    let nightly_sysroot =
        probe(Command::new("rustup").args(["run", "nightly", "rustc", "--print", "sysroot"]));
    if nightly_sysroot.as_deref().is_some_and(has_core_sources) {
        return Ok(BpfCompiler::RustupNightly);
    }
    let debian_sysroot = probe(Command::new(DEBIAN_RUSTC).args(["--print", "sysroot"]));
    if debian_sysroot.as_deref().is_some_and(has_core_sources) {
        return Ok(BpfCompiler::DebianRustcWeb);
    }
    bail!(
        "no compiler can build `core` for bpfel-unknown-none: need a rustup nightly with rust-src \
         (`rustup toolchain install nightly --component rust-src`) or Debian's rustc-web with \
         rust-web-src (`apt-get install rustc-web rust-web-src`); `cargo xtask setup` installs the \
         latter"
    )
}

/// Builds the eBPF object and returns its path.
pub(crate) fn build_ebpf(workspace: &Path) -> Result<PathBuf> {
    if probe(Command::new("bpf-linker").arg("--version")).is_none() {
        bail!("bpf-linker is not on PATH: run `cargo xtask setup`");
    }
    let mut cmd = Command::new("cargo");
    match find_compiler()? {
        BpfCompiler::RustupNightly => {
            cmd.env("RUSTUP_TOOLCHAIN", "nightly");
        }
        BpfCompiler::DebianRustcWeb => {
            cmd.env("RUSTC", DEBIAN_RUSTC).env("RUSTC_BOOTSTRAP", "1");
        }
    }
    cmd.current_dir(workspace)
        .args(["build", "--package", "vrrp-ebpf", "--release"])
        .args(["--target", "bpfel-unknown-none", "-Zbuild-std=core"])
        .args(["--target-dir", "target/ebpf"])
        // BTF (from debuginfo) lets `bpftool map dump` print field names.
        .env(
            "CARGO_ENCODED_RUSTFLAGS",
            "-Cdebuginfo=2\u{1f}-Clink-arg=--btf",
        )
        .env_remove("RUSTFLAGS")
        .env_remove("RUSTC_WORKSPACE_WRAPPER");
    run(&mut cmd)?;
    let object = object_path(workspace);
    std::fs::metadata(&object)
        .with_context(|| format!("build succeeded but {} is missing", object.display()))?;
    Ok(object)
}
