//! Loading the data plane in a short-lived helper process, which pins it and exits; the daemon
//! then adopts the pins as it adopts a previous run's (`adopt`). aya 0.14's loader parses the
//! kernel's whole BTF (/sys/kernel/btf/vmlinux) on every load, although our object needs no
//! CO-RE relocation; in the daemon that parse set its peak RSS for its whole life (27.6 MiB,
//! against 12.8 MiB for a daemon that adopted its pins, keepalived 12.8 MiB).

use std::{
    path::Path,
    process::{Command, Stdio},
};

use clap::ValueEnum as _;

use super::{AttachOptions, Dataplane, DataplaneError, XdpAttachMode};

/// The hidden `xvrrp` subcommand that runs [`run_helper`].
pub const HELPER_COMMAND: &str = "load-dataplane";

/// Why the helper did not leave a data plane to adopt.
#[derive(Debug, thiserror::Error)]
pub(super) enum HelperFailed {
    /// The helper could not be started.
    #[error("starting the helper failed")]
    Spawn(#[source] std::io::Error),
    /// The helper ran and failed; its error output says why.
    #[error("the helper failed ({status}): {stderr}")]
    Exit {
        /// How it ended.
        status: std::process::ExitStatus,
        /// What it wrote to stderr, trimmed.
        stderr: String,
    },
}

/// Runs this binary's helper for `ifname` (`/proc/self/exe`: the image running now, also
/// after a package upgrade replaced the file) and waits for it, about 0.1 s.
pub(super) fn load_in_helper(ifname: &str, options: &AttachOptions) -> Result<(), HelperFailed> {
    let mode = options
        .mode
        .to_possible_value()
        .map(|value| value.get_name().to_owned())
        .unwrap_or_default();
    let output = Command::new("/proc/self/exe")
        .arg(HELPER_COMMAND)
        .args(["--interface", ifname, "--xdp-mode", &mode, "--bpffs"])
        .arg(&options.pin_root)
        .stdin(Stdio::null())
        .output()
        .map_err(HelperFailed::Spawn)?;
    if output.status.success() {
        return Ok(());
    }
    Err(HelperFailed::Exit {
        status: output.status,
        stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
    })
}

/// The helper's side: loads the data plane for `ifname` here, pins its maps and links under
/// `pin_root` and leaves it running for the daemon that started the helper.
pub fn run_helper(
    ifname: &str,
    mode: XdpAttachMode,
    pin_root: &Path,
) -> Result<(), DataplaneError> {
    let options = AttachOptions {
        mode,
        pin_link: true,
        pin_root: pin_root.to_owned(),
        load_in_helper: false,
    };
    Dataplane::attach(ifname, &options)?.leave_pinned();
    Ok(())
}
