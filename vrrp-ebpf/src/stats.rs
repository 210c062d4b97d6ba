//! Counter updates.

use vrrp_common::counters::Counter;

use crate::maps::XVRRP_STATS;

/// Adds one to `counter` on this CPU. The slot is specific to the current CPU, so a plain
/// increment is safe without atomics.
#[inline(always)]
pub(crate) fn count(counter: Counter) {
    if let Some(slot) = XVRRP_STATS.get_ptr_mut(counter as u32) {
        // SAFETY: the pointer comes from a successful per-CPU array lookup and is only written by
        // this CPU while this program runs.
        unsafe { *slot += 1 };
    }
}
