//! `cargo xtask package`: a Debian package of the release `xvrrp`, built with `dpkg-deb`.
//!
//! Why not cargo-deb: it would be one more tool for `cargo xtask setup` to compile (minutes on
//! two cores) and it runs its own `cargo build`, while ours must come after `build-ebpf` (the
//! daemon embeds the XDP object) and `cargo xtask test` has already built the binary. The
//! package is small and fixed, so writing its control files here is shorter than configuring a
//! tool: `dpkg-deb`, `md5sum` and `dpkg` come with every Debian system.
//!
//! Contents: `/usr/bin/xvrrp`, the systemd unit, `/etc/xvrrp/xvrrp.toml` (a conffile), the docs
//! and examples under `/usr/share/doc/xvrrp/`. The maintainer scripts reload systemd when it
//! runs and never start, enable or restart the daemon: a VRRP router must not take part in an
//! election before its configuration is edited, nor fail over because of an upgrade.

use std::{
    fs,
    os::unix::fs::PermissionsExt as _,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context as _, Result, bail};

use crate::{
    build_ebpf::build_ebpf,
    exec::{probe, run},
};

/// The package name, also the binary's and the unit's.
pub(crate) const PACKAGE: &str = "xvrrp";
/// The workspace version (`[workspace.package] version`, which xtask inherits).
pub(crate) const VERSION: &str = env!("CARGO_PKG_VERSION");
/// Where the unit goes (systemd's vendor unit directory, searched on merged-/usr and classic
/// layouts alike).
pub(crate) const UNIT_PATH: &str = "/usr/lib/systemd/system/xvrrp.service";
/// The configuration the unit reads; a conffile.
pub(crate) const CONFFILE: &str = "/etc/xvrrp/xvrrp.toml";

/// What goes where: (path in the workspace, path in the package, executable).
const FILES: &[(&str, &str, bool)] = &[
    ("target/release/xvrrp", "usr/bin/xvrrp", true),
    (
        "examples/systemd/xvrrp.service",
        "usr/lib/systemd/system/xvrrp.service",
        false,
    ),
    ("examples/configs/xvrrp.toml", "etc/xvrrp/xvrrp.toml", false),
    ("README.md", "usr/share/doc/xvrrp/README.md", false),
    (
        "docs/OPERATIONS.md",
        "usr/share/doc/xvrrp/OPERATIONS.md",
        false,
    ),
    (
        "docs/ARCHITECTURE.md",
        "usr/share/doc/xvrrp/ARCHITECTURE.md",
        false,
    ),
    ("LICENSE", "usr/share/doc/xvrrp/copyright", false),
];
/// Copied whole into `/usr/share/doc/xvrrp/examples/`.
const EXAMPLE_DIRS: &[&str] = &[
    "examples/configs",
    "examples/prometheus",
    "examples/systemd",
];

/// `postinst`: make systemd see a new or changed unit; nothing is started.
const POSTINST: &str = r#"#!/bin/sh
set -e
if [ "$1" = "configure" ] && [ -d /run/systemd/system ]; then
    systemctl daemon-reload || true
    if [ -n "$2" ] && systemctl is-active --quiet xvrrp.service; then
        echo "xvrrp: the running daemon is still the old version; hand over to the new one without a failover: systemctl kill --kill-whom=main --signal=SIGUSR2 xvrrp (or restart it, a failover: systemctl restart xvrrp)"
    fi
fi
exit 0
"#;

/// `prerm`: on removal, stop and disable the daemon (its Master resigns with priority 0).
/// Upgrades leave it running.
const PRERM: &str = r#"#!/bin/sh
set -e
if [ "$1" = "remove" ]; then
    if [ -d /run/systemd/system ]; then
        systemctl stop xvrrp.service || true
    fi
    if command -v systemctl >/dev/null 2>&1; then
        systemctl --no-reload disable xvrrp.service >/dev/null 2>&1 || true
    fi
fi
exit 0
"#;

/// `postrm`: forget the unit; on purge also the event journal (dpkg removes the conffile).
const POSTRM: &str = r#"#!/bin/sh
set -e
if [ "$1" = "purge" ]; then
    rm -rf /var/lib/xvrrp
fi
if { [ "$1" = "remove" ] || [ "$1" = "purge" ]; } && [ -d /run/systemd/system ]; then
    systemctl daemon-reload || true
