//! One test per RFC 9568 §6 transition. Times are exact: virtual time only moves to deadlines.

use std::net::IpAddr;
use std::time::Duration;

use vrrp_user::proto::{
    Action, AdvertVersion, DataplaneRole, Event, ReceivedAdvert, RoutineAdvert, State,
    TransitionReason, VirtualRouter, Warning, master_down_interval, skew_time,
};

use crate::lan::{Lan, VIRTUAL_ADDRESS, cs, router_config};

/// One second, the RFC default interval, in centiseconds.
pub(crate) const SECOND: u16 = 100;

pub(crate) fn secs(value: u64) -> Duration {
    Duration::from_secs(value)
}

pub(crate) fn address(host: u8) -> IpAddr {
    IpAddr::from([192, 0, 2, host])
}

fn advert(host: u8, priority: u8, interval: u16) -> ReceivedAdvert {
    ReceivedAdvert {
        source: address(host),
        priority,
        max_advert_interval: cs(interval),
        addresses: vec![VIRTUAL_ADDRESS],
        version: AdvertVersion::V3,
    }
}

/// A LAN with a Master at priority 200 (router 0, host .1) and a Backup at 100 (router 1,
/// host .2), converged: router 0 started first and took over alone.
pub(crate) fn master_and_backup(delay: Duration) -> Lan {
    let mut lan = Lan::new(
        vec![
            router_config(200, 1, cs(SECOND)),
            router_config(100, 2, cs(SECOND)),
        ],
        delay,
    );
    lan.start(0);
    lan.run_for(secs(5));
    lan.start(1);
    lan.run_for(secs(5));
    assert_eq!(lan.masters(), vec![0]);
    assert_eq!(lan.state(1), State::Backup);
    lan
}

fn last_advert_time(lan: &Lan, index: usize) -> Duration {
    lan.adverts_sent_by(index)
        .last()
        .expect("router advertised")
        .0
}

fn drain(router: &mut VirtualRouter) -> Vec<Action> {
    std::iter::from_fn(|| router.poll_action()).collect()
}

fn routine(host: u8, priority: u8, interval: u16) -> RoutineAdvert {
    RoutineAdvert {
        source: address(host),
        priority,
        max_advert_interval: cs(interval),
    }
}

/// A lone router at priority 100 that has accepted one advert from 192.0.2.2 at priority 200,
/// at `at`; its actions are drained.
fn backup_following_200(at: std::time::Instant) -> VirtualRouter {
    let mut router = VirtualRouter::new(router_config(100, 1, cs(SECOND)));
    router.handle_event(Event::Startup, at);
    router.handle_event(Event::Advert(advert(2, 200, SECOND)), at);
    drain(&mut router);
    router
}

#[test]
fn initialize_owner_goes_master() {
    let mut lan = Lan::new(vec![router_config(255, 1, cs(SECOND))], Duration::ZERO);
    lan.start(0);
    // RFC 9568 §6.4.1: advert, gratuitous ARP, Adver_Timer, Master, all at once.
    assert_eq!(
        lan.actions_since(0, Duration::ZERO),
        vec![
            Action::Transition {
                from: State::Initialize,
                to: State::Master,
                reason: TransitionReason::Startup { owner: true },
            },
            Action::SetDataplaneRole {
                role: DataplaneRole::Master,
                routine: None,
            },
            Action::InstallVirtualAddresses,
            Action::SendAdvert { priority: 255 },
            Action::SendGratuitous,
        ]
    );
    lan.run_for(Duration::from_millis(3500));
    let times: Vec<_> = lan
        .adverts_sent_by(0)
        .into_iter()
        .map(|(at, _)| at)
        .collect();
    assert_eq!(times, vec![secs(0), secs(1), secs(2), secs(3)]);
}

#[test]
fn initialize_non_owner_goes_backup_with_master_down_timer() {
    let mut lan = Lan::new(vec![router_config(100, 1, cs(SECOND))], Duration::ZERO);
    lan.start(0);
    assert_eq!(
        lan.actions_since(0, Duration::ZERO),
        vec![
            Action::Transition {
                from: State::Initialize,
                to: State::Backup,
                reason: TransitionReason::Startup { owner: false },
            },
            Action::SetDataplaneRole {
                role: DataplaneRole::Backup,
                routine: None,
            },
        ]
    );
    let status = lan.router(0).status();
    assert_eq!(
        status.master_down_interval,
        master_down_interval(100, cs(SECOND))
    );
    assert_eq!(status.master_address, None);
}

#[test]
fn backup_master_down_timer_fires_becomes_master() {
    let mut lan = Lan::new(vec![router_config(100, 1, cs(SECOND))], Duration::ZERO);
    lan.start(0);
    lan.run_for(secs(10));
    // Alone on the LAN: Master exactly MDI(100, 1 s) = 3 s + 609.375 ms after startup.
    let mdi = Duration::from_micros(3_609_375);
    assert_eq!(
        lan.transitions_to(0, State::Master),
        vec![(
            mdi,
            TransitionReason::MasterDownTimerExpired {
                master: None,
                silent_for: mdi
            }
        )]
    );
    assert_eq!(lan.adverts_sent_by(0)[0], (mdi, 100));
    let takeover = lan.actions_since(0, mdi);
    assert_eq!(
        &takeover[..5],
        &[
            Action::Transition {
                from: State::Backup,
                to: State::Master,
                reason: TransitionReason::MasterDownTimerExpired {
                    master: None,
                    silent_for: mdi
                },
            },
            Action::SetDataplaneRole {
                role: DataplaneRole::Master,
                routine: None,
            },
            Action::InstallVirtualAddresses,
            Action::SendAdvert { priority: 100 },
            Action::SendGratuitous,
        ]
    );
}

