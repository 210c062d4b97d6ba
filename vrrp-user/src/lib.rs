//! xvrrp: a VRRPv3 daemon with an XDP data plane. See docs/ARCHITECTURE.md for the design.

pub mod cli;
pub mod config;
pub mod dataplane;
pub mod proto;
pub mod net;