fi
exit 0
"#;

/// `cargo xtask package`: builds the XDP object and the release binary, then the package.
pub(crate) fn package(workspace: &Path) -> Result<PathBuf> {
    build_ebpf(workspace)?;
    run(&mut release_build(workspace))?;
    build_deb(workspace)
}

/// `cargo build --release` of the daemon, as deployed (it embeds the XDP object).
pub(crate) fn release_build(workspace: &Path) -> Command {
    let mut cmd = Command::new("cargo");
    cmd.current_dir(workspace)
        .args(["build", "--locked", "--release"])
        .args(["--package", "vrrp-user", "--bin", "xvrrp"]);
    cmd
}

/// Builds `target/debian/xvrrp_<version>_<arch>.deb` from the already built release binary.
pub(crate) fn build_deb(workspace: &Path) -> Result<PathBuf> {
    let arch = probe(Command::new("dpkg").arg("--print-architecture"))
        .context("`dpkg --print-architecture` failed: packaging needs a Debian system")?;
    let out_dir = workspace.join("target/debian");
    let root = out_dir.join(format!("{PACKAGE}_{VERSION}_{arch}"));
    if root.exists() {
        fs::remove_dir_all(&root).with_context(|| format!("remove {}", root.display()))?;
    }
    for (from, to, executable) in FILES {
        install(&workspace.join(from), &root.join(to), *executable)?;
    }
    for dir in EXAMPLE_DIRS {
        copy_examples(workspace, &workspace.join(dir), &root)?;
    }
    let control_dir = root.join("DEBIAN");
    fs::create_dir_all(&control_dir)?;
    let binary = fs::read(workspace.join(FILES[0].0))?;
    let control = control_file(&arch, installed_size_kib(&root)?, &glibc_needed(&binary)?);
    write(&control_dir.join("control"), &control, false)?;
    write(
        &control_dir.join("conffiles"),
        &format!("{CONFFILE}\n"),
        false,
    )?;
    write(&control_dir.join("md5sums"), &md5sums(&root)?, false)?;
    write(&control_dir.join("postinst"), POSTINST, true)?;
    write(&control_dir.join("prerm"), PRERM, true)?;
    write(&control_dir.join("postrm"), POSTRM, true)?;
    let deb = out_dir.join(format!("{PACKAGE}_{VERSION}_{arch}.deb"));
    run(Command::new("dpkg-deb")
        .args(["--root-owner-group", "--build"])
        .arg(&root)
        .arg(&deb))?;
    eprintln!("built {}", deb.display());
    Ok(deb)
}

fn control_file(arch: &str, installed_kib: u64, glibc: &str) -> String {
    format!(
        "Package: {PACKAGE}\n\
         Version: {VERSION}\n\
         Architecture: {arch}\n\
         Maintainer: xvrrp developers <xvrrp@example.invalid>\n\
         Installed-Size: {installed_kib}\n\
         Depends: libc6 (>= {glibc}), libgcc-s1\n\
         Recommends: iproute2\n\
         Suggests: bpftool, prometheus\n\
         Section: net\n\
         Priority: optional\n\
         Homepage: https://example.invalid/xvrrp\n\
         Description: VRRPv3 router redundancy daemon with an XDP data plane\n \
         xvrrp implements VRRP version 3 (RFC 9568) for IPv4 and IPv6. Routine\n \
         adverts are absorbed in the kernel by an eBPF/XDP program, which also\n \
         answers ARP and Neighbor Discovery for the virtual addresses while Master.\n \
         The package installs the daemon, a hardened systemd unit (not enabled)\n \
         and an example configuration in /etc/xvrrp/xvrrp.toml.\n"
    )
}

/// The newest `GLIBC_2.N` symbol version the binary references: the `libc6` it needs.
fn glibc_needed(binary: &[u8]) -> Result<String> {
    const TAG: &[u8] = b"GLIBC_2.";
    let newest = binary
        .windows(TAG.len())
        .enumerate()
        .filter(|(_, window)| *window == TAG)
        .filter_map(|(at, _)| {
            let digits: Vec<u8> = binary[at + TAG.len()..]
                .iter()
                .copied()
                .take_while(|byte| byte.is_ascii_digit() || *byte == b'.')
                .collect();
            let text = String::from_utf8(digits).ok()?;
            let parts: Option<Vec<u32>> = text.split('.').map(|part| part.parse().ok()).collect();
            parts.map(|parts| (parts, text))
        })
        .max();
    match newest {
        Some((_, minor)) => Ok(format!("2.{minor}")),
        None => bail!("the binary references no GLIBC_2.* symbol version (static build?)"),
    }
}