#[test]
fn backup_takes_over_master_down_interval_after_last_advert() {
    let delay = Duration::from_millis(1);
    let mut lan = master_and_backup(delay);
    lan.kill(0);
    lan.run_for(secs(10));
    let last = last_advert_time(&lan, 0);
    let expected = last + delay + master_down_interval(100, cs(SECOND));
    assert_eq!(
        lan.transitions_to(1, State::Master),
        vec![(
            expected,
            TransitionReason::MasterDownTimerExpired {
                master: Some(address(1)),
                silent_for: master_down_interval(100, cs(SECOND)),
            }
        )]
    );
}

#[test]
fn backup_priority_zero_sets_skew_time() {
    let mut lan = master_and_backup(Duration::ZERO);
    lan.run_for(Duration::from_millis(300));
    let stopped_at = lan.now();
    lan.stop(0);
    lan.run_for(secs(5));
    assert_eq!(lan.adverts_sent_by(0).last(), Some(&(stopped_at, 0)));
    // RFC 9568 §6.4.2: priority 0 -> Master_Down_Timer = Skew_Time(100, 1 s) = 609.375 ms.
    assert_eq!(
        lan.transitions_to(1, State::Master),
        vec![(
            stopped_at + skew_time(100, cs(SECOND)),
            TransitionReason::MasterResigned { master: address(1) }
        )]
    );
}

#[test]
fn master_shutdown_sends_priority_zero_and_forwards_until_the_new_master_advertises() {
    let mut lan = master_and_backup(Duration::ZERO);
    let stopped_at = lan.now();
    lan.stop(0);
    // Make-before-break: the data plane keeps forwarding, the addresses stay.
    assert_eq!(
        lan.actions_since(0, stopped_at),
        vec![
            Action::Transition {
                from: State::Master,
                to: State::Initialize,
                reason: TransitionReason::Shutdown,
            },
            Action::SetDataplaneRole {
                role: DataplaneRole::Resigning,
                routine: None,
            },
            Action::SendAdvert { priority: 0 },
        ]
    );
    assert!(lan.router(0).poll_timeout().is_some());
    let takeover = stopped_at + skew_time(100, cs(SECOND));
    lan.run_until(takeover - Duration::from_millis(1));
    assert_eq!(lan.router(0).dataplane_role(), DataplaneRole::Resigning);
    lan.run_for(Duration::from_millis(2));
    // The new Master's first advert ends it.
    assert_eq!(lan.masters(), vec![1]);
    assert_eq!(
        lan.actions_since(0, takeover),
        vec![
            Action::RemoveVirtualAddresses,
            Action::SetDataplaneRole {
                role: DataplaneRole::Initialize,
                routine: None,
            },
        ]
    );
    assert_eq!(lan.router(0).poll_timeout(), None);
}

#[test]
fn a_resigned_master_stops_forwarding_after_master_down_interval_without_a_successor() {
    let mut lan = Lan::new(vec![router_config(200, 1, cs(SECOND))], Duration::ZERO);
    lan.start(0);
    lan.run_for(secs(5));
    let stopped_at = lan.now();
    lan.stop(0);
    // The longest any Backup waits: Master_Down_Interval with priority 1's Skew_Time.
    let bound = stopped_at + master_down_interval(1, cs(SECOND));
    lan.run_until(bound - Duration::from_millis(1));
    assert_eq!(lan.router(0).dataplane_role(), DataplaneRole::Resigning);
    lan.run_for(Duration::from_millis(2));
    assert_eq!(lan.router(0).dataplane_role(), DataplaneRole::Initialize);
    assert!(
        lan.actions_since(0, stopped_at)
            .contains(&Action::RemoveVirtualAddresses)
    );
    assert_eq!(lan.router(0).poll_timeout(), None);
}

#[test]
fn a_resigning_master_whose_link_goes_down_stops_forwarding_at_once() {
    let mut lan = master_and_backup(Duration::ZERO);
    lan.stop(0);
    lan.run_for(Duration::from_millis(1));
    let down_at = lan.now();
    lan.event(0, Event::InterfaceDown);
    assert_eq!(
        lan.actions_since(0, down_at),
        vec![
            Action::RemoveVirtualAddresses,
            Action::SetDataplaneRole {
                role: DataplaneRole::Initialize,
                routine: None,
            },
        ]
    );
    assert_eq!(lan.router(0).poll_timeout(), None);
}

#[test]
fn backup_shutdown_goes_initialize_without_advert() {
    let mut lan = master_and_backup(Duration::ZERO);
    let stopped_at = lan.now();
    lan.stop(1);
    assert_eq!(
        lan.actions_since(1, stopped_at),
        vec![
            Action::Transition {
                from: State::Backup,
                to: State::Initialize,
                reason: TransitionReason::Shutdown,
            },
            Action::SetDataplaneRole {
                role: DataplaneRole::Initialize,
                routine: None,
            },
        ]
    );
    assert_eq!(lan.router(1).poll_timeout(), None);
}

