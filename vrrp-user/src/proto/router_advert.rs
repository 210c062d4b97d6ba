//! When a Master sends Router Advertisements for its IPv6 virtual router (RFC 9568 §6.4.3,
//! §8.2.3; RFC 4861 §6.2.4–§6.2.6). Sans-IO like the election: the driver reports role
//! changes ([`RouterAdvertScheduler::on_transition`]) and solicitations, sleeps until
//! [`RouterAdvertScheduler::poll_timeout`] and sends what [`RouterAdvertScheduler::poll_send`]
//! returns. The jitter comes from a seeded generator, so runs are reproducible.
//!
//! - **Becoming Master** makes the interface an advertising one for the virtual router: the
//!   first RA goes out at once (with the unsolicited NAs, so hosts learn the new router
//!   without waiting), the next ones at random intervals in [MinRtrAdvInterval,
//!   MaxRtrAdvInterval], the first [`MAX_INITIAL_RTR_ADVERTISEMENTS`] of them at most
//!   [`MAX_INITIAL_RTR_ADVERT_INTERVAL`] apart (§6.2.4).
//! - **A solicitation** is answered with a multicast RA after a random delay of up to
//!   [`MAX_RA_DELAY_TIME`], and no sooner than [`MIN_DELAY_BETWEEN_RAS`] after the previous
//!   multicast RA; an RA already due earlier answers it (§6.2.6). Answers are multicast, as
//!   the RFC's usual case: every host on the link refreshes from one packet.
//! - **Leaving Master** ends advertising. When the virtual router itself goes away from this
//!   link — shutdown, or the operator's demote, both resignations with a priority-0 advert —
//!   one final RA with router lifetime 0 goes out at once (§6.2.5), so hosts drop the router
//!   rather than wait out its lifetime; the Backup that takes over announces itself again.
//!   After stepping down for a better Master no final RA is sent: that Master already
//!   announced itself from the same link-local address and virtual MAC, and a lifetime of 0
//!   would withdraw it. With the link down nothing can be sent.
//! - **Backups** never advertise (RFC 9568 §6.4.2).

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::{State, TransitionReason};

/// RFC 4861 §10: the first few unsolicited RAs are at most this far apart.
pub const MAX_INITIAL_RTR_ADVERT_INTERVAL: Duration = Duration::from_secs(16);
/// RFC 4861 §10: how many RAs count as the initial ones.
pub const MAX_INITIAL_RTR_ADVERTISEMENTS: u8 = 3;
/// RFC 4861 §10: multicast RAs are at least this far apart (solicited ones included).
pub const MIN_DELAY_BETWEEN_RAS: Duration = Duration::from_secs(3);
/// RFC 4861 §10: a solicited RA waits a random time up to this.
pub const MAX_RA_DELAY_TIME: Duration = Duration::from_millis(500);

/// MinRtrAdvInterval and MaxRtrAdvInterval (the config enforces min <= 0.75 × max).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouterAdvertIntervals {
    /// MinRtrAdvInterval.
    pub min: Duration,
    /// MaxRtrAdvInterval.
    pub max: Duration,
}

/// Which advertisement to send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouterAdvertKind {
    /// The configured router lifetime: this Master is the virtual router.
    Announce,
    /// Router lifetime 0: the virtual router leaves the link (RFC 4861 §6.2.5).
    Final,
}

/// What one virtual router's RA schedule did, for `status` and the metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouterAdvertCounters {
    /// Announcements (the configured router lifetime), unsolicited and solicited.
    pub announced: u64,
    /// Final RAs (router lifetime 0) on leaving Master.
    pub withdrawn: u64,
    /// Valid solicitations received while Master (each moves the next RA closer).
    pub solicitations: u64,
}

/// The RA schedule of one IPv6 virtual router.
#[derive(Debug)]
pub struct RouterAdvertScheduler {
    intervals: RouterAdvertIntervals,
    rng: fastrand::Rng,
    /// Master: the next RA is due then.
    next: Option<Instant>,
    /// A final RA waits to be sent.
    final_due: bool,
    /// Initial RAs still to send at the shortened interval.
    initial_left: u8,
    /// When the last multicast RA went out (for §6.2.6's rate limit).
    last_sent: Option<Instant>,
    counters: RouterAdvertCounters,
}

