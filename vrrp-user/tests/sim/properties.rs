//! Randomized LAN properties (RFC 9568 §6): convergence to the right single Master, no
//! preemption with Preempt_Mode False, takeover exactly Master_Down_Interval (or Skew_Time)
//! after the Master went away, no takeover from a live Master whatever foreign adverts arrive.
//! The LAN itself asserts that no Backup ever advertises.

use std::net::IpAddr;
use std::time::Duration;

use proptest::prelude::*;
use vrrp_user::proto::{
    AdvertVersion, Centiseconds, ReceivedAdvert, State, master_down_interval, skew_time,
};

use crate::lan::{Lan, VIRTUAL_ADDRESS, cs, router_config};

const CASES: u32 = 10_000;

/// A chaos step; router indices are reduced modulo the LAN size.
#[derive(Debug, Clone)]
enum Op {
    Start(usize),
    Stop(usize),
    Kill(usize),
    SetPriority(usize, u8),
    Partition(usize, u8),
    /// Let virtual time pass, in quarters of the advertisement interval.
    Wait(u16),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..4_usize).prop_map(Op::Start),
        1 => (0..4_usize).prop_map(Op::Stop),
        1 => (0..4_usize).prop_map(Op::Kill),
        1 => (0..4_usize, 1..=254_u8).prop_map(|(index, priority)| Op::SetPriority(index, priority)),
        1 => (0..4_usize, 0..3_u8).prop_map(|(index, partition)| Op::Partition(index, partition)),
        3 => (0..=20_u16).prop_map(Op::Wait),
    ]
}

fn interval() -> impl Strategy<Value = Centiseconds> {
    prop_oneof![Just(cs(1)), Just(cs(10)), Just(cs(100))]
}

/// Priorities for 2..=4 routers; router 0 is sometimes the address owner.
fn priorities() -> impl Strategy<Value = Vec<u8>> {
    (prop::collection::vec(1..=254_u8, 2..=4), any::<bool>()).prop_map(|(mut priorities, owner)| {
        if owner {
            priorities[0] = 255;
        }
        priorities
    })
}

fn lan_of(priorities: &[u8], interval: Centiseconds, preempt: bool, delay: Duration) -> Lan {
    let configs = priorities
        .iter()
        .zip(1..)
        .map(|(&priority, host)| {
            let mut config = router_config(priority, host, interval);
            config.preempt = preempt;
            config
        })
        .collect();
    Lan::new(configs, delay)
}

/// "Master_Down_Interval plus one interval": enough for any Backup timer running at `now` to
/// fire and its first advert to reach everyone.
fn settle_time(interval: Centiseconds, delay: Duration) -> Duration {
    master_down_interval(1, interval) + interval.as_duration() + delay * 2
}

fn quarter_intervals(interval: Centiseconds, quarters: u16) -> Duration {
    interval.as_duration() * u32::from(quarters) / 4
}