#[test]
fn master_adver_timer_sends_advert_every_interval() {
    let interval = 10; // 100 ms
    let mut lan = Lan::new(vec![router_config(255, 1, cs(interval))], Duration::ZERO);
    lan.start(0);
    lan.run_for(Duration::from_millis(1000));
    let times: Vec<_> = lan
        .adverts_sent_by(0)
        .into_iter()
        .map(|(at, _)| at)
        .collect();
    let expected: Vec<_> = (0..=10)
        .map(|step| Duration::from_millis(100 * step))
        .collect();
    assert_eq!(times, expected);
}

#[test]
fn master_higher_priority_steps_down() {
    let mut lan = Lan::new(vec![router_config(100, 1, cs(SECOND))], Duration::ZERO);
    lan.start(0);
    lan.run_for(secs(5));
    assert_eq!(lan.state(0), State::Master);
    let at = lan.now();
    // The sender advertises half the interval: the Backup must learn it.
    lan.inject(0, advert(2, 200, SECOND / 2));
    let actions = lan.actions_since(0, at);
    assert!(actions.contains(&Action::Transition {
        from: State::Master,
        to: State::Backup,
        reason: TransitionReason::HigherPriority {
            source: address(2),
            priority: 200
        },
    }));
    assert!(actions.contains(&Action::RemoveVirtualAddresses));
    assert!(
        !actions
            .iter()
            .any(|action| matches!(action, Action::SendAdvert { .. }))
    );
    let status = lan.router(0).status();
    assert_eq!(status.master_adver_interval, cs(SECOND / 2));
    assert_eq!(status.master_address, Some(address(2)));
    let learned_mdi = master_down_interval(100, cs(SECOND / 2));
    assert_eq!(status.master_down_interval, learned_mdi);
    lan.run_for(secs(5));
    assert_eq!(
        lan.transitions_to(0, State::Master).last().map(|(t, _)| *t),
        Some(at + learned_mdi)
    );
}

#[test]
fn master_equal_priority_greater_address_steps_down() {
    let mut lan = Lan::new(vec![router_config(100, 5, cs(SECOND))], Duration::ZERO);
    lan.start(0);
    lan.run_for(secs(4));
    assert_eq!(lan.state(0), State::Master);
    lan.inject(0, advert(250, 100, SECOND));
    assert_eq!(lan.state(0), State::Backup);
    assert_eq!(
        lan.transitions_to(0, State::Backup)
            .last()
            .map(|(_, reason)| reason.clone()),
        Some(TransitionReason::EqualPriorityGreaterAddress {
            source: address(250),
            priority: 100
        })
    );
}

#[test]
fn master_equal_priority_lower_address_keeps_master() {
    let mut lan = Lan::new(vec![router_config(100, 5, cs(SECOND))], Duration::ZERO);
    lan.start(0);
    lan.run_for(secs(4));
    let at = lan.now();
    lan.inject(0, advert(3, 100, SECOND));
    assert_eq!(lan.state(0), State::Master);
    assert_eq!(
        lan.actions_since(0, at),
        vec![Action::SendAdvert { priority: 100 }]
    );
}

#[test]
fn master_losing_advert_sends_advert_at_once() {
    let mut lan = Lan::new(vec![router_config(100, 5, cs(SECOND))], Duration::ZERO);
    lan.start(0);
    lan.run_for(secs(4));
    let last = last_advert_time(&lan, 0);
    let injected_at = lan.now();
    assert!(injected_at > last && injected_at < last + secs(1));
    lan.inject(0, advert(9, 50, SECOND));
    // RFC 9568 §6.4.3: discard, advertise at once; the Adver_Timer keeps its schedule.
    lan.run_until(last + Duration::from_millis(1500));
    let times: Vec<_> = lan
        .adverts_sent_by(0)
        .into_iter()
        .map(|(at, _)| at)
        .filter(|at| *at > last)
        .collect();
    assert_eq!(times, vec![injected_at, last + secs(1)]);
    assert_eq!(lan.state(0), State::Master);
}

#[test]
fn master_priority_zero_sends_advert_at_once() {
    let mut lan = Lan::new(vec![router_config(100, 5, cs(SECOND))], Duration::ZERO);
    lan.start(0);
    lan.run_for(secs(4));
    let last = last_advert_time(&lan, 0);
    let injected_at = lan.now();
    assert!(injected_at > last && injected_at < last + secs(1));
    lan.inject(0, advert(9, 0, SECOND));
    // RFC 9568 §6.4.3: advertise at once and reset the Adver_Timer.
    lan.run_until(injected_at + Duration::from_millis(2500));
    let times: Vec<_> = lan
        .adverts_sent_by(0)
        .into_iter()
        .map(|(at, _)| at)
        .filter(|at| *at > last)
        .collect();
    assert_eq!(
        times,
        vec![injected_at, injected_at + secs(1), injected_at + secs(2)]
    );
}