impl RouterAdvertScheduler {
    /// A scheduler of a router not yet Master; `seed` drives the jitter.
    pub fn new(intervals: RouterAdvertIntervals, seed: u64) -> Self {
        Self {
            intervals,
            rng: fastrand::Rng::with_seed(seed),
            next: None,
            final_due: false,
            initial_left: 0,
            last_sent: None,
            counters: RouterAdvertCounters::default(),
        }
    }

    /// A reload changed the intervals; the next RA keeps its time unless the new maximum is
    /// sooner.
    pub fn set_intervals(&mut self, intervals: RouterAdvertIntervals, now: Instant) {
        self.intervals = intervals;
        if let Some(next) = self.next {
            self.next = Some(next.min(now + intervals.max));
        }
    }

    /// Whether this router is advertising (Master).
    pub fn is_advertising(&self) -> bool {
        self.next.is_some()
    }

    /// The election's state changed from `from` to `to` for `reason`.
    pub fn on_transition(
        &mut self,
        from: State,
        to: State,
        reason: &TransitionReason,
        now: Instant,
    ) {
        if to == State::Master && from != State::Master {
            self.start(now);
        } else if from == State::Master && to != State::Master {
            self.next = None;
            self.final_due = matches!(
                reason,
                TransitionReason::Shutdown | TransitionReason::Demoted
            );
        }
    }

    /// Starts advertising at once, as an interface that just became an advertising one
    /// (becoming Master, or RAs enabled by a reload while Master).
    pub fn start(&mut self, now: Instant) {
        self.final_due = false;
        self.initial_left = MAX_INITIAL_RTR_ADVERTISEMENTS;
        self.next = Some(now);
    }

    /// A valid Router Solicitation arrived at `now` (ignored unless Master).
    pub fn on_solicitation(&mut self, now: Instant) {
        let Some(next) = self.next else {
            return;
        };
        self.counters.solicitations += 1;
        let delay = self.random_between(Duration::ZERO, MAX_RA_DELAY_TIME);
        let earliest = self
            .last_sent
            .map_or(now, |last| (last + MIN_DELAY_BETWEEN_RAS).max(now));
        self.next = Some(next.min(earliest + delay));
    }

