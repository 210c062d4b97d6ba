//! Running `xvrrp` inside a lab namespace: a process guard that stops it by PID on drop and
//! keeps its log for assertions and failure messages.

use std::{
    fs,
    io::Read as _,
    path::{Path, PathBuf},
    process::{Child, Stdio},
    time::Duration,
};

use crate::{netns::NetNs, wait};

/// The `xvrrp` binary built next to the running executable: test binaries live in
/// `target/<profile>/deps/`, the demo in `target/<profile>/`.
pub fn xvrrp_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let dir = exe.parent().expect("executable directory");
    find_binary(&[dir.join("xvrrp"), dir.join("../xvrrp")], "next to", &exe)
}

/// The optimised `xvrrp` (`target/release/xvrrp`), for tests whose load only a daemon built
/// as deployed carries: an unoptimised one sending 25,000 adverts a second measures the
/// compiler's debug code, not the daemon's design.
pub fn xvrrp_release_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let dir = exe.parent().expect("executable directory");
    find_binary(
        &[
            dir.join("../release/xvrrp"),
            dir.join("../../release/xvrrp"),
        ],
        "in the release directory near",
        &exe,
    )
}

fn find_binary(candidates: &[PathBuf], place: &str, exe: &Path) -> PathBuf {
    candidates
        .iter()
        .find(|candidate| candidate.exists())
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "no xvrrp binary {place} {}: build it first (`cargo xtask test` and \
                 `cargo xtask demo` do)",
                exe.display()
            )
        })
}

/// nsenter enters only the network namespace: unlike `ip netns exec` it keeps the host's mount
/// namespace, so the daemon's bpffs pins are visible to the test and to bpftool, as they are in
/// production.
fn nsenter(ns: &NetNs) -> [String; 3] {
    [
        "nsenter".to_owned(),
        format!("--net=/run/netns/{}", ns.name()),
        "--".to_owned(),
    ]
}

/// A running daemon. Dropping it kills it (SIGKILL) if still running.
pub struct Daemon {
    child: Option<Child>,
    /// The command line that started it (launcher, binary, arguments), for [`Self::restart`].
    argv: Vec<String>,
    log_path: PathBuf,
    /// Directory holding the config and log; removed on drop.
    dir: PathBuf,
    /// The daemon's bpffs pin root; removed on drop (a killed daemon leaves its pinned XDP
    /// link and maps behind by design).
    bpffs: PathBuf,
}

impl Daemon {
    /// Writes `config` (whose `[global] bpffs` is `bpffs`) to a temporary file and starts
    /// `xvrrp run` in `ns` with JSON logs.
    pub fn start(ns: &NetNs, name: &str, config: &str, bpffs: &Path) -> Self {
        Self::spawn(&xvrrp_binary(), ns, name, config, bpffs, &nsenter(ns))
    }

    /// [`Self::start`] with the optimised daemon ([`xvrrp_release_binary`]).
    pub fn start_release(ns: &NetNs, name: &str, config: &str, bpffs: &Path) -> Self {
        Self::spawn(
            &xvrrp_release_binary(),
            ns,
            name,
            config,
            bpffs,
            &nsenter(ns),
        )
    }

    /// Like [`Self::start`], but the way a lab user often does it: `ip netns exec`, which
    /// gives the process a mount namespace (and /sys) of its own.
    pub fn start_with_ip_netns_exec(ns: &NetNs, name: &str, config: &str, bpffs: &Path) -> Self {
        let launcher = ["ip", "netns", "exec", ns.name()].map(str::to_owned);
        Self::spawn(&xvrrp_binary(), ns, name, config, bpffs, &launcher)
    }

    /// Like [`Self::start`], but with only `capabilities` (names as in capabilities(7), e.g.
    /// `CAP_NET_RAW`) in its bounding set, hence in its permitted and effective sets: how the
    /// systemd unit's `CapabilityBoundingSet` runs it; with `unit_limits`, also under the
    /// unit's `LimitRTPRIO` (the given priority) and `LimitMEMLOCK=infinity` (raising them
    /// needs CAP_SYS_RESOURCE: see [`can_raise_limits`]). The UID stays 0.
    pub fn start_with_capabilities(
        ns: &NetNs,
        name: &str,
        config: &str,
        bpffs: &Path,
        capabilities: &[&str],
        unit_limits: Option<u8>,
    ) -> Self {
        let kept: String = capabilities
            .iter()
            .map(|cap| format!(",+{}", cap.trim_start_matches("CAP_").to_lowercase()))
            .collect();
        let mut launcher = nsenter(ns).to_vec();
        if let Some(realtime_priority_limit) = unit_limits {
            launcher.extend(unit_limits_launcher(realtime_priority_limit));
        }
        launcher.extend(
            [
                "setpriv",
                &format!("--bounding-set=-all{kept}"),
                "--inh-caps=-all",
                "--",
            ]
            .map(str::to_owned),
        );
        Self::spawn(&xvrrp_binary(), ns, name, config, bpffs, &launcher)
    }

    fn spawn(
        binary: &Path,
        ns: &NetNs,
        name: &str,
        config: &str,
        bpffs: &Path,
        launcher: &[String],
    ) -> Self {
        let dir = std::env::temp_dir().join(format!("{}-{name}", ns.name()));
        fs::create_dir_all(&dir).expect("create daemon dir");
        let config_path = dir.join("xvrrp.toml");
        fs::write(&config_path, with_private_ops_paths(config, &dir)).expect("write config");
        let log_path = dir.join("xvrrp.log");
        fs::File::create(&log_path).expect("create log");
        let mut argv = launcher.to_vec();
        argv.extend(
            [
                binary.to_str().expect("utf-8 path"),
                "run",
                "--config",
                config_path.to_str().expect("utf-8 path"),
                "--log-format",
                "json",
            ]
            .map(str::to_owned),
        );
        let child = spawn_logged(&argv, &log_path);
        Self {
            child: Some(child),
            argv,
            log_path,
            dir,
            bpffs: bpffs.to_owned(),
        }
    }

