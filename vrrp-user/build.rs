//! Embeds the XDP object built by `cargo xtask build-ebpf`.
//!
//! The object is built by xtask (it needs a BPF-capable compiler and `-Zbuild-std`), not here: a
//! nested cargo in build.rs would fight over the toolchain and the build lock. Missing object =
//! a build error that says what to run, never a silently empty program.

use std::{env, fs, path::PathBuf};

fn main() {
    println!("cargo::rerun-if-env-changed=XVRRP_EBPF_OBJECT");
    let object = env::var_os("XVRRP_EBPF_OBJECT").map_or_else(
        || {
            let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap());
            manifest_dir.join("../target/ebpf/bpfel-unknown-none/release/vrrp-ebpf")
        },
        PathBuf::from,
    );
    println!("cargo::rerun-if-changed={}", object.display());
    let out = PathBuf::from(env::var_os("OUT_DIR").unwrap()).join("vrrp-ebpf.o");
    if let Err(err) = fs::copy(&object, &out) {
        panic!(
            "the XDP object {} is missing ({err}): run `cargo xtask build-ebpf` first \
             (or `cargo xtask setup` on a fresh machine)",
            object.display()
        );
    }
}
