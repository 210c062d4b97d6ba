//! Operator commands and drills: demote, promote, priority override, in virtual time.

use std::time::Duration;

use vrrp_user::proto::{
    Action, Command, CommandRefused, DRILL_TOLERANCE, DataplaneRole, DrillOutcome, DrillRefused,
    Effect, State, TransitionReason, Warning, master_down_interval, skew_time,
};

use crate::lan::{Lan, cs, router_config};
use crate::transitions::{self, SECOND, address, secs};

/// How often the daemon polls a running drill.
const DRILL_POLL: Duration = Duration::from_millis(10);

fn priority(value: u8) -> Command {
    Command::OverridePriority(value.try_into().expect("priority in 1..=254"))
}

/// Router 0 (priority 200, host .1) is Master, router 1 (priority 100, host .2) Backup.
fn master_and_backup() -> Lan {
    transitions::master_and_backup(Duration::ZERO)
}

/// `master_and_backup`, then router 0 demoted: returns when it was demoted.
fn demoted_master(lan: &mut Lan) -> Duration {
    let demoted_at = lan.now();
    assert_eq!(lan.command(0, Command::Demote), Ok(Effect::Applied));
    demoted_at
}

#[test]
fn demoted_master_resigns_and_the_backup_takes_over_after_skew_time() {
    let mut lan = master_and_backup();
    let demoted_at = demoted_master(&mut lan);
    // Resigned like at Shutdown, but into Backup; forwarding until the new Master speaks.
    let actions = lan.actions_since(0, demoted_at);
    assert_eq!(actions[0], Action::SendAdvert { priority: 0 });
    assert!(
        !actions.contains(&Action::RemoveVirtualAddresses),
        "{actions:?}"
    );
    assert_eq!(lan.router(0).dataplane_role(), DataplaneRole::Resigning);
    assert_eq!(
        lan.transitions_to(0, State::Backup).last(),
        Some(&(demoted_at, TransitionReason::Demoted))
    );
    lan.run_for(secs(30));
    assert_eq!(
        lan.transitions_to(1, State::Master),
        vec![(
            demoted_at + skew_time(100, cs(SECOND)),
            TransitionReason::MasterResigned { master: address(1) }
        )]
    );
    assert_eq!(lan.masters(), vec![1]);
    assert!(
        lan.actions_since(0, demoted_at)
            .contains(&Action::RemoveVirtualAddresses)
    );
    assert_eq!(lan.router(0).dataplane_role(), DataplaneRole::Backup);
    let status = lan.router(0).status();
    assert!(status.demoted);
    assert_eq!(status.state, State::Backup);
    assert_eq!(status.master_address, Some(address(2)));
    // It honours the lower-priority Master like with Preempt_Mode False, so the data plane
    // absorbs its adverts.
    assert!(lan.router(0).routine_advert().is_some());
    assert_eq!(lan.command(0, Command::Demote), Ok(Effect::AlreadyInEffect));
}

#[test]
fn a_demoted_router_never_takes_over_and_promote_takes_over_at_once() {
    let mut lan = master_and_backup();
    let demoted_at = demoted_master(&mut lan);
    lan.run_for(secs(5));
    assert_eq!(lan.masters(), vec![1]);
    let killed_at = lan.now();
    lan.kill(1);
    lan.run_for(secs(60));
    assert_eq!(lan.state(0), State::Backup);
    assert!(lan.masters().is_empty());
    assert_eq!(
        lan.transitions_to(0, State::Master).len(),
        1,
        "only the start"
    );
    // Once, when Master_Down_Interval passed without a Master, not on every interval.
    let warnings: Vec<Action> = lan
        .actions_since(0, demoted_at)
        .into_iter()
        .filter(|action| matches!(action, Action::Warning(_)))
        .collect();
    assert_eq!(
        warnings,
        vec![Action::Warning(Warning::DemotedWithoutMaster {
            last_master: Some(address(2))
        })]
    );
    assert_eq!(lan.router(0).status().master_address, None);
    assert_eq!(lan.router(0).poll_timeout(), None);
    assert!(killed_at < lan.now());
    let promoted_at = lan.now();
    assert_eq!(lan.command(0, Command::Promote), Ok(Effect::Applied));
    assert_eq!(
        lan.transitions_to(0, State::Master).last(),
        Some(&(promoted_at, TransitionReason::Promoted { owner: false }))
    );
    assert!(!lan.router(0).status().demoted);
    assert_eq!(
        lan.command(0, Command::Promote),
        Ok(Effect::AlreadyInEffect)
    );
}

