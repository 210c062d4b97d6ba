//! Names of the BPF maps and programs, shared by `#[map(name = …)]` in the XDP program and the
//! loader's `ebpf.map(…)` lookups so the two cannot drift apart.

/// Name of the XDP program (what `bpftool prog show` lists).
pub const PROGRAM_NAME: &str = "xvrrp";

/// Per-CPU array of global `u64` counters indexed by [`crate::counters::Counter`].
pub const STATS_MAP: &str = "XVRRP_STATS";
