//! The event loop's wake-up at its earliest deadline: a CLOCK_MONOTONIC timerfd. tokio's timer
//! wheel wakes the loop once more whenever a deadline lies across one of its 64 ms slot
//! boundaries, to cascade it (a 10 ms Backup: ~16 wake-ups a second that do nothing). The
//! timerfd wakes the loop once per deadline and is re-armed only when the deadline changes.
//! Deadlines that can share a wake-up (adverts, heartbeats) are rounded up to the millisecond,
//! as tokio rounds, so those close together share it; a deadline that ends in a takeover is
//! kept to the microsecond, because every microsecond it waits is outage.

use std::{
    io,
    os::fd::{AsFd, AsRawFd, RawFd},
    time::{Duration, Instant},
};

use nix::sys::{
    time::TimeSpec,
    timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags},
};
use tokio::io::{Interest, unix::AsyncFd};

use crate::dataplane::monotonic_now;

/// When the loop next has work: the earliest deadline of each kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct WakeUp {
    /// Kept to the microsecond: Master_Down_Timers (a Backup's takeover), sweeps, address work.
    pub(super) exact: Option<Instant>,
    /// May wait for the next whole millisecond: Masters' adverts and heartbeats (255 Masters at
    /// 10 ms send their adverts in ~10 turns an interval, each one `sendmmsg`, instead of
    /// waking 255 times).
    pub(super) shareable: Option<Instant>,
}

impl WakeUp {
    /// The earliest deadline; with none (every instance in Initialize), a second from now.
    pub(super) fn earliest(&self) -> Instant {
        self.exact
            .into_iter()
            .chain(self.shareable)
            .min()
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(1))
    }
}

pub(super) struct DeadlineTimer {
    fd: AsyncFd<Timer>,
    /// The wake-up the timerfd is armed for, until a wait for it returned.
    armed: Option<WakeUp>,
}

impl DeadlineTimer {
    /// Opens the timerfd (inside a tokio runtime with IO enabled).
    pub(super) fn new() -> io::Result<Self> {
        let timer = TimerFd::new(
            ClockId::CLOCK_MONOTONIC,
            TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
        )?;
        Ok(Self {
            // SAFETY: the timerfd stays open and unchanged until the AsyncFd (which owns it) is
            // dropped.
            fd: unsafe { AsyncFd::register_with_interest(Timer(timer), Interest::READABLE) }
                .map_err(|error| error.into_parts().1)?,
            armed: None,
        })
    }

    /// Returns at `wake`'s earliest deadline (at once if it has passed). Cancel-safe: dropped
    /// before it returns, the timer stays armed for the next call with the same wake-up. The
    /// expiry is never read: arming resets the timerfd, so a wake-up costs `epoll_wait` and
    /// one `timerfd_settime` for the next deadline.
    pub(super) async fn wait_until(&mut self, wake: WakeUp) -> io::Result<()> {
        let deadline = wake.earliest();
        if self.armed != Some(wake) {
            self.arm(wake)?;
        }
        loop {
            self.fd.readable().await?.clear_ready();
            if Instant::now() >= deadline {
                self.armed = None;
                return Ok(());
            }
            // Readiness left over from a deadline replaced before it was waited for: make
            // sure the timerfd is armed for this one (arming resets it) and wait for it.
            self.arm(wake)?;
        }
    }

    /// Arms the timerfd for `wake`, in CLOCK_MONOTONIC (the clock `Instant` reads). The
    /// monotonic clock is read after `Instant::now`, so the conversion errs late, never early.
    fn arm(&mut self, wake: WakeUp) -> io::Result<()> {
        let at = expiry(wake, Instant::now(), monotonic_now());
        self.fd.get_ref().0.set(
            Expiration::OneShot(TimeSpec::from_duration(at)),
            TimerSetTimeFlags::TFD_TIMER_ABSTIME,
        )?;
        self.armed = Some(wake);
        Ok(())
    }
}

