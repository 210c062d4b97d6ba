//! Where the data plane hooks into an interface, and the links that keep it there.
//!
//! Ingress runs either as XDP (native on NICs whose driver has it; generic on request) or as
//! the same program at the TC ingress hook; egress is always a TC program (the virtual-MAC
//! stamp on the stack's ARP/ND answers). The reasoning is in docs/ARCHITECTURE.md, "Choosing
//! the ingress hook".

use std::{fmt, path::Path};

use aya::{
    Ebpf,
    programs::{
        Program, ProgramError, SchedClassifier, TcAttachType, Xdp, XdpMode,
        links::{FdLink, LinkError, PinnedLink},
        tc::{self, SchedClassifierLink},
        xdp::XdpLink,
    },
    util::KernelVersion,
};
use vrrp_common::maps::{
    AFTER_XDP_PROGRAM_NAME, EGRESS_PROGRAM_NAME, PROGRAM_NAME, TC_PROGRAM_NAME,
};

use super::{
    DataplaneError, XdpAttachMode,
    device::{DeviceKind, device_kind},
    pin,
};

/// The hook the ingress data plane runs at (what `status` reports per interface).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IngressHook {
    /// XDP in the driver, before an skb exists.
    NativeXdp,
    /// XDP emulated by the stack on every skb (linearized first).
    GenericXdp,
    /// TC ingress (clsact / TCX), on the skb the driver built.
    Tc,
}

impl fmt::Display for IngressHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NativeXdp => "native XDP",
            Self::GenericXdp => "generic XDP",
            Self::Tc => "TC",
        })
    }
}

/// Who holds a program's link, and so decides when it detaches.
enum LinkHolder<L> {
    /// Dropping it detaches.
    Owned(L),
    /// Pinned in bpffs: survives the process; unpinned at clean shutdown.
    Pinned(PinnedLink),
}

impl<L> LinkHolder<L>
where
    FdLink: TryFrom<L, Error = LinkError>,
{
    /// Pins `link` at `path`, or keeps it owned without a path.
    fn new(link: L, ifname: &str, path: Option<&Path>) -> Result<Self, DataplaneError> {
        let Some(path) = path else {
            return Ok(Self::Owned(link));
        };
        let fd_link = FdLink::try_from(link).map_err(|source| DataplaneError::Link {
            ifname: ifname.to_owned(),
            source: Box::new(source),
        })?;
        let pinned = fd_link.pin(path).map_err(|source| DataplaneError::Pin {
            object: "link",
            ifname: ifname.to_owned(),
            path: path.to_owned(),
            source: Box::new(source),
        })?;
        Ok(Self::Pinned(pinned))
    }

    /// Detaches: unpins (the unpinned link then closes) or drops the owned link.
    fn release(self, ifname: &str) -> Result<(), DataplaneError> {
        match self {
            // Dropping the unpinned FdLink closes the last reference: the link detaches.
            Self::Pinned(pinned) => drop(
                pinned
                    .unpin()
                    .map_err(|source| DataplaneError::io(ifname, "unpin a link", source))?,
            ),
            Self::Owned(link) => drop(link),
        }
        Ok(())
    }
}

/// Every link of one interface's data plane.
pub(super) struct Links {
    xdp: Option<LinkHolder<XdpLink>>,
    tc: Vec<LinkHolder<SchedClassifierLink>>,
}

impl Links {
    /// Detaches everything (TC first, so the egress stamp never outlives the ingress checks).
    pub(super) fn release(self, ifname: &str) -> Result<(), DataplaneError> {
        let tc = self
            .tc
            .into_iter()
            .map(|link| link.release(ifname))
            .fold(Ok(()), Result::and);
        let xdp = self.xdp.map_or(Ok(()), |link| link.release(ifname));
        tc.and(xdp)
    }
}

impl Links {
    /// The links a previous run pinned in `dir`, adopted as they are: the programs keep running.
    pub(super) fn from_pins(dir: &Path, xdp: bool) -> Result<Self, LinkError> {
        let xdp = if xdp {
            Some(LinkHolder::Pinned(PinnedLink::from_pin(
                dir.join(pin::LINK_PIN),
            )?))
        } else {
            None
        };
        let tc = [pin::EGRESS_LINK_PIN, pin::INGRESS_LINK_PIN]
            .into_iter()
            .map(|name| PinnedLink::from_pin(dir.join(name)).map(LinkHolder::Pinned))
            .collect::<Result<_, _>>()?;
        Ok(Self { xdp, tc })
    }
}

