//! Dropping, at start, every capability the daemon never uses from its bounding set (and
//! clearing its ambient set), so that nothing it could ever execute, and no file capability,
//! gets more than that. The daemon's own permitted set is left alone: run by hand as root it
//! may still need CAP_SYS_ADMIN (which the bounding set does not keep) to mount a missing
//! bpffs when a reload attaches a new interface. The systemd unit limits the permitted set to
//! the same four capabilities (docs/OPERATIONS.md "Security").
//!
//! Two prctl(2) calls with libc's constants; the `caps` crate would add a second major version
//! of thiserror for the same two calls.

use std::io;

/// CAP_NET_ADMIN: attach XDP/TC, add and remove virtual addresses, write arp_announce.
const CAP_NET_ADMIN: u8 = 12;
/// CAP_NET_RAW: the packet sockets that send adverts and gratuitous ARP/NA.
const CAP_NET_RAW: u8 = 13;
/// CAP_PERFMON: without it the verifier refuses the program's pointer arithmetic.
const CAP_PERFMON: u8 = 38;
/// CAP_BPF: load programs, create and pin maps.
const CAP_BPF: u8 = 39;

/// The capabilities the bounding set keeps, with their names (as in /proc and capabilities(7)).
pub const KEPT_CAPABILITIES: [(u8, &str); 4] = [
    (CAP_NET_ADMIN, "cap_net_admin"),
    (CAP_NET_RAW, "cap_net_raw"),
    (CAP_PERFMON, "cap_perfmon"),
    (CAP_BPF, "cap_bpf"),
];

/// Capability numbers are below 64 (the kernel's sets are 64-bit).
const MAX_CAPABILITIES: u8 = 64;

/// What [`drop_unneeded_capabilities`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoundingSetDrop {
    /// How many capabilities left the bounding set.
    pub dropped: u32,
    /// The bounding set now, as a bit mask (as in /proc/PID/status CapBnd).
    pub bounding_set: u64,
}

/// Why the bounding set could not be reduced.
#[derive(Debug, thiserror::Error)]
pub enum CapabilityError {
    /// prctl(2) refused (PR_CAPBSET_DROP needs CAP_SETPCAP, which a supervisor may have
    /// withheld already).
    #[error("prctl({op}) for capability {capability}")]
    Prctl {
        /// The operation.
        op: &'static str,
        /// The capability number.
        capability: u8,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

/// The bounding set mask of [`KEPT_CAPABILITIES`].
pub fn kept_mask() -> u64 {
    KEPT_CAPABILITIES
        .iter()
        .fold(0, |mask, (capability, _)| mask | 1 << capability)
}

/// Drops from the bounding set every capability not in [`KEPT_CAPABILITIES`] and clears the
/// ambient set. Capabilities already outside the bounding set need nothing (a supervisor
/// that removed CAP_SETPCAP has usually removed the rest as well).
pub fn drop_unneeded_capabilities() -> Result<BoundingSetDrop, CapabilityError> {
    let kept = kept_mask();
    let mut dropped = 0;
    let mut bounding_set = 0;
    for capability in 0..MAX_CAPABILITIES {
        // Past the kernel's last capability PR_CAPBSET_READ fails with EINVAL.
        let Some(present) = bounding_set_has(capability) else {
            break;
        };
        let keep = kept & (1 << capability) != 0;
        if present && !keep {
            prctl(libc::PR_CAPBSET_DROP, capability, "PR_CAPBSET_DROP")?;
            dropped += 1;
        } else if present {
            bounding_set |= 1 << capability;
        }
    }
    // SAFETY: prctl with integer arguments only; it touches no memory of ours.
    let rc = unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL,
            0,
            0,
            0,
        )
    };
    if rc != 0 {
        return Err(CapabilityError::Prctl {
            op: "PR_CAP_AMBIENT_CLEAR_ALL",
            capability: 0,
            source: io::Error::last_os_error(),
        });
    }
    Ok(BoundingSetDrop {
        dropped,
        bounding_set,
    })
}

/// Whether `capability` is in the bounding set; `None` when the kernel has no such capability.
fn bounding_set_has(capability: u8) -> Option<bool> {
    // SAFETY: prctl with integer arguments only.
    let rc = unsafe { libc::prctl(libc::PR_CAPBSET_READ, libc::c_ulong::from(capability)) };
    (rc >= 0).then_some(rc == 1)
}

fn prctl(op: libc::c_int, capability: u8, name: &'static str) -> Result<(), CapabilityError> {
    // SAFETY: prctl with integer arguments only.
    let rc = unsafe { libc::prctl(op, libc::c_ulong::from(capability)) };
    if rc == 0 {
        Ok(())
    } else {
        Err(CapabilityError::Prctl {
            op: name,
            capability,
            source: io::Error::last_os_error(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kept_mask_is_the_units_four_capabilities() {
        // cap_net_admin 12, cap_net_raw 13, cap_perfmon 38, cap_bpf 39: CapBnd 000000c000003000.
        assert_eq!(kept_mask(), 0x0000_00c0_0000_3000);
        assert_eq!(kept_mask() & (1 << 16), 0, "cap_sys_module is not kept");
    }

    #[test]
    fn the_bounding_set_can_be_read() {
        // CAP_CHOWN (0) exists on every kernel; a number past the last does not.
        assert!(bounding_set_has(0).is_some());
        assert_eq!(bounding_set_has(63), None);
    }
}
