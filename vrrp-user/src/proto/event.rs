//! Inputs to the state machine.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::config::RouterConfig;
use super::resume::Resumption;
use super::timing::Centiseconds;

/// An advert that passed the receive checks of RFC 9568 §7.1 (TTL, version, type, checksum,
/// length, VRID, non-zero interval) and belongs to this virtual router.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceivedAdvert {
    /// Source address of the advert: the sender's primary address.
    pub source: IpAddr,
    /// Advertised priority; 0 means the sender resigns as Master.
    pub priority: u8,
    /// The sender's Max Adver Int.
    pub max_advert_interval: Centiseconds,
    /// The advertised virtual addresses.
    pub addresses: Vec<IpAddr>,
    /// The VRRP version it came in; a VRRPv2 Adver Int is already in `max_advert_interval`
    /// as centiseconds (RFC 9568 §8.4).
    pub version: AdvertVersion,
}

/// The VRRP version of a received advert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AdvertVersion {
    /// RFC 3768.
    V2,
    /// RFC 9568.
    V3,
}

/// Something that happened to the virtual router, fed through `VirtualRouter::handle_event`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    /// Administrative start (RFC 9568 §6.4.1 Startup event).
    Startup,
    /// Administrative start on the pinned state of a previous run, in the role
    /// `resume::decide` chose (instead of `Startup`). `Resumption::Backup` is fed at the
    /// kernel's newest stamp of that Master (or the clock when it has none).
    Resume(Resumption),
    /// Administrative stop (RFC 9568 §6.4.2/§6.4.3 Shutdown event). A Master resigns
    /// make-before-break; a second Shutdown ends that at once.
    Shutdown,
    /// A validated advert for this VRID and family.
    Advert(ReceivedAdvert),
    /// Tracking changed the effective priority to this value (ignored by the owner).
    PriorityChanged(u8),
    /// The interface came up (carrier and addresses usable).
    InterfaceUp,
    /// The interface went down.
    InterfaceDown,
    /// The configuration was reloaded.
    ConfigChanged(RouterConfig),
    /// The data plane absorbed adverts matching the routine signature last published in
    /// `Action::SetDataplaneRole`; fed with the newest one's kernel receive time as `now`.
    /// A Backup that still publishes that signature treats it like receiving that advert then,
    /// if it is newer than what it last heard; otherwise it is ignored.
    AbsorbedAdvert,
    /// The driver wants the followed Master's next advert to reach the router, to recheck
    /// what the routine signature does not carry (its address list: see `divergence`). Fed
    /// with the data plane's newest absorbed stamp as `now`, which first counts like
    /// `AbsorbedAdvert` so the Master_Down_Timer runs from it; then the signature is withdrawn
    /// until the next advert is accepted. Ignored unless a signature is published; never feed
    /// it without a stamp (a due timer would no longer ask for one).
    RecheckMaster,
    /// Answer to `Action::ReadAbsorbedStamp`: the data plane has no stamp to report (nothing
    /// absorbed since the signature was written, or the read failed).
    NoAbsorbedAdvert,
}
