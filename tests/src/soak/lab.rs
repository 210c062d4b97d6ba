//! The soak's LAN: three xvrrp routers (IPv4 and IPv6 virtual routers each, 100 ms adverts,
//! Accept_Mode so hosts can ping the virtual addresses) and two hosts, plus what the soak
//! believes about each router: its priority and what a fault did to it.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use crate::{
    daemon::Daemon,
    failover::Prober,
    lab::{LAN_IF, Lab},
    netns::NetNs,
    scale::transitions,
    vrrp::{RouterSpec, VIP4, VIPS6},
};

/// Advert interval of every router.
pub(super) const INTERVAL_MS: u32 = 100;
/// The IPv4 address a VIP-list reload adds and removes again.
pub(super) const EXTRA_VIP4: &str = "192.0.2.101";
/// The IPv6 address a VIP-list reload adds and removes again.
pub(super) const EXTRA_VIP6: &str = "2001:db8::101";
/// The global IPv6 virtual address the second host probes.
const VIP6: &str = VIPS6[1];
/// Priorities at start: r1, r2, r3.
const PRIORITIES: [u8; 3] = [200, 150, 100];

/// What the soak did to a router, hence what a check may expect of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Condition {
    /// Running and on the LAN.
    Up,
    /// Its daemon was SIGKILLed and not restarted yet.
    Killed,
    /// Its daemon is SIGSTOPped.
    Stopped,
    /// Its `eth0` is down.
    LinkDown,
    /// Its switch port is down: alone on an island of its own.
    Isolated,
}

/// One router of the soak.
pub(super) struct Router {
    /// r1, r2, r3.
    pub(super) name: String,
    /// Its index in the lab's nodes.
    pub(super) node: usize,
    /// Its configured priority (both instances).
    pub(super) priority: u8,
    pub(super) condition: Condition,
    pub(super) daemon: Daemon,
    /// Its bpffs pin root.
    pub(super) bpffs: PathBuf,
}

/// The routers, the hosts and the LAN. Dropping it stops the daemons (removing their pins),
/// then removes the namespaces.
pub(super) struct SoakLab {
    // Daemons first: they stop before the namespaces go.
    pub(super) routers: Vec<Router>,
    /// Whether the configurations carry [`EXTRA_VIP4`] and [`EXTRA_VIP6`].
    pub(super) extra_vips: bool,
    /// Indices of the two hosts in the lab's nodes.
    pub(super) hosts: [usize; 2],
    pub(super) lab: Lab,
}

impl SoakLab {
    /// Starts the three routers once their link-local addresses passed DAD; does not wait for
    /// an election.
    pub(super) fn start() -> Self {
        let mut lab = Lab::new();
        // No MLD snooping: disabling a port (the partition fault) flushes its multicast
        // memberships, and the lab LAN has no querier to make the healed Master report its
        // solicited-node groups again; a switch that then kept the hosts' neighbour
        // solicitations for the IPv6 virtual addresses from it would be the lab's fault.
        lab.without_multicast_snooping();
        let nodes: Vec<usize> = (1..=3u8)
            .map(|host| lab.add_node(&format!("soak-r{host}"), host))
            .collect();
        let hosts = [lab.add_node("soak-h1", 10), lab.add_node("soak-h2", 11)];
        let mut soak = Self {
            routers: Vec::new(),
            extra_vips: false,
            hosts,
            lab,
        };
        for (index, (node, priority)) in nodes.into_iter().zip(PRIORITIES).enumerate() {
            let ns = &soak.lab.nodes[node].ns;
            // As a router's network configuration would, keep its own IPv6 address across
            // a link down/up (by default the kernel flushes it, and the /128 virtual
            // addresses have no route back to the hosts without its /64).
            ns.run(&[
                "sysctl",
                "-qw",
                &format!("net.ipv6.conf.{LAN_IF}.keep_addr_on_down=1"),
            ]);
            soak.lab.nodes[node].link_local();
            let bpffs = PathBuf::from(format!("/sys/fs/bpf/xvrrp-soak-{}", ns.name()));
            let config = soak.config(&bpffs, priority);
            let daemon = Daemon::start(ns, "xvrrp", &config, &bpffs);
            soak.routers.push(Router {
                name: format!("r{}", index + 1),
                node,
                priority,
                condition: Condition::Up,
                daemon,
                bpffs,
            });
        }
        soak
    }

    /// The configuration of a router with `priority` pinning under `bpffs`, with the
    /// current virtual addresses.
    pub(super) fn config(&self, bpffs: &Path, priority: u8) -> String {
        let spec = RouterSpec {
            interval_ms: INTERVAL_MS,
            accept_mode: true,
            ..RouterSpec::new(priority)
        };
        let (ipv4, ipv6) = self.vips_by_family();
        spec.config_both_families_with(bpffs.to_str().expect("utf-8 path"), &ipv4, &ipv6)
    }

