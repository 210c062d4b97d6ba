//! The XDP data plane as seen from userspace: load the embedded object, pin its maps, attach it
//! to an interface, keep its maps in step with the protocol, read its counters and adverts.
//! Only this module talks to aya. The kernel side and the map contract are described in
//! docs/ARCHITECTURE.md ("Data plane").
//!
//! Call order for the daemon: [`Dataplane::attach`], then [`Dataplane::set_instance`] for every
//! virtual router and on every role change, [`Dataplane::add_vip`] for its addresses,
//! [`Dataplane::refresh_heartbeat`] well within the heartbeat timeout, [`AdvertEvents::next`]
//! for the adverts the kernel does not absorb, and [`Dataplane::detach`] at shutdown.

mod adopt;
mod attach;
mod cleanup;
mod device;
mod error;
mod events;
mod fdb;
mod helper_load;
mod last_seen;
mod link_info;
mod maps;
mod pin;
mod pin_visibility;
mod stats;
#[cfg(feature = "test-hooks")]
mod test_run;

use std::{
    collections::HashMap,
    ffi::CString,
    path::{Path, PathBuf},
    time::Duration,
};

use aya::{Ebpf, EbpfLoader, maps::Map};
use aya_log::EbpfLogger;
use vrrp_common::maps::{ALL_MAPS, AddressFamily, CONTRACT_VERSION, Control, LAST_SEEN_MAP};

use attach::Links;

pub use adopt::{NotAdopted, PinnedInstance};
pub use attach::IngressHook;
pub use cleanup::{DeadPins, remove_dead_pins};
pub use device::DeviceKind;
pub use error::DataplaneError;
pub use events::{AdvertEvents, DeliveredAdvert};
pub use fdb::{add_vmac_filter, remove_vmac_filter};
pub use helper_load::{HELPER_COMMAND, run_helper};
pub use maps::{InstanceSettings, monotonic_now, virtual_mac};
pub use pin::LINK_PINS;
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
    /// Load the object in a helper process and adopt what it pinned (`helper_load`: the
    /// loader's peak memory stays out of this process). Falls back to loading here if the
    /// helper fails or left nothing adoptable. Needs `pin_link`.
    pub load_in_helper: bool,
}

impl Default for AttachOptions {
    fn default() -> Self {
        Self {
            mode: XdpAttachMode::Auto,
            pin_link: true,
            pin_root: PathBuf::from(pin::PIN_ROOT),
            load_in_helper: false,
        }
    }
}

