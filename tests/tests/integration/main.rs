//! Root-only integration tests on the real kernel, each in its own network namespaces.
//! One binary (`cargo xtask test` runs it); each module is a suite.

mod advert_filters;
mod daemon;
mod divergence;
mod drills;
mod handoff;
mod hardening;
mod interop_keepalived;
mod interop_keepalived_v2;
mod malformed_adverts;
mod operations;
mod restart;
mod router_advert;
mod scale;
mod soak;
mod unicast;
mod xdp_attach;
mod xdp_differential;
mod xdp_verdicts;
mod xdp_vip;
