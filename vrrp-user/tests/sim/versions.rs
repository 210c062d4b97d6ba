//! VRRPv2 (RFC 3768) timing and the RFC 9568 §8.4 "2+3" mode: a v2 group's takeover times, a
//! v2 Backup that learns no interval, and a "2+3" router beside a v2-only peer.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use vrrp_user::proto::{
    Action, AdvertVersion, Centiseconds, Event, ReceivedAdvert, RouterConfig, State,
    TransitionReason, VersionMode, VirtualRouter, Warning, master_down_interval,
    master_down_interval_for, skew_time_for,
};

use crate::lan::{Lan, VIRTUAL_ADDRESS, cs, router_config};

const SECOND: u16 = 100;

fn secs(value: u64) -> Duration {
    Duration::from_secs(value)
}

fn speaking(version: VersionMode, priority: u8, host: u8, interval: Centiseconds) -> RouterConfig {
    RouterConfig {
        version,
        ..router_config(priority, host, interval)
    }
}

fn address(host: u8) -> IpAddr {
    IpAddr::from([192, 0, 2, host])
}

fn advert(host: u8, priority: u8, interval: u16, version: AdvertVersion) -> ReceivedAdvert {
    ReceivedAdvert {
        source: address(host),
        priority,
        max_advert_interval: cs(interval),
        addresses: vec![VIRTUAL_ADDRESS],
        version,
    }
}

