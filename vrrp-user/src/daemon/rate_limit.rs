//! Rate-limited reporting (RFC 9568 §7.1 asks for rate-limited logs) with bounded memory: the
//! subjects include advert sources, which anyone on the LAN can vary.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

/// What is rate-limited: a subject (instance, interface, or interface and source) and the kind
/// of report.
pub(super) type ReportKey = (String, &'static str);

/// Remembers when each subject last reported each kind, for at most `capacity` subjects.
pub(super) struct RateLimiter {
    interval: Duration,
    capacity: usize,
    reported_at: HashMap<ReportKey, Instant>,
}

impl RateLimiter {
    /// At most one report per key and `interval`, remembering at most `capacity` keys.
    pub(super) fn new(interval: Duration, capacity: usize) -> Self {
        Self {
            interval,
            capacity,
            reported_at: HashMap::new(),
        }
    }

    /// Whether `key` may report now (and if so, remembers that it did). When the table is full,
    /// expired entries go first, then the oldest: forgetting a key only lets it report early.
    pub(super) fn allow(&mut self, key: ReportKey, now: Instant) -> bool {
        if let Some(at) = self.reported_at.get(&key) {
            if now.saturating_duration_since(*at) < self.interval {
                return false;
            }
        } else if self.reported_at.len() >= self.capacity {
            let interval = self.interval;
            self.reported_at
                .retain(|_, at| now.saturating_duration_since(*at) < interval);
            if self.reported_at.len() >= self.capacity
                && let Some(oldest) = self
                    .reported_at
                    .iter()
                    .min_by_key(|(_, at)| **at)
                    .map(|(key, _)| key.clone())
            {
                self.reported_at.remove(&oldest);
            }
        }
        self.reported_at.insert(key, now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(subject: &str) -> ReportKey {
        (subject.to_owned(), "version2_peer")
    }

    #[test]
    fn one_report_per_interval_and_the_table_stays_at_its_capacity() {
        let start = Instant::now();
        let interval = Duration::from_secs(10);
        let mut limiter = RateLimiter::new(interval, 3);
        assert!(limiter.allow(key("a"), start));
        assert!(!limiter.allow(key("a"), start + Duration::from_secs(1)));
        for (n, subject) in ["b", "c", "d", "e"].into_iter().enumerate() {
            let at = start + Duration::from_secs(2 + u64::try_from(n).unwrap());
            assert!(limiter.allow(key(subject), at));
            assert!(limiter.reported_at.len() <= 3);
        }
        // "a" and "b" were the oldest and were evicted; the newest are still limited.
        let later = start + Duration::from_secs(7);
        assert!(!limiter.reported_at.contains_key(&key("a")));
        assert!(!limiter.reported_at.contains_key(&key("b")));
        assert!(!limiter.allow(key("e"), later));
        assert!(limiter.allow(key("a"), later));
        assert_eq!(limiter.reported_at.len(), 3);
        // After the interval, the same key reports again.
        assert!(limiter.allow(key("e"), later + interval));
    }
}
