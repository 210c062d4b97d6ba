//! When to retry a step that failed (a virtual address install, an instance start): soon at
//! first, twice as late after each further failure, capped, so a persistent failure costs a
//! few netlink requests a second at most and never spins the loop. The daemon keeps the
//! schedule next to what failed and wakes up for it; nothing here sleeps.

use std::time::{Duration, Instant};

/// Delay before the first retry: a transient netlink failure (ENOBUFS, a racing link
/// change) is usually gone by then.
const FIRST_DELAY: Duration = Duration::from_millis(100);
/// Longest delay between retries; well below the 2 s minimum lifetime of a virtual address,
/// so a refresh that recovers keeps the address installed.
const MAX_DELAY: Duration = Duration::from_secs(1);

/// The retry due after the latest of `failures` consecutive failures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Retry {
    failures: u32,
    due: Instant,
}

impl Retry {
    /// The schedule after a failure at `now`, following `previous` (None: the first failure).
    pub(super) fn after_failure(previous: Option<Self>, now: Instant) -> Self {
        let failures = previous.map_or(1, |retry| retry.failures.saturating_add(1));
        // 2^(failures - 1) times the first delay; the exponent is capped before it overflows.
        let factor = 1_u32 << (failures - 1).min(16);
        let delay = FIRST_DELAY.saturating_mul(factor).min(MAX_DELAY);
        Self {
            failures,
            due: now + delay,
        }
    }

    /// When to try again.
    pub(super) fn due(self) -> Instant {
        self.due
    }

    /// Consecutive failures so far.
    pub(super) fn failures(self) -> u32 {
        self.failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_from_the_first_and_stop_at_the_cap() {
        let start = Instant::now();
        let mut retry = None;
        let mut delays = Vec::new();
        for _ in 0..40 {
            let next = Retry::after_failure(retry, start);
            delays.push(next.due() - start);
            retry = Some(next);
        }
        assert_eq!(delays[0], FIRST_DELAY);
        assert_eq!(delays[1], FIRST_DELAY * 2);
        assert_eq!(delays[2], FIRST_DELAY * 4);
        assert!(delays.windows(2).all(|pair| pair[0] <= pair[1]));
        assert_eq!(delays[39], MAX_DELAY);
        assert_eq!(retry.map(Retry::failures), Some(40));
    }
}
