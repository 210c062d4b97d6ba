//! The XDP data plane as seen from userspace: load the embedded object, pin its maps, attach it
//! to an interface, keep its maps in step with the protocol, read its counters and adverts.
//! Only this module talks to aya. The kernel side and the map contract are described in
//! docs/ARCHITECTURE.md ("Data plane").
//!
//! Call order for the daemon: [`Dataplane::attach`], then [`Dataplane::set_instance`] for every
//! virtual router and on every role change, [`Dataplane::add_vip`] for its addresses,
//! [`Dataplane::refresh_heartbeat`] well within the heartbeat timeout, [`AdvertEvents::next`]
//! for the adverts the kernel does not absorb, and [`Dataplane::detach`] at shutdown.

mod attach;
mod device;
mod error;
mod events;
mod fdb;
mod last_seen;
mod maps;
mod pin;
mod pin_visibility;
mod stats;
#[cfg(feature = "test-hooks")]
mod test_run;

use std::{
    ffi::CString,
    path::{Path, PathBuf},
};

use aya::{Ebpf, EbpfLoader};
use aya_log::EbpfLogger;
use vrrp_common::maps::{ALL_MAPS, Control, LAST_SEEN_MAP};

use attach::Links;

pub use attach::IngressHook;
pub use device::DeviceKind;
pub use error::DataplaneError;
pub use events::{AdvertEvents, DeliveredAdvert};
pub use fdb::{add_vmac_filter, remove_vmac_filter};
pub use maps::{InstanceSettings, monotonic_now, virtual_mac};
pub use pin_visibility::{PinVisibility, pin_visibility};
pub use stats::CounterValues;
#[cfg(feature = "test-hooks")]
pub use test_run::{TestProgram, TestRunOutcome};

/// The XDP object, built by `cargo xtask build-ebpf` and copied here by build.rs.
static EBPF_OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/vrrp-ebpf.o"));

/// Where to run the ingress data plane (the `--xdp-mode` values of `xvrrp run`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum XdpAttachMode {
    /// Native XDP on NICs whose driver has it; TC ingress on software devices (veth, macvlan,
    /// tun, ...) and on NICs without native XDP.
    #[default]
    Auto,
    /// Native XDP only: fail if the driver lacks it.
    Native,
    /// Generic (skb) XDP: works on every interface, costs forwarded traffic the most.
    Generic,
    /// No XDP: the same program at the TC ingress hook.
    Tc,
}

/// How [`Dataplane::attach`] sets the program up.
#[derive(Clone, Debug)]
pub struct AttachOptions {
    /// Where ingress runs.
    pub mode: XdpAttachMode,
    /// Pin the links too, so the programs outlive a crashed daemon. Its heartbeat then goes
    /// stale and the program behaves as Backup (see [`Dataplane::refresh_heartbeat`]).
    pub pin_link: bool,
    /// bpffs directory holding one pin directory per interface.
    pub pin_root: PathBuf,
}

impl Default for AttachOptions {
    fn default() -> Self {
        Self {
            mode: XdpAttachMode::Auto,
            pin_link: true,
            pin_root: PathBuf::from(pin::PIN_ROOT),
        }
    }
}

/// The XDP program attached to one interface, with its maps pinned. Dropping it (or
/// [`Dataplane::detach`]) detaches the program and removes the pins.
pub struct Dataplane {
    ifname: String,
    ifindex: u32,
    program_id: u32,
    hook: IngressHook,
    pin_dir: PathBuf,
    /// None once detached.
    links: Option<Links>,
    /// What the control map holds (the daemon is its only writer).
    control: Control,
    /// The program's last-seen stamps, mapped into memory.
    last_seen: last_seen::LastSeenStamps,
    // Declared before `ebpf` so the log ring buffer closes first. It moves into
    // [`AdvertEvents`] (which drains it) when the daemon takes the events.
    logger: Option<EbpfLogger<&'static dyn log::Log>>,
    ebpf: Ebpf,
}

