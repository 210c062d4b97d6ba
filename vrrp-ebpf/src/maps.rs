//! The BPF maps. Static names are the map names the loader looks up: they must equal the
//! constants in `vrrp_common::maps` (the namespace tests look every map up by those constants).

use aya_ebpf::{macros::map, maps::PerCpuArray};
use vrrp_common::counters::Counter;

/// Global counters, one `u64` per [`Counter`] per CPU (`vrrp_common::maps::STATS_MAP`).
#[map]
pub(crate) static XVRRP_STATS: PerCpuArray<u64> = PerCpuArray::with_max_entries(Counter::COUNT, 0);
