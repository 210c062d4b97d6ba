//! The XDP program loaded on a veth in its own namespace, for `BPF_PROG_TEST_RUN`
//! tests and the benchmark. Pins go to a per-namespace bpffs directory so parallel tests never
//! meet (every lab interface is called `eth0`).

use std::{net::IpAddr, path::PathBuf, time::Duration};

use vrrp_common::{
    advert::{ChecksumStyle, VersionMode},
    maps::Role,
};
use vrrp_user::dataplane::{
    AttachOptions, Dataplane, InstanceSettings, TestProgram, XdpAttachMode,
};

use crate::{
    frames::{ROUTER_MAC, mac_text},
    netns::{EnteredNetNs, NetNs},
};

/// Name of the veth the program is attached to.
pub const TEST_IF: &str = "xv0";
/// Its peer (in the same namespace; nothing listens there).
const PEER_IF: &str = "xv1";

/// bpffs directory for the pins of the namespace `ns_name`, removed on drop.
pub struct TestPinRoot(PathBuf);

impl TestPinRoot {
    /// `/sys/fs/bpf/xvrrp-test/<ns_name>`.
    pub fn new(ns_name: &str) -> Self {
        Self(PathBuf::from("/sys/fs/bpf/xvrrp-test").join(ns_name))
    }

    /// The directory.
    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TestPinRoot {
    fn drop(&mut self) {
        // Never panic in drop; the data plane removed its own directory already.
        if self.0.exists() && std::fs::remove_dir_all(&self.0).is_err() {
            eprintln!("warning: could not remove {}", self.0.display());
        }
        // The shared parent goes with the last test using it (fails harmlessly while others
        // still have directories in it).
        if let Some(parent) = self.0.parent() {
            let _ = std::fs::remove_dir(parent);
        }
    }
}

/// The per-instance heartbeat timeout for tests: one no test reaches by accident.
pub const TEST_HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(60);

/// An instance for tests in `role`, its Master at `master_address` (priority 200, 1 s adverts):
/// VRRPv3, RFC 9568 checksum, not the address owner, no unicast peers, heartbeat timeout
/// [`TEST_HEARTBEAT_TIMEOUT`].
pub fn test_instance(role: Role, accept: bool, master_address: IpAddr) -> InstanceSettings {
    InstanceSettings {
        role,
        accept,
        master_address,
        master_priority: 200,
        master_interval_cs: 100,
        owner: false,
        heartbeat_timeout: TEST_HEARTBEAT_TIMEOUT,
        checksum_style: ChecksumStyle::Rfc9568,
        peers_listed: false,
        versions: VersionMode::V3,
    }
}

/// Attach options for tests: pins under `pin_root`.
pub fn test_options(mode: XdpAttachMode, pin_root: &TestPinRoot) -> AttachOptions {
    AttachOptions {
        mode,
        pin_link: true,
        pin_root: pin_root.path().to_path_buf(),
        // The helper is `/proc/self/exe load-dataplane`: here that is the test binary. The
        // daemon tests cover the helper, which `xvrrp run` uses by default.
        load_in_helper: false,
    }
}

/// The program attached (generic XDP) to a veth with MAC [`ROUTER_MAC`] in a fresh
/// namespace the calling thread has entered. Fields drop in order: program, pins, thread back
/// home, namespace.
pub struct XdpUnderTest {
    /// The data plane.
    pub dataplane: Dataplane,
    _pin_root: TestPinRoot,
    _inside: EnteredNetNs,
    _ns: NetNs,
}

/// What one test run returned.
#[derive(Debug)]
pub struct Verdict {
    /// XDP action.
    pub action: u32,
    /// The frame after the program.
    pub frame: Vec<u8>,
}

impl XdpUnderTest {
    /// Sets everything up; panics with the reason if anything fails.
    pub fn new() -> Self {
        let ns = NetNs::new("xdp");
        ns.run(&[
            "ip", "link", "add", TEST_IF, "type", "veth", "peer", "name", PEER_IF,
        ]);
        ns.run(&["ip", "link", "set", PEER_IF, "up"]);
        ns.run(&[
            "ip",
            "link",
            "set",
            TEST_IF,
            "address",
            &mac_text(ROUTER_MAC),
            "up",
        ]);
        let inside = ns.enter();
        let pin_root = TestPinRoot::new(ns.name());
        let dataplane =
            Dataplane::attach(TEST_IF, &test_options(XdpAttachMode::Generic, &pin_root))
                .expect("attach XDP to the veth");
        Self {
            dataplane,
            _pin_root: pin_root,
            _inside: inside,
            _ns: ns,
        }
    }

    /// The namespace's name and the pins' directory, for a caller that cannot rely on drop
    /// (a fuzzer ends its process with `exit` or `abort`).
    pub fn leftovers(&self) -> (String, PathBuf) {
        (
            self._ns.name().to_owned(),
            self._pin_root.path().to_path_buf(),
        )
    }

    /// Runs the data plane (XDP, ingress) once on `frame`.
    pub fn run(&mut self, frame: &[u8]) -> Verdict {
        self.run_program(TestProgram::Xvrrp, frame)
    }

    /// Runs the data plane built for TC ingress once on `frame`.
    pub fn run_tc_ingress(&mut self, frame: &[u8]) -> Verdict {
        self.run_program(TestProgram::TcIngress, frame)
    }

    /// Runs the egress stamp (TC) once on `frame`, as if it left through the interface.
    pub fn run_egress(&mut self, frame: &[u8]) -> Verdict {
        self.run_program(TestProgram::Egress, frame)
    }

    fn run_program(&mut self, program: TestProgram, frame: &[u8]) -> Verdict {
        let mut out = vec![0; frame.len() + 256];
        let outcome = self
            .dataplane
            .test_run(program, frame, &mut out, 1)
            .expect("BPF_PROG_TEST_RUN");
        out.truncate(outcome.frame_len);
        Verdict {
            action: outcome.action,
            frame: out,
        }
    }
}

impl Default for XdpUnderTest {
    fn default() -> Self {
        Self::new()
    }
}

/// A current-thread tokio runtime with IO, which reading the advert ring buffer
/// (`AdvertEvents`, an `AsyncFd`) needs; enter it for the length of the test.
pub fn io_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .expect("tokio runtime")
}
