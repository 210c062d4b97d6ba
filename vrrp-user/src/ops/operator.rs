//! The answers to operator commands on the control socket (`demote`, `promote`, `priority`,
//! `reset_priority`, `drill`) and their text for the CLI. docs/OPERATIONS.md documents them.

use std::{fmt::Write as _, net::IpAddr, time::Duration};

use serde::{Deserialize, Serialize};

use super::status::human_duration_ms;
use crate::proto::{DRILL_TOLERANCE, DrillOutcome, DrillReport, Effect, RouterStatus, State};

/// The answer to `demote`, `promote`, `priority` and `reset_priority`: what changed and the
/// instance right after.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandReply {
    /// The instance.
    pub instance: String,
    /// The command, in words (`demote`, `priority 250`, `priority reset`).
    pub command: String,
    /// Whether it changed anything.
    pub effect: Effect,
    /// State after the command.
    pub state: State,
    /// Priority in use after it.
    pub effective_priority: u8,
    /// Demoted after it.
    pub demoted: bool,
    /// The override after it.
    pub priority_override: Option<u8>,
}

impl CommandReply {
    /// The reply for `command` on `instance`, whose router now reports `status`.
    pub fn new(instance: &str, command: String, effect: Effect, status: &RouterStatus) -> Self {
        Self {
            instance: instance.to_owned(),
            command,
            effect,
            state: status.state,
            effective_priority: status.priority,
            demoted: status.demoted,
            priority_override: status.priority_override,
        }
    }

    /// One line for a terminal.
    pub fn render(&self) -> String {
        let done = match self.effect {
            Effect::Applied => "done",
            Effect::AlreadyInEffect => "already in effect",
        };
        let mut text = format!(
            "{}: {} {done}; now {}, priority {}",
            self.instance, self.command, self.state, self.effective_priority
        );
        if let Some(priority) = self.priority_override {
            let _infallible = write!(text, " (override {priority})");
        }
        if self.demoted {
            text.push_str(", demoted until `xvrrp promote`");
        }
        text.push('\n');
        text
    }
}

/// How a drill ended, on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DrillOutcomeName {
    /// Over to the best Backup and back.
    Completed,
    /// No Backup took over in time: promoted back (mastership regained at once).
    NoBackup,
    /// Promoted, but the other router kept mastership (its priority is not lower).
    MastershipStayed,
    /// The instance stopped running during the drill.
    Interrupted,
}

/// The way over, on the wire.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwitchoverResult {
    /// The Backup that took over.
    pub new_master: IpAddr,
    /// Its priority.
    pub new_master_priority: u8,
    /// From our priority-0 advert to its first advert heard, µs.
    pub without_master_us: u64,
    /// What the protocol allows (its Skew_Time), µs.
    pub expected_us: u64,
}

/// The way back, on the wire.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwitchbackResult {
    /// From the promote to our first advert as Master, µs.
    pub after_promote_us: u64,
    /// From the other Master's last advert heard (or our priority-0 advert, if none) to our
    /// first advert as Master, µs.
    pub without_master_us: u64,
    /// What the protocol allows (Master_Down_Interval plus preempt delay), µs.
    pub expected_us: u64,
}

/// The answer to `drill`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrillResult {
    /// The instance.
    pub instance: String,
    /// How it ended.
    pub outcome: DrillOutcomeName,
    /// The way over, if a Backup took over.
    pub switchover: Option<SwitchoverResult>,
    /// The way back, if mastership came back.
    pub switchback: Option<SwitchbackResult>,
    /// The whole drill, µs.
    pub took_us: u64,
    /// Slack allowed on each bounded wait, µs.
    pub tolerance_us: u64,
    /// State at the end.
    pub state: State,
    /// The Master at the end, as this router sees it.
    pub master: Option<IpAddr>,
}

impl DrillResult {
    /// The result of `report` on `instance`, whose router now reports `status`.
    pub fn new(instance: &str, report: &DrillReport, status: &RouterStatus) -> Self {
        Self {
            instance: instance.to_owned(),
            outcome: match report.outcome {
                DrillOutcome::Completed => DrillOutcomeName::Completed,
                DrillOutcome::NoBackup => DrillOutcomeName::NoBackup,
                DrillOutcome::MastershipStayed { .. } => DrillOutcomeName::MastershipStayed,
                DrillOutcome::Interrupted => DrillOutcomeName::Interrupted,
            },
            switchover: report.switchover.map(|over| SwitchoverResult {
                new_master: over.new_master,
                new_master_priority: over.new_master_priority,
                without_master_us: micros(over.without_master),
                expected_us: micros(over.expected),
            }),
            switchback: report.switchback.map(|back| SwitchbackResult {
                after_promote_us: micros(back.after_promote),
                without_master_us: micros(back.without_master),
                expected_us: micros(back.expected),
            }),
            took_us: micros(report.took),
            tolerance_us: micros(DRILL_TOLERANCE),
            state: status.state,
            master: status.master_address,
        }
    }