/// Whether the hook a previous run's pinned links use is the one `requested` would pick, so
/// adopting them does not silently keep another hook: Native or Generic need the XDP link,
/// TC needs its absence, and Auto takes what is there (generic XDP only ever on request).
pub(super) fn adoptable_hook(requested: XdpAttachMode, xdp_pinned: bool) -> Option<IngressHook> {
    match (requested, xdp_pinned) {
        (XdpAttachMode::Native | XdpAttachMode::Auto, true) => Some(IngressHook::NativeXdp),
        (XdpAttachMode::Generic, true) => Some(IngressHook::GenericXdp),
        (XdpAttachMode::Tc | XdpAttachMode::Auto, false) => Some(IngressHook::Tc),
        (XdpAttachMode::Native | XdpAttachMode::Generic, false) | (XdpAttachMode::Tc, true) => None,
    }
}

/// What [`attach`] set up.
pub(super) struct Attached {
    pub(super) links: Links,
    pub(super) hook: IngressHook,
    /// Kernel id of the ingress program (XDP or TC).
    pub(super) program_id: u32,
}

/// Picks the ingress hook for `requested` on `ifname`. `auto` takes TC on software devices:
/// native XDP on a veth takes GSO away from its peer (every TCP segment then crosses the veth
/// on its own) and generic XDP linearizes every skb, while TC runs once per (GRO) skb. On a NIC
/// it takes native XDP, falling back to TC when the driver has none.
fn choose_hook(ifname: &str, requested: XdpAttachMode) -> (Option<IngressHook>, String) {
    match requested {
        XdpAttachMode::Native => (Some(IngressHook::NativeXdp), "requested".to_owned()),
        XdpAttachMode::Generic => (Some(IngressHook::GenericXdp), "requested".to_owned()),
        XdpAttachMode::Tc => (Some(IngressHook::Tc), "requested".to_owned()),
        XdpAttachMode::Auto => match device_kind(ifname) {
            Ok(DeviceKind {
                driver,
                virtual_device: true,
            }) => (
                Some(IngressHook::Tc),
                format!(
                    "auto: {driver} is a software device, where XDP costs forwarded traffic \
                     more than it saves"
                ),
            ),
            Ok(DeviceKind { driver, .. }) => (
                None,
                format!("auto: {driver} is a NIC; native XDP when the driver has it, else TC"),
            ),
            Err(err) => (
                None,
                format!("auto: driver unknown ({err}); native XDP when possible, else TC"),
            ),
        },
    }
}

/// Attaches the ingress and egress programs of `ebpf` to `ifname` per `requested`, pinning
/// their links under `pin_dir` when `pin_links` (so they outlive a crashed daemon).
pub(super) fn attach(
    ebpf: &mut Ebpf,
    ifname: &str,
    requested: XdpAttachMode,
    pin_dir: &Path,
    pin_links: bool,
) -> Result<Attached, DataplaneError> {
    let pin_path = |name: &str| pin_links.then(|| pin_dir.join(name));
    let (hook, why) = choose_hook(ifname, requested);
    let xdp_mode = match hook {
        Some(IngressHook::NativeXdp) => Some((XdpMode::Driver, false)),
        Some(IngressHook::GenericXdp) => Some((XdpMode::Skb, false)),
        Some(IngressHook::Tc) => None,
        // Native if the driver takes it, TC otherwise.
        None => Some((XdpMode::Driver, true)),
    };
    let mut xdp = None;
    let mut program_id = None;
    let mut hook_used = IngressHook::Tc;
    if let Some((mode, fallback)) = xdp_mode {
        let program: &mut Xdp = loaded_program(ebpf, ifname, PROGRAM_NAME)?;
        match program.attach(ifname, mode) {
            Ok(link_id) => {
                program_id = Some(program_id_of(program.info(), ifname)?);
                let link = program
                    .take_link(link_id)
                    .map_err(|source| DataplaneError::program(ifname, "take link of", source))?;
                xdp = Some(LinkHolder::new(
                    link,
                    ifname,
                    pin_path(pin::LINK_PIN).as_deref(),
                )?);
                hook_used = if mode == XdpMode::Driver {
                    IngressHook::NativeXdp
                } else {
                    IngressHook::GenericXdp
                };
            }
            Err(err) if fallback => tracing::info!(
                ifname,
                error = %err,
                "no native XDP in this driver: the data plane runs at TC ingress"
            ),
            Err(source) => return Err(DataplaneError::program(ifname, "attach XDP", source)),
        }
    }
    let mut classifiers = vec![(
        EGRESS_PROGRAM_NAME,
        TcAttachType::Egress,
        pin::EGRESS_LINK_PIN,
    )];
    let ingress = match hook_used {
        IngressHook::Tc => TC_PROGRAM_NAME,
        // Behind XDP: Accept_Mode for frames to our own MAC, and the packet-type repair a
        // veth needs after native XDP readdressed a frame to us (see vrrp-ebpf `packet_type`).
        IngressHook::NativeXdp | IngressHook::GenericXdp => AFTER_XDP_PROGRAM_NAME,
    };
    classifiers.push((ingress, TcAttachType::Ingress, pin::INGRESS_LINK_PIN));
    let mut tc_links = Vec::new();
    for (name, attach_type, pin_name) in classifiers {
        let (link, id) = attach_classifier(
            ebpf,
            ifname,
            name,
            attach_type,
            pin_path(pin_name).as_deref(),
        )?;
        tc_links.push(link);
        if name == TC_PROGRAM_NAME {
            program_id = Some(id);
        }
    }
    tracing::info!(ifname, ingress = %hook_used, reason = why, "data plane hook chosen");
    Ok(Attached {
        links: Links { xdp, tc: tc_links },
        hook: hook_used,
        program_id: program_id.unwrap_or_default(),
    })
}

