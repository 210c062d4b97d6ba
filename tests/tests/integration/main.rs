//! Root-only integration tests on the real kernel, each in its own network namespaces.
//! One binary (`cargo xtask test` runs it); each module is a suite.

mod advert_filters;
mod daemon;
mod divergence;
mod drills;
mod handoff;
mod hardening;
mod interop_keepalived;
mod operations;
mod scale;
mod xdp_attach;
mod xdp_differential;
mod xdp_verdicts;
mod xdp_vip;