#[test]
fn promote_with_preempt_takes_mastership_back() {
    let mut lan = master_and_backup();
    demoted_master(&mut lan);
    lan.run_for(secs(5));
    let promoted_at = lan.now();
    lan.command(0, Command::Promote).expect("promote");
    lan.run_for(secs(10));
    let (back_at, reason) = lan
        .transitions_to(0, State::Master)
        .last()
        .cloned()
        .expect("took over");
    assert!(back_at > promoted_at);
    assert!(
        back_at - promoted_at <= master_down_interval(200, cs(SECOND)),
        "took {:?}",
        back_at - promoted_at
    );
    assert_eq!(
        reason,
        TransitionReason::PreemptedLowerPriority {
            master: address(2),
            priority: 100
        }
    );
    assert_eq!(lan.masters(), vec![0]);
}

#[test]
fn a_demoted_backup_does_not_preempt_until_promoted() {
    let mut lan = Lan::new(
        vec![
            router_config(100, 1, cs(SECOND)),
            router_config(200, 2, cs(SECOND)),
        ],
        Duration::ZERO,
    );
    lan.start(0);
    lan.run_for(secs(5));
    // Demoted before it starts: it starts as a Backup that honours the lower Master.
    lan.command(1, Command::Demote).expect("demote");
    lan.start(1);
    lan.run_for(secs(30));
    assert_eq!(lan.masters(), vec![0]);
    assert_eq!(lan.router(1).status().master_address, Some(address(1)));
    let promoted_at = lan.now();
    lan.command(1, Command::Promote).expect("promote");
    lan.run_for(secs(10));
    let (at, _) = lan.transitions_to(1, State::Master)[0].clone();
    assert!(at - promoted_at <= master_down_interval(200, cs(SECOND)));
    assert_eq!(lan.masters(), vec![1]);
}

#[test]
fn priority_override_changes_the_election_and_reset_restores_it() {
    let mut lan = master_and_backup();
    assert_eq!(lan.command(1, priority(250)), Ok(Effect::Applied));
    let status = lan.router(1).status();
    assert_eq!(
        (status.priority, status.priority_override),
        (250, Some(250))
    );
    lan.run_for(secs(10));
    assert_eq!(lan.masters(), vec![1]);
    // Tracking moves what the override hides; the reset shows it.
    lan.set_priority(1, 50);
    assert_eq!(lan.router(1).status().priority, 250);
    assert_eq!(lan.command(1, Command::ResetPriority), Ok(Effect::Applied));
    let status = lan.router(1).status();
    assert_eq!((status.priority, status.priority_override), (50, None));
    // The Master advertised its lower priority at once; router 0 (200) preempts.
    assert_eq!(
        lan.actions_since(1, lan.now()).first(),
        Some(&Action::SendAdvert { priority: 50 })
    );
    lan.run_for(secs(10));
    assert_eq!(lan.masters(), vec![0]);
    assert_eq!(
        lan.command(1, Command::ResetPriority),
        Ok(Effect::AlreadyInEffect)
    );
}

#[test]
fn lowering_the_masters_priority_hands_over_to_the_backup() {
    let mut lan = master_and_backup();
    let lowered_at = lan.now();
    lan.command(0, priority(50)).expect("override");
    assert_eq!(
        lan.actions_since(0, lowered_at),
        vec![Action::SendAdvert { priority: 50 }]
    );
    lan.run_for(secs(10));
    let (at, reason) = lan.transitions_to(1, State::Master)[0].clone();
    assert_eq!(
        reason,
        TransitionReason::PreemptedLowerPriority {
            master: address(1),
            priority: 50
        }
    );
    // The Backup discards the priority-50 adverts: Master_Down_Interval after the last one
    // it accepted.
    let last_at_200 = lan
        .adverts_sent_by(0)
        .into_iter()
        .rfind(|(at, priority)| *at < lowered_at && *priority == 200)
        .expect("advertised")
        .0;
    assert_eq!(at, last_at_200 + master_down_interval(100, cs(SECOND)));
}