/// The monotonic time at which to wake for `wake`, `now` being `monotonic` on the monotonic
/// clock: the shareable deadline rounded up to the millisecond, unless the exact one comes
/// first. Never zero, which would disarm the timer.
fn expiry(wake: WakeUp, now: Instant, monotonic: Duration) -> Duration {
    let on_clock = |deadline: Instant| monotonic + deadline.saturating_duration_since(now);
    let shareable = wake
        .shareable
        .map(|deadline| round_up_to_millisecond(on_clock(deadline)));
    let exact = wake.exact.map(on_clock);
    exact
        .into_iter()
        .chain(shareable)
        .min()
        .unwrap_or_else(|| on_clock(wake.earliest()))
        .max(Duration::from_nanos(1))
}

/// `at` rounded up to a whole millisecond; never zero, which would disarm the timer.
fn round_up_to_millisecond(at: Duration) -> Duration {
    let millisecond = Duration::from_millis(1);
    let below = Duration::from_nanos(u64::from(at.subsec_nanos() % 1_000_000));
    if below.is_zero() {
        at.max(millisecond)
    } else {
        at - below + millisecond
    }
}

/// The timerfd as tokio's `AsyncFd` takes it (nix gives `AsFd` only).
struct Timer(TimerFd);

impl AsRawFd for Timer {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    }

    #[test]
    fn returns_at_the_deadline_not_before() {
        runtime().block_on(async {
            let mut timer = DeadlineTimer::new().expect("timerfd");
            for delay_us in [0, 300, 2_500] {
                let deadline = Instant::now() + Duration::from_micros(delay_us);
                for wake in [exact(deadline), shareable(deadline)] {
                    timer.wait_until(wake).await.expect("wait");
                }
                assert!(Instant::now() >= deadline, "woke before {delay_us} µs");
            }
        });
    }

    fn exact(at: Instant) -> WakeUp {
        WakeUp {
            exact: Some(at),
            shareable: None,
        }
    }

    fn shareable(at: Instant) -> WakeUp {
        WakeUp {
            exact: None,
            shareable: Some(at),
        }
    }

    #[test]
    fn only_shareable_deadlines_wait_for_the_next_millisecond() {
        let now = Instant::now();
        let monotonic = Duration::from_secs(7);
        let us = Duration::from_micros;
        // A Backup's takeover at 6.09 ms is armed for 6.09 ms, not 7.
        assert_eq!(
            expiry(exact(now + us(6_090)), now, monotonic),
            monotonic + us(6_090)
        );
        assert_eq!(
            expiry(shareable(now + us(6_090)), now, monotonic),
            monotonic + us(7_000)
        );
        // An exact deadline inside a shareable one's millisecond is not delayed by it...
        let both = WakeUp {
            exact: Some(now + us(6_500)),
            shareable: Some(now + us(6_090)),
        };
        assert_eq!(expiry(both, now, monotonic), monotonic + us(6_500));
        // ...nor does a later exact one delay the shared wake-up.
        let both = WakeUp {
            exact: Some(now + us(9_000)),
            shareable: Some(now + us(6_090)),
        };
        assert_eq!(expiry(both, now, monotonic), monotonic + us(7_000));
        // Past deadlines fire at once.
        assert_eq!(expiry(exact(now), now + us(5), monotonic), monotonic);
    }

    #[test]
    fn deadlines_round_up_to_the_millisecond() {
        let ms = Duration::from_millis;
        assert_eq!(round_up_to_millisecond(ms(5)), ms(5));
        assert_eq!(
            round_up_to_millisecond(ms(5) + Duration::from_nanos(1)),
            ms(6)
        );
        assert_eq!(
            round_up_to_millisecond(Duration::from_secs(7) + Duration::from_micros(999_999)),
            Duration::from_secs(8)
        );
        assert_eq!(round_up_to_millisecond(Duration::ZERO), ms(1));
    }

    #[test]
    fn a_replaced_deadline_is_the_one_kept() {
        runtime().block_on(async {
            let mut timer = DeadlineTimer::new().expect("timerfd");
            let early = Instant::now() + Duration::from_millis(1);
            // Armed for `early`, then abandoned (a select! branch that lost) until it fired.
            let abandoned =
                futures_util::FutureExt::now_or_never(timer.wait_until(shareable(early)));
            assert!(abandoned.is_none(), "returned before its deadline");
            std::thread::sleep(Duration::from_millis(3));
            let late = Instant::now() + Duration::from_millis(20);
            timer.wait_until(shareable(late)).await.expect("wait");
            assert!(Instant::now() >= late, "the stale expiry woke it");
        });
    }
}
