//! The kernel's last-seen stamps of routine adverts ([`LAST_SEEN_MAP`]), mapped into the
//! daemon's memory: a Backup at 10 ms checks every stamp ~28 times a second, and a syscall per
//! check was a quarter of its CPU at 255 VRIDs.

use std::{
    io,
    os::fd::{AsFd as _, AsRawFd as _},
    ptr::NonNull,
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use aya::maps::MapData;
use vrrp_common::maps::{INSTANCE_SLOTS, LAST_SEEN_MAP};

/// Bytes of the mapping: the array rounded up to whole pages (what the kernel maps).
fn mapping_len() -> usize {
    // SAFETY: sysconf has no memory effects.
    let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096);
    (INSTANCE_SLOTS as usize * size_of::<u64>()).next_multiple_of(page)
}

/// A shared, writable mapping of the stamp array. The program stores aligned `u64`s; the
/// daemon reads them and clears one when it writes that instance's record.
pub(crate) struct LastSeenStamps {
    base: NonNull<AtomicU64>,
}

// SAFETY: the mapping is plain shared memory accessed through atomics only.
unsafe impl Send for LastSeenStamps {}

impl LastSeenStamps {
    /// Maps `map` (which must be [`LAST_SEEN_MAP`], created mmapable).
    pub(crate) fn map(map: &MapData) -> io::Result<Self> {
        let fd = map.fd().as_fd().as_raw_fd();
        // SAFETY: a fresh shared mapping of a BPF array map; the kernel checks the map is
        // mmapable and the length within it. The mapping keeps the map alive until munmap.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                mapping_len(),
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        NonNull::new(base.cast::<AtomicU64>())
            .map(|base| Self { base })
            .ok_or_else(|| io::Error::other(format!("mmap of {LAST_SEEN_MAP} returned null")))
    }

    fn stamp(&self, slot: u32) -> &AtomicU64 {
        assert!(slot < INSTANCE_SLOTS, "slot {slot} out of range");
        // SAFETY: in bounds of the mapping (asserted), aligned (page-aligned base, u64 values),
        // and only ever accessed atomically here; the kernel's stores are aligned u64 stores.
        unsafe { self.base.add(slot as usize).as_ref() }
    }

    /// The stamp of `slot` as CLOCK_MONOTONIC time (zero: none).
    pub(crate) fn get(&self, slot: u32) -> Duration {
        Duration::from_nanos(self.stamp(slot).load(Ordering::Relaxed))
    }

    /// Forgets the stamp of `slot`: later stamps are of adverts matching the record just
    /// written.
    pub(crate) fn clear(&self, slot: u32) {
        self.stamp(slot).store(0, Ordering::Relaxed);
    }
}

impl Drop for LastSeenStamps {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in `map`; no reference outlives `self`.
        unsafe { libc::munmap(self.base.as_ptr().cast(), mapping_len()) };
    }
}