#[test]
fn the_owner_refuses_an_override_and_takes_over_at_once_when_promoted() {
    let mut lan = Lan::new(
        vec![
            router_config(255, 1, cs(SECOND)),
            router_config(100, 2, cs(SECOND)),
        ],
        Duration::ZERO,
    );
    lan.start(0);
    lan.start(1);
    lan.run_for(secs(5));
    assert_eq!(
        lan.command(0, priority(100)),
        Err(CommandRefused::OwnerPriority)
    );
    assert_eq!(lan.router(0).status().priority, 255);
    lan.command(0, Command::Demote).expect("demote");
    lan.run_for(secs(30));
    assert_eq!(lan.masters(), vec![1]);
    assert_eq!(lan.state(0), State::Backup);
    let promoted_at = lan.now();
    lan.command(0, Command::Promote).expect("promote");
    assert_eq!(
        lan.transitions_to(0, State::Master).last(),
        Some(&(promoted_at, TransitionReason::Promoted { owner: true }))
    );
    lan.run_for(secs(1));
    assert_eq!(lan.masters(), vec![0]);
}

#[test]
fn a_drill_switches_over_and_back_within_protocol_bounds() {
    let mut lan = master_and_backup();
    let report = lan.drill(0, DRILL_POLL).expect("drill starts");
    assert_eq!(report.outcome, DrillOutcome::Completed);
    let over = report.switchover.expect("switched over");
    assert_eq!(
        (over.new_master, over.new_master_priority),
        (address(2), 100)
    );
    // No link delay: the Backup's first advert arrives the moment it takes over.
    assert_eq!(over.without_master, skew_time(100, cs(SECOND)));
    assert_eq!(over.expected, skew_time(100, cs(SECOND)));
    let back = report.switchback.expect("switched back");
    assert!(back.after_promote <= master_down_interval(200, cs(SECOND)));
    assert_eq!(back.expected, master_down_interval(200, cs(SECOND)));
    // The other Master advertised every second until it heard us.
    assert!(back.without_master <= secs(1), "{back:?}");
    assert_eq!(lan.masters(), vec![0]);
    assert!(!lan.router(0).status().demoted);
}

#[test]
fn a_drill_without_backup_promotes_back_and_says_so() {
    let mut lan = Lan::new(vec![router_config(200, 1, cs(SECOND))], Duration::ZERO);
    lan.start(0);
    lan.run_for(secs(5));
    let report = lan.drill(0, DRILL_POLL).expect("drill starts");
    assert_eq!(report.outcome, DrillOutcome::NoBackup);
    assert_eq!(report.switchover, None);
    let waited = master_down_interval(1, cs(SECOND)) + DRILL_TOLERANCE;
    assert!(report.took >= waited && report.took <= waited + DRILL_POLL);
    let back = report.switchback.expect("took over again");
    assert_eq!(back.after_promote, Duration::ZERO);
    assert_eq!(back.without_master, report.took);
    assert_eq!(lan.masters(), vec![0]);
}

#[test]
fn a_drill_reports_when_mastership_stays_with_the_peer() {
    // Router 1 (200) does not preempt, so router 0 (100) stays Master until the drill.
    let mut configs = vec![
        router_config(100, 1, cs(SECOND)),
        router_config(200, 2, cs(SECOND)),
    ];
    configs[1].preempt = false;
    let mut lan = Lan::new(configs, Duration::ZERO);
    lan.start(0);
    lan.run_for(secs(5));
    lan.start(1);
    lan.run_for(secs(5));
    assert_eq!(lan.masters(), vec![0]);
    let report = lan.drill(0, DRILL_POLL).expect("drill starts");
    assert_eq!(
        report.outcome,
        DrillOutcome::MastershipStayed {
            master: Some(address(2)),
            priority: Some(200)
        }
    );
    assert!(report.switchover.is_some() && report.switchback.is_none());
    assert_eq!(lan.masters(), vec![1]);
    assert!(!lan.router(0).status().demoted);
}

#[test]
fn drills_are_refused_without_preempt_or_from_backup() {
    let mut lan = master_and_backup();
    assert_eq!(
        lan.drill(1, DRILL_POLL).map(|report| report.outcome),
        Err(DrillRefused::NotMaster(State::Backup))
    );
    let mut config = router_config(200, 1, cs(SECOND));
    config.preempt = false;
    let mut alone = Lan::new(vec![config], Duration::ZERO);
    alone.start(0);
    alone.run_for(secs(5));
    assert_eq!(
        alone.drill(0, DRILL_POLL).map(|report| report.outcome),
        Err(DrillRefused::PreemptOff)
    );
    // Refused means untouched.
    assert_eq!(alone.masters(), vec![0]);
    assert!(!alone.router(0).status().demoted);
}
