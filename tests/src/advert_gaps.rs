//! How regularly one router advertised, per virtual router: the gaps between consecutive
//! adverts of the same VRID as a capture saw them, and the jitter (gap minus the advert
//! interval; an early advert counts as 0). A VRID that falls silent must count too, so the
//! window's start opens every VRID's first gap and the latest advert seen closes its last.

use std::{
    collections::HashMap,
    ops::RangeInclusive,
    time::{Duration, Instant},
};

/// Gaps between consecutive adverts of each VRID, fed in capture order.
pub struct AdvertGaps {
    interval: Duration,
    last_seen: HashMap<u8, Instant>,
    latest: Option<Instant>,
    gaps: Vec<Duration>,
}

impl AdvertGaps {
    /// A window from `start` over `vrids`, whose sender advertises every `interval`.
    pub fn new(interval: Duration, vrids: RangeInclusive<u8>, start: Instant) -> Self {
        Self {
            interval,
            last_seen: vrids.map(|vrid| (vrid, start)).collect(),
            latest: None,
            gaps: Vec::new(),
        }
    }

    /// An advert of `vrid` seen at `at`.
    pub fn record(&mut self, vrid: u8, at: Instant) {
        if let Some(previous) = self.last_seen.insert(vrid, at) {
            self.gaps.push(at.saturating_duration_since(previous));
        }
        self.latest = self.latest.max(Some(at));
    }

    /// Ends the window at the latest advert seen (not the clock: a capture that lags behind
    /// the wire must not make the last gaps look long): each VRID's gap since its last advert.
    pub fn finish(&mut self) {
        let Some(latest) = self.latest else { return };
        for last in self.last_seen.values() {
            self.gaps.push(latest.saturating_duration_since(*last));
        }
        self.last_seen.clear();
    }

    /// How many gaps were measured.
    pub fn count(&self) -> usize {
        self.gaps.len()
    }

    /// The largest gap minus the interval.
    pub fn worst_jitter(&self) -> Option<Duration> {
        self.gaps.iter().max().map(|gap| self.jitter(*gap))
    }

    /// The jitter that `percent` % of the gaps do not exceed (nearest rank).
    pub fn jitter_percentile(&self, percent: usize) -> Option<Duration> {
        let mut sorted = self.gaps.clone();
        sorted.sort_unstable();
        let rank = (sorted.len() * percent).div_ceil(100).max(1);
        sorted.get(rank - 1).map(|gap| self.jitter(*gap))
    }

    fn jitter(&self, gap: Duration) -> Duration {
        gap.saturating_sub(self.interval)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_are_per_vrid_and_jitter_is_the_excess_over_the_interval() {
        let start = Instant::now();
        let ms = |n| start + Duration::from_millis(n);
        let mut gaps = AdvertGaps::new(Duration::from_millis(10), 1..=2, start);
        assert_eq!(gaps.worst_jitter(), None);
        // VRID 1 every 10 ms but one 25 ms gap; VRID 2 interleaved, once early (8 ms).
        for (vrid, at) in [(1, 0), (2, 1), (1, 10), (2, 9), (1, 35), (2, 19), (1, 45)] {
            gaps.record(vrid, ms(at));
        }
        gaps.finish();
        // 7 adverts, 2 gaps from the start, 2 to the latest advert (0 ms and 26 ms).
        assert_eq!(gaps.count(), 9);
        assert_eq!(gaps.worst_jitter(), Some(Duration::from_millis(16)));
        assert_eq!(gaps.jitter_percentile(50), Some(Duration::ZERO));
        assert_eq!(gaps.jitter_percentile(80), Some(Duration::from_millis(15)));
    }

    #[test]
    fn a_silent_vrid_counts_as_a_gap_over_the_whole_window() {
        let start = Instant::now();
        let mut gaps = AdvertGaps::new(Duration::from_millis(10), 1..=2, start);
        for at in (0..=100).step_by(10) {
            gaps.record(1, start + Duration::from_millis(at));
        }
        gaps.finish();
        assert_eq!(gaps.worst_jitter(), Some(Duration::from_millis(90)));
    }
}
