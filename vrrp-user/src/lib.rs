//! xvrrp: a VRRPv3 daemon with an XDP data plane. See docs/ARCHITECTURE.md for the design.

pub mod cli;
pub mod config;
pub mod daemon;
pub mod dataplane;
pub mod import;
pub mod net;
pub mod ops;
pub mod proto;
