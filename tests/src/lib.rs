//! Harness for xvrrp's root-only integration tests: network namespaces, a bridged lab topology,
//! privilege checks and bounded waits. Everything created here is removed on drop, also when a
//! test panics.

pub mod bad_adverts;
pub mod capture;
pub mod daemon;
pub mod differential;
pub mod failover;
pub mod frames;
pub mod keepalived;
pub mod lab;
pub mod netns;
pub mod privilege;
pub mod router;
pub mod scale;
pub mod vrrp;
pub mod wait;
pub mod xdp;
