//! Counter updates. Each per-CPU slot is only written by its own CPU while the program runs, so
//! plain increments are safe without atomics.

use vrrp_common::{counters::Counter, maps::InstanceKey};

use crate::maps::{XVRRP_STATS, XVRRP_VR_STATS};

/// Adds one to the global `counter` on this CPU.
#[inline(always)]
pub(crate) fn count(counter: Counter) {
    if let Some(slot) = XVRRP_STATS.get_ptr_mut(counter as u32) {
        // SAFETY: a successful per-CPU array lookup, written only by this CPU.
        unsafe { *slot += 1 };
    }
}

/// Adds one to `counter`, globally and for the virtual router `key`.
#[inline(always)]
pub(crate) fn count_instance(key: &InstanceKey, counter: Counter) {
    count(counter);
    if let Some(record) = XVRRP_VR_STATS.get_ptr_mut(key.slot()) {
        // SAFETY: a successful per-CPU array lookup, written only by this CPU; the index is a
        // `Counter`, always below `Counter::COUNT`, the array length.
        unsafe {
            if let Some(slot) = (*record).by_counter.get_mut(counter as usize) {
                *slot += 1;
            }
        }
    }
}
