//! Network namespaces as RAII guards, created and removed with iproute2.

use std::{
    fs::File,
    os::fd::AsFd,
    process::{Command, Output},
    sync::atomic::{AtomicU32, Ordering},
};

/// A named network namespace (`ip netns add`), deleted on drop.
pub struct NetNs {
    name: String,
}

/// Unique per process and per call, so tests can run in parallel and concurrent CI runs on one
/// machine do not collide.
pub fn unique_name(tag: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("xv{}-{n}-{tag}", std::process::id())
}

impl NetNs {
    /// Creates a namespace with a unique name derived from `tag`, with loopback up.
    pub fn new(tag: &str) -> Self {
        let name = unique_name(tag);
        run_ok(Command::new("ip").args(["netns", "add", &name]));
        let ns = Self { name };
        ns.run(&["ip", "link", "set", "lo", "up"]);
        ns
    }

    /// The namespace's name (for `ip netns exec` and `ip link ... netns`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A command that runs `argv` inside the namespace.
    pub fn command(&self, argv: &[&str]) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.name]).args(argv);
        cmd
    }

    /// Runs `argv` inside the namespace and panics (with its output) if it fails.
    pub fn run(&self, argv: &[&str]) -> Output {
        run_ok(&mut self.command(argv))
    }

    /// Adds an interface `name` with `address` (CIDR), up, whose carrier comes from a veth peer
    /// `<name>-peer` in the same namespace: an interface a test can create after a daemon
    /// started.
    pub fn add_lone_veth(&self, name: &str, address: &str) {
        let peer = format!("{name}-peer");
        self.run(&[
            "ip", "link", "add", name, "type", "veth", "peer", "name", &peer,
        ]);
        self.run(&["ip", "addr", "add", address, "dev", name]);
        self.run(&["ip", "link", "set", &peer, "up"]);
        self.run(&["ip", "link", "set", name, "up"]);
    }

    /// Moves the calling thread into this namespace until the guard is dropped. Only this thread
    /// changes namespace; the test harness runs each test on its own thread.
    pub fn enter(&self) -> EnteredNetNs {
        let original = File::open("/proc/thread-self/ns/net").expect("open own netns");
        let target = File::open(format!("/run/netns/{}", self.name)).expect("open target netns");
        setns(&target);
        EnteredNetNs { original }
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        // Never panic here: we may already be unwinding from a failed assertion.
        let result = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
        if !result.is_ok_and(|out| out.status.success()) {
            eprintln!("warning: could not delete network namespace {}", self.name);
        }
    }
}

/// Returned by [`NetNs::enter`]: moves the thread back to its original namespace on drop.
pub struct EnteredNetNs {
    original: File,
}

impl Drop for EnteredNetNs {
    fn drop(&mut self) {
        setns(&self.original);
    }
}

fn setns(ns: &File) {
    // SAFETY: the fd is a valid, open network namespace file for the duration of the call.
    let rc = unsafe {
        libc::setns(
            std::os::fd::AsRawFd::as_raw_fd(&ns.as_fd()),
            libc::CLONE_NEWNET,
        )
    };
    assert_eq!(rc, 0, "setns failed: {}", std::io::Error::last_os_error());
}

/// Runs `cmd`, panicking with its stderr if it fails to start or exits non-zero.
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|err| panic!("failed to start {cmd:?}: {err}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed with {}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