/// Starts every router at a different offset within the first interval and lets them settle.
fn converge(lan: &mut Lan, offsets: &[u16], interval: Centiseconds, delay: Duration) {
    for (index, &offset) in offsets.iter().enumerate().take(lan.len()) {
        lan.run_until(quarter_intervals(interval, offset % 4));
        lan.start(index);
    }
    lan.run_for(settle_time(interval, delay));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    /// After any start/stop/kill, tracking and partition history, once healed for
    /// Master_Down_Interval plus one interval, exactly one live router is Master and it has the
    /// highest effective priority (among equals the RFC keeps whoever is Master).
    #[test]
    fn healed_lan_elects_highest_priority(
        priorities in priorities(),
        interval in interval(),
        delay_ms in 0..=3_u64,
        loss_per_mille in 0..=300_u16,
        seed in any::<u64>(),
        ops in prop::collection::vec(op(), 0..16),
    ) {
        let delay = Duration::from_millis(delay_ms);
        let mut lan = lan_of(&priorities, interval, true, delay);
        lan.set_loss(loss_per_mille, seed);
        let mut running = vec![false; lan.len()];
        for op in ops {
            match op {
                Op::Start(index) => {
                    let index = index % lan.len();
                    lan.start(index);
                    running[index] = true;
                }
                Op::Stop(index) => {
                    let index = index % lan.len();
                    lan.stop(index);
                    running[index] = false;
                }
                Op::Kill(index) => {
                    let index = index % lan.len();
                    lan.kill(index);
                    running[index] = false;
                }
                Op::SetPriority(index, priority) => lan.set_priority(index % lan.len(), priority),
                Op::Partition(index, partition) => lan.set_partition(index % lan.len(), partition),
                Op::Wait(quarters) => lan.run_for(quarter_intervals(interval, quarters)),
            }
        }
        lan.heal();
        lan.set_loss(0, seed);
        lan.run_for(settle_time(interval, delay));

        let masters = lan.masters();
        let live: Vec<usize> = (0..lan.len()).filter(|&index| running[index]).collect();
        if live.is_empty() {
            prop_assert!(masters.is_empty(), "masters {:?} with no router running", masters);
        } else {
            prop_assert_eq!(masters.len(), 1, "masters {:?}", masters);
            let highest = live.iter().map(|&index| lan.router(index).status().priority).max();
            prop_assert_eq!(Some(lan.router(masters[0]).status().priority), highest);
            for &index in &live {
                prop_assert_ne!(lan.state(index), State::Initialize);
            }
        }
    }

    /// Preempt_Mode False: a higher-priority router joining a converged LAN stays Backup.
    #[test]
    fn preempt_off_keeps_running_master(
        priorities in prop::collection::vec(1..=253_u8, 1..=3),
        offsets in prop::collection::vec(0..4_u16, 4),
        interval in interval(),
        delay_ms in 0..=3_u64,
        join_quarters in 0..=8_u16,
    ) {
        let delay = Duration::from_millis(delay_ms);
        let mut all = priorities;
        all.push(254);
        let newcomer = all.len() - 1;
        let mut lan = lan_of(&all, interval, false, delay);
        converge(&mut lan, &offsets[..newcomer], interval, delay);
        let masters = lan.masters();
        prop_assert_eq!(masters.len(), 1);
        lan.run_for(quarter_intervals(interval, join_quarters));
        lan.start(newcomer);
        lan.run_for(master_down_interval(254, interval) * 5);
        prop_assert_eq!(lan.masters(), masters);
        prop_assert!(lan.adverts_sent_by(newcomer).is_empty());
    }

    /// The Backup that takes over after the Master goes away is the highest-priority one, and
    /// it does so exactly Master_Down_Interval after the Master's last advert arrived (killed),
    /// or Skew_Time after its priority-0 advert arrived (stopped).
    #[test]
    fn backup_takes_over_within_master_down_interval(
        priorities in prop::collection::vec(1..=254_u8, 2..=4),
        offsets in prop::collection::vec(0..4_u16, 4),
        interval in interval(),
        delay_ms in 0..=3_u64,
        preempt in any::<bool>(),
        graceful in any::<bool>(),
        gone_quarters in 0..=8_u16,
    ) {
        let delay = Duration::from_millis(delay_ms);
        let mut lan = lan_of(&priorities, interval, preempt, delay);
        converge(&mut lan, &offsets, interval, delay);
        let masters = lan.masters();
        prop_assert_eq!(masters.len(), 1);
        let old = masters[0];
        lan.run_for(quarter_intervals(interval, gone_quarters));
        let gone_at = lan.now();
        if graceful { lan.stop(old) } else { lan.kill(old) }
        lan.run_for(settle_time(interval, delay));

        let remaining: Vec<usize> = (0..lan.len()).filter(|&index| index != old).collect();
        let highest = remaining.iter().map(|&index| priorities[index]).max().expect("two routers");
        let takeover = remaining
            .iter()
            .filter_map(|&index| {
                lan.transitions_to(index, State::Master)
                    .into_iter()
                    .map(|(at, _)| at)
                    .find(|at| *at >= gone_at)
                    .map(|at| (at, index))
            })
            .min();
        let (taken_at, successor) = takeover.expect("a Backup took over");
        prop_assert_eq!(priorities[successor], highest);
        let last_heard = lan.adverts_sent_by(old).last().expect("Master advertised").0 + delay;
        let expected = if graceful {
            last_heard + skew_time(highest, interval)
        } else {
            last_heard + master_down_interval(highest, interval)
        };
        prop_assert_eq!(taken_at, expected);
        prop_assert_eq!(lan.masters().len(), 1);
    }

    /// A live, connected Master keeps its role whatever lower-priority adverts from other
    /// sources the routers hear at random times (another cluster on the same VRID, a
    /// lower-priority peer under Preempt_Mode): no Backup ever becomes Master.
    #[test]
    fn foreign_adverts_never_unseat_a_live_master(
        priorities in prop::collection::vec(2..=254_u8, 2..=4),
        offsets in prop::collection::vec(0..4_u16, 4),
        interval in interval(),
        delay_ms in 0..=3_u64,
        preempt in any::<bool>(),
        injections in prop::collection::vec(
            (0..4_usize, 0..=16_u16, 200..=250_u8, any::<u8>()),
            1..24,
        ),
    ) {
        let delay = Duration::from_millis(delay_ms);
        let mut lan = lan_of(&priorities, interval, preempt, delay);
        converge(&mut lan, &offsets, interval, delay);
        let masters = lan.masters();
        prop_assert_eq!(masters.len(), 1);
        let converged_at = lan.now();
        for (router, quarters, host, priority_seed) in injections {
            let router = router % lan.len();
            lan.run_for(quarter_intervals(interval, quarters));
            // Lower than the receiver's priority, so no rule lets it displace anyone; the same
            // interval, so a Backup without Preempt_Mode that accepts it keeps its timing.
            let own = priorities[router];
            let advert = ReceivedAdvert {
                source: IpAddr::from([192, 0, 2, host]),
                priority: 1 + priority_seed % (own - 1),
                max_advert_interval: interval,
                addresses: vec![VIRTUAL_ADDRESS],
                version: AdvertVersion::V3,
            };
            lan.inject(router, advert);
        }
        lan.run_for(settle_time(interval, delay));
        for index in (0..lan.len()).filter(|index| !masters.contains(index)) {
            let takeovers: Vec<Duration> = lan
                .transitions_to(index, State::Master)
                .into_iter()
                .map(|(at, _)| at)
                .filter(|at| *at >= converged_at)
                .collect();
            prop_assert!(takeovers.is_empty(), "router {} took over at {:?}", index, takeovers);
        }
        prop_assert_eq!(lan.masters(), masters);
    }
}
