//! The virtual router's timers as a table of deadlines.
//!
//! A timer is an optional `Instant`; the driver sleeps until the earliest one and calls
//! `handle_timeout`. Deadlines are always derived from the `now` of the event that set them.

use std::time::{Duration, Instant};

/// The two RFC 9568 §6.2 timers. At most one runs at a time: Master uses the Adver_Timer,
/// Backup the Master_Down_Timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timer {
    /// Adver_Timer: the Master's next advertisement.
    Advert,
    /// Master_Down_Timer: the Backup declares the Master dead.
    MasterDown,
}

/// Deadlines for each `Timer`; `None` means stopped.
#[derive(Debug, Clone, Default)]
pub(crate) struct TimerTable {
    advert: Option<Instant>,
    master_down: Option<Instant>,
}

impl TimerTable {
    fn slot(&mut self, timer: Timer) -> &mut Option<Instant> {
        match timer {
            Timer::Advert => &mut self.advert,
            Timer::MasterDown => &mut self.master_down,
        }
    }

    /// Arms `timer` to fire `after` from `now`. A deadline that does not fit in an `Instant`
    /// leaves the timer stopped (it would never fire anyway).
    pub(crate) fn set(&mut self, timer: Timer, now: Instant, after: Duration) {
        *self.slot(timer) = now.checked_add(after);
    }

    pub(crate) fn stop(&mut self, timer: Timer) {
        *self.slot(timer) = None;
    }

    pub(crate) fn stop_all(&mut self) {
        *self = Self::default();
    }

    pub(crate) fn deadline(&self, timer: Timer) -> Option<Instant> {
        match timer {
            Timer::Advert => self.advert,
            Timer::MasterDown => self.master_down,
        }
    }

    /// The earliest running deadline.
    pub(crate) fn next(&self) -> Option<Instant> {
        match (self.advert, self.master_down) {
            (Some(advert), Some(master_down)) => Some(advert.min(master_down)),
            (advert, master_down) => advert.or(master_down),
        }
    }

    /// True if `timer` runs and its deadline is not after `now`.
    pub(crate) fn is_expired(&self, timer: Timer, now: Instant) -> bool {
        self.deadline(timer).is_some_and(|deadline| deadline <= now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_the_earliest_running_deadline() {
        let base = Instant::now();
        let mut timers = TimerTable::default();
        assert_eq!(timers.next(), None);
        timers.set(Timer::MasterDown, base, Duration::from_secs(3));
        timers.set(Timer::Advert, base, Duration::from_secs(1));
        assert_eq!(timers.next(), Some(base + Duration::from_secs(1)));
        timers.set(Timer::Advert, base, Duration::from_secs(5));
        assert_eq!(timers.next(), Some(base + Duration::from_secs(3)));
        timers.stop_all();
        assert_eq!(timers.next(), None);
    }

    #[test]
    fn expiry_is_inclusive_and_ignores_stopped_timers() {
        let base = Instant::now();
        let mut timers = TimerTable::default();
        assert!(!timers.is_expired(Timer::Advert, base));
        timers.set(Timer::Advert, base, Duration::from_millis(10));
        assert!(!timers.is_expired(Timer::Advert, base));
        assert!(timers.is_expired(Timer::Advert, base + Duration::from_millis(10)));
    }

    #[test]
    fn unrepresentable_deadline_leaves_timer_stopped() {
        let mut timers = TimerTable::default();
        timers.set(Timer::Advert, Instant::now(), Duration::MAX);
        assert_eq!(timers.deadline(Timer::Advert), None);
    }
}