    /// Starts the daemon again with the same command line and configuration file, after it
    /// exited (reaped by [`Self::wait_exit`]), its log appended to: a restart after a crash
    /// finds the pins the previous run left, as in production.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "restart of a daemon still running");
        self.child = Some(spawn_logged(&self.argv, &self.log_path));
    }

    /// Replaces the configuration file (control socket and journal kept private, as at
    /// start), for a reload (SIGHUP) or the next restart.
    pub fn rewrite_config(&self, config: &str) {
        fs::write(
            self.config_path(),
            with_private_ops_paths(config, &self.dir),
        )
        .expect("write config");
    }

    /// The daemon's control socket (see [`with_private_ops_paths`]).
    pub fn control_socket(&self) -> PathBuf {
        self.dir.join("control.sock")
    }

    /// The configuration file the daemon reads (and re-reads on SIGHUP).
    pub fn config_path(&self) -> PathBuf {
        self.dir.join("xvrrp.toml")
    }

    /// The daemon's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Whether the daemon has not exited.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|child| child.try_wait().expect("try_wait").is_none())
    }

    /// Everything the daemon logged so far.
    pub fn log(&self) -> String {
        let mut text = String::new();
        if let Ok(mut file) = fs::File::open(&self.log_path) {
            let _partial_is_fine = file.read_to_string(&mut text);
        }
        text
    }

    /// Sends `signal` to the daemon.
    pub fn signal(&self, signal: libc::c_int) {
        let pid = libc::pid_t::try_from(self.pid()).expect("pid fits pid_t");
        // SAFETY: kill(2) on our own child's PID.
        let rc = unsafe { libc::kill(pid, signal) };
        assert_eq!(rc, 0, "kill({pid}, {signal}) failed");
    }

    /// Waits (bounded) for the daemon to exit and returns its exit code.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let child = self.child.as_mut().expect("daemon already reaped");
        let status = wait::until("xvrrp to exit", timeout, Duration::from_millis(20), || {
            child.try_wait().expect("try_wait")
        });
        self.child = None;
        status.code()
    }

    /// Waits (bounded) until the log contains `needle`.
    pub fn wait_for_log(&self, needle: &str, timeout: Duration) {
        wait::until(
            &format!("log line containing {needle:?}"),
            timeout,
            Duration::from_millis(20),
            || self.log().contains(needle).then_some(()),
        );
    }
}

/// `argv` started with its output appended to `log_path`.
fn spawn_logged(argv: &[String], log_path: &Path) -> Child {
    let log = fs::OpenOptions::new()
        .append(true)
        .open(log_path)
        .expect("open log");
    std::process::Command::new(&argv[0])
        .args(&argv[1..])
        // The default attach mode, as a user runs it; the explicit modes are covered by the
        // xdp_vip suite.
        .env("RUST_LOG", "info,vrrp_user=debug")
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("dup log"))
        .stderr(log)
        .spawn()
        .expect("start xvrrp")
}

/// `xvrrp status --json` of the instance `name` of the daemon behind `socket`, once it answers.
pub fn instance_status(socket: &Path, name: &str) -> Option<serde_json::Value> {
    let out = std::process::Command::new(xvrrp_binary())
        .args(["status", "--json", "--socket"])
        .arg(socket)
        .output()
        .expect("run xvrrp status");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .ok()
        .filter(|_| out.status.success())?;
    report["snapshot"]["instances"]
        .as_array()?
        .iter()
        .find(|instance| instance["name"] == name)
        .cloned()
}

/// `config` with the control socket and the journal in the daemon's own directory, unless it
/// sets them: every daemon of a test shares the host's /run and /var/lib, and two daemons on
/// one socket path refuse to start.
pub fn with_private_ops_paths(config: &str, dir: &Path) -> String {
    let mut private = String::new();
    if !config.contains("control_socket") {
        private.push_str(&format!(
            "control_socket = \"{}\"\n",
            dir.join("control.sock").display()
        ));
    }
    if !config.contains("journal =") {
        private.push_str(&format!(
            "journal = \"{}\"\n",
            dir.join("events.jsonl").display()
        ));
    }
    match config.split_once("[global]\n") {
        Some((before, after)) => format!("{before}[global]\n{private}{after}"),
        None => format!("[global]\n{private}\n{config}"),
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _already_dead = child.kill();
            let _reaped = child.wait();
        }
        if std::thread::panicking() {
            eprintln!("--- xvrrp log ({}) ---\n{}", self.dir.display(), self.log());
        }
        let _leftover = fs::remove_dir_all(&self.dir);
        let _clean_exit_removed_it = fs::remove_dir_all(&self.bpffs);
    }
}

/// `prlimit` setting the systemd unit's resource limits for the command after it.
fn unit_limits_launcher(realtime_priority_limit: u8) -> [String; 4] {
    [
        "prlimit".to_owned(),
        format!("--rtprio={realtime_priority_limit}"),
        "--memlock=unlimited".to_owned(),
        "--".to_owned(),
    ]
}

/// Whether this process may raise resource limits as the systemd unit does (sandboxes without
/// CAP_SYS_RESOURCE may not).
pub fn can_raise_limits(realtime_priority_limit: u8) -> bool {
    std::process::Command::new("prlimit")
        .args(&unit_limits_launcher(realtime_priority_limit)[1..])
        .arg("true")
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}