#[test]
fn backup_preempt_on_discards_lower_priority_and_preempts() {
    let delay = Duration::from_millis(2);
    let mut lan = Lan::new(
        vec![
            router_config(100, 1, cs(SECOND)),
            router_config(200, 2, cs(SECOND)),
        ],
        delay,
    );
    lan.start(0);
    lan.run_for(secs(5));
    let joined = lan.now();
    lan.start(1);
    lan.run_for(secs(10));
    let takeover = joined + master_down_interval(200, cs(SECOND));
    assert_eq!(
        lan.transitions_to(1, State::Master),
        vec![(
            takeover,
            TransitionReason::PreemptedLowerPriority {
                master: address(1),
                priority: 100
            }
        )]
    );
    // The old Master steps down when the first advert of the new one arrives.
    assert_eq!(
        lan.transitions_to(0, State::Backup).last(),
        Some(&(
            takeover + delay,
            TransitionReason::HigherPriority {
                source: address(2),
                priority: 200
            }
        ))
    );
    assert_eq!(lan.masters(), vec![1]);
}

#[test]
fn backup_preempt_off_does_not_displace_master() {
    let mut config = router_config(200, 2, cs(SECOND));
    config.preempt = false;
    let mut lan = Lan::new(
        vec![router_config(100, 1, cs(SECOND)), config],
        Duration::ZERO,
    );
    lan.start(0);
    lan.run_for(secs(5));
    lan.start(1);
    lan.run_for(secs(60));
    assert_eq!(lan.masters(), vec![0]);
    assert!(lan.adverts_sent_by(1).is_empty());
    assert_eq!(lan.router(1).status().master_address, Some(address(1)));
}

#[test]
fn backup_preempt_delay_postpones_preemption() {
    let mut config = router_config(200, 2, cs(SECOND));
    config.preempt_delay = secs(5);
    let mut lan = Lan::new(
        vec![router_config(100, 1, cs(SECOND)), config],
        Duration::ZERO,
    );
    lan.start(0);
    lan.run_for(Duration::from_millis(4500));
    let joined = lan.now();
    lan.start(1);
    lan.run_for(secs(20));
    // Lower-priority adverts open the window at the first one and are honoured inside it.
    let lower: Vec<_> = lan
        .adverts_sent_by(0)
        .into_iter()
        .map(|(at, _)| at)
        .filter(|at| *at > joined)
        .collect();
    let window_end = lower[0] + secs(5);
    let last_honoured = lower
        .iter()
        .copied()
        .filter(|at| *at < window_end)
        .max()
        .expect("adverts in window");
    let takeover = last_honoured + master_down_interval(200, cs(SECOND));
    assert_eq!(
        lan.transitions_to(1, State::Master)
            .first()
            .map(|(t, _)| *t),
        Some(takeover)
    );
    // Without the delay the takeover would have come MDI after joining.
    assert!(takeover > joined + secs(5));
    assert_eq!(lan.masters(), vec![1]);
}

#[test]
fn backup_learns_master_advert_interval() {
    // The Master advertises every 500 ms, the Backup is configured with 1 s.
    let mut lan = Lan::new(
        vec![
            router_config(200, 1, cs(SECOND / 2)),
            router_config(100, 2, cs(SECOND)),
        ],
        Duration::ZERO,
    );
    lan.start(0);
    lan.run_for(secs(5));
    lan.start(1);
    lan.run_for(secs(5));
    assert_eq!(lan.router(1).status().master_adver_interval, cs(SECOND / 2));
    lan.kill(0);
    lan.run_for(secs(10));
    let expected = last_advert_time(&lan, 0) + master_down_interval(100, cs(SECOND / 2));
    assert_eq!(
        lan.transitions_to(1, State::Master)
            .first()
            .map(|(t, _)| *t),
        Some(expected)
    );
    // RFC 9568 §7.1: the interval differs from the configured one, worth a log line.
    assert!(lan.records().iter().any(|record| record.router == 1
        && record.action
            == Action::Warning(Warning::IntervalMismatch {
                source: address(1),
                advertised: cs(SECOND / 2),
                configured: cs(SECOND),
            })));
}

#[test]
fn backup_equal_priority_advert_resets_timer_with_preempt() {
    let mut lan = Lan::new(
        vec![
            router_config(100, 1, cs(SECOND)),
            router_config(100, 2, cs(SECOND)),
        ],
        Duration::ZERO,
    );
    lan.start(0);
    lan.run_for(secs(5));
    lan.start(1);
    // RFC 9568 §6.4.2: priority >= local is accepted even with a greater own address.
    lan.run_for(secs(60));
    assert_eq!(lan.masters(), vec![0]);
}

#[test]
fn simultaneous_equal_priority_startup_greater_address_wins() {
    let mut lan = Lan::new(
        vec![
            router_config(100, 1, cs(SECOND)),
            router_config(100, 2, cs(SECOND)),
        ],
        Duration::from_millis(1),
    );
    lan.start(0);
    lan.start(1);
    lan.run_for(secs(10));
    assert_eq!(lan.masters(), vec![1]);
    assert_eq!(
        lan.transitions_to(0, State::Backup)
            .last()
            .map(|(_, reason)| reason.clone()),
        Some(TransitionReason::EqualPriorityGreaterAddress {
            source: address(2),
            priority: 100
        })
    );
}