    /// When the next announcement is due (while Master). A final RA is not scheduled: call
    /// [`poll_send`](Self::poll_send) after every [`on_transition`](Self::on_transition).
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.next
    }

    /// The RA to send now, if one is due (a final one whatever `now`); the schedule moves on
    /// as if it was sent.
    pub fn poll_send(&mut self, now: Instant) -> Option<RouterAdvertKind> {
        if std::mem::take(&mut self.final_due) {
            self.last_sent = Some(now);
            self.counters.withdrawn += 1;
            return Some(RouterAdvertKind::Final);
        }
        if self.next? > now {
            return None;
        }
        let mut interval = self.random_between(self.intervals.min, self.intervals.max);
        if self.initial_left > 0 {
            self.initial_left -= 1;
            interval = interval.min(MAX_INITIAL_RTR_ADVERT_INTERVAL);
        }
        self.next = Some(now + interval);
        self.last_sent = Some(now);
        self.counters.announced += 1;
        Some(RouterAdvertKind::Announce)
    }

    /// What the schedule sent and heard so far.
    pub fn counters(&self) -> RouterAdvertCounters {
        self.counters
    }

    /// Uniform in `low..=high`, in microseconds.
    fn random_between(&mut self, low: Duration, high: Duration) -> Duration {
        let low_us = u64::try_from(low.as_micros()).unwrap_or(u64::MAX);
        let high_us = u64::try_from(high.as_micros())
            .unwrap_or(u64::MAX)
            .max(low_us);
        Duration::from_micros(self.rng.u64(low_us..=high_us))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INTERVALS: RouterAdvertIntervals = RouterAdvertIntervals {
        min: Duration::from_secs(200),
        max: Duration::from_secs(600),
    };

    fn master(now: Instant, seed: u64) -> RouterAdvertScheduler {
        let mut scheduler = RouterAdvertScheduler::new(INTERVALS, seed);
        scheduler.on_transition(
            State::Backup,
            State::Master,
            &TransitionReason::MasterDownTimerExpired {
                master: None,
                silent_for: Duration::ZERO,
            },
            now,
        );
        scheduler
    }

    /// Sends everything due up to `until`, stepping through the schedule; the send times.
    fn run(scheduler: &mut RouterAdvertScheduler, until: Instant) -> Vec<Instant> {
        let mut sent = Vec::new();
        for _ in 0..1000 {
            let Some(at) = scheduler.next.filter(|at| *at <= until) else {
                break;
            };
            assert_eq!(scheduler.poll_send(at), Some(RouterAdvertKind::Announce));
            sent.push(at);
        }
        sent
    }

    #[test]
    fn backups_never_advertise() {
        let now = Instant::now();
        let mut scheduler = RouterAdvertScheduler::new(INTERVALS, 1);
        scheduler.on_transition(
            State::Initialize,
            State::Backup,
            &TransitionReason::Startup { owner: false },
            now,
        );
        scheduler.on_solicitation(now);
        assert_eq!(scheduler.poll_timeout(), None);
        assert_eq!(scheduler.poll_send(now + Duration::from_secs(3600)), None);
    }

    #[test]
    fn takeover_announces_at_once_then_initial_then_jittered_intervals() {
        let start = Instant::now();
        for seed in 0..200 {
            let mut scheduler = master(start, seed);
            assert_eq!(scheduler.poll_timeout(), Some(start));
            let sent = run(&mut scheduler, start + Duration::from_secs(6000));
            assert_eq!(sent[0], start);
            let gaps: Vec<Duration> = sent.windows(2).map(|pair| pair[1] - pair[0]).collect();
            for (index, gap) in gaps.iter().enumerate() {
                if index < usize::from(MAX_INITIAL_RTR_ADVERTISEMENTS) {
                    assert!(
                        *gap <= MAX_INITIAL_RTR_ADVERT_INTERVAL,
                        "seed {seed}: {gap:?}"
                    );
                } else {
                    assert!(
                        (INTERVALS.min..=INTERVALS.max).contains(gap),
                        "seed {seed}: {gap:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn jitter_spreads_over_the_interval_and_depends_on_the_seed() {
        let start = Instant::now();
        let gaps = |seed| {
            let mut scheduler = master(start, seed);
            let sent = run(&mut scheduler, start + Duration::from_secs(60_000));
            sent.windows(2)
                .skip(3)
                .map(|pair| pair[1] - pair[0])
                .collect::<Vec<_>>()
        };
        let one = gaps(7);
        assert_eq!(one, gaps(7), "same seed, same schedule");
        assert_ne!(one, gaps(8));
        let (low, high) = (Duration::from_secs(300), Duration::from_secs(500));
        assert!(one.iter().any(|gap| *gap < low) && one.iter().any(|gap| *gap > high));
    }

    #[test]
    fn solicitation_is_answered_within_max_ra_delay_time() {
        let start = Instant::now();
        let mut scheduler = master(start, 3);
        run(&mut scheduler, start);
        let asked = start + Duration::from_secs(10);
        scheduler.on_solicitation(asked);
        let due = scheduler.poll_timeout().unwrap();
        assert!(due >= asked && due <= asked + MAX_RA_DELAY_TIME, "{due:?}");
        assert_eq!(scheduler.poll_send(due), Some(RouterAdvertKind::Announce));
    }

    #[test]
    fn solicitations_are_rate_limited_to_one_multicast_ra_per_min_delay() {
        let start = Instant::now();
        let mut scheduler = master(start, 4);
        run(&mut scheduler, start);
        // A burst of solicitations right after an RA: one answer, MIN_DELAY_BETWEEN_RAS later.
        for step in 0..20 {
            scheduler.on_solicitation(start + Duration::from_millis(step * 10));
        }
        let due = scheduler.poll_timeout().unwrap();
        assert!(due >= start + MIN_DELAY_BETWEEN_RAS);
        assert!(due <= start + MIN_DELAY_BETWEEN_RAS + MAX_RA_DELAY_TIME);
        assert_eq!(scheduler.poll_send(due - Duration::from_millis(1)), None);
        assert_eq!(scheduler.poll_send(due), Some(RouterAdvertKind::Announce));
        scheduler.on_solicitation(due);
        assert!(scheduler.poll_timeout().unwrap() >= due + MIN_DELAY_BETWEEN_RAS);
    }

    #[test]
    fn solicitation_never_delays_a_sooner_ra() {
        let start = Instant::now();
        let mut scheduler = master(start, 5);
        let before = scheduler.poll_timeout();
        scheduler.on_solicitation(start);
        assert_eq!(scheduler.poll_timeout(), before);
    }

    #[test]
    fn counters_count_what_was_sent_and_heard() {
        let start = Instant::now();
        let mut scheduler = master(start, 7);
        let sent = run(&mut scheduler, start + Duration::from_secs(1));
        scheduler.on_solicitation(start + Duration::from_secs(1));
        scheduler.on_transition(
            State::Master,
            State::Initialize,
            &TransitionReason::Shutdown,
            start + Duration::from_secs(2),
        );
        assert_eq!(
            scheduler.poll_send(start + Duration::from_secs(2)),
            Some(RouterAdvertKind::Final)
        );
        assert_eq!(
            scheduler.counters(),
            RouterAdvertCounters {
                announced: u64::try_from(sent.len()).unwrap(),
                withdrawn: 1,
                solicitations: 1,
            }
        );
        assert!(!sent.is_empty());
    }

    #[test]
    fn resignation_sends_one_final_ra_at_once() {
        for reason in [TransitionReason::Shutdown, TransitionReason::Demoted] {
            let start = Instant::now();
            let mut scheduler = master(start, 6);
            run(&mut scheduler, start);
            let left = start + Duration::from_secs(1);
            let to = if reason == TransitionReason::Shutdown {
                State::Initialize
            } else {
                State::Backup
            };
            scheduler.on_transition(State::Master, to, &reason, left);
            assert_eq!(scheduler.poll_timeout(), None);
            assert_eq!(scheduler.poll_send(left), Some(RouterAdvertKind::Final));
            assert_eq!(scheduler.poll_send(left), None);
            assert_eq!(scheduler.poll_send(left + Duration::from_secs(3600)), None);
            assert!(!scheduler.is_advertising());
        }
    }

    #[test]
    fn stepping_down_for_a_better_master_or_losing_the_link_sends_no_final_ra() {
        let source = "fe80::2".parse().unwrap();
        for reason in [
            TransitionReason::HigherPriority {
                source,
                priority: 200,
            },
            TransitionReason::EqualPriorityGreaterAddress {
                source,
                priority: 100,
            },
            TransitionReason::InterfaceDown,
        ] {
            let start = Instant::now();
            let mut scheduler = master(start, 7);
            run(&mut scheduler, start);
            scheduler.on_transition(State::Master, State::Backup, &reason, start);
            assert_eq!(scheduler.poll_timeout(), None, "{reason:?}");
            assert_eq!(scheduler.poll_send(start), None, "{reason:?}");
        }
    }

    #[test]
    fn a_new_mastership_restarts_the_initial_announcements() {
        let start = Instant::now();
        let mut scheduler = master(start, 8);
        run(&mut scheduler, start + Duration::from_secs(5000));
        scheduler.on_transition(
            State::Master,
            State::Backup,
            &TransitionReason::Demoted,
            start,
        );
        let again = start + Duration::from_secs(5001);
        assert_eq!(scheduler.poll_send(again), Some(RouterAdvertKind::Final));
        scheduler.on_transition(
            State::Backup,
            State::Master,
            &TransitionReason::Promoted { owner: false },
            again,
        );
        assert_eq!(scheduler.poll_timeout(), Some(again));
        let sent = run(&mut scheduler, again + Duration::from_secs(60));
        assert!(sent.len() >= 2);
        assert!(sent[1] - sent[0] <= MAX_INITIAL_RTR_ADVERT_INTERVAL);
    }

    #[test]
    fn shorter_intervals_from_a_reload_take_effect_by_the_new_maximum() {
        let start = Instant::now();
        let mut scheduler = master(start, 9);
        run(&mut scheduler, start);
        let short = RouterAdvertIntervals {
            min: Duration::from_secs(3),
            max: Duration::from_secs(4),
        };
        scheduler.set_intervals(short, start);
        assert!(scheduler.poll_timeout().unwrap() <= start + short.max);
    }
}
