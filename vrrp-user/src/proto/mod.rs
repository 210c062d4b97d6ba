//! The sans-IO VRRPv3 state machine (RFC 5798 as obsoleted by RFC 9568, §6).
//!
//! # Contract
//!
//! **No IO, no clock.** Nothing here reads the time, touches a socket or logs. Time comes in as
//! the `now: Instant` argument and is used only for deadline arithmetic; effects go out as
//! [`Action`]s. The driver's loop is:
//!
//! 1. call [`VirtualRouter::handle_event`] or [`VirtualRouter::handle_timeout`];
//! 2. after every `handle_*` call, call [`VirtualRouter::poll_action`] until it returns `None`,
//!    performing each action in order;
//! 3. sleep until [`VirtualRouter::poll_timeout`], then call `handle_timeout` with the clock's
//!    `now` (early or repeated calls are harmless no-ops).
//!
//! `now` need not be monotonic across calls: the driver feeds adverts with their (earlier)
//! kernel receive time. Deadlines are computed from each event's own `now` and all time math
//! saturates.
//!
//! # Routine adverts and the data plane
//!
//! A Backup knows the Master it follows (address, priority, Max Adver Int of the last advert it
//! accepted) and publishes, in [`Action::SetDataplaneRole`], the [`RoutineAdvert`] signature of
//! the adverts it would process exactly like that one. The data plane may absorb those and
//! only stamp their receive time; every other advert must reach the router. Adverts from other
//! sources that the router discards never erase the Master it follows. The order of calls:
//!
//! 1. When the Master_Down_Timer is due and a signature is published, `handle_timeout` does not
//!    take over: it emits [`Action::ReadAbsorbedStamp`] (once per deadline).
//! 2. The driver reads the stamp and feeds [`Event::AbsorbedAdvert`] with the stamp as `now`,
//!    or [`Event::NoAbsorbedAdvert`] if there is none.
//! 3. The driver calls `handle_timeout(now)` again (clock read after the stamp). A newer stamp
//!    restarted the timer from the stamp; otherwise the router takes over now.
//!
//! Until the driver answers, `poll_timeout` keeps returning the due deadline; answer before
//! sleeping.
//!
//! The signature does not carry the address list. [`Event::RecheckMaster`], fed with the
//! kernel's newest stamp, counts that stamp and withdraws the signature until the followed
//! Master's next advert is accepted, so the driver can see a list the kernel would absorb.
//!
//! # Decisions the RFC leaves open
//!
//! - **Timer arithmetic** is integer, truncated to whole microseconds (see [`timing`]).
//! - **Preempt delay** (keepalived's `preempt_delay` is the model): a Backup with Preempt_Mode
//!   and a non-zero `preempt_delay` starts a window of that length at the first lower-priority
//!   advert it sees; inside the window such adverts are honoured as with Preempt_Mode False,
//!   after it they are discarded as RFC 9568 §6.4.2 says, so the Backup preempts
//!   Master_Down_Interval after the last advert it honoured. The window resets when the router
//!   leaves Backup, hears a Master of priority >= its own, or hears a priority-0 advert. It
//!   never delays a takeover after the Master went silent or resigned.
//! - **Tracking** ([`Event::PriorityChanged`]) sets the effective priority, clamped to
//!   1..=254. The owner ignores it: 255 is what makes it the owner. A Master keeps its role
//!   when its priority drops; its next advert carries the new value.
//! - **Own adverts** (source = own primary address) are ignored, and Initialize ignores all
//!   adverts (but for ending a resign, below).
//! - **Make-before-break** ([`DataplaneRole::Resigning`]): a Master that resigns (Shutdown,
//!   `Demote`) sends priority 0 but keeps its virtual addresses and publishes Resigning: its
//!   data plane forwards virtual-MAC traffic, answering no ARP/ND, until another router's
//!   advert arrives (the data plane yields in that packet; the router ends it on the same
//!   advert) or the longest Master_Down_Interval any Backup can have (priority 1's Skew_Time)
//!   passes; then `RemoveVirtualAddresses`. A second Shutdown, the link going down, an
//!   identity change or becoming Master again end it at once.
//! - **Link state** is assumed up until [`Event::InterfaceDown`]. A started router whose link
//!   goes down moves to Initialize without a priority-0 advert; `InterfaceUp` restarts it like
//!   Startup.
//! - **Configuration changes** apply in place; the effective priority resets to the configured
//!   one. A Master re-announces at once (advert, and gratuitous ARP/NA if the addresses
//!   changed). A change of VRID or family restarts the router silently. A new primary address
//!   (the interface was renumbered) is the advert source from then on; a Master advertises
//!   from it at once and keeps its role.
//! - **Hitless restart** ([`resume`]): a daemon started on a previous run's pinned data plane
//!   feeds [`Event::Resume`] instead of `Startup` when [`resume::decide`] allows it: a Master
//!   whose record and heartbeat show no Backup can have taken over yet resumes as Master at
//!   once ([`TransitionReason::Resumed`]); a Backup resumes following the Master it recorded,
//!   its Master_Down_Timer running from the kernel's newest stamp.
//! - **Operator commands** ([`Command`], `handle_command`) are inputs like events.
//!   `Demote` is a maintenance mode: a Master resigns as at Shutdown (priority-0 advert,
//!   make-before-break) but moves to Backup; a demoted router never becomes Master, not even
//!   when no Master is heard (its Master_Down_Timer then only forgets the Master and warns
//!   [`Warning::DemotedWithoutMaster`]), and it honours every Master as with Preempt_Mode False.
//!   It survives `ConfigChanged` and link changes. `Promote` ends it: the owner, or a router that
//!   heard no Master for Master_Down_Interval while demoted, takes over at once
//!   ([`TransitionReason::Promoted`]); any other follows the normal rules (Preempt_Mode decides).
//!   `OverridePriority` (1..=254, [`OverridePriority`]) replaces the configured/tracked priority
//!   until `ResetPriority`; a Master advertises the new value at once. The owner refuses it
//!   ([`CommandRefused::OwnerPriority`]): 255 is what makes it the owner. The override survives
//!   `ConfigChanged` (a renumbered interface is not an operator's change); the driver resets it
//!   when a reload changes the instance.
//! - **Drills** ([`Drill`]) are a planned switchover and back built from `Demote` and `Promote`,
//!   with every wait bounded by a protocol interval plus [`DRILL_TOLERANCE`].
//! - **VRRPv2** (`RouterConfig::version`, IPv4 only). `V2` (RFC 3768): Skew_Time is
//!   (256 − Priority) / 256 s whatever the interval, a Backup keeps its configured interval
//!   (no Max Adver Int learning), and an advert whose interval differs from the configured one
//!   is discarded (§7.1) with [`Warning::IntervalMismatch`]. `V2AndV3` (RFC 9568 §8.4): the
//!   driver sends a VRRPv2 and a VRRPv3 advert for each [`Action::SendAdvert`]; both are
//!   received, with VRRPv3 timing and the Master's rate learned from either (VRRPv2 seconds
//!   converted to centiseconds). A router that sends both is followed by its VRRPv3 adverts:
//!   a VRRPv2 advert from a source heard in VRRPv3 within the last Master_Down_Interval is
//!   ignored, so a peer whose two adverts disagree (a VRRPv3 interval that is not whole
//!   seconds) cannot make the learned interval flap. VRRPv2-only peers are followed by their
//!   VRRPv2 adverts.
//! - **Accept_Mode** is reported in [`RouterStatus::accepts_virtual_traffic`] and
//!   [`RouterConfig::accepts_virtual_traffic`]; the owner always accepts.

mod action;
mod command;
mod config;
pub mod divergence;
mod drill;
mod election;
mod event;
pub mod resume;
mod router;
pub mod router_advert;
mod timers;
pub mod timing;

pub use action::{Action, DataplaneRole, RoutineAdvert, State, TransitionReason, Warning};
pub use command::{Command, CommandRefused, Effect, InvalidOverridePriority, OverridePriority};
pub use config::{AddressFamily, RouterConfig, VersionMode};
pub use divergence::{
    ActiveDivergence, ClearReason, DivergenceChange, DivergenceKind, Divergences, LocalView,
    Sighting,
};
pub use drill::{
    DRILL_TOLERANCE, Drill, DrillOutcome, DrillProgress, DrillRefused, DrillReport, Switchback,
    Switchover,
};
pub use election::{Contender, OWNER_PRIORITY, RESIGN_PRIORITY, compare_primary_addresses};
pub use event::{AdvertVersion, Event, ReceivedAdvert};
pub use router::{RouterCounters, RouterStatus, Takeover, VirtualRouter};
pub use timing::{
    Centiseconds, IntervalOutOfRange, late_receive_time, master_down_interval,
    master_down_interval_for, skew_time, skew_time_for,
};