#[test]
fn interface_down_goes_initialize_and_up_restarts() {
    let mut lan = master_and_backup(Duration::ZERO);
    let down_at = lan.now();
    lan.event(0, Event::InterfaceDown);
    assert_eq!(
        lan.actions_since(0, down_at),
        vec![
            Action::Transition {
                from: State::Master,
                to: State::Initialize,
                reason: TransitionReason::InterfaceDown,
            },
            Action::SetDataplaneRole {
                role: DataplaneRole::Initialize,
                routine: None,
            },
            Action::RemoveVirtualAddresses,
        ]
    );
    lan.run_for(secs(10));
    assert_eq!(lan.masters(), vec![1]);
    let up_at = lan.now();
    lan.event(0, Event::InterfaceUp);
    assert_eq!(
        lan.transitions_to(0, State::Backup).last(),
        Some(&(up_at, TransitionReason::InterfaceUp { owner: false }))
    );
    // Priority 200 preempts the priority-100 Master MDI(200) after coming back.
    lan.run_for(secs(10));
    assert_eq!(
        lan.transitions_to(0, State::Master).last().map(|(t, _)| *t),
        Some(up_at + master_down_interval(200, cs(SECOND)))
    );
}

#[test]
fn startup_waits_for_interface_and_interface_up_waits_for_startup() {
    let mut lan = Lan::new(vec![router_config(100, 1, cs(SECOND))], Duration::ZERO);
    lan.event(0, Event::InterfaceDown);
    lan.event(0, Event::InterfaceUp);
    assert_eq!(lan.state(0), State::Initialize);
    lan.event(0, Event::InterfaceDown);
    lan.start(0);
    assert_eq!(lan.state(0), State::Initialize);
    lan.event(0, Event::InterfaceUp);
    assert_eq!(lan.state(0), State::Backup);
}

#[test]
fn tracking_priority_drop_keeps_master_until_preempted() {
    let mut lan = Lan::new(
        vec![
            router_config(200, 1, cs(SECOND)),
            router_config(150, 2, cs(SECOND)),
        ],
        Duration::ZERO,
    );
    lan.start(0);
    lan.run_for(secs(5));
    lan.start(1);
    lan.run_for(Duration::from_millis(5500));
    let dropped_at = lan.now();
    lan.set_priority(0, 100);
    assert_eq!(lan.state(0), State::Master);
    lan.run_for(secs(10));
    let adverts = lan.adverts_sent_by(0);
    let last_at_200 = adverts
        .iter()
        .rfind(|(at, _)| *at < dropped_at)
        .expect("advert")
        .0;
    let first_at_100 = adverts
        .iter()
        .find(|(at, _)| *at > dropped_at)
        .expect("advert");
    assert_eq!(*first_at_100, (last_at_200 + secs(1), 100));
    // The Backup discards the priority-100 adverts and preempts.
    assert_eq!(
        lan.transitions_to(1, State::Master),
        vec![(
            last_at_200 + master_down_interval(150, cs(SECOND)),
            TransitionReason::PreemptedLowerPriority {
                master: address(1),
                priority: 100
            }
        )]
    );
    assert_eq!(lan.masters(), vec![1]);
}

#[test]
fn tracking_backup_priority_rise_preempts() {
    let mut lan = master_and_backup(Duration::ZERO);
    lan.set_priority(1, 250);
    lan.run_for(secs(10));
    assert_eq!(lan.masters(), vec![1]);
    assert_eq!(lan.router(1).status().priority, 250);
}

#[test]
fn owner_ignores_tracking_and_preempts_at_once() {
    let mut lan = Lan::new(
        vec![
            router_config(100, 1, cs(SECOND)),
            router_config(255, 2, cs(SECOND)),
        ],
        Duration::ZERO,
    );
    lan.start(0);
    lan.run_for(secs(5));
    let joined = lan.now();
    lan.start(1);
    lan.set_priority(1, 10);
    assert_eq!(lan.router(1).status().priority, 255);
    lan.run_for(Duration::from_millis(1));
    assert_eq!(
        lan.transitions_to(1, State::Master)
            .first()
            .map(|(t, _)| *t),
        Some(joined)
    );
    assert_eq!(lan.masters(), vec![1]);
    assert_eq!(
        lan.transitions_to(0, State::Backup).last(),
        Some(&(
            joined,
            TransitionReason::HigherPriority {
                source: address(2),
                priority: 255
            }
        ))
    );
}

#[test]
fn owner_warns_about_adverts_and_second_owner() {
    let mut owner = VirtualRouter::new(router_config(255, 1, cs(SECOND)));
    let now = std::time::Instant::now();
    owner.handle_event(Event::Startup, now);
    drain(&mut owner);
    owner.handle_event(Event::Advert(advert(2, 100, SECOND)), now);
    assert!(
        drain(&mut owner).contains(&Action::Warning(Warning::OwnerReceivedAdvert {
            source: address(2),
            priority: 100
        }))
    );
    owner.handle_event(Event::Advert(advert(0, 255, SECOND)), now);
    let actions = drain(&mut owner);
    assert!(actions.contains(&Action::Warning(Warning::DualOwner { source: address(0) })));
    // The other owner has the lower address: this one stays Master and asserts itself.
    assert!(actions.contains(&Action::SendAdvert { priority: 255 }));
    assert_eq!(owner.state(), State::Master);
}

#[test]
fn address_list_mismatch_warns_and_is_processed() {
    let mut router = VirtualRouter::new(router_config(100, 1, cs(SECOND)));
    let now = std::time::Instant::now();
    router.handle_event(Event::Startup, now);
    drain(&mut router);
    let mut foreign = advert(2, 200, SECOND);
    foreign.addresses = vec![IpAddr::from([192, 0, 2, 101])];
    router.handle_event(Event::Advert(foreign.clone()), now);
    assert_eq!(
        drain(&mut router),
        vec![
            Action::Warning(Warning::AddressListMismatch {
                source: address(2),
                advertised: foreign.addresses,
                configured: vec![VIRTUAL_ADDRESS],
            }),
            Action::SetDataplaneRole {
                role: DataplaneRole::Backup,
                routine: Some(routine(2, 200, SECOND)),
            },
        ]
    );
    assert_eq!(router.status().master_address, Some(address(2)));
}

