//! Adopting the pinned data plane of a previous run (hitless restart): its maps and links are
//! taken over as they are, so the programs never stop between the two daemons, and what its
//! records said is kept for the resume decision (`proto::resume`).

use std::{collections::HashMap, path::Path, time::Duration};

use aya::{
    Ebpf, EbpfLoader,
    maps::{Array, HashMap as BpfHashMap},
};
use vrrp_common::maps::{
    ALL_MAPS, AddressFamily, CONTRACT_VERSION, CONTROL_MAP, Control, INSTANCES_MAP, Instance,
    InstanceKey,
};

use super::{
    EBPF_OBJECT, XdpAttachMode,
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
    pub(super) ebpf: Ebpf,
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
    let mut loader = EbpfLoader::new();
    for name in ALL_MAPS {
        loader.map_pin_path(name, dir.join(name));
    }
    let unreadable = |what: &str, err: &dyn std::fmt::Display| {
        NotAdopted::Unreadable(format!("{what} of {ifname}: {err}"))
    };
    let mut ebpf = loader
        .load(EBPF_OBJECT)
        .map_err(|err| unreadable("opening the pinned maps", &err))?;
    let control = {
        let map = ebpf
            .map(CONTROL_MAP)
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
        let map = ebpf
            .map_mut(INSTANCES_MAP)
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
        ebpf,
        links,
        hook,
        program_id: program_id.unwrap_or_default(),
        control,
        records,
    })
}
