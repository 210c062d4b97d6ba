//! Converting the kernel's monotonic timestamps (bpf_ktime_get_ns) to `Instant`.
//!
//! On Linux `Instant` is CLOCK_MONOTONIC, the clock `bpf_ktime_get_ns` reads, so the two differ
//! only by representation: we read both now and shift.

use std::time::{Duration, Instant};

use crate::dataplane::monotonic_now;

/// The `Instant` at which CLOCK_MONOTONIC read `monotonic`.
pub(crate) fn instant_from_monotonic(monotonic: Duration) -> Instant {
    let (now, now_monotonic) = (Instant::now(), monotonic_now());
    let age = now_monotonic.saturating_sub(monotonic);
    now.checked_sub(age).unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_timestamps_map_to_the_matching_instant() {
        let ten_ms_ago = monotonic_now() - Duration::from_millis(10);
        let age = Instant::now() - instant_from_monotonic(ten_ms_ago);
        assert!(
            age >= Duration::from_millis(10) && age < Duration::from_millis(500),
            "age {age:?}"
        );
    }
}
