//! Deterministic simulation tests of the VRRPv3 state machine: one named test per RFC 9568 §6
//! transition with exact virtual times, and randomized LAN properties.

#[path = "sim/commands.rs"]
mod commands;
#[path = "sim/lan.rs"]
mod lan;
#[path = "sim/properties.rs"]
mod properties;
#[path = "sim/transitions.rs"]
mod transitions;
#[path = "sim/versions.rs"]
mod versions;
