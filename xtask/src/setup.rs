//! `cargo xtask setup`: install what a fresh Debian 12 machine lacks to build and test xvrrp.
//!
//! Idempotent and fast when everything is present: it only asks dpkg and `bpf-linker --version`.

use std::{path::Path, process::Command};

use anyhow::{Result, bail};

use crate::exec::{is_root, probe, run};

/// Debian packages: the BPF-capable compiler (rustc-web 1.96 with its sources builds `core` for
/// bpfel-unknown-none), LLVM 22 for bpf-linker, the tools the namespace tests and the
/// benchmarks drive, and promtool for the alert rules.
const DEBIAN_PACKAGES: &[&str] = &[
    "rustc-web",
    "rust-web-src",
    "llvm-22-dev",
    "libpolly-22-dev",
    "libzstd-dev",
    "zlib1g-dev",
    "iproute2",
    "iputils-ping",
    "bpftool",
    "keepalived",
    "iperf3",
    "rust-web-clippy",
    "tcpdump",
    "stress-ng",
    // The baseline of `cargo xtask bench xdp`'s virtual-MAC drop rate (a netdev ingress rule).
    "nftables",
    // For promtool, which tests examples/prometheus/alerts.yml (the package's server is not
    // used).
    "prometheus",
];

const BPF_LINKER_VERSION: &str = "0.13.0";
/// For `cargo xtask fuzz` (the fuzz targets themselves build on the rustup nightly).
const CARGO_FUZZ_VERSION: &str = "0.13.2";
const LLVM_PREFIX: &str = "/usr/lib/llvm-22";

/// Installs what is missing (or, with `check_only`, reports it and fails).
pub(crate) fn setup(check_only: bool) -> Result<()> {
    let missing_packages: Vec<&str> = DEBIAN_PACKAGES
        .iter()
        .copied()
        .filter(|pkg| !debian_package_installed(pkg))
        .collect();
    let linker_ok = bpf_linker_installed();
    let cargo_fuzz_ok = cargo_fuzz_installed();

    if missing_packages.is_empty() && linker_ok && cargo_fuzz_ok {
        eprintln!("setup: everything is installed");
        return Ok(());
    }
    let debian = Path::new("/etc/debian_version").exists();
    if check_only || !debian || !is_root() {
        print_manual_steps(&missing_packages, linker_ok, cargo_fuzz_ok, debian);
        bail!("setup: prerequisites are missing (see above)");
    }
    if !missing_packages.is_empty() {
        run(Command::new("apt-get").args(["update", "-q"]))?;
        run(Command::new("apt-get")
            .args(["install", "-y", "-q"])
            .args(&missing_packages)
            .env("DEBIAN_FRONTEND", "noninteractive"))?;
    }
    if !linker_ok {
        run(&mut cargo_install_bpf_linker())?;
    }
    if !cargo_fuzz_ok {
        run(&mut cargo_install_cargo_fuzz())?;
    }
    Ok(())
}

fn debian_package_installed(name: &str) -> bool {
    probe(Command::new("dpkg-query").args(["-W", "-f=${Status}", name]))
        .is_some_and(|status| status == "install ok installed")
}

fn bpf_linker_installed() -> bool {
    probe(Command::new("bpf-linker").arg("--version"))
        .is_some_and(|version| version.contains(BPF_LINKER_VERSION))
}

fn cargo_install_bpf_linker() -> Command {
    let mut cmd = Command::new("cargo");
    cmd.args(["install", "bpf-linker", "--version", BPF_LINKER_VERSION])
        .args(["--no-default-features", "--features", "llvm-22"])
        .env("LLVM_PREFIX", LLVM_PREFIX);
    cmd
}

fn cargo_fuzz_installed() -> bool {
    probe(Command::new("cargo").args(["fuzz", "--version"]))
        .is_some_and(|version| version.contains(CARGO_FUZZ_VERSION))
}

fn cargo_install_cargo_fuzz() -> Command {
    let mut cmd = Command::new("cargo");
    cmd.args([
        "install",
        "cargo-fuzz",
        "--locked",
        "--version",
        CARGO_FUZZ_VERSION,
    ]);
    cmd
}

fn print_manual_steps(
    missing_packages: &[&str],
    linker_ok: bool,
    cargo_fuzz_ok: bool,
    debian: bool,
) {
    eprintln!("setup: missing prerequisites. Run these as root:");
    if !missing_packages.is_empty() {
        if debian {
            eprintln!(
                "  apt-get update && apt-get install -y {}",
                missing_packages.join(" ")
            );
        } else {
            eprintln!(
                "  (not Debian) install the equivalents of: {}",
                missing_packages.join(" ")
            );
        }
    }
    if !linker_ok {
        eprintln!(
            "  LLVM_PREFIX={LLVM_PREFIX} cargo install bpf-linker --version \
             {BPF_LINKER_VERSION} --no-default-features --features llvm-22"
        );
    }
    if !cargo_fuzz_ok {
        eprintln!("  cargo install cargo-fuzz --locked --version {CARGO_FUZZ_VERSION}");
    }
    eprintln!(
        "rustup users can instead use: rustup toolchain install nightly --component rust-src && \
         cargo install bpf-linker"
    );
}