/// The maps a data plane uses, by name: taken out of the object this run loaded, or opened from
/// a previous run's pins.
struct MapSet(HashMap<&'static str, Map>);

impl MapSet {
    /// Takes every map of [`ALL_MAPS`] out of `ebpf`.
    fn take_from(ebpf: &mut Ebpf) -> Result<Self, DataplaneError> {
        ALL_MAPS
            .into_iter()
            .map(|name| {
                ebpf.take_map(name)
                    .map(|map| (name, map))
                    .ok_or(DataplaneError::MapMissing { map: name })
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }

    fn get(&self, name: &'static str) -> Result<&Map, DataplaneError> {
        self.0
            .get(name)
            .ok_or(DataplaneError::MapMissing { map: name })
    }

    fn get_mut(&mut self, name: &'static str) -> Result<&mut Map, DataplaneError> {
        self.0
            .get_mut(name)
            .ok_or(DataplaneError::MapMissing { map: name })
    }

    /// Takes `name` out (the advert ring, which its reader owns).
    fn take(&mut self, name: &'static str) -> Result<Map, DataplaneError> {
        self.0
            .remove(name)
            .ok_or(DataplaneError::MapMissing { map: name })
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
    /// What a previous run's records said, per (family, vrid), until the daemon takes it
    /// (adopted data planes only).
    pinned: HashMap<(AddressFamily, u8), PinnedInstance>,
    maps: MapSet,
    // Declared before `ebpf` so the log ring buffer closes first. It moves into
    // [`AdvertEvents`] (which drains it) when the daemon takes the events. An adopted data
    // plane has none: the running program logs into its own run's ring, which nobody pinned.
    logger: Option<EbpfLogger<&'static dyn log::Log>>,
    /// The object this run loaded and attached, held for its programs (the test hooks run
    /// them); `None` when adopted.
    #[cfg_attr(
        not(feature = "test-hooks"),
        expect(dead_code, reason = "only the test hooks run the programs")
    )]
    ebpf: Option<Ebpf>,
}

impl Dataplane {
    /// Adopts the data plane a previous run pinned under `<pin_root>/<ifname>/` when this
    /// build can (see [`NotAdopted`]), keeping its programs running; otherwise loads the
    /// program, pins its maps there (replacing stale pins) and attaches it to `ifname` in the
    /// caller's network namespace. Either way the control record then holds the interface MAC
    /// and a fresh heartbeat.
    pub fn attach(ifname: &str, options: &AttachOptions) -> Result<Self, DataplaneError> {
        let ifindex = if_index(ifname)?;
        let if_mac = maps::interface_mac(ifname)?;
        pin::ensure_bpffs(ifname)?;
        let dir = options.pin_root.join(ifname);
        if dir.exists() {
            match adopt::adopt(ifname, ifindex, &dir, options.mode) {
                Ok(adopted) => {
                    let dataplane = Self::from_adopted(ifname, ifindex, dir, adopted, if_mac)?;
                    tracing::info!(ifname, program_id = dataplane.program_id, ingress = %dataplane.hook, pin_dir = %dataplane.pin_dir.display(), records = dataplane.pinned.len(), "data plane adopted from the previous run");
                    return Ok(dataplane);
                }
                Err(why) => tracing::warn!(
                    ifname,
                    dir = %dir.display(),
                    reason = %why,
                    "not adopting the previous run's pins: {why}"
                ),
            }
        }
        if options.load_in_helper && options.pin_link {
            let adopted = helper_load::load_in_helper(ifname, options)
                .map_err(|why| why.to_string())
                .and_then(|()| {
                    adopt::adopt(ifname, ifindex, &dir, options.mode).map_err(|why| why.to_string())
                });
            match adopted {
                Ok(adopted) => {
                    let dataplane = Self::from_adopted(ifname, ifindex, dir, adopted, if_mac)?;
                    tracing::info!(ifname, program_id = dataplane.program_id, ingress = %dataplane.hook, pin_dir = %dataplane.pin_dir.display(), loaded_by = "helper process", "data plane attached");
                    return Ok(dataplane);
                }
                Err(why) => tracing::warn!(
                    ifname,
                    reason = why,
                    "loading the data plane in a helper process failed; loading it here"
                ),
            }
        }
        let pin_dir = pin::fresh_dir(&options.pin_root, ifname)?;
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
        let attached = attach::attach(&mut ebpf, ifname, options.mode, &pin_dir, options.pin_link)?;
        let control = Control {
            heartbeat_ns: 0,
            if_mac,
            contract_version: CONTRACT_VERSION,
            vip_last_bytes: [0; 4],
        };
        let maps = MapSet::take_from(&mut ebpf)?;
        let mut dataplane = Self::assemble(
            ifname,
            ifindex,
            pin_dir,
            (maps, Some(ebpf)),
            attached,
            control,
        )?;
        dataplane.refresh_heartbeat()?;
        tracing::info!(ifname, program_id = dataplane.program_id, ingress = %dataplane.hook, pin_dir = %dataplane.pin_dir.display(), "data plane attached");
        Ok(dataplane)
    }

    /// The data plane around pins opened by `adopt` (a previous run's, or a helper's): the
    /// records they held are kept for the resume decision, the heartbeat refreshed.
    fn from_adopted(
        ifname: &str,
        ifindex: u32,
        dir: PathBuf,
        adopted: adopt::Adopted,
        if_mac: [u8; 6],
    ) -> Result<Self, DataplaneError> {
        let control = Control {
            if_mac,
            ..adopted.control
        };
        let records = adopted.records;
        let mut dataplane = Self::assemble(
            ifname,
            ifindex,
            dir,
            (MapSet(adopted.maps), None),
            attach::Attached {
                links: adopted.links,
                hook: adopted.hook,
                program_id: adopted.program_id,
            },
            control,
        )?;
        let heartbeat = Duration::from_nanos(control.heartbeat_ns);
        dataplane.pinned = records
            .into_iter()
            .map(|((family, vrid), record)| {
                let last_seen = dataplane.master_last_seen(family, vrid);
                let pinned = PinnedInstance {
                    record,
                    last_seen,
                    heartbeat,
                };
                ((family, vrid), pinned)
            })
            .collect();
        dataplane.refresh_heartbeat()?;
        Ok(dataplane)
    }

    /// The data plane around its maps and links: stamps mapped; kernel logs drained when
    /// this run loaded the object.
    fn assemble(
        ifname: &str,
        ifindex: u32,
        pin_dir: PathBuf,
        (maps, ebpf): (MapSet, Option<Ebpf>),
        attached: attach::Attached,
        control: Control,
    ) -> Result<Self, DataplaneError> {
        let mut ebpf = ebpf;
        // The object always carries the log map; a failure here means it could not be opened,
        // which only costs us the kernel-side debug logs.
        let logger = ebpf.as_mut().and_then(|ebpf| match EbpfLogger::init(ebpf) {
            Ok(logger) => Some(logger),
            Err(err) => {
                tracing::warn!(ifname, error = %err, "XDP logs unavailable");
                None
            }
        });
        let last_seen = match maps.get(LAST_SEEN_MAP)? {
            Map::Array(data) => {
                last_seen::LastSeenStamps::map(data).map_err(|source| DataplaneError::Io {
                    op: format!("mapping {LAST_SEEN_MAP} into memory"),
                    ifname: ifname.to_owned(),
                    source,
                })?
            }
            _ => return Err(DataplaneError::MapMissing { map: LAST_SEEN_MAP }),
        };
        Ok(Self {
            ifname: ifname.to_owned(),
            ifindex,
            program_id: attached.program_id,
            hook: attached.hook,
            pin_dir,
            links: Some(attached.links),
            control,
            last_seen,
            pinned: HashMap::new(),
            maps,
            logger,
            ebpf,
        })
    }

    /// What the previous run's record of (`family`, `vrid`) said, once (adopted data planes
    /// only; `None` after any write of that record).
    pub fn take_pinned(&mut self, family: AddressFamily, vrid: u8) -> Option<PinnedInstance> {
        self.pinned.remove(&(family, vrid))
    }

    /// Whether some of the previous run's records were not taken yet.
    pub fn holds_pinned(&self) -> bool {
        !self.pinned.is_empty()
    }

    /// Leaves the programs running and everything pinned for the next daemon to adopt (a
    /// handover); only links the kernel could not pin (TC on kernels before 6.6) detach.
    /// Dropping the data plane afterwards removes nothing.
    pub fn leave_pinned(&mut self) {
        drop(self.links.take());
        tracing::info!(ifname = %self.ifname, pin_dir = %self.pin_dir.display(), "data plane left running for the next daemon");
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