#[test]
fn non_monotonic_times_and_spurious_timeouts_are_harmless() {
    let mut router = VirtualRouter::new(router_config(100, 1, cs(SECOND)));
    let base = std::time::Instant::now();
    let later = base + secs(3);
    router.handle_event(Event::Startup, later);
    router.handle_event(Event::Advert(advert(2, 200, SECOND)), later);
    // The driver replays an advert the XDP program absorbed earlier, with its receive time.
    router.handle_event(Event::Advert(advert(2, 200, SECOND)), base);
    let mdi = master_down_interval(100, cs(SECOND));
    assert_eq!(router.poll_timeout(), Some(base + mdi));
    router.handle_timeout(base);
    router.handle_timeout(base + mdi - Duration::from_micros(1));
    assert_eq!(router.state(), State::Backup);
    drain(&mut router);
    router.handle_timeout(base + mdi);
    assert_eq!(drain(&mut router), vec![Action::ReadAbsorbedStamp]);
    router.handle_event(Event::NoAbsorbedAdvert, base + mdi);
    router.handle_timeout(base + mdi);
    assert_eq!(router.state(), State::Master);
    // A timeout call from before the previous one is a no-op, not a panic.
    drain(&mut router);
    router.handle_timeout(base);
    assert_eq!(router.poll_action(), None);
}

#[test]
fn initialize_ignores_adverts_and_timeouts() {
    let mut router = VirtualRouter::new(router_config(100, 1, cs(SECOND)));
    let now = std::time::Instant::now();
    router.handle_event(Event::Advert(advert(2, 0, SECOND)), now);
    router.handle_timeout(now + secs(100));
    assert_eq!(router.poll_action(), None);
    assert_eq!(router.poll_timeout(), None);
    assert_eq!(router.state(), State::Initialize);
}

#[test]
fn config_change_on_master_reannounces_new_addresses() {
    let mut router = VirtualRouter::new(router_config(255, 1, cs(SECOND)));
    let now = std::time::Instant::now();
    router.handle_event(Event::Startup, now);
    drain(&mut router);
    let mut config = router_config(255, 1, cs(SECOND / 2));
    config
        .virtual_addresses
        .push(IpAddr::from([192, 0, 2, 101]));
    config.accept_mode = true;
    let changed_at = now + Duration::from_millis(300);
    router.handle_event(Event::ConfigChanged(config), changed_at);
    assert_eq!(
        drain(&mut router),
        vec![
            Action::SetDataplaneRole {
                role: DataplaneRole::Master,
                routine: None,
            },
            Action::InstallVirtualAddresses,
            Action::SendAdvert { priority: 255 },
            Action::SendGratuitous,
        ]
    );
    assert_eq!(
        router.poll_timeout(),
        Some(changed_at + Duration::from_millis(500))
    );
    assert!(router.status().accepts_virtual_traffic);
}

#[test]
fn config_change_to_address_owner_takes_over_at_once() {
    let mut lan = master_and_backup(Duration::ZERO);
    let at = lan.now();
    lan.event(1, Event::ConfigChanged(router_config(255, 2, cs(SECOND))));
    let actions = lan.actions_since(1, at);
    assert_eq!(
        actions.first(),
        Some(&Action::Transition {
            from: State::Backup,
            to: State::Master,
            reason: TransitionReason::BecameOwner,
        }),
        "{actions:?}"
    );
    assert!(actions.contains(&Action::SendAdvert { priority: 255 }));
    // The old Master hears 255 and steps down; the owner stays.
    lan.run_for(secs(1));
    assert_eq!(lan.masters(), vec![1]);
}

#[test]
fn a_new_primary_address_keeps_the_master_and_advertises_from_it_at_once() {
    let mut lan = master_and_backup(Duration::ZERO);
    let at = lan.now();
    let mut config = router_config(200, 1, cs(SECOND));
    config.primary_address = IpAddr::from([192, 0, 2, 11]);
    lan.event(0, Event::ConfigChanged(config));
    assert_eq!(
        lan.actions_since(0, at),
        vec![
            Action::SetDataplaneRole {
                role: DataplaneRole::Master,
                routine: None,
            },
            Action::SendAdvert { priority: 200 },
        ]
    );
}

#[test]
fn config_change_of_identity_restarts_silently() {
    let mut lan = master_and_backup(Duration::ZERO);
    let at = lan.now();
    let mut config = router_config(200, 1, cs(SECOND));
    config.vrid = 2;
    lan.event(0, Event::ConfigChanged(config));
    assert_eq!(
        lan.actions_since(0, at),
        vec![
            Action::Transition {
                from: State::Master,
                to: State::Initialize,
                reason: TransitionReason::ConfigChanged,
            },
            Action::SetDataplaneRole {
                role: DataplaneRole::Initialize,
                routine: None,
            },
            Action::RemoveVirtualAddresses,
            Action::Transition {
                from: State::Initialize,
                to: State::Backup,
                reason: TransitionReason::ConfigChanged,
            },
            Action::SetDataplaneRole {
                role: DataplaneRole::Backup,
                routine: None,
            },
        ]
    );
}