fn program_id_of(
    info: Result<aya::programs::ProgramInfo, aya::programs::ProgramError>,
    ifname: &str,
) -> Result<u32, DataplaneError> {
    Ok(info
        .map_err(|source| DataplaneError::program(ifname, "query", source))?
        .id())
}

/// The two program types the data plane attaches.
pub(super) trait LoadableProgram {
    /// Whether the kernel has it already.
    fn is_loaded(&self) -> bool;
    /// Loads it (verifier) into the kernel.
    fn load_into_kernel(&mut self) -> Result<(), ProgramError>;
}

impl LoadableProgram for Xdp {
    fn is_loaded(&self) -> bool {
        self.fd().is_ok()
    }

    fn load_into_kernel(&mut self) -> Result<(), ProgramError> {
        self.load()
    }
}

impl LoadableProgram for SchedClassifier {
    fn is_loaded(&self) -> bool {
        self.fd().is_ok()
    }

    fn load_into_kernel(&mut self) -> Result<(), ProgramError> {
        self.load()
    }
}

/// Program `name` of `ebpf` as a `P`, loaded into the kernel (once).
pub(super) fn loaded_program<'a, P>(
    ebpf: &'a mut Ebpf,
    ifname: &str,
    name: &'static str,
) -> Result<&'a mut P, DataplaneError>
where
    P: LoadableProgram,
    &'a mut P: TryFrom<&'a mut Program, Error = ProgramError>,
{
    let program: &mut P = ebpf
        .program_mut(name)
        .ok_or(DataplaneError::ProgramMissing { name })?
        .try_into()
        .map_err(|source| DataplaneError::program(ifname, "load", source))?;
    if !program.is_loaded() {
        program
            .load_into_kernel()
            .map_err(|source| DataplaneError::program(ifname, "load", source))?;
    }
    Ok(program)
}

/// Attaches TC program `name`. From Linux 6.6 on it is a TCX link, pinned at `pin_path` like
/// the XDP link; older kernels need the clsact qdisc and a netlink filter, which the daemon
/// owns (it does not outlive the daemon there).
fn attach_classifier(
    ebpf: &mut Ebpf,
    ifname: &str,
    name: &'static str,
    attach_type: TcAttachType,
    pin_path: Option<&Path>,
) -> Result<(LinkHolder<SchedClassifierLink>, u32), DataplaneError> {
    // An unknown version is taken as new: the attach error then names the problem.
    let tcx =
        KernelVersion::current().map_or(true, |version| version >= KernelVersion::new(6, 6, 0));
    if !tcx {
        // Already present (another tc user, a previous run) is fine.
        let _exists = tc::qdisc_add_clsact(ifname);
    }
    let program: &mut SchedClassifier = loaded_program(ebpf, ifname, name)?;
    let id = program_id_of(program.info(), ifname)?;
    let link_id = program
        .attach(ifname, attach_type)
        .map_err(|source| DataplaneError::program(ifname, "attach TC program", source))?;
    let link = program
        .take_link(link_id)
        .map_err(|source| DataplaneError::program(ifname, "take link of", source))?;
    let link = match pin_path {
        Some(path) if tcx => LinkHolder::new(link, ifname, Some(path))?,
        _ => LinkHolder::Owned(link),
    };
    Ok((link, id))
}