fn install(from: &Path, to: &Path, executable: bool) -> Result<()> {
    if let Some(parent) = to.parent() {
        fs::create_dir_all(parent).with_context(|| format!("create {}", parent.display()))?;
    }
    fs::copy(from, to).with_context(|| {
        format!(
            "copy {} (run `cargo xtask package`, which builds it)",
            from.display()
        )
    })?;
    set_mode(to, executable)
}

fn write(path: &Path, contents: &str, executable: bool) -> Result<()> {
    fs::write(path, contents).with_context(|| format!("write {}", path.display()))?;
    set_mode(path, executable)
}

/// 0755 or 0644, whatever the umask or the source's mode.
fn set_mode(path: &Path, executable: bool) -> Result<()> {
    let mode = if executable { 0o755 } else { 0o644 };
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .with_context(|| format!("chmod {}", path.display()))
}

fn copy_examples(workspace: &Path, dir: &Path, root: &Path) -> Result<()> {
    for entry in fs::read_dir(dir).with_context(|| format!("read {}", dir.display()))? {
        let path = entry?.path();
        let relative = path.strip_prefix(workspace.join("examples"))?;
        install(
            &path,
            &root.join("usr/share/doc/xvrrp/examples").join(relative),
            false,
        )?;
    }
    Ok(())
}

/// Every regular file under `root` except `DEBIAN/`, relative to it, sorted.
fn payload_files(root: &Path) -> Result<Vec<PathBuf>> {
    fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
        for entry in fs::read_dir(dir)? {
            let path = entry?.path();
            if path.is_dir() {
                walk(&path, files)?;
            } else {
                files.push(path);
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    walk(root, &mut files)?;
    let mut relative: Vec<PathBuf> = files
        .iter()
        .filter_map(|file| file.strip_prefix(root).ok().map(Path::to_path_buf))
        .filter(|file| !file.starts_with("DEBIAN"))
        .collect();
    relative.sort();
    Ok(relative)
}

/// `DEBIAN/md5sums` (what `dpkg --verify` checks), from `md5sum` run in the package root.
fn md5sums(root: &Path) -> Result<String> {
    let files = payload_files(root)?;
    let output = Command::new("md5sum")
        .current_dir(root)
        .args(&files)
        .output()
        .context("run md5sum")?;
    if !output.status.success() {
        bail!("md5sum failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    String::from_utf8(output.stdout).context("md5sum output is not UTF-8")
}

/// `Installed-Size`: the payload in KiB, rounded up per file as du does.
fn installed_size_kib(root: &Path) -> Result<u64> {
    payload_files(root)?.iter().try_fold(0, |total, file| {
        Ok(total + fs::metadata(root.join(file))?.len().div_ceil(1024))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glibc_version_is_the_newest_referenced() {
        let binary = b"\0GLIBC_2.2.5\0memcpy\0GLIBC_2.34\0GLIBC_2.9\0GLIBC_PRIVATE\0";
        assert_eq!(glibc_needed(binary).unwrap(), "2.34");
        assert!(glibc_needed(b"no versions here").is_err());
    }

    #[test]
    fn control_file_has_the_fields_dpkg_needs() {
        let control = control_file("amd64", 10_650, "2.34");
        for field in [
            "Package: xvrrp\n",
            &format!("Version: {VERSION}\n"),
            "Architecture: amd64\n",
            "Installed-Size: 10650\n",
            "Depends: libc6 (>= 2.34), libgcc-s1\n",
        ] {
            assert!(control.contains(field), "{field:?} missing from\n{control}");
        }
        // Continuation lines of the description start with one space; none is empty.
        assert!(
            control
                .lines()
                .skip_while(|line| !line.starts_with("Description:"))
                .skip(1)
                .all(|line| line.starts_with(' ') && line.trim().len() > 1)
        );
    }
}
