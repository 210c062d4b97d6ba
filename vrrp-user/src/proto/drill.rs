//! A failover drill: a planned switchover from this Master to the best Backup and back, timed
//! from this router's own view of the wire.
//!
//! 1. **Switchover.** [`Drill::start`] demotes the Master: it sends a priority-0 advert and
//!    becomes a Backup that never takes over. The gap is from then to the first advert it
//!    hears from the new Master; the protocol allows the new Master's Skew_Time.
//! 2. **Switchback.** Once the new Master is heard, the drill promotes the router. With
//!    Preempt_Mode it discards the (lower-priority) new Master's adverts and takes over when its
//!    Master_Down_Timer fires, at most Master_Down_Interval (plus any preempt delay) later;
//!    the new Master advertises until it hears us, so the gap on the wire is from its last
//!    advert we heard to our first one as Master.
//!
//! Every wait is bounded: a protocol interval plus [`DRILL_TOLERANCE`]. Without Preempt_Mode
//! the switchback cannot happen by the protocol, so such a drill is refused. If no Backup takes
//! over within the longest Master_Down_Interval any Backup can have (priority 1), the drill
//! promotes the router back, which then takes over at once, and reports [`DrillOutcome::NoBackup`].

use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::action::State;
use super::command::Command;
use super::router::VirtualRouter;
use super::timing::{master_down_interval, skew_time};

/// Slack on every bounded wait of a drill, for scheduling and link delays.
pub const DRILL_TOLERANCE: Duration = Duration::from_secs(1);

/// Lowest priority a Backup can have: the one with the longest Master_Down_Interval.
const LOWEST_BACKUP_PRIORITY: u8 = 1;

/// Why a drill cannot start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DrillRefused {
    /// A drill hands mastership over and back: it starts from Master.
    #[error("a drill starts from Master, and this router is {0}")]
    NotMaster(State),
    /// Without Preempt_Mode, mastership would stay with the Backup after the switchover.
    #[error(
        "preempt is off: mastership would stay with the Backup after the switchover (demote \
         and promote hand it over one way)"
    )]
    PreemptOff,
}

/// The way over: this Master resigned and a Backup took over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Switchover {
    /// The new Master's primary address.
    pub new_master: IpAddr,
    /// Its advertised priority.
    pub new_master_priority: u8,
    /// From our priority-0 advert to the first advert heard from the new Master.
    pub without_master: Duration,
    /// What the protocol allows: the new Master's Skew_Time.
    pub expected: Duration,
}

/// The way back: promoted, this router took mastership back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Switchback {
    /// From the promote to our first advert as Master.
    pub after_promote: Duration,
    /// From the last advert heard from the other Master (or, if none was heard, from our
    /// priority-0 advert) to our first advert as Master.
    pub without_master: Duration,
    /// What the protocol allows for either: Master_Down_Interval plus the preempt delay.
    pub expected: Duration,
}

/// How a drill ended. In every case the router is no longer demoted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrillOutcome {
    /// Over and back.
    Completed,
    /// No Backup took over within Master_Down_Interval (priority 1) plus tolerance: promoted
    /// back.
    NoBackup,
    /// Promoted, but mastership was not taken back within Master_Down_Interval plus preempt
    /// delay plus tolerance: the other router's priority is not lower (any more?).
    MastershipStayed {
        /// The Master as this router sees it, if any.
        master: Option<IpAddr>,
        /// Its priority.
        priority: Option<u8>,
    },
    /// The router stopped running (interface down, shutdown) during the drill.
    Interrupted,
}

/// What a drill measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DrillReport {
    /// How it ended.
    pub outcome: DrillOutcome,
    /// The way over, if a Backup took over.
    pub switchover: Option<Switchover>,
    /// The way back, if this router took mastership back.
    pub switchback: Option<Switchback>,
    /// From the start to the end of the drill.
    pub took: Duration,
}

/// Where a drill stands after [`Drill::poll`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrillProgress {
    /// Poll again as things happen, at the latest at `until`.
    Waiting {
        /// The current phase's deadline.
        until: Instant,
    },
    /// Done.
    Finished(DrillReport),
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    Over {
        deadline: Instant,
    },
    Back {
        promoted_at: Instant,
        deadline: Instant,
        switchover: Option<Switchover>,
    },
}

