//! A lab router running either implementation, so one lab compares xvrrp with keepalived on
//! identical topologies (the failover benchmark's side-by-side rows).

use crate::{daemon::Daemon, keepalived::Keepalived};

/// Which VRRP implementation a lab router runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Implementation {
    /// The release or test build of `xvrrp`.
    Xvrrp,
    /// Debian's keepalived (see [`Keepalived`]).
    Keepalived,
}

impl Implementation {
    /// The name a benchmark table shows.
    pub fn label(self) -> &'static str {
        match self {
            Self::Xvrrp => "xvrrp",
            Self::Keepalived => "keepalived",
        }
    }
}

/// A running router of either implementation.
pub enum Router {
    /// An `xvrrp run` process.
    Xvrrp(Daemon),
    /// A keepalived parent and its VRRP child.
    Keepalived(Keepalived),
}

impl Router {
    /// Which implementation this router runs.
    pub fn implementation(&self) -> Implementation {
        match self {
            Self::Xvrrp(_) => Implementation::Xvrrp,
            Self::Keepalived(_) => Implementation::Keepalived,
        }
    }

    /// Sends `signal` to the router: SIGKILL kills every process of it at once (a crash: no
    /// process gets to clean up); SIGTERM asks it to stop (both resign with priority 0).
    pub fn signal(&self, signal: libc::c_int) {
        match self {
            Self::Xvrrp(daemon) => daemon.signal(signal),
            Self::Keepalived(keepalived) => keepalived.signal(signal),
        }
    }

    /// The router's log so far.
    pub fn log(&self) -> String {
        match self {
            Self::Xvrrp(daemon) => daemon.log(),
            Self::Keepalived(keepalived) => keepalived.log(),
        }
    }

    /// The xvrrp daemon, for steps only xvrrp has (its pins, SIGUSR2 handover, exit code).
    ///
    /// # Panics
    /// When the router runs keepalived.
    pub fn xvrrp(&mut self) -> &mut Daemon {
        match self {
            Self::Xvrrp(daemon) => daemon,
            Self::Keepalived(_) => panic!("an xvrrp-only step on a keepalived router"),
        }
    }
}