#[test]
fn lossy_link_with_per_link_delay_still_elects_one_master() {
    let mut lan = Lan::new(
        (1..=4)
            .map(|host| router_config(50 * host, host, cs(10)))
            .collect(),
        Duration::from_millis(1),
    );
    lan.set_link_delay(3, 0, Duration::from_millis(7));
    lan.set_loss(100, 7);
    for index in 0..lan.len() {
        lan.start(index);
    }
    lan.run_for(secs(30));
    lan.set_loss(0, 0);
    lan.run_for(secs(1));
    assert_eq!(lan.masters(), vec![3]);
    assert!((0..lan.len()).all(|index| lan.is_alive(index)));
}

#[test]
fn backup_reads_the_absorbed_stamp_once_before_declaring_the_master_down() {
    let base = std::time::Instant::now();
    let mut router = backup_following_200(base);
    assert_eq!(router.routine_advert(), Some(routine(2, 200, SECOND)));
    let mdi = master_down_interval(100, cs(SECOND));
    router.handle_timeout(base + mdi);
    router.handle_timeout(base + mdi);
    // Asked once per deadline, and no takeover until answered.
    assert_eq!(drain(&mut router), vec![Action::ReadAbsorbedStamp]);
    assert_eq!(router.state(), State::Backup);
    // The kernel absorbed the Master's adverts until 2 s: the timer restarts from there.
    router.handle_event(Event::AbsorbedAdvert, base + secs(2));
    router.handle_timeout(base + mdi);
    assert_eq!(router.state(), State::Backup);
    assert_eq!(router.poll_timeout(), Some(base + secs(2) + mdi));
    assert_eq!(drain(&mut router), vec![]);
    // At the new deadline the same stamp is not news: the Master is down.
    router.handle_timeout(base + secs(2) + mdi);
    assert_eq!(drain(&mut router), vec![Action::ReadAbsorbedStamp]);
    router.handle_event(Event::AbsorbedAdvert, base + secs(2));
    router.handle_timeout(base + secs(2) + mdi);
    assert_eq!(
        router.status().state,
        State::Master,
        "an old stamp must not keep a dead Master alive"
    );
    assert_eq!(
        transition_reasons(drain(&mut router)),
        vec![TransitionReason::MasterDownTimerExpired {
            master: Some(address(2)),
            silent_for: mdi,
        }]
    );
}

#[test]
fn a_recheck_hands_the_next_advert_up_without_risking_a_takeover() {
    let base = std::time::Instant::now();
    let mut router = backup_following_200(base);
    let mdi = master_down_interval(100, cs(SECOND));
    // Just before the deadline the driver asks for a recheck with the stamp of 2 s.
    let stamp = base + secs(2);
    router.handle_event(Event::RecheckMaster, stamp);
    assert_eq!(
        drain(&mut router),
        vec![Action::SetDataplaneRole {
            role: DataplaneRole::Backup,
            routine: None
        }]
    );
    assert_eq!(router.routine_advert(), None);
    // The timer runs from the stamp: the old deadline does not take over unasked.
    assert_eq!(router.poll_timeout(), Some(stamp + mdi));
    router.handle_timeout(base + mdi);
    assert_eq!(router.state(), State::Backup);
    // The next advert comes up and is accepted: the signature is published again.
    router.handle_event(Event::Advert(advert(2, 200, SECOND)), base + secs(3));
    assert_eq!(
        drain(&mut router),
        vec![Action::SetDataplaneRole {
            role: DataplaneRole::Backup,
            routine: Some(routine(2, 200, SECOND))
        }]
    );
    // Without a published signature a recheck does nothing.
    let mut master = VirtualRouter::new(router_config(200, 1, cs(SECOND)));
    master.handle_event(Event::Startup, base);
    master.handle_timeout(base + secs(4));
    drain(&mut master);
    master.handle_event(Event::RecheckMaster, base + secs(4));
    assert_eq!(drain(&mut master), vec![]);
}

/// The reasons of the transitions among `actions`.
fn transition_reasons(actions: Vec<Action>) -> Vec<TransitionReason> {
    actions
        .into_iter()
        .filter_map(|action| match action {
            Action::Transition { reason, .. } => Some(reason),
            _ => None,
        })
        .collect()
}

#[test]
fn discarded_adverts_from_other_sources_keep_the_followed_master() {
    let base = std::time::Instant::now();
    let mut router = backup_following_200(base);
    // Preempt_Mode discards a lower-priority router's advert (another cluster's, say).
    router.handle_event(Event::Advert(advert(9, 50, SECOND)), base + secs(1));
    assert_eq!(drain(&mut router), vec![]);
    assert_eq!(router.routine_advert(), Some(routine(2, 200, SECOND)));
    assert_eq!(router.status().master_address, Some(address(2)));
    // Absorbed adverts of the followed Master still count.
    router.handle_event(Event::AbsorbedAdvert, base + secs(3));
    let mdi = master_down_interval(100, cs(SECOND));
    assert_eq!(router.poll_timeout(), Some(base + secs(3) + mdi));
}