/// A running drill on one router. The driver polls it whenever the router may have heard
/// something (a short period does) and at its deadline, and drives the router's actions after
/// each poll: the drill feeds it `Promote`.
#[derive(Debug, Clone)]
pub struct Drill {
    demoted_at: Instant,
    phase: Phase,
}

impl Drill {
    /// Starts a drill on Master `router` at `now`: demotes it.
    pub fn start(router: &mut VirtualRouter, now: Instant) -> Result<Self, DrillRefused> {
        if router.state() != State::Master {
            return Err(DrillRefused::NotMaster(router.state()));
        }
        if !router.config().preempts() {
            return Err(DrillRefused::PreemptOff);
        }
        // A Master is never demoted: the command applies.
        let _applied = router.handle_command(Command::Demote, now);
        let longest_wait =
            master_down_interval(LOWEST_BACKUP_PRIORITY, router.config().advert_interval);
        Ok(Self {
            demoted_at: now,
            phase: Phase::Over {
                deadline: now + longest_wait + DRILL_TOLERANCE,
            },
        })
    }

    /// Advances the drill at `now`.
    pub fn poll(&mut self, router: &mut VirtualRouter, now: Instant) -> DrillProgress {
        if router.state() == State::Initialize {
            return self.finish(router, now, DrillOutcome::Interrupted, None, None);
        }
        let (promoted_at, deadline, switchover) = match self.phase {
            Phase::Over { deadline } => {
                let switchover = self.successor(router);
                if switchover.is_none() && now < deadline {
                    return DrillProgress::Waiting { until: deadline };
                }
                self.promote(router, now, switchover)
            }
            Phase::Back {
                promoted_at,
                deadline,
                switchover,
            } => (promoted_at, deadline, switchover),
        };
        let expected = {
            let status = router.status();
            status.master_down_interval + router.config().preempt_delay
        };
        if let Some(takeover) = router
            .last_takeover()
            .filter(|takeover| takeover.at >= promoted_at)
        {
            let back = Switchback {
                after_promote: takeover.at.saturating_duration_since(promoted_at),
                without_master: takeover
                    .at
                    .saturating_duration_since(takeover.peer_last_heard.unwrap_or(self.demoted_at)),
                expected,
            };
            let outcome = if switchover.is_some() {
                DrillOutcome::Completed
            } else {
                DrillOutcome::NoBackup
            };
            return self.finish(router, now, outcome, switchover, Some(back));
        }
        if now < deadline {
            return DrillProgress::Waiting { until: deadline };
        }
        let status = router.status();
        let outcome = DrillOutcome::MastershipStayed {
            master: status.master_address,
            priority: status.master_priority,
        };
        self.finish(router, now, outcome, switchover, None)
    }

    /// The Master that took over since the demotion, as first heard.
    fn successor(&self, router: &VirtualRouter) -> Option<Switchover> {
        let since = router
            .following_since()
            .filter(|since| *since >= self.demoted_at)?;
        let status = router.status();
        let new_master_priority = status.master_priority?;
        Some(Switchover {
            new_master: status.master_address?,
            new_master_priority,
            without_master: since.saturating_duration_since(self.demoted_at),
            expected: skew_time(new_master_priority, router.config().advert_interval),
        })
    }

    /// Ends the demotion and starts the bounded wait for the switchback.
    fn promote(
        &mut self,
        router: &mut VirtualRouter,
        now: Instant,
        switchover: Option<Switchover>,
    ) -> (Instant, Instant, Option<Switchover>) {
        let _applied = router.handle_command(Command::Promote, now);
        let wait = router.status().master_down_interval + router.config().preempt_delay;
        let deadline = now + wait + DRILL_TOLERANCE;
        self.phase = Phase::Back {
            promoted_at: now,
            deadline,
            switchover,
        };
        (now, deadline, switchover)
    }

    fn finish(
        &self,
        router: &mut VirtualRouter,
        now: Instant,
        outcome: DrillOutcome,
        switchover: Option<Switchover>,
        switchback: Option<Switchback>,
    ) -> DrillProgress {
        // An interrupted drill must not leave the router demoted.
        let _maybe_applied = router.handle_command(Command::Promote, now);
        DrillProgress::Finished(DrillReport {
            outcome,
            switchover,
            switchback,
            took: now.saturating_duration_since(self.demoted_at),
        })
    }
}