    /// Writes router `index`'s configuration as the soak now wants it (for a reload or the
    /// next restart).
    pub(super) fn rewrite_config(&self, index: usize) {
        let router = &self.routers[index];
        router
            .daemon
            .rewrite_config(&self.config(&router.bpffs, router.priority));
    }

    fn vips_by_family(&self) -> (Vec<&'static str>, Vec<&'static str>) {
        let mut ipv4 = vec![VIP4];
        let mut ipv6 = VIPS6.to_vec();
        if self.extra_vips {
            ipv4.push(EXTRA_VIP4);
            ipv6.push(EXTRA_VIP6);
        }
        (ipv4, ipv6)
    }

    /// Every virtual address the configurations now carry.
    pub(super) fn vips(&self) -> Vec<&'static str> {
        let (mut ipv4, ipv6) = self.vips_by_family();
        ipv4.extend(ipv6);
        ipv4
    }

    /// Every virtual address any configuration of the soak ever carries.
    pub(super) fn every_vip() -> Vec<&'static str> {
        let mut all = vec![VIP4, EXTRA_VIP4];
        all.extend(VIPS6);
        all.push(EXTRA_VIP6);
        all
    }

    /// Router `index`'s namespace.
    pub(super) fn ns(&self, index: usize) -> &NetNs {
        &self.lab.nodes[self.routers[index].node].ns
    }

    /// Where router `index`'s data plane on `eth0` pins its maps and links.
    pub(super) fn pin_dir(&self, index: usize) -> PathBuf {
        self.routers[index].bpffs.join(LAN_IF)
    }

    /// Backup -> Master transitions all daemons logged so far.
    pub(super) fn takeovers(&self) -> usize {
        self.routers
            .iter()
            .map(|router| transitions(&router.daemon.log(), "Backup", "Master"))
            .sum()
    }

    /// One prober per host: the first pings the IPv4 virtual address, the second the global
    /// IPv6 one, every millisecond.
    pub(super) fn probers(&self) -> Vec<(String, Prober)> {
        [(self.hosts[0], VIP4), (self.hosts[1], VIP6)]
            .into_iter()
            .map(|(host, vip)| (vip.to_owned(), Prober::start(&self.lab.nodes[host].ns, vip)))
            .collect()
    }

    /// For a break's report: the last `lines` lines of every daemon's log, every router's
    /// addresses (with their lifetimes), where the switch forwards the virtual MACs and whom
    /// the hosts' neighbour tables name for the virtual addresses.
    pub(super) fn evidence(&self, lines: usize) -> String {
        let text = |out: std::process::Output| String::from_utf8_lossy(&out.stdout).into_owned();
        let mut evidence: Vec<String> = self
            .routers
            .iter()
            .map(|router| {
                let log = router.daemon.log();
                let tail: Vec<&str> = log.lines().rev().take(lines).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                let addresses = self.lab.nodes[router.node]
                    .ns
                    .command(&["ip", "addr", "show", "dev", LAN_IF])
                    .output()
                    .map(text)
                    .unwrap_or_default();
                format!("--- {} ---\n{}\n{addresses}", router.name, tail.join("\n"))
            })
            .collect();
        let fdb = self
            .lab
            .switch
            .command(&["bridge", "fdb", "show", "br", "br0"])
            .output()
            .map(text)
            .unwrap_or_default();
        let virtual_macs: Vec<&str> = fdb
            .lines()
            .filter(|line| line.starts_with("00:00:5e:00:0"))
            .collect();
        evidence.push(format!(
            "--- switch: virtual MACs ---\n{}",
            virtual_macs.join("\n")
        ));
        for host in self.hosts {
            let node = &self.lab.nodes[host];
            let neighbours = node
                .ns
                .command(&["ip", "neigh", "show", "dev", LAN_IF])
                .output()
                .map(text)
                .unwrap_or_default();
            evidence.push(format!(
                "--- host {}: neighbours ---\n{neighbours}",
                node.ipv4
            ));
        }
        evidence.join("\n")
    }
}

/// Master_Down_Interval of the lowest priority a soak router can have, plus scheduling
/// margin: how long a fault takes to show on the LAN at the latest.
pub(super) fn settle_time() -> Duration {
    RouterSpec {
        interval_ms: INTERVAL_MS,
        ..RouterSpec::new(1)
    }
    .master_down_interval()
        + Duration::from_millis(200)
}