#[test]
fn no_routine_signature_while_preempt_mode_would_discard_the_master() {
    let base = std::time::Instant::now();
    let mut router = VirtualRouter::new(router_config(200, 1, cs(SECOND)));
    router.handle_event(Event::Startup, base);
    drain(&mut router);
    router.handle_event(Event::Advert(advert(2, 100, SECOND)), base);
    assert_eq!(router.routine_advert(), None);
    // A preempt-delay window tolerates the lower-priority Master, but only for a while: the
    // router must still see each advert.
    let mut config = router_config(200, 1, cs(SECOND));
    config.preempt_delay = secs(5);
    let mut delayed = VirtualRouter::new(config);
    delayed.handle_event(Event::Startup, base);
    delayed.handle_event(Event::Advert(advert(2, 100, SECOND)), base);
    assert_eq!(delayed.status().master_address, Some(address(2)));
    assert_eq!(delayed.routine_advert(), None);
    // Without Preempt_Mode the lower-priority Master's adverts are routine.
    let mut config = router_config(200, 1, cs(SECOND));
    config.preempt = false;
    let mut patient = VirtualRouter::new(config);
    patient.handle_event(Event::Startup, base);
    patient.handle_event(Event::Advert(advert(2, 100, SECOND)), base);
    assert_eq!(patient.routine_advert(), Some(routine(2, 100, SECOND)));
    // Tracking that lifts the Master above us makes them routine for the preempting router.
    router.handle_event(Event::PriorityChanged(50), base);
    router.handle_event(Event::Advert(advert(2, 100, SECOND)), base);
    assert_eq!(
        drain(&mut router).last(),
        Some(&Action::SetDataplaneRole {
            role: DataplaneRole::Backup,
            routine: Some(routine(2, 100, SECOND)),
        })
    );
}

#[test]
fn backup_never_takes_over_from_a_live_master_despite_foreign_adverts() {
    let mut lan = master_and_backup(Duration::from_millis(1));
    let backup_priority = 100;
    // Another cluster's router on the same VRID (or a lower-priority peer), every few seconds
    // at shifting phases: the Backup discards each under Preempt_Mode while the Master's
    // adverts are absorbed. Forgetting the Master on such an advert loses the adverts absorbed
    // since the last stamp check, and one landing in the last interval before the deadline
    // made the Backup take over.
    for step in 0..30_u64 {
        lan.inject(1, advert(77, backup_priority / 2, SECOND));
        lan.run_for(Duration::from_millis(4300 + step % 4 * 370));
    }
    assert_eq!(lan.transitions_to(1, State::Master), vec![]);
    assert_eq!(lan.adverts_sent_by(1), vec![]);
    assert_eq!(lan.masters(), vec![0]);
    let (absorbed, lost) = lan.dataplane_counts(1);
    assert!(
        absorbed > 30,
        "the Master's adverts were not absorbed: {absorbed}"
    );
    assert_eq!(lost, 0);
}

#[test]
fn a_full_ring_loses_punted_adverts_and_counts_them() {
    let mut lan = master_and_backup(Duration::ZERO);
    lan.set_ring_capacity(1);
    let at = lan.now();
    // Two routers' adverts in the same instant: the second finds the ring full.
    lan.inject_together(1, vec![advert(77, 50, SECOND), advert(78, 150, SECOND)]);
    assert_eq!(lan.dataplane_counts(1).1, 1);
    // The one that got through was processed (and discarded under Preempt_Mode); the Backup
    // still follows the Master.
    assert_eq!(lan.actions_since(1, at), vec![]);
    assert_eq!(lan.router(1).status().master_address, Some(address(1)));
}

/// RFC 9568 §6.4.3: the Adver_Timer restarts when it fires, so a Master whose every wake-up
/// comes late (timer granularity, a loaded CPU) keeps the configured rate instead of adding
/// its lateness to every interval; a wake-up a whole interval late restarts the grid from
/// then, without a burst of catch-up adverts.
#[test]
fn late_wake_ups_do_not_stretch_the_advert_interval() {
    let interval = Duration::from_millis(10);
    let lateness = Duration::from_millis(3);
    let start = std::time::Instant::now();
    // The owner is Master at start-up and advertises at once.
    let mut router = VirtualRouter::new(router_config(255, 1, cs(1)));
    router.handle_event(Event::Startup, start);
    let mut sent = Vec::new();
    let drain = |router: &mut VirtualRouter, sent: &mut Vec<std::time::Instant>, at| {
        while let Some(action) = router.poll_action() {
            if let Action::SendAdvert { .. } = action {
                sent.push(at);
            }
        }
    };
    drain(&mut router, &mut sent, start);
    for _ in 0..100 {
        let woke = router.poll_timeout().expect("the Adver_Timer runs") + lateness;
        router.handle_timeout(woke);
        drain(&mut router, &mut sent, woke);
    }
    assert_eq!(sent.len(), 101);
    // 100 intervals take 100 intervals (plus the last wake-up's lateness), not 100 × 13 ms.
    assert_eq!(sent[100] - sent[0], interval * 100 + lateness);
    // A stall longer than an interval: one advert when it ends, the next an interval later.
    let stalled = router.poll_timeout().expect("the Adver_Timer runs") + interval * 5;
    router.handle_timeout(stalled);
    drain(&mut router, &mut sent, stalled);
    assert_eq!(sent.len(), 102, "one advert after the stall, no burst");
    assert_eq!(router.poll_timeout(), Some(stalled + interval));
}
