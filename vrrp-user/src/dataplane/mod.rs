//! The XDP data plane as seen from userspace: load the embedded object, attach it to an
//! interface, read its counters. Only this module talks to aya.

mod error;
mod stats;

use aya::{
    Ebpf,
    programs::{Xdp, XdpMode},
};
use aya_log::EbpfLogger;
use vrrp_common::maps::PROGRAM_NAME;

pub use error::DataplaneError;
pub use stats::CounterValues;

/// The XDP object, built by `cargo xtask build-ebpf` and copied here by build.rs.
static EBPF_OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/vrrp-ebpf.o"));

/// How to attach the XDP program.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum XdpAttachMode {
    /// Native (driver) XDP when the driver supports it, else generic.
    #[default]
    Auto,
    /// Native XDP only: fail if the driver lacks it.
    Native,
    /// Generic (skb) XDP: works on every interface, slower.
    Generic,
}

/// The XDP program attached to one interface. Dropping it detaches the program.
pub struct Dataplane {
    ifname: String,
    program_id: u32,
    attached_mode: XdpMode,
    // Declared before `ebpf` so the log ring buffer closes first; keeping it alive is required:
    // dropping the logger closes the log map.
    _logger: Option<EbpfLogger<&'static dyn log::Log>>,
    ebpf: Ebpf,
}

impl Dataplane {
    /// Loads the program and attaches it to `ifname` (in the caller's network namespace).
    pub fn attach(ifname: &str, mode: XdpAttachMode) -> Result<Self, DataplaneError> {
        let mut ebpf = Ebpf::load(EBPF_OBJECT).map_err(|source| DataplaneError::Load {
            source: Box::new(source),
        })?;
        // The object always carries the log map; a failure here means it could not be opened,
        // which only costs us the kernel-side debug logs.
        let logger = match EbpfLogger::init(&mut ebpf) {
            Ok(logger) => Some(logger),
            Err(err) => {
                tracing::warn!(ifname, error = %err, "XDP logs unavailable");
                None
            }
        };
        let program: &mut Xdp = ebpf
            .program_mut(PROGRAM_NAME)
            .ok_or(DataplaneError::ProgramMissing { name: PROGRAM_NAME })?
            .try_into()
            .map_err(|source| DataplaneError::program(ifname, "load", source))?;
        program
            .load()
            .map_err(|source| DataplaneError::program(ifname, "load", source))?;
        let attached_mode = match mode {
            XdpAttachMode::Native => attach(program, ifname, XdpMode::Driver)?,
            XdpAttachMode::Generic => attach(program, ifname, XdpMode::Skb)?,
            XdpAttachMode::Auto => attach(program, ifname, XdpMode::Driver)
                .or_else(|_| attach(program, ifname, XdpMode::Skb))?,
        };
        let program_id = program
            .info()
            .map_err(|source| DataplaneError::program(ifname, "query", source))?
            .id();
        tracing::info!(ifname, program_id, mode = ?attached_mode, "XDP program attached");
        Ok(Self {
            ifname: ifname.to_owned(),
            program_id,
            attached_mode,
            _logger: logger,
            ebpf,
        })
    }

    /// Kernel id of the loaded program (as `bpftool prog show` lists it).
    pub fn program_id(&self) -> u32 {
        self.program_id
    }

    /// Whether the program runs in the driver (native) or in the stack (generic).
    pub fn attached_mode(&self) -> XdpMode {
        self.attached_mode
    }

    /// The interface the program is attached to.
    pub fn ifname(&self) -> &str {
        &self.ifname
    }

    /// Global counters summed over all CPUs.
    pub fn counters(&self) -> Result<CounterValues, DataplaneError> {
        stats::read(&self.ebpf, &self.ifname)
    }
}

fn attach(program: &mut Xdp, ifname: &str, mode: XdpMode) -> Result<XdpMode, DataplaneError> {
    program
        .attach(ifname, mode)
        .map_err(|source| DataplaneError::program(ifname, "attach", source))?;
    Ok(mode)
}
