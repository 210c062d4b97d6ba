//! Pins whose interface is gone. A daemon that dies (SIGKILL, a crash, a handover nobody took
//! up) leaves its interfaces' programs and maps pinned; when such an interface then disappears
//! (its namespace or container was removed, a veth peer deleted) the kernel detaches the
//! pinned links but the pins keep the programs and maps in memory indefinitely. These are
//! found by asking the kernel where each pinned link is attached, not by interface name: the
//! pin root is shared by daemons in other network namespaces, whose interfaces this process
//! cannot see.

use std::{fs, io, path::Path};

use super::{DataplaneError, link_info::pinned_link_info, pin};

/// A pin directory removed because its interface is gone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeadPins {
    /// The interface name the directory was named after.
    pub ifname: String,
}

/// Removes every interface directory under `pin_root` whose pinned links are all detached,
/// logging one line each. Directories without pinned links (kernels without TCX and no XDP
/// link, or a daemon between its pin and attach steps) cannot be judged and stay.
pub fn remove_dead_pins(pin_root: &Path) -> Result<Vec<DeadPins>, DataplaneError> {
    let entries = match fs::read_dir(pin_root) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => {
            return Err(DataplaneError::io(
                "*",
                format!("list {}", pin_root.display()),
                err,
            ));
        }
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let dir = entry.path();
        let ifname = entry.file_name().to_string_lossy().into_owned();
        if !dir.is_dir() || !links_all_detached(&dir) {
            continue;
        }
        pin::remove(&ifname, &dir)?;
        tracing::info!(
            interface = ifname,
            dir = %dir.display(),
            "removed the pins of an interface that no longer exists"
        );
        removed.push(DeadPins { ifname });
    }
    Ok(removed)
}

/// Whether `dir` holds at least one pinned link and none is attached to a device.
fn links_all_detached(dir: &Path) -> bool {
    let links: Vec<_> = [pin::LINK_PIN, pin::INGRESS_LINK_PIN, pin::EGRESS_LINK_PIN]
        .into_iter()
        .map(|name| dir.join(name))
        .filter(|path| path.exists())
        .collect();
    !links.is_empty()
        && links
            .iter()
            .all(|path| pinned_link_info(path).is_ok_and(|info| info.ifindex.is_none()))
}
