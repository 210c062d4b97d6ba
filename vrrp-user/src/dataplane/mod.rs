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
mod maps;
mod pin;
mod pin_visibility;
mod stats;

use std::{
    ffi::CString,
    path::{Path, PathBuf},
    time::Duration,
};

use aya::{
    Ebpf, EbpfLoader,
    programs::{TestRun, TestRunAttrs, TestRunOptions},
};
use aya_log::EbpfLogger;
use vrrp_common::maps::{
    ALL_MAPS, EGRESS_PROGRAM_NAME, PASS_PROGRAM_NAME, PROGRAM_NAME, TC_PROGRAM_NAME,
};

use attach::{Links, classifier_program, xdp_program};

pub use attach::IngressHook;
pub use device::DeviceKind;
pub use error::DataplaneError;
pub use events::{AdvertEvents, DeliveredAdvert};
pub use fdb::{add_vmac_filter, remove_vmac_filter};
pub use maps::{InstanceSettings, monotonic_now, virtual_mac};
pub use pin_visibility::{PinVisibility, pin_visibility};
pub use stats::CounterValues;

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

/// Which program of the object [`Dataplane::test_run`] runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TestProgram {
    /// The data plane (XDP, ingress).
    Xvrrp,
    /// The `XDP_PASS`-only baseline of the benchmark.
    PassOnly,
    /// The data plane built for TC ingress, run on a frame as if it arrived here.
    TcIngress,
    /// The TC egress stamp, run on a frame as if it left through this interface.
    Egress,
}

/// Result of one `BPF_PROG_TEST_RUN`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TestRunOutcome {
    /// The XDP action the program returned.
    pub action: u32,
    /// Mean run time per repetition, as the kernel measured it.
    pub duration: Duration,
    /// Length of the output frame.
    pub frame_len: usize,
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
        let attached = attach::attach(&mut ebpf, ifname, options.mode, &pin_dir, options.pin_link)?;
        let mut dataplane = Self {
            ifname: ifname.to_owned(),
            ifindex,
            program_id: attached.program_id,
            hook: attached.hook,
            pin_dir,
            links: Some(attached.links),
            logger,
            ebpf,
        };
        dataplane.write_control(if_mac)?;
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

    /// Runs `program` `repeat` times on `frame` through `BPF_PROG_TEST_RUN`, as if it arrived
    /// on this interface; `frame_out` receives the (possibly rewritten) frame. Repetitions run
    /// on the same buffer, so a program that rewrites the frame sees its own output from the
    /// second run on ([`Self::test_run_live`] avoids that). Used by the integration tests and
    /// the benchmark; the maps are the live ones.
    pub fn test_run(
        &mut self,
        program: TestProgram,
        frame: &[u8],
        frame_out: &mut [u8],
        repeat: u32,
    ) -> Result<TestRunOutcome, DataplaneError> {
        self.run_test(program, frame, Some(frame_out), repeat, TestRunAttrs::new())
    }

    /// Like [`Self::test_run`] in live-frames mode: every repetition starts from `frame`, and
    /// `XDP_TX` frames really leave through this interface. No output frame (`frame_len` 0).
    pub fn test_run_live(
        &mut self,
        program: TestProgram,
        frame: &[u8],
        repeat: u32,
    ) -> Result<TestRunOutcome, DataplaneError> {
        // The kernel's default batch size.
        const BATCH: u32 = 64;
        self.run_test(
            program,
            frame,
            None,
            repeat,
            TestRunAttrs::new().xdp_live_frames(BATCH),
        )
    }

    fn run_test(
        &mut self,
        program: TestProgram,
        frame: &[u8],
        frame_out: Option<&mut [u8]>,
        repeat: u32,
        attrs: TestRunAttrs,
    ) -> Result<TestRunOutcome, DataplaneError> {
        let ifindex = self.ifindex;
        let frame_len = u32::try_from(frame.len()).unwrap_or(u32::MAX);
        let (context, name) = match program {
            // struct xdp_md {data, data_end, data_meta, ingress_ifindex, rx_queue_index,
            // egress_ifindex}: the kernel requires data_end = frame length and takes the
            // ingress device from here.
            TestProgram::Xvrrp | TestProgram::PassOnly => (
                vec![0, frame_len, 0, ifindex, 0, 0],
                if program == TestProgram::Xvrrp {
                    PROGRAM_NAME
                } else {
                    PASS_PROGRAM_NAME
                },
            ),
            // struct __sk_buff up to `ifindex` (the 11th u32), which the kernel accepts as the
            // device the skb is on; every other field it reads must be zero.
            TestProgram::TcIngress | TestProgram::Egress => {
                let mut skb = vec![0; SKB_IFINDEX_WORD + 1];
                skb[SKB_IFINDEX_WORD] = ifindex;
                (
                    skb,
                    if program == TestProgram::Egress {
                        EGRESS_PROGRAM_NAME
                    } else {
                        TC_PROGRAM_NAME
                    },
                )
            }
        };
        let context_bytes: Vec<u8> = context.iter().flat_map(|word| word.to_ne_bytes()).collect();
        let options = TestRunOptions {
            data_in: Some(frame),
            data_out: frame_out,
            ctx_in: Some(&context_bytes),
            repeat,
            attrs,
            ..TestRunOptions::new()
        };
        let result = if matches!(program, TestProgram::TcIngress | TestProgram::Egress) {
            classifier_program(&mut self.ebpf, &self.ifname, name)?.test_run(options)
        } else {
            xdp_program(&mut self.ebpf, &self.ifname, name)?.test_run(options)
        }
        .map_err(|source| DataplaneError::program(&self.ifname, "test-run", source))?;
        Ok(TestRunOutcome {
            action: result.return_value,
            duration: result.duration,
            frame_len: result.data_size_out as usize,
        })
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

/// Index of `ifindex` in `struct __sk_buff`, counted in u32 words.
const SKB_IFINDEX_WORD: usize = 10;
