//! The contract between xvrrp's XDP program and its daemon, and the VRRPv3 wire formats.
//!
//! Everything here is `no_std` and allocation-free so the same definitions compile into the eBPF
//! object and into userspace. See `docs/ARCHITECTURE.md` for the map and counter tables.
#![no_std]

pub mod advert;
pub mod checksum;
pub mod consts;
pub mod counters;
pub mod event;
pub mod frames;
pub mod maps;
pub mod router_advert;
pub mod wire;
