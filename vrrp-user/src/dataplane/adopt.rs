//! Adopting the pinned data plane of a previous run (hitless restart): its maps and links are
//! taken over as they are, so the programs never stop between the two daemons, and what its
//! records said is kept for the resume decision (`proto::resume`).

use std::{collections::HashMap, path::Path, time::Duration};

use aya::maps::{Array, HashMap as BpfHashMap, Map, MapData};
use vrrp_common::maps::{
    ALL_MAPS, AddressFamily, CONTRACT_VERSION, CONTROL_MAP, Control, INSTANCES_MAP, Instance,
    InstanceKey,
};

use super::{
    XdpAttachMode,
    attach::{IngressHook, Links, adoptable_hook},
    link_info::pinned_link_info,
    pin,
};

/// Why a previous run's pins are replaced instead of adopted.
#[derive(Debug, thiserror::Error)]
pub enum NotAdopted {
    /// The pins lack a map this build uses.
    #[error("map {0} is not pinned")]
    MapMissing(&'static str),
    /// A link the adoption needs is not pinned (kernels before 6.6 have no TCX links to pin).
    #[error("link {0} is not pinned")]
    LinkMissing(&'static str),
    /// A pinned link no longer runs on this interface (its device went away and the name
    /// belongs to a new link now).
    #[error("link {name} is attached to interface index {found:?}, not {expected}")]
    OtherInterface {
        /// The pin.
        name: &'static str,
        /// Where the kernel says it is attached (None: detached).
        found: Option<u32>,
        /// This interface's index.
        expected: u32,
    },
    /// The pinned links use another ingress hook than `--xdp-mode` asks for.
    #[error("the pinned links use {pinned}, --xdp-mode {requested:?} asks for another hook")]
    OtherHook {
        /// What the pins hold.
        pinned: &'static str,
        /// What this run asks for.
        requested: XdpAttachMode,
    },
    /// A build with another kernel/user contract wrote the pins.
    #[error("written by a build with contract version {found}, this build has {CONTRACT_VERSION}")]
    ContractVersion {
        /// The version in the pinned control record (0: a build from before adoption).
        found: u16,
    },
    /// The pins could not be opened or read.
    #[error("{0}")]
    Unreadable(String),
}

/// The pinned data plane of a previous run, opened.
pub(super) struct Adopted {
    pub(super) maps: HashMap<&'static str, Map>,
    pub(super) links: Links,
    pub(super) hook: IngressHook,
    pub(super) program_id: u32,
    pub(super) control: Control,
    pub(super) records: HashMap<(AddressFamily, u8), Instance>,
}

/// What the previous run left for one virtual router, read before this run wrote anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PinnedInstance {
    /// Its instance record.
    pub record: Instance,
    /// The kernel's newest stamp of a routine advert matching the record (CLOCK_MONOTONIC;
    /// zero: none since the record was written).
    pub last_seen: Duration,
    /// CLOCK_MONOTONIC of the previous run's last heartbeat on the interface.
    pub heartbeat: Duration,
}

/// Opens the pins in `dir` for `ifindex` if this build can adopt them.
pub(super) fn adopt(
    ifname: &str,
    ifindex: u32,
    dir: &Path,
    requested: XdpAttachMode,
) -> Result<Adopted, NotAdopted> {
    if let Some(missing) = ALL_MAPS.into_iter().find(|name| !dir.join(name).exists()) {
        return Err(NotAdopted::MapMissing(missing));
    }
    let xdp_pinned = dir.join(pin::LINK_PIN).exists();
    let hook = adoptable_hook(requested, xdp_pinned).ok_or(NotAdopted::OtherHook {
        pinned: if xdp_pinned { "XDP" } else { "TC" },
        requested,
    })?;
    let mut program_id = None;
    let needed = [pin::LINK_PIN, pin::INGRESS_LINK_PIN, pin::EGRESS_LINK_PIN];
    for name in needed {
        if name == pin::LINK_PIN && !xdp_pinned {
            continue;
        }
        let path = dir.join(name);
        if !path.exists() {
            return Err(NotAdopted::LinkMissing(name));
        }
        let info = pinned_link_info(&path)
            .map_err(|err| NotAdopted::Unreadable(format!("link {}: {err}", path.display())))?;
        if info.ifindex != Some(ifindex) {
            return Err(NotAdopted::OtherInterface {
                name,
                found: info.ifindex,
                expected: ifindex,
            });
        }
        // The ingress program: the XDP link's, else the TC ingress link's.
        program_id = program_id.or((name != pin::EGRESS_LINK_PIN).then_some(info.program_id));
    }
    let unreadable = |what: &str, err: &dyn std::fmt::Display| {
        NotAdopted::Unreadable(format!("{what} of {ifname}: {err}"))
    };
    // Opened from the pins, not through the object loader: loading the object only to reuse
    // its pinned maps costs ~180 ms in a debug build, most of a 100 ms instance's window.
    let mut maps: HashMap<&'static str, Map> = ALL_MAPS
        .into_iter()
        .map(|name| {
            MapData::from_pin(dir.join(name))
                .and_then(Map::from_map_data)
                .map(|map| (name, map))
                .map_err(|err| unreadable(&format!("opening pinned map {name}"), &err))
        })
        .collect::<Result<_, _>>()?;
    let control = {
        let map = maps
            .get(CONTROL_MAP)
            .ok_or(NotAdopted::MapMissing(CONTROL_MAP))?;
        Array::<_, Control>::try_from(map)
            .and_then(|array| array.get(&0, 0))
            .map_err(|err| unreadable("reading the pinned control record", &err))?
    };
    if control.contract_version != CONTRACT_VERSION {
        return Err(NotAdopted::ContractVersion {
            found: control.contract_version,
        });
    }
    let records = {
        let map = maps
            .get_mut(INSTANCES_MAP)
            .ok_or(NotAdopted::MapMissing(INSTANCES_MAP))?;
        let instances = BpfHashMap::<_, InstanceKey, Instance>::try_from(map)
            .map_err(|err| unreadable("opening the pinned instance records", &err))?;
        instances
            .iter()
            .filter_map(|entry| {
                let (key, record) = entry.ok()?;
                Some(((AddressFamily::from_u8(key.family)?, key.vrid), record))
            })
            .collect()
    };
    let links = Links::from_pins(dir, xdp_pinned)
        .map_err(|err| unreadable("opening the pinned links", &err))?;
    Ok(Adopted {
        maps,
        links,
        hook,
        program_id: program_id.unwrap_or_default(),
        control,
        records,
    })
}
