//! A real keepalived (Debian's 2.2.x, `vrrp_version 3`, or 2 with [`Keepalived::start_v2`]) as a
//! VRRP peer in a lab namespace, for interoperability tests. Started with its own config and pid files; stopped by PID on drop.

use std::{
    fs,
    os::unix::process::CommandExt as _,
    path::PathBuf,
    process::{Child, Stdio},
};

use crate::{
    netns::NetNs,
    vrrp::{Family, VIP4, VIPS6},
};

/// A running keepalived.
pub struct Keepalived {
    child: Option<Child>,
    dir: PathBuf,
}

impl Keepalived {
    /// Starts keepalived in `ns` with one VRRPv3 instance of `family` at `priority`, advertising
    /// every `interval_ms`, on `eth0`.
    pub fn start(ns: &NetNs, family: Family, priority: u8, interval_ms: u32) -> Self {
        Self::start_with(ns, family, priority, interval_ms, "")
    }

    /// [`Self::start`] with `extra` lines in the instance block (e.g. `unicast_peer { ... }`).
    pub fn start_with(
        ns: &NetNs,
        family: Family,
        priority: u8,
        interval_ms: u32,
        extra: &str,
    ) -> Self {
        let addresses = match family {
            Family::V4 => format!("{VIP4}/32"),
            Family::V6 => VIPS6.map(|a| format!("{a}/128")).join("\n        "),
        };
        let instance = instance(
            "lan",
            family.vrid(),
            priority,
            interval_ms,
            &addresses,
            extra,
        );
        Self::start_config(ns, &format!("{}{instance}", global(ns, 3)))
    }

    /// Starts keepalived in `ns` with one IPv4 VRRPv2 (RFC 3768, `vrrp_version 2`, keepalived's
    /// default) instance at `priority`, advertising every `interval_s` seconds, on `eth0`.
    pub fn start_v2(ns: &NetNs, priority: u8, interval_s: u32) -> Self {
        let instance = instance(
            "lan",
            Family::V4.vrid(),
            priority,
            interval_s * 1000,
            &format!("{VIP4}/32"),
            "",
        );
        Self::start_config(ns, &format!("{}{instance}", global(ns, 2)))
    }

    /// Starts keepalived in `ns` with one IPv4 VRRPv3 instance per VRID of `vrids`, each with
    /// the virtual address `vip_of(vrid)`.
    pub fn start_per_vrid(
        ns: &NetNs,
        priority: u8,
        interval_ms: u32,
        vrids: std::ops::RangeInclusive<u8>,
        vip_of: impl Fn(u8) -> std::net::Ipv4Addr,
    ) -> Self {
        let config = vrids.fold(global(ns, 3), |mut config, vrid| {
            let address = format!("{}/32", vip_of(vrid));
            config.push_str(&instance(
                &format!("vr{vrid}"),
                vrid,
                priority,
                interval_ms,
                &address,
                "",
            ));
            config
        });
        Self::start_config(ns, &config)
    }

    fn start_config(ns: &NetNs, config: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("{}-keepalived", ns.name()));
        fs::create_dir_all(&dir).expect("create keepalived dir");
        let config_path = dir.join("keepalived.conf");
        fs::write(&config_path, config).expect("write keepalived.conf");
        let log = fs::File::create(dir.join("keepalived.log")).expect("create log");
        let netns = format!("--net=/run/netns/{}", ns.name());
        let path = |name: &str| dir.join(name).to_string_lossy().into_owned();
        let child = std::process::Command::new("nsenter")
            .args([
                netns.as_str(),
                "--",
                "keepalived",
                "--dont-fork",
                "--log-console",
            ])
            .args(["--vrrp", "--use-file", &path("keepalived.conf")])
            .args([
                "--pid",
                &path("keepalived.pid"),
                "--vrrp_pid",
                &path("vrrp.pid"),
            ])
            // A process group of its own (nsenter execs keepalived, so its id is keepalived's):
            // one kill(2) then stops the parent and its VRRP child together.
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup log"))
            .stderr(log)
            .spawn()
            .expect("start keepalived (cargo xtask setup installs it)");
        Self {
            child: Some(child),
            dir,
        }
    }

    /// keepalived's processes: the parent and its VRRP child (once it wrote its pid file).
    pub fn pids(&self) -> Vec<u32> {
        let child = fs::read_to_string(self.dir.join("vrrp.pid"))
            .ok()
            .and_then(|pid| pid.trim().parse().ok());
        self.child.iter().map(Child::id).chain(child).collect()
    }

    /// Sends `signal` to keepalived: SIGKILL to its whole process group, so the parent and
    /// its VRRP child die at once as in a crash (killed one by one, the parent would respawn
    /// the child, or the child would clean up on its parent's death); any other signal to the
    /// parent, which passes SIGTERM on to its child (that one resigns with priority 0).
    pub fn signal(&self, signal: libc::c_int) {
        let Some(child) = &self.child else { return };
        let pid = libc::pid_t::try_from(child.id()).expect("pid fits pid_t");
        let target = if signal == libc::SIGKILL { -pid } else { pid };
        // SAFETY: kill(2) on the process (group) we started.
        let rc = unsafe { libc::kill(target, signal) };
        assert_eq!(rc, 0, "kill({target}, {signal}) failed");
    }

    /// Kills keepalived (SIGKILL: no priority-0 advert), as a crashed Master, and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let group = libc::pid_t::try_from(child.id()).expect("pid fits pid_t");
            // SAFETY: kill(2) on the process group we started; fails harmlessly when gone.
            unsafe { libc::kill(-group, libc::SIGKILL) };
            let _reaped = child.wait();
        }
    }

    /// keepalived's log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.join("keepalived.log")).unwrap_or_default()
    }
}

/// The installed keepalived's name and version for a report, e.g. `keepalived 2.2.7` (from
/// its `Keepalived v2.2.7 (01/16,2022)` on stderr).
pub fn version() -> String {
    std::process::Command::new("keepalived")
        .arg("--version")
        .output()
        .ok()
        .and_then(|out| {
            let text = String::from_utf8_lossy(&out.stderr).into_owned()
                + &String::from_utf8_lossy(&out.stdout);
            let version = text.split_whitespace().find(|word| word.starts_with('v'))?;
            Some(format!("keepalived {}", version.trim_start_matches('v')))
        })
        .unwrap_or_else(|| "keepalived (version unknown)".to_owned())
}

fn global(ns: &NetNs, version: u8) -> String {
    format!(
        "global_defs {{\n    router_id {}\n    vrrp_version {version}\n}}\n",
        ns.name()
    )
}

/// One `vrrp_instance` block; `extra` lines (each indented, ending in a newline) go before
/// its addresses.
fn instance(
    name: &str,
    vrid: u8,
    priority: u8,
    interval_ms: u32,
    addresses: &str,
    extra: &str,
) -> String {
    // keepalived takes the interval in seconds with two decimals for VRRPv3 (and whole seconds,
    // which this gives for multiples of 1000 ms, for VRRPv2).
    let interval = format!("{}.{:02}", interval_ms / 1000, (interval_ms % 1000) / 10);
    format!(
        "vrrp_instance {name} {{\n    state BACKUP\n    interface eth0\n    \
         virtual_router_id {vrid}\n    priority {priority}\n    advert_int {interval}\n\
         {extra}    virtual_ipaddress {{\n        {addresses}\n    }}\n}}\n"
    )
}

impl Drop for Keepalived {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- keepalived log ---\n{}", self.log());
        }
        self.kill();
        let _leftover = fs::remove_dir_all(&self.dir);
    }
}
