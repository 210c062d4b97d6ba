//! Median and range of a benchmark's repeated measurements, the way every table reports them.

use std::fmt;

/// Median, minimum and maximum of a series.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spread {
    /// The middle value (the upper one of the two middles for an even count).
    pub median: f64,
    /// The smallest value.
    pub min: f64,
    /// The largest value.
    pub max: f64,
}

impl Spread {
    /// The spread of `values`; panics on an empty series (a benchmark bug).
    pub fn of(values: &[f64]) -> Self {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        Self {
            median: sorted[sorted.len() / 2],
            min: *sorted.first().expect("at least one measurement"),
            max: *sorted.last().expect("at least one measurement"),
        }
    }

    /// Every value multiplied by `factor` (a change of unit).
    #[expect(clippy::float_arithmetic, reason = "unit conversion for reporting")]
    pub fn scaled(self, factor: f64) -> Self {
        Self {
            median: self.median * factor,
            min: self.min * factor,
            max: self.max * factor,
        }
    }
}

/// `median (min–max)`, with the formatter's precision (`{:.2}`).
impl fmt::Display for Spread {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = out.precision().unwrap_or(2);
        write!(
            out,
            "{:.digits$} ({:.digits$}–{:.digits$})",
            self.median, self.min, self.max
        )
    }
}

#[cfg(test)]
mod tests {
    use super::Spread;

    #[test]
    fn median_and_range_of_an_unsorted_series() {
        let spread = Spread::of(&[3.0, 1.0, 2.0, 10.0, 0.5]);
        assert_eq!(
            spread,
            Spread {
                median: 2.0,
                min: 0.5,
                max: 10.0
            }
        );
        assert_eq!(format!("{spread:.1}"), "2.0 (0.5–10.0)");
    }
}
