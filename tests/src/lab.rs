//! A LAN for tests: a "switch" namespace holding a Linux bridge, and router/host namespaces each
//! joined to it by a veth pair whose inside end is called `eth0`. Only documentation prefixes are
//! used (192.0.2.0/24, 2001:db8::/32, fe80::/10).

use std::time::Duration;

use crate::{
    netns::NetNs,
    turn::{Share, Turn},
    wait,
};

/// Name of every node's LAN interface, inside its own namespace.
pub const LAN_IF: &str = "eth0";

/// One namespace on the lab LAN.
pub struct Node {
    /// The node's namespace.
    pub ns: NetNs,
    /// Its IPv4 address on the LAN (192.0.2.0/24).
    pub ipv4: String,
    /// Its global IPv6 address on the LAN (2001:db8::/64).
    pub ipv6: String,
    /// Name of its veth peer (bridge port) in the switch namespace.
    pub switch_port: String,
}

/// The switch plus the nodes. Dropping it removes every namespace (and with them the veths).
pub struct Lab {
    // Nodes first: their namespaces go before the switch's.
    pub nodes: Vec<Node>,
    /// The namespace holding bridge `br0`.
    pub switch: NetNs,
}

impl Lab {
    /// A switch namespace with bridge `br0` and no nodes yet.
    pub fn new() -> Self {
        let switch = NetNs::new("sw");
        switch.run(&["ip", "link", "add", "br0", "type", "bridge"]);
        // Forward immediately: no STP listening/learning delay before frames pass.
        switch.run(&[
            "ip",
            "link",
            "set",
            "br0",
            "type",
            "bridge",
            "forward_delay",
            "0",
        ]);
        switch.run(&["ip", "link", "set", "br0", "up"]);
        Self {
            nodes: Vec::new(),
            switch,
        }
    }

    /// Adds a node with host number `host` (1..=254): 192.0.2.`host`/24 and 2001:db8::`host`/64
    /// on its `eth0`. Returns its index in `nodes`.
    pub fn add_node(&mut self, tag: &str, host: u8) -> usize {
        let node = Node {
            ns: NetNs::new(tag),
            ipv4: format!("192.0.2.{host}"),
            ipv6: format!("2001:db8::{host:x}"),
            switch_port: format!("p{}", self.nodes.len()),
        };
        self.connect(&node);
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    /// Turns the bridge's IGMP/MLD snooping off: it then floods multicast like a plain switch
    /// (the lab has no querier to refresh memberships, and the snooping drops multicast
    /// packets whose IP header it cannot parse).
    pub fn without_multicast_snooping(&self) {
        self.switch.run(&[
            "ip",
            "link",
            "set",
            "br0",
            "type",
            "bridge",
            "mcast_snooping",
            "0",
        ]);
    }

    /// Gives node `index` a new `eth0` on the bridge with its addresses, up: after its `eth0`
    /// was deleted (the kernel gives the new one a new index).
    pub fn reconnect(&self, index: usize) {
        self.connect(&self.nodes[index]);
    }

    fn connect(&self, node: &Node) {
        let Node {
            ns,
            ipv4,
            ipv6,
            switch_port,
        } = node;
        ns.run(&[
            "ip",
            "link",
            "add",
            LAN_IF,
            "type",
            "veth",
            "peer",
            "name",
            switch_port,
            "netns",
            self.switch.name(),
        ]);
        self.switch
            .run(&["ip", "link", "set", switch_port, "master", "br0", "up"]);
        ns.run(&["ip", "addr", "add", &format!("{ipv4}/24"), "dev", LAN_IF]);
        ns.run(&[
            "ip",
            "addr",
            "add",
            &format!("{ipv6}/64"),
            "dev",
            LAN_IF,
            "nodad",
        ]);
        ns.run(&["ip", "link", "set", LAN_IF, "up"]);
    }
}

impl Node {
    /// Every address on the node's `eth0` (`ip -j addr`), without prefix lengths; empty if
    /// `ip` fails (the interface is being replaced).
    pub fn addresses(&self) -> Vec<String> {
        let Ok(out) = self
            .ns
            .command(&["ip", "-j", "addr", "show", "dev", LAN_IF])
            .output()
        else {
            return Vec::new();
        };
        let links: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        links
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|link| link["addr_info"].as_array())
            .flatten()
            .filter_map(|address| address["local"].as_str().map(str::to_owned))
            .collect()
    }

    /// The kernel-assigned IPv6 link-local address of `eth0` (the source of IPv6 adverts), once
    /// duplicate address detection has passed: xvrrp does not advertise from a tentative
    /// address, so IPv6 instances start only then (up to about 2 s after the link came up).
    pub fn link_local(&self) -> String {
        wait::until(
            &format!("a link-local address on {LAN_IF} that passed DAD"),
            Duration::from_secs(5),
            Duration::from_millis(50),
            || {
                let out = self.ns.run(&[
                    "ip", "-6", "-o", "addr", "show", "dev", LAN_IF, "scope", "link",
                ]);
                let text = String::from_utf8_lossy(&out.stdout).into_owned();
                // The kernel's is a /64; a Master's virtual link-local addresses are /128s.
                let line = text.lines().find(|line| line.contains("/64 "))?;
                if line.contains("tentative") {
                    return None;
                }
                line.split_whitespace()
                    .skip_while(|word| *word != "inet6")
                    .nth(1)
                    .and_then(|cidr| cidr.split('/').next())
                    .map(str::to_owned)
            },
        )
    }
}

impl Default for Lab {
    fn default() -> Self {
        Self::new()
    }
}

/// For a test that runs a pair: the root check (`None`: skipped, loudly), a shared turn on the
/// machine (hold it for the whole test) and a lab with r1 (192.0.2.1) and r2 (192.0.2.2).
pub fn two_routers(test: &str) -> Option<(Turn, Lab)> {
    if !crate::privilege::require_root(test) {
        return None;
    }
    let turn = Turn::take(Share::Alongside);
    let mut lab = Lab::new();
    lab.add_node("r1", 1);
    lab.add_node("r2", 2);
    Some((turn, lab))
}
