//! When to retry a step that failed (a virtual address install, an instance start): soon at
//! first, twice as late after each further failure, capped, so a persistent failure costs a
//! few netlink requests a second at most and never spins the loop. The daemon keeps the
//! schedule next to what failed and wakes up for it; nothing here sleeps. The webhook of the
//! operations layer paces its retries with the same schedule.

use std::time::{Duration, Instant};

/// How soon to retry: `first` after the first failure, doubling up to `max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Backoff {
    first: Duration,
    max: Duration,
}

impl Backoff {
    /// `first` after the first failure, doubling up to `max`.
    pub(crate) const fn new(first: Duration, max: Duration) -> Self {
        Self { first, max }
    }
}

/// Virtual address installs, refreshes and removals: a transient netlink failure (ENOBUFS, a
/// racing link change) is usually gone after 100 ms, and 1 s is well below the 2 s minimum
/// lifetime of a virtual address, so a refresh that recovers keeps the address installed.
pub(super) const NETLINK: Backoff = Backoff {
    first: Duration::from_millis(100),
    max: Duration::from_secs(1),
};

/// Instance starts: one may load and verify the data-plane programs, too costly to repeat
/// every second for a failure that persists.
pub(super) const START: Backoff = Backoff {
    first: Duration::from_millis(500),
    max: Duration::from_secs(30),
};

/// The retry due after the latest of `failures` consecutive failures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Retry {
    failures: u32,
    due: Instant,
}

impl Retry {
    /// The `backoff` schedule after a failure at `now`, following `previous` (None: the first
    /// failure).
    pub(crate) fn after_failure(backoff: Backoff, previous: Option<Self>, now: Instant) -> Self {
        let failures = previous.map_or(1, |retry| retry.failures.saturating_add(1));
        // 2^(failures - 1) times the first delay; the exponent is capped before it overflows.
        let factor = 1_u32 << (failures - 1).min(16);
        let delay = backoff.first.saturating_mul(factor).min(backoff.max);
        Self {
            failures,
            due: now + delay,
        }
    }

    /// When to try again.
    pub(crate) fn due(self) -> Instant {
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
            let next = Retry::after_failure(NETLINK, retry, start);
            delays.push(next.due() - start);
            retry = Some(next);
        }
        assert_eq!(delays[0], NETLINK.first);
        assert_eq!(delays[1], NETLINK.first * 2);
        assert_eq!(delays[2], NETLINK.first * 4);
        assert!(delays.windows(2).all(|pair| pair[0] <= pair[1]));
        assert_eq!(delays[39], NETLINK.max);
        assert_eq!(retry.map(Retry::failures), Some(40));
    }
}
