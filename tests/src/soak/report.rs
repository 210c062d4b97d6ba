//! What a soak saw: faults per kind, checks, breaks with their evidence, worst outages.

use std::{collections::BTreeMap, fmt, time::Duration};

use super::faults::FaultKind;
use crate::failover::millis;

/// A check that failed after its bound: the soak's finding.
pub struct Break {
    /// The fault it followed (`r2 SIGSTOP until checked`).
    pub fault: String,
    /// Since the soak started.
    pub at: Duration,
    /// `during` the fault or `after` it healed.
    pub phase: &'static str,
    /// What was wrong.
    pub problems: Vec<String>,
    /// The daemons' recent log lines, the routers' addresses, the switch's virtual MACs.
    pub logs: String,
}

/// The soak's result.
pub struct Report {
    /// The seed that replays it (`--seed`).
    pub seed: u64,
    /// How long the faults ran.
    pub duration: Duration,
    /// Faults injected per kind.
    pub injected: BTreeMap<FaultKind, usize>,
    /// Checks made (each polls every router until consistent or its bound).
    pub checks: usize,
    /// Checks that failed.
    pub breaks: Vec<Break>,
    /// Per kind, the longest gap in replies the hosts' 1 ms probers saw around a fault.
    pub worst_outage: BTreeMap<FaultKind, Duration>,
}

impl Report {
    pub(super) fn new(seed: u64) -> Self {
        Self {
            seed,
            duration: Duration::ZERO,
            injected: BTreeMap::new(),
            checks: 0,
            breaks: Vec::new(),
            worst_outage: BTreeMap::new(),
        }
    }

    /// Counts a fault of `kind` whose probers' longest gap was `gap`.
    pub(super) fn record(&mut self, kind: FaultKind, gap: Duration) {
        *self.injected.entry(kind).or_default() += 1;
        let worst = self.worst_outage.entry(kind).or_default();
        *worst = (*worst).max(gap);
    }

    /// The kinds never injected (a soak that missed one proved nothing about it).
    pub fn missing_kinds(&self) -> Vec<FaultKind> {
        FaultKind::ALL
            .into_iter()
            .filter(|kind| !self.injected.contains_key(kind))
            .collect()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "soak report: seed {}, {} s of faults, {} checks, {} breaks",
            self.seed,
            self.duration.as_secs(),
            self.checks,
            self.breaks.len()
        )?;
        writeln!(f, "| fault | injected | worst outage |")?;
        writeln!(f, "| --- | ---: | ---: |")?;
        for kind in FaultKind::ALL {
            writeln!(
                f,
                "| {} | {} | {} |",
                kind.label(),
                self.injected.get(&kind).copied().unwrap_or(0),
                self.worst_outage
                    .get(&kind)
                    .map_or("-".to_owned(), |gap| millis(*gap))
            )?;
        }
        for found in &self.breaks {
            writeln!(
                f,
                "\nBREAK at {} s, {} {}:",
                found.at.as_secs(),
                found.phase,
                found.fault
            )?;
            for problem in &found.problems {
                writeln!(f, "  - {problem}")?;
            }
            writeln!(f, "{}", found.logs)?;
        }
        Ok(())
    }
}
