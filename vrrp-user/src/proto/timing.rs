//! VRRP timer arithmetic: the advertisement interval type, Skew_Time and Master_Down_Interval
//! of VRRPv3 (RFC 9568 §6.1) and of VRRPv2 (RFC 3768 §6.1), chosen by [`VersionMode`].
//!
//! All math is integer. The RFC states the formulas in centiseconds; evaluating them in whole
//! centiseconds would round Skew_Time for priority 254 at a 1 s interval (0.78 cs) down to 0 and
//! erase the priority ordering between Backups at short intervals. So the formulas are evaluated
//! exactly in integers over the centisecond inputs and the result is **truncated to whole
//! microseconds** (error < 1 µs, always rounding down).

use std::fmt;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use thiserror::Error;
use vrrp_common::advert::VersionMode;

/// Microseconds in one centisecond, the unit of the wire's Max Adver Int field.
const MICROS_PER_CENTISECOND: u64 = 10_000;

/// An advertisement interval in centiseconds, `1..=4095` (RFC 9568 §5.2.7: a 12-bit field, and
/// erratum 8301: zero is invalid).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u16", into = "u16")]
pub struct Centiseconds(u16);

/// A value outside the advertisement interval range `1..=4095` centiseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("advertisement interval {value} cs is outside 1..=4095 cs")]
pub struct IntervalOutOfRange {
    /// The rejected value in centiseconds.
    pub value: u16,
}

impl Centiseconds {
    /// The smallest interval, 10 ms.
    pub const MIN: Self = Self(1);
    /// The largest interval the 12-bit field holds, 40.95 s.
    pub const MAX: Self = Self(4095);
    /// The RFC default Advertisement_Interval, 1 s.
    pub const DEFAULT: Self = Self(100);

    /// Checks the range `1..=4095`.
    pub const fn new(value: u16) -> Result<Self, IntervalOutOfRange> {
        if value >= Self::MIN.0 && value <= Self::MAX.0 {
            Ok(Self(value))
        } else {
            Err(IntervalOutOfRange { value })
        }
    }

    /// The raw centisecond count, as carried in the Max Adver Int field.
    pub const fn get(self) -> u16 {
        self.0
    }

    /// The interval as a `Duration` (exact).
    pub const fn as_duration(self) -> Duration {
        Duration::from_millis(self.0 as u64 * 10)
    }
}

impl TryFrom<u16> for Centiseconds {
    type Error = IntervalOutOfRange;

    fn try_from(value: u16) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<Centiseconds> for u16 {
    fn from(value: Centiseconds) -> Self {
        value.0
    }
}

impl fmt::Display for Centiseconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} cs", self.0)
    }
}

/// Skew_Time = ((256 - Priority) * Master_Adver_Interval) / 256 (RFC 9568 §6.1), truncated to
/// whole microseconds.
pub fn skew_time(priority: u8, master_adver_interval: Centiseconds) -> Duration {
    let weight = 256 - u64::from(priority);
    let micros = weight * u64::from(master_adver_interval.get()) * MICROS_PER_CENTISECOND / 256;
    Duration::from_micros(micros)
}

/// Master_Down_Interval = 3 * Master_Adver_Interval + Skew_Time (RFC 9568 §6.1).
pub fn master_down_interval(priority: u8, master_adver_interval: Centiseconds) -> Duration {
    master_adver_interval.as_duration() * 3 + skew_time(priority, master_adver_interval)
}

/// VRRPv2's Skew_Time = (256 - Priority) / 256 seconds (RFC 3768 §6.1): independent of the
/// interval, truncated to whole microseconds.
pub fn skew_time_v2(priority: u8) -> Duration {
    let weight = 256 - u64::from(priority);
    Duration::from_micros(weight * 1_000_000 / 256)
}

/// Skew_Time of a router speaking `versions`: VRRPv2's for `version = 2`, VRRPv3's otherwise
/// (a `"2+3"` router follows the Master's rate, RFC 9568 §8.4, and times out as VRRPv3).
pub fn skew_time_for(
    versions: VersionMode,
    priority: u8,
    master_adver_interval: Centiseconds,
) -> Duration {
    match versions {
        VersionMode::V2 => skew_time_v2(priority),
        VersionMode::V3 | VersionMode::V2AndV3 => skew_time(priority, master_adver_interval),
    }
}

/// Master_Down_Interval = 3 * Advertisement_Interval + Skew_Time for a router speaking
/// `versions` (RFC 3768 §6.1 with VRRPv2's Skew_Time, RFC 9568 §6.1 otherwise).
pub fn master_down_interval_for(
    versions: VersionMode,
    priority: u8,
    master_adver_interval: Centiseconds,
) -> Duration {
    master_adver_interval.as_duration() * 3
        + skew_time_for(versions, priority, master_adver_interval)
}

