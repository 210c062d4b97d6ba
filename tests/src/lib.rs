//! Harness for xvrrp's root-only integration tests: network namespaces, a bridged lab topology,
//! privilege checks and bounded waits. Everything created here is removed on drop, also when a
//! test panics.

pub mod advert_gaps;
pub mod bad_adverts;
pub mod capture;
pub mod cpu;
pub mod cpu_load;
pub mod daemon;
pub mod differential;
pub mod failover;
pub mod frame_generator;
pub mod frames;
pub mod keepalived;
pub mod lab;
pub mod netns;
pub mod nft;
pub mod os_call;
pub mod pair;
pub mod privilege;
pub mod router;
pub mod scale;
pub mod soak;
pub mod spread;
pub mod turn;
pub mod vrrp;
pub mod wait;
pub mod xdp;