/// Routers `first` and `second` (indices 0 and 1), started 12 s apart; 0 must be Master.
fn pair(first: RouterConfig, second: RouterConfig, delay: Duration) -> Lan {
    let mut lan = Lan::new(vec![first, second], delay);
    lan.start(0);
    lan.run_for(secs(12));
    lan.start(1);
    lan.run_for(secs(12));
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

#[test]
fn a_v2_backup_takes_over_after_three_intervals_and_the_v2_skew() {
    let delay = Duration::from_millis(1);
    let interval = cs(3 * SECOND);
    let mut lan = pair(
        speaking(VersionMode::V2, 200, 1, interval),
        speaking(VersionMode::V2, 100, 2, interval),
        delay,
    );
    lan.kill(0);
    lan.run_for(secs(15));
    // RFC 3768 §6.1: 3 × 3 s + (256 − 100) / 256 s, not VRRPv3's 3 × 3 s + 156/256 × 3 s.
    let down = Duration::from_micros(9_609_375);
    assert_eq!(
        master_down_interval_for(VersionMode::V2, 100, interval),
        down
    );
    assert!(down < master_down_interval(100, interval));
    assert_eq!(
        lan.transitions_to(1, State::Master),
        vec![(
            last_advert_time(&lan, 0) + delay + down,
            TransitionReason::MasterDownTimerExpired {
                master: Some(address(1)),
                silent_for: down,
            }
        )]
    );
    // The Backup absorbed the Master's routine v2 adverts in its data plane.
    assert!(lan.dataplane_counts(1).0 > 0);
}

#[test]
fn a_v2_backup_keeps_its_interval_and_discards_a_different_one() {
    let start = Instant::now();
    let mut router = VirtualRouter::new(speaking(VersionMode::V2, 100, 1, cs(3 * SECOND)));
    router.handle_event(Event::Startup, start);
    drain(&mut router);
    // RFC 3768 §7.1: a 1 s advert is discarded (and warned), never followed.
    router.handle_event(
        Event::Advert(advert(2, 200, SECOND, AdvertVersion::V2)),
        start,
    );
    assert!(
        drain(&mut router).contains(&Action::Warning(Warning::IntervalMismatch {
            source: address(2),
            advertised: cs(SECOND),
            configured: cs(3 * SECOND),
        }))
    );
    assert_eq!(router.status().master_address, None);
    // Its own interval is accepted; the Backup keeps its configured interval (no learning).
    router.handle_event(
        Event::Advert(advert(2, 200, 3 * SECOND, AdvertVersion::V2)),
        start,
    );
    drain(&mut router);
    let status = router.status();
    assert_eq!(status.master_address, Some(address(2)));
    assert_eq!(status.master_adver_interval, cs(3 * SECOND));
    assert_eq!(
        status.skew_time,
        skew_time_for(VersionMode::V2, 100, cs(3 * SECOND))
    );
}

#[test]
fn a_2_plus_3_backup_follows_a_v2_only_master_and_takes_over_in_v3_timing() {
    let delay = Duration::from_millis(1);
    let mut lan = pair(
        speaking(VersionMode::V2, 200, 1, cs(SECOND)),
        speaking(VersionMode::V2AndV3, 100, 2, cs(2 * SECOND)),
        delay,
    );
    // It follows the Master's rate, from the v2 seconds in centiseconds (RFC 9568 §8.4).
    assert_eq!(lan.router(1).status().master_adver_interval, cs(SECOND));
    lan.kill(0);
    lan.run_for(secs(10));
    let down = master_down_interval(100, cs(SECOND));
    assert_eq!(
        lan.transitions_to(1, State::Master),
        vec![(
            last_advert_time(&lan, 0) + delay + down,
            TransitionReason::MasterDownTimerExpired {
                master: Some(address(1)),
                silent_for: down,
            }
        )]
    );
}

#[test]
fn a_v2_only_backup_follows_a_2_plus_3_master_and_takes_over_when_it_dies() {
    let delay = Duration::from_millis(1);
    let interval = cs(SECOND);
    let mut lan = pair(
        speaking(VersionMode::V2AndV3, 200, 1, interval),
        speaking(VersionMode::V2, 100, 2, interval),
        delay,
    );
    // One SendAdvert, two adverts on the wire; the v2 one reaches the v2 Backup, which
    // follows it through its data plane.
    assert_eq!(lan.router(1).status().master_address, Some(address(1)));
    assert!(lan.dataplane_counts(1).0 > 0);
    lan.kill(0);
    lan.run_for(secs(10));
    let down = master_down_interval_for(VersionMode::V2, 100, interval);
    assert_eq!(
        lan.transitions_to(1, State::Master).first().map(|t| t.0),
        Some(last_advert_time(&lan, 0) + delay + down)
    );
    // And the way back: the restarted "2+3" router preempts the v2 Master it hears.
    let mut lan = pair(
        speaking(VersionMode::V2, 200, 1, interval),
        speaking(VersionMode::V2AndV3, 100, 2, interval),
        delay,
    );
    lan.run_for(secs(30));
    assert_eq!(lan.masters(), vec![0]);
    assert_eq!(lan.transitions_to(1, State::Master), vec![]);
}

#[test]
fn a_2_plus_3_router_follows_the_v3_adverts_of_a_router_that_sends_both() {
    let start = Instant::now();
    let mut router = VirtualRouter::new(speaking(VersionMode::V2AndV3, 100, 1, cs(SECOND)));
    router.handle_event(Event::Startup, start);
    // A peer whose VRRPv3 interval (1.5 s) is no whole number of seconds: its VRRPv2 advert
    // says 1 s. The VRRPv3 one is followed and the VRRPv2 one ignored, so nothing flaps.
    router.handle_event(Event::Advert(advert(2, 200, 150, AdvertVersion::V3)), start);
    router.handle_event(
        Event::Advert(advert(2, 200, SECOND, AdvertVersion::V2)),
        start,
    );
    drain(&mut router);
    let status = router.status();
    assert_eq!(status.master_address, Some(address(2)));
    assert_eq!(status.master_adver_interval, cs(150));
    // A v2-only router (never heard in VRRPv3) is followed by its VRRPv2 adverts.
    let later = start + Duration::from_millis(100);
    router.handle_event(
        Event::Advert(advert(3, 250, SECOND, AdvertVersion::V2)),
        later,
    );
    drain(&mut router);
    let status = router.status();
    assert_eq!(status.master_address, Some(address(3)));
    assert_eq!(status.master_adver_interval, cs(SECOND));
    // Once its VRRPv3 adverts stopped for a Master_Down_Interval, router 2's VRRPv2 ones count.
    let silent = later + secs(10);
    router.handle_event(
        Event::Advert(advert(2, 254, SECOND, AdvertVersion::V2)),
        silent,
    );
    drain(&mut router);
    assert_eq!(router.status().master_address, Some(address(2)));
}

proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config::with_cases(500))]

    /// A mixed group of VRRPv2 and "2+3" routers (all of which hear VRRPv2) elects the highest
    /// priority as its only Master, and when it dies the next one takes over exactly its
    /// Master_Down_Interval (in its own version's timing) after the Master's last advert. Above
    /// 1 s a lower-priority VRRPv2 Backup's shorter Skew_Time may make it Master first; the
    /// higher one preempts it at that same moment, which is what is checked.
    #[test]
    fn a_mixed_v2_and_2_plus_3_group_elects_and_fails_over_like_one_version(
        routers in proptest::collection::vec((1..=254_u8, proptest::bool::ANY), 2..=4),
        seconds in 1..=3_u16,
    ) {
        let mut priorities: Vec<u8> = routers.iter().map(|(priority, _)| *priority).collect();
        priorities.sort_unstable();
        priorities.dedup();
        proptest::prop_assume!(priorities.len() == routers.len());
        let interval = cs(seconds * SECOND);
        let delay = Duration::from_millis(1);
        let configs = routers
            .iter()
            .zip(1..)
            .map(|(&(priority, both), host)| {
                let version = if both { VersionMode::V2AndV3 } else { VersionMode::V2 };
                speaking(version, priority, host, interval)
            })
            .collect();
        let mut lan = Lan::new(configs, delay);
        for index in 0..routers.len() {
            lan.start(index);
        }
        lan.run_for(interval.as_duration() * 8);
        let highest = (0..routers.len()).max_by_key(|&index| routers[index].0).unwrap();
        proptest::prop_assert_eq!(lan.masters(), vec![highest]);
        let died = lan.now();
        lan.kill(highest);
        lan.run_for(interval.as_duration() * 8);
        let next = (0..routers.len())
            .filter(|&index| index != highest)
            .max_by_key(|&index| routers[index].0)
            .unwrap();
        proptest::prop_assert_eq!(lan.masters(), vec![next]);
        let config = lan.router(next).config().clone();
        let down = master_down_interval_for(config.version, config.priority, interval);
        let last = last_advert_time(&lan, highest);
        let (took_over, _) = lan.transitions_to(next, State::Master).last().cloned().unwrap();
        proptest::prop_assert!(took_over > died);
        proptest::prop_assert_eq!(took_over, last + delay + down);
    }
}

#[test]
fn a_reload_to_version_2_forgets_the_learned_interval() {
    let start = Instant::now();
    let config = speaking(VersionMode::V2AndV3, 100, 1, cs(SECOND));
    let mut router = VirtualRouter::new(config.clone());
    router.handle_event(Event::Startup, start);
    router.handle_event(
        Event::Advert(advert(2, 200, 3 * SECOND, AdvertVersion::V2)),
        start,
    );
    drain(&mut router);
    assert_eq!(router.status().master_adver_interval, cs(3 * SECOND));
    let v2 = RouterConfig {
        version: VersionMode::V2,
        ..config
    };
    router.handle_event(Event::ConfigChanged(v2), start);
    drain(&mut router);
    assert_eq!(router.status().master_adver_interval, cs(SECOND));
}
