//! Whether the pins outlive the daemon where operators can see them. The crash fail-safe needs
//! the pinned links to survive the process, and the README's bpftool recipes need the pins in
//! the host's bpffs. Both fail silently when the daemon's /sys/fs/bpf is private to its own
//! mount namespace, as under `ip netns exec` (which mounts a fresh /sys) or in a container
//! without /sys/fs/bpf bound in.

use std::{fs, os::unix::fs::MetadataExt as _, path::Path};

use super::pin::{BPFFS, is_bpffs};

/// Where the pins live, as far as this process can tell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PinVisibility {
    /// The bpffs the host sees (or one bound into this mount namespace from it).
    Shared,
    /// Private to this mount namespace: pins (and with them the XDP/TC links) go away with the
    /// daemon, and nobody outside sees them.
    Private {
        /// Why we think so.
        reason: String,
    },
}

impl PinVisibility {
    /// What an operator should do about it, for the start-up warning.
    pub const FIX: &'static str = "start the daemon with `nsenter --net=/run/netns/NAME` instead \
        of `ip netns exec`, or bind-mount the host's /sys/fs/bpf into the container \
        (`-v /sys/fs/bpf:/sys/fs/bpf`), or mount bpffs there (`mount -t bpf bpf /sys/fs/bpf`)";
}

/// Compares this process's mount namespace and bpffs with PID 1's. Call it before the first
/// attach (which mounts bpffs when it is missing).
pub fn pin_visibility() -> PinVisibility {
    let mounted = is_bpffs(BPFFS);
    let own = fs::read_link("/proc/self/ns/mnt");
    let init = fs::read_link("/proc/1/ns/mnt");
    match (own, init) {
        // The host's mount namespace: whatever is (or gets) mounted there is the host's.
        (Ok(own), Ok(init)) if own == init => PinVisibility::Shared,
        // Another mount namespace: shared only if /sys/fs/bpf is the same bpffs as init's.
        (Ok(_), Ok(_)) => {
            let init_bpffs = Path::new("/proc/1/root").join(BPFFS.trim_start_matches('/'));
            let same = mounted
                && match (fs::metadata(BPFFS), fs::metadata(&init_bpffs)) {
                    (Ok(own), Ok(init)) => own.dev() == init.dev(),
                    _ => false,
                };
            if same {
                PinVisibility::Shared
            } else {
                PinVisibility::Private {
                    reason: format!(
                        "this process runs in its own mount namespace and its {BPFFS} is not \
                         the host's bpffs"
                    ),
                }
            }
        }
        // PID 1 is out of reach (another user namespace, hardened /proc). Hosts mount bpffs at
        // boot (systemd does), so a missing one means a /sys of our own: `ip netns exec`, or a
        // container that was not given the host's.
        _ if !mounted => PinVisibility::Private {
            reason: format!("no bpffs is mounted at {BPFFS} in this mount namespace"),
        },
        _ => PinVisibility::Shared,
    }
}
