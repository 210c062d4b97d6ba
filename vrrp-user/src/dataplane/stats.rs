//! Per-CPU counters summed for export.

use aya::{Ebpf, maps::PerCpuArray};
use vrrp_common::{counters::Counter, maps::STATS_MAP};

use super::DataplaneError;

/// Counter values summed over CPUs, in [`Counter`] index order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CounterValues(Vec<u64>);

impl CounterValues {
    /// The value of one counter.
    pub fn get(&self, counter: Counter) -> u64 {
        self.0.get(counter as usize).copied().unwrap_or(0)
    }

    /// `(name, value)` pairs for export.
    pub fn named(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        Counter::ALL
            .iter()
            .map(|counter| (counter.name(), self.get(*counter)))
    }
}

pub(super) fn read(ebpf: &Ebpf, ifname: &str) -> Result<CounterValues, DataplaneError> {
    let map = ebpf
        .map(STATS_MAP)
        .ok_or(DataplaneError::MapMissing { map: STATS_MAP })?;
    let array = PerCpuArray::<_, u64>::try_from(map)
        .map_err(|source| DataplaneError::map(ifname, "open", STATS_MAP, source))?;
    Counter::ALL
        .iter()
        .map(|counter| {
            array
                .get(&(*counter as u32), 0)
                .map(|per_cpu| per_cpu.iter().sum())
                .map_err(|source| DataplaneError::map(ifname, "read", STATS_MAP, source))
        })
        .collect::<Result<Vec<u64>, _>>()
        .map(CounterValues)
}
