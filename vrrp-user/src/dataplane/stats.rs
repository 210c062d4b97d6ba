//! Per-CPU counters summed for export: global, and per virtual router.

use aya::maps::PerCpuArray;
use vrrp_common::{
    counters::{Counter, InstanceCounters},
    maps::{AddressFamily, INSTANCE_STATS_MAP, InstanceKey, STATS_MAP},
};

use super::{Dataplane, DataplaneError};

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

impl Dataplane {
    /// Global counters summed over all CPUs.
    pub fn counters(&self) -> Result<CounterValues, DataplaneError> {
        Counter::ALL
            .iter()
            .map(|counter| self.counter(*counter))
            .collect::<Result<Vec<u64>, _>>()
            .map(CounterValues)
    }

    /// One global counter summed over all CPUs (one map read).
    pub fn counter(&self, counter: Counter) -> Result<u64, DataplaneError> {
        let map = self.maps.get(STATS_MAP)?;
        let array = PerCpuArray::<_, u64>::try_from(map)
            .map_err(|source| DataplaneError::map(&self.ifname, "open", STATS_MAP, source))?;
        array
            .get(&(counter as u32), 0)
            .map(|per_cpu| per_cpu.iter().sum())
            .map_err(|source| DataplaneError::map(&self.ifname, "read", STATS_MAP, source))
    }

    /// Counters of virtual router (`family`, `vrid`) summed over all CPUs.
    pub fn instance_counters(
        &self,
        family: AddressFamily,
        vrid: u8,
    ) -> Result<CounterValues, DataplaneError> {
        let key: InstanceKey = self.instance_key(family, vrid);
        let map = self.maps.get(INSTANCE_STATS_MAP)?;
        let stats = PerCpuArray::<_, InstanceCounters>::try_from(map).map_err(|source| {
            DataplaneError::map(&self.ifname, "open", INSTANCE_STATS_MAP, source)
        })?;
        let per_cpu = stats.get(&key.slot(), 0).map_err(|source| {
            DataplaneError::map(&self.ifname, "read", INSTANCE_STATS_MAP, source)
        })?;
        let mut sums = vec![0u64; Counter::COUNT as usize];
        for record in per_cpu.iter() {
            for (sum, value) in sums.iter_mut().zip(record.by_counter) {
                *sum += value;
            }
        }
        Ok(CounterValues(sums))
    }
}
