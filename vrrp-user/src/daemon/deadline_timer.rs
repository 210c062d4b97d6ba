//! The event loop's wake-up at its earliest deadline: a CLOCK_MONOTONIC timerfd. tokio's timer
//! wheel wakes the loop once more whenever a deadline lies across one of its 64 ms slot
//! boundaries, to cascade it (a 10 ms Backup: ~16 wake-ups a second that do nothing). The
//! timerfd wakes the loop once per deadline (rounded up to the millisecond, as tokio rounds,
//! so deadlines close together share it) and is re-armed only when the deadline changes.

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

pub(super) struct DeadlineTimer {
    fd: AsyncFd<Timer>,
    /// The deadline the timerfd is armed for, until a wait for it returned.
    armed: Option<Instant>,
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

    /// Returns at `deadline` (at once if it has passed). Cancel-safe: dropped before it
    /// returns, the timer stays armed for the next call with the same deadline. The expiry is
    /// never read: arming resets the timerfd, so a wake-up costs `epoll_wait` and one
    /// `timerfd_settime` for the next deadline.
    pub(super) async fn wait_until(&mut self, deadline: Instant) -> io::Result<()> {
        if self.armed != Some(deadline) {
            self.arm(deadline)?;
        }
        loop {
            self.fd.readable().await?.clear_ready();
            if Instant::now() >= deadline {
                self.armed = None;
                return Ok(());
            }
            // Readiness left over from a deadline replaced before it was waited for: make
            // sure the timerfd is armed for this one (arming resets it) and wait for it.
            self.arm(deadline)?;
        }
    }

    /// Arms the timerfd for `deadline`, in CLOCK_MONOTONIC (the clock `Instant` reads), rounded
    /// up to the next whole millisecond as tokio's timer rounds: deadlines within one
    /// millisecond share a wake-up (255 Masters at 10 ms send their adverts in ~10 turns an
    /// interval, each one `sendmmsg`, instead of waking 255 times). The monotonic clock is read
    /// after `Instant::now`, so the conversion errs late, never early.
    fn arm(&mut self, deadline: Instant) -> io::Result<()> {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let at = round_up_to_millisecond(monotonic_now() + remaining);
        self.fd.get_ref().0.set(
            Expiration::OneShot(TimeSpec::from_duration(at)),
            TimerSetTimeFlags::TFD_TIMER_ABSTIME,
        )?;
        self.armed = Some(deadline);
        Ok(())
    }
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
                timer.wait_until(deadline).await.expect("wait");
                assert!(Instant::now() >= deadline, "woke before {delay_us} µs");
            }
        });
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
            let abandoned = futures_util::FutureExt::now_or_never(timer.wait_until(early));
            assert!(abandoned.is_none(), "returned before its deadline");
            std::thread::sleep(Duration::from_millis(3));
            let late = Instant::now() + Duration::from_millis(20);
            timer.wait_until(late).await.expect("wait");
            assert!(Instant::now() >= late, "the stale expiry woke it");
        });
    }
}
