//! The bpffs directory of one interface, `/sys/fs/bpf/xvrrp/<ifname>/` by default: mounted if needed,
//! adopted from a previous run or cleared of its pins at attach, removed at clean shutdown,
//! left in place by a handover.

use std::{
    ffi::CString,
    fs, io,
    path::{Path, PathBuf},
};

use super::DataplaneError;

/// Where bpffs is conventionally mounted.
pub(super) const BPFFS: &str = "/sys/fs/bpf";
/// Our subdirectory of bpffs: the default of [`super::AttachOptions::pin_root`].
pub(super) const PIN_ROOT: &str = "/sys/fs/bpf/xvrrp";
/// `statfs` magic of bpffs (linux/magic.h).
const BPF_FS_MAGIC: i64 = 0xcafe_4a11;
/// Name of the pinned XDP link inside the interface directory.
pub(super) const LINK_PIN: &str = "link";
/// Name of the pinned TC ingress link (TCX, Linux >= 6.6) inside the interface directory.
pub(super) const INGRESS_LINK_PIN: &str = "ingress_link";
/// Name of the pinned TC egress link (TCX, Linux >= 6.6) inside the interface directory.
pub(super) const EGRESS_LINK_PIN: &str = "egress_link";
/// Every link pin an interface directory may hold, next to the maps (`ALL_MAPS`): what a
/// check for stale pins allows.
pub const LINK_PINS: [&str; 3] = [LINK_PIN, INGRESS_LINK_PIN, EGRESS_LINK_PIN];

/// Mounts bpffs at /sys/fs/bpf unless it is there.
pub(super) fn ensure_bpffs(ifname: &str) -> Result<(), DataplaneError> {
    if is_bpffs(BPFFS) {
        return Ok(());
    }
    mount_bpffs().map_err(|source| DataplaneError::io(ifname, "mount bpffs at /sys/fs/bpf", source))
}

/// Gives `ifname` an empty pin directory under `pin_root`. Pins left by a previous run that
/// were not adopted are removed: unpinning a stale link detaches the old program, so the new
/// one can attach.
pub(super) fn fresh_dir(pin_root: &Path, ifname: &str) -> Result<PathBuf, DataplaneError> {
    let dir = pin_root.join(ifname);
    if dir.exists() {
        tracing::warn!(ifname, dir = %dir.display(), "removing stale pins of a previous run");
        remove(ifname, &dir)?;
    }
    fs::create_dir_all(&dir).map_err(|source| {
        DataplaneError::io(ifname, format!("create {}", dir.display()), source)
    })?;
    Ok(dir)
}

/// Removes `dir` and its pins (unlinking a pin only drops that reference).
pub(super) fn remove(ifname: &str, dir: &Path) -> Result<(), DataplaneError> {
    match fs::remove_dir_all(dir) {
        Err(err) if err.kind() != io::ErrorKind::NotFound => Err(DataplaneError::io(
            ifname,
            format!("remove {}", dir.display()),
            err,
        )),
        _ => Ok(()),
    }
}

pub(super) fn is_bpffs(path: &str) -> bool {
    let Ok(c_path) = CString::new(path) else {
        return false;
    };
    // SAFETY: statfs writes into the zeroed struct we own; the path is NUL-terminated.
    unsafe {
        let mut stat: libc::statfs = std::mem::zeroed();
        libc::statfs(c_path.as_ptr(), &mut stat) == 0 && stat.f_type as i64 == BPF_FS_MAGIC
    }
}

fn mount_bpffs() -> io::Result<()> {
    fs::create_dir_all(BPFFS)?;
    let source = c"bpf";
    let target = c"/sys/fs/bpf";
    // SAFETY: all strings are NUL-terminated literals; no data argument.
    let rc = unsafe {
        libc::mount(
            source.as_ptr(),
            target.as_ptr(),
            source.as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
