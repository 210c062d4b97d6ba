//! Errors of the data-plane loader; each names the interface and the map or operation.

use std::{io, path::PathBuf};

use aya::{
    EbpfError,
    maps::MapError,
    pin::PinError,
    programs::{ProgramError, links::LinkError},
};

/// A failure to load, attach, pin or use the XDP program and its maps.
#[derive(Debug, thiserror::Error)]
pub enum DataplaneError {
    /// The embedded object could not be loaded (verifier, BTF, map creation).
    #[error("loading the XDP object for {ifname} failed")]
    Load {
        /// The interface we were loading for.
        ifname: String,
        /// What aya reported.
        #[source]
        source: Box<EbpfError>,
    },
    /// The object has no program of that name: it was built from other sources.
    #[error("the XDP object has no program named {name}")]
    ProgramMissing {
        /// The program name we looked for.
        name: &'static str,
    },
    /// Loading, attaching or querying the program on an interface failed.
    #[error("{op} XDP program on {ifname} failed")]
    Program {
        /// What we were doing.
        op: &'static str,
        /// The interface.
        ifname: String,
        /// What aya reported.
        #[source]
        source: Box<ProgramError>,
    },
    /// The object lacks a map the daemon relies on.
    #[error("the XDP object has no map named {map}")]
    MapMissing {
        /// The map name.
        map: &'static str,
    },
    /// Reading or writing a map failed.
    #[error("{op} map {map} for {ifname} failed")]
    Map {
        /// What we were doing.
        op: &'static str,
        /// The map name.
        map: &'static str,
        /// The interface whose program owns the map.
        ifname: String,
        /// What aya reported.
        #[source]
        source: Box<MapError>,
    },
    /// Pinning a map or the link under bpffs failed.
    #[error("pinning {object} of {ifname} at {} failed", path.display())]
    Pin {
        /// The map name, or "link".
        object: &'static str,
        /// The interface.
        ifname: String,
        /// The pin path.
        path: PathBuf,
        /// What aya reported.
        #[source]
        source: Box<PinError>,
    },
    /// The XDP link could not be converted for pinning (netlink-attached, old kernel).
    #[error("the XDP link on {ifname} cannot be pinned")]
    Link {
        /// The interface.
        ifname: String,
        /// What aya reported.
        #[source]
        source: Box<LinkError>,
    },
    /// A system call on the interface, bpffs or the ring buffer failed.
    #[error("{op} for {ifname} failed")]
    Io {
        /// What we were doing (names the path or object).
        op: String,
        /// The interface.
        ifname: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A netlink request (the virtual MAC in the NIC's unicast filter) failed.
    #[error("{op} on {ifname} failed")]
    Netlink {
        /// What we were doing.
        op: &'static str,
        /// The interface.
        ifname: String,
        /// What rtnetlink reported.
        #[source]
        source: Box<rtnetlink::Error>,
    },
}

impl DataplaneError {
    pub(crate) fn program(ifname: &str, op: &'static str, source: ProgramError) -> Self {
        Self::Program {
            op,
            ifname: ifname.to_owned(),
            source: Box::new(source),
        }
    }

    pub(crate) fn map(ifname: &str, op: &'static str, map: &'static str, source: MapError) -> Self {
        Self::Map {
            op,
            map,
            ifname: ifname.to_owned(),
            source: Box::new(source),
        }
    }

    pub(crate) fn io(ifname: &str, op: impl Into<String>, source: io::Error) -> Self {
        Self::Io {
            op: op.into(),
            ifname: ifname.to_owned(),
            source,
        }
    }
}