impl Dataplane {
    /// Loads the program, pins its maps under `<pin_root>/<ifname>/` (replacing stale pins),
    /// attaches it to `ifname` in the caller's network namespace, and writes the control
    /// record (interface MAC, a fresh heartbeat).
    pub fn attach(ifname: &str, options: &AttachOptions) -> Result<Self, DataplaneError> {
        let ifindex = if_index(ifname)?;
        let if_mac = maps::interface_mac(ifname)?;
        let pin_dir = pin::prepare(&options.pin_root, ifname)?;
        let mut ebpf =
            EbpfLoader::new()
                .load(EBPF_OBJECT)
                .map_err(|source| DataplaneError::Load {
                    ifname: ifname.to_owned(),
                    source: Box::new(source),
                })?;
        for name in ALL_MAPS {
            pin_map(&ebpf, ifname, &pin_dir, name)?;
        }
        // The object always carries the log map; a failure here means it could not be opened,
        // which only costs us the kernel-side debug logs.
        let logger = match EbpfLogger::init(&mut ebpf) {
            Ok(logger) => Some(logger),
            Err(err) => {
                tracing::warn!(ifname, error = %err, "XDP logs unavailable");
                None
            }
        };
        let last_seen = match ebpf.map(LAST_SEEN_MAP) {
            Some(aya::maps::Map::Array(data)) => {
                last_seen::LastSeenStamps::map(data).map_err(|source| DataplaneError::Io {
                    op: format!("mapping {LAST_SEEN_MAP} into memory"),
                    ifname: ifname.to_owned(),
                    source,
                })?
            }
            _ => return Err(DataplaneError::MapMissing { map: LAST_SEEN_MAP }),
        };
        let attached = attach::attach(&mut ebpf, ifname, options.mode, &pin_dir, options.pin_link)?;
        let mut dataplane = Self {
            ifname: ifname.to_owned(),
            ifindex,
            program_id: attached.program_id,
            hook: attached.hook,
            pin_dir,
            links: Some(attached.links),
            control: Control {
                heartbeat_ns: 0,
                if_mac,
                _pad: [0; 2],
                vip_last_bytes: [0; 4],
            },
            last_seen,
            logger,
            ebpf,
        };
        dataplane.refresh_heartbeat()?;
        tracing::info!(ifname, program_id = dataplane.program_id, ingress = %dataplane.hook, pin_dir = %dataplane.pin_dir.display(), "data plane attached");
        Ok(dataplane)
    }

    /// Kernel id of the loaded program (as `bpftool prog show` lists it).
    pub fn program_id(&self) -> u32 {
        self.program_id
    }

    /// Where the ingress data plane runs.
    pub fn ingress_hook(&self) -> IngressHook {
        self.hook
    }

    /// The interface the program is attached to.
    pub fn ifname(&self) -> &str {
        &self.ifname
    }

    /// The interface index (the `ifindex` of every [`vrrp_common::maps::InstanceKey`]).
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// The bpffs directory holding this interface's pinned maps (and link).
    pub fn pin_dir(&self) -> &Path {
        &self.pin_dir
    }

    /// Detaches the program and removes the pins: the clean shutdown. (Dropping does the same,
    /// logging instead of returning errors.)
    pub fn detach(mut self) -> Result<(), DataplaneError> {
        self.release()
    }

    fn release(&mut self) -> Result<(), DataplaneError> {
        let Some(links) = self.links.take() else {
            return Ok(());
        };
        links.release(&self.ifname)?;
        pin::remove(&self.ifname, &self.pin_dir)
    }
}

impl Drop for Dataplane {
    fn drop(&mut self) {
        if let Err(err) = self.release() {
            tracing::error!(ifname = %self.ifname, error = %err, "XDP teardown incomplete");
        }
    }
}

fn if_index(ifname: &str) -> Result<u32, DataplaneError> {
    let c_name = CString::new(ifname).map_err(|_| {
        DataplaneError::io(
            ifname,
            "look up the interface index",
            std::io::ErrorKind::InvalidInput.into(),
        )
    })?;
    // SAFETY: a NUL-terminated name; the call has no other preconditions.
    match unsafe { libc::if_nametoindex(c_name.as_ptr()) } {
        0 => Err(DataplaneError::io(
            ifname,
            "look up the interface index",
            std::io::Error::last_os_error(),
        )),
        index => Ok(index),
    }
}

fn pin_map(
    ebpf: &Ebpf,
    ifname: &str,
    dir: &Path,
    name: &'static str,
) -> Result<(), DataplaneError> {
    let path = dir.join(name);
    ebpf.map(name)
        .ok_or(DataplaneError::MapMissing { map: name })?
        .pin(&path)
        .map_err(|source| DataplaneError::Pin {
            object: name,
            ifname: ifname.to_owned(),
            path,
            source: Box::new(source),
        })
}