/// The receive time a driver that handles an advert late at `now` feeds for it: the advert's
/// own `received`, but never more than one advert interval before `now`. While the advert
/// waited (the daemon was busy, e.g. a storm of 255 transitions), the data plane could not
/// absorb and stamp the adverts that followed it: they wait in the ring behind it or, in an
/// overflow, are lost. The instance hears the Master again only once this advert's record is
/// written, so the Master_Down_Timer it starts leaves the Master its usual two more intervals
/// plus Skew_Time from then on: the daemon's own delay never counts as the Master's silence.
/// A Backup handling adverts within an interval of their arrival is unaffected.
pub fn late_receive_time(
    received: Instant,
    now: Instant,
    advert_interval: Centiseconds,
) -> Instant {
    now.checked_sub(advert_interval.as_duration())
        .map_or(received, |earliest| received.max(earliest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_late_advert_leaves_the_master_its_usual_two_more_intervals() {
        let received = Instant::now();
        let interval = cs(1);
        let down = master_down_interval(100, interval);
        // On time (within an interval): its own receive time.
        let prompt = received + Duration::from_millis(9);
        assert_eq!(late_receive_time(received, prompt, interval), received);
        // 30 ms late at 10 ms adverts (seen in a 255-VRID storm): the timer ends
        // Master_Down_Interval minus one interval after now, not one interval after now.
        let late = received + Duration::from_millis(30);
        let fed = late_receive_time(received, late, interval);
        assert_eq!(fed + down, late + down - interval.as_duration());
        assert!(fed + down > late + interval.as_duration() * 2);
    }

    fn cs(value: u16) -> Centiseconds {
        Centiseconds::new(value).expect("valid interval")
    }

    #[test]
    fn interval_range_is_enforced() {
        assert_eq!(Centiseconds::new(0), Err(IntervalOutOfRange { value: 0 }));
        assert_eq!(
            Centiseconds::new(4096),
            Err(IntervalOutOfRange { value: 4096 })
        );
        assert_eq!(Centiseconds::new(4095).map(Centiseconds::get), Ok(4095));
        assert_eq!(cs(1).as_duration(), Duration::from_millis(10));
    }

    #[test]
    fn interval_serde_rejects_out_of_range() {
        assert!(serde_json::from_str::<Centiseconds>("0").is_err());
        assert_eq!(
            serde_json::from_str::<Centiseconds>("100").ok(),
            Some(cs(100))
        );
    }

    #[test]
    fn skew_time_matches_rfc_examples() {
        // Priority 100 at 1 s: 156 * 100 / 256 cs = 60.9375 cs = 609.375 ms, truncated to µs.
        assert_eq!(skew_time(100, cs(100)), Duration::from_micros(609_375));
        // Priority 254 at 1 s is 7.8125 ms: not rounded away to zero.
        assert_eq!(skew_time(254, cs(100)), Duration::from_micros(7_812));
        // The owner's skew is the smallest: 1/256 of the interval.
        assert_eq!(skew_time(255, cs(256)), Duration::from_millis(10));
        assert_eq!(skew_time(0, cs(4095)), Duration::from_millis(40_950));
    }

    #[test]
    fn master_down_interval_is_three_intervals_plus_skew() {
        assert_eq!(
            master_down_interval(100, cs(100)),
            Duration::from_micros(3_609_375)
        );
        assert_eq!(
            master_down_interval(200, cs(1)),
            Duration::from_micros(32_187)
        );
    }

    #[test]
    fn version_2_skew_is_a_fraction_of_a_second_whatever_the_interval() {
        // RFC 3768 §6.1: priority 100 gives 156/256 s; at 1 s both versions agree.
        assert_eq!(skew_time_v2(100), Duration::from_micros(609_375));
        assert_eq!(skew_time_v2(100), skew_time(100, cs(100)));
        assert_eq!(skew_time_v2(255), Duration::from_micros(3_906));
        // At 3 s VRRPv3 triples the skew; VRRPv2 does not.
        let v2 = master_down_interval_for(VersionMode::V2, 100, cs(300));
        assert_eq!(v2, Duration::from_micros(9_609_375));
        let v3 = master_down_interval_for(VersionMode::V2AndV3, 100, cs(300));
        assert_eq!(v3, master_down_interval(100, cs(300)));
        assert_eq!(v3, Duration::from_micros(10_828_125));
    }

    #[test]
    fn higher_priority_has_shorter_master_down_interval() {
        for interval in [1, 10, 100, 4095] {
            for priority in 1..=254_u8 {
                assert!(
                    master_down_interval(priority + 1, cs(interval))
                        <= master_down_interval(priority, cs(interval))
                );
            }
        }
    }
}