    /// One line for the event journal.
    pub fn summary(&self) -> String {
        let over = self
            .switchover
            .as_ref()
            .map_or("no switchover".to_owned(), |over| {
                format!(
                    "over to {} in {}",
                    over.new_master,
                    ms(over.without_master_us)
                )
            });
        let back = self
            .switchback
            .as_ref()
            .map_or("no switchback".to_owned(), |back| {
                format!("back with {} without master", ms(back.without_master_us))
            });
        format!("drill {}: {over}, {back}", self.outcome_words())
    }

    fn outcome_words(&self) -> &'static str {
        match self.outcome {
            DrillOutcomeName::Completed => "completed",
            DrillOutcomeName::NoBackup => "aborted, no Backup took over",
            DrillOutcomeName::MastershipStayed => "ended, mastership stayed with the peer",
            DrillOutcomeName::Interrupted => "interrupted, the instance stopped",
        }
    }

    /// The report for a terminal.
    pub fn render(&self) -> String {
        let mut out = format!("{}: drill {}\n", self.instance, self.outcome_words());
        let _infallible = match &self.switchover {
            Some(over) => writeln!(
                out,
                "  over:  {} (priority {}) took over; {} without master (protocol: Skew_Time {})",
                over.new_master,
                over.new_master_priority,
                ms(over.without_master_us),
                ms(over.expected_us)
            ),
            None => writeln!(
                out,
                "  over:  no Backup took over within Master_Down_Interval + {}",
                ms(self.tolerance_us)
            ),
        };
        let _infallible = match &self.switchback {
            Some(back) => writeln!(
                out,
                "  back:  Master again {} after promote; {} without master (protocol: up to {})",
                ms(back.after_promote_us),
                ms(back.without_master_us),
                ms(back.expected_us)
            ),
            None => writeln!(
                out,
                "  back:  not Master again; Master is {}",
                self.master
                    .map_or("unknown".to_owned(), |master| master.to_string())
            ),
        };
        let _infallible = writeln!(out, "  took {}; now {}", ms(self.took_us), self.state);
        out
    }
}

/// `361204` µs as `361.204 ms`, or as the status table's durations from a second on.
fn ms(micros: u64) -> String {
    if micros < 1_000_000 {
        format!("{}.{:03} ms", micros / 1000, micros % 1000)
    } else {
        human_duration_ms(micros / 1000)
    }
}

fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drill_reads_with_both_gaps_and_their_bounds() {
        let result = DrillResult {
            instance: "lan".to_owned(),
            outcome: DrillOutcomeName::Completed,
            switchover: Some(SwitchoverResult {
                new_master: "192.0.2.2".parse().expect("address"),
                new_master_priority: 100,
                without_master_us: 61_204,
                expected_us: 60_937,
            }),
            switchback: Some(SwitchbackResult {
                after_promote_us: 2_400_000,
                without_master_us: 80_000,
                expected_us: 3_218_750,
            }),
            took_us: 2_500_000,
            tolerance_us: 1_000_000,
            state: State::Master,
            master: Some("192.0.2.1".parse().expect("address")),
        };
        let text = result.render();
        assert!(
            text.contains("192.0.2.2 (priority 100) took over; 61.204 ms without master"),
            "{text}"
        );
        assert!(text.contains("(protocol: Skew_Time 60.937 ms)"), "{text}");
        assert!(
            text.contains("Master again 2.40 s after promote; 80.000 ms"),
            "{text}"
        );
        assert_eq!(
            result.summary(),
            "drill completed: over to 192.0.2.2 in 61.204 ms, back with 80.000 ms without master"
        );
        let json = serde_json::to_string(&result).expect("serialize");
        assert!(json.contains(r#""outcome":"completed""#), "{json}");
        assert_eq!(
            serde_json::from_str::<DrillResult>(&json).expect("parse"),
            result
        );
    }
}
