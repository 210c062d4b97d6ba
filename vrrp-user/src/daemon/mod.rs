//! The `xvrrp run` runtime: one tokio task that owns the clock, signals, netlink, the packet
//! sockets and the data planes, and drives one [`VirtualRouter`](crate::proto::VirtualRouter)
//! per configured instance.
//!
//! Each loop turn waits for the earliest of: a state-machine deadline, the data-plane heartbeat
//! tick (both on one timerfd, `deadline_timer`), an advert punted by XDP, a link or address
//! change, a signal, or a due retry; feeds the state machines, reading the clock at each event (never before a slow step such as netlink or
//! loading XDP); and performs their actions in order (see `proto` for the call contract).
//! Configurations are applied in `reload`, instances come and go with their interfaces in
//! `lifecycle` and `links`, operators' commands arrive in `commands`.

pub mod capabilities;
mod clock;
pub mod commands;
mod deadline_timer;
mod divergence;
pub mod events;
mod handoff;
mod handover;
mod instance;
mod interface;
mod lifecycle;
mod links;
mod rate_limit;
pub mod realtime;
mod reload;
mod resume;
pub(crate) mod retry;
mod router_adverts;
mod runtime;
mod schedule;
mod screening;
mod snapshot;
mod stamps;
mod vips;

pub use handover::{Stop, exec_successor};
pub(crate) use interface::contract_family;
pub use runtime::{RunOptions, run};
