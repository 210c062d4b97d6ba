//! Wall-clock time for event records and `--since`: Unix milliseconds, shown as RFC 3339 UTC.
//! Integer civil-date arithmetic (H. Hinnant's `days_from_civil`), so no date crate is needed
//! for two conversions.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Now, in Unix milliseconds (0 if the clock is before 1970).
pub fn unix_ms_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
        })
}

/// `2026-12-01T22:10:15.123Z`.
pub fn format_rfc3339(unix_ms: u64) -> String {
    let (days, ms_of_day) = (unix_ms / 86_400_000, unix_ms % 86_400_000);
    let (year, month, day) = civil_from_days(i64::try_from(days).unwrap_or(i64::MAX));
    let seconds = ms_of_day / 1000;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        seconds / 3600,
        (seconds / 60) % 60,
        seconds % 60,
        ms_of_day % 1000
    )
}

/// Why a `--since` value is not understood.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "--since {0:?}: expected a duration ago (90s, 15m, 2h, 7d) or a UTC time \
     (2026-12-01T22:10:15Z)"
)]
pub struct SinceError(String);

/// `--since`: a duration ago (`90s`, `15m`, `2h`, `7d`) or an RFC 3339 UTC time
/// (`2026-12-01T22:10:15Z`, fraction optional), as Unix milliseconds.
pub fn parse_since(text: &str, now_ms: u64) -> Result<u64, SinceError> {
    let error = || SinceError(text.to_owned());
    if let Some(ago) = parse_ago(text) {
        let ms = u64::try_from(ago.as_millis()).unwrap_or(u64::MAX);
        return Ok(now_ms.saturating_sub(ms));
    }
    parse_rfc3339_utc(text).ok_or_else(error)
}

fn parse_ago(text: &str) -> Option<Duration> {
    let unit_at = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(unit_at);
    let value: u64 = number.parse().ok()?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return None,
    };
    Some(Duration::from_secs(value.checked_mul(seconds)?))
}

fn parse_rfc3339_utc(text: &str) -> Option<u64> {
    let text = text.strip_suffix('Z')?;
    let (date, time) = text.split_once('T')?;
    let mut date_parts = date.splitn(3, '-').map(str::parse::<u32>);
    let (year, month, day) = (
        date_parts.next()?.ok()?,
        date_parts.next()?.ok()?,
        date_parts.next()?.ok()?,
    );
    let (clock, fraction) = time.split_once('.').unwrap_or((time, ""));
    let mut clock_parts = clock.splitn(3, ':').map(str::parse::<u64>);
    let (hour, minute, second) = (
        clock_parts.next()?.ok()?,
        clock_parts.next()?.ok()?,
        clock_parts.next()?.ok()?,
    );
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    if second > 60 || !fraction.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let millis: u64 = format!("{fraction:0<3}").get(..3)?.parse().ok()?;
    let days = u64::try_from(days_from_civil(i64::from(year), month, day)).ok()?;
    Some(((days * 86_400 + hour * 3600 + minute * 60 + second) * 1000) + millis)
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year =
        (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date of day `days` since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = u32::try_from(day_of_year - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let month = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_through_rfc3339() {
        // 2026-12-01T22:10:15.123Z, and a leap day.
        assert_eq!(
            format_rfc3339(1_796_163_015_123),
            "2026-12-01T22:10:15.123Z"
        );
        assert_eq!(format_rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
        for ms in [0, 951_782_400_000, 1_796_163_015_123, 4_102_444_799_999] {
            assert_eq!(parse_since(&format_rfc3339(ms), 0), Ok(ms));
        }
        assert_eq!(
            parse_since("2026-12-01T22:10:15Z", 0),
            Ok(1_796_163_015_000)
        );
    }

    #[test]
    fn since_takes_durations_ago_and_rejects_the_rest() {
        assert_eq!(parse_since("90s", 100_000), Ok(10_000));
        assert_eq!(parse_since("15m", 1_000_000), Ok(100_000));
        assert_eq!(parse_since("2h", 0), Ok(0));
        assert_eq!(parse_since("7d", 604_800_000), Ok(0));
        for bad in [
            "",
            "15",
            "m",
            "15x",
            "-1s",
            "2026-13-01T00:00:00Z",
            "yesterday",
        ] {
            assert!(parse_since(bad, 0).is_err(), "{bad:?} accepted");
        }
    }
}
