//! Errors of the data-plane loader; each names the interface and the map or operation.

use aya::{EbpfError, maps::MapError, programs::ProgramError};

/// A failure to load, attach or read the XDP program and its maps.
#[derive(Debug, thiserror::Error)]
pub enum DataplaneError {
    /// The embedded object could not be loaded (verifier, BTF, map creation).
    #[error("loading the XDP object failed")]
    Load {
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
}
