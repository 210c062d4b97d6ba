//! An nftables drop rule for one destination MAC at a device's netdev ingress hook, the
//! stack-side baseline of the virtual-MAC drop benchmark.

use crate::{frames::mac_text, netns::NetNs};

/// The table this module owns in a namespace.
const TABLE: &str = "xvrrp_bench";

/// A netdev table in `ns` whose ingress chain on one device counts and drops frames to one MAC;
/// deleted on drop.
pub struct NetdevDrop<'ns> {
    ns: &'ns NetNs,
}

impl<'ns> NetdevDrop<'ns> {
    /// Installs the rule `ether daddr <mac> counter drop` at ingress of `device` in `ns`;
    /// panics with nft's message if it fails (nftables missing, device absent).
    pub fn install(ns: &'ns NetNs, device: &str, mac: [u8; 6]) -> Self {
        let mac = mac_text(mac);
        ns.run(&[
            "nft",
            &format!(
                "add table netdev {TABLE}; \
                 add chain netdev {TABLE} ingress {{ type filter hook ingress device {device} \
                 priority 0; }}; \
                 add rule netdev {TABLE} ingress ether daddr {mac} counter drop"
            ),
        ]);
        Self { ns }
    }

    /// Frames the rule has dropped so far.
    pub fn dropped(&self) -> u64 {
        let listing = self
            .ns
            .run(&["nft", "-j", "list", "table", "netdev", TABLE]);
        let json: serde_json::Value =
            serde_json::from_slice(&listing.stdout).expect("nft prints JSON with -j");
        json["nftables"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|item| item["rule"]["expr"].as_array())
            .flatten()
            .find_map(|expr| expr["counter"]["packets"].as_u64())
            .unwrap_or_else(|| panic!("no counter in the nft listing {json}"))
    }
}

impl Drop for NetdevDrop<'_> {
    fn drop(&mut self) {
        // Never panic in drop; the namespace's removal takes the table with it anyway.
        let removed = self
            .ns
            .command(&["nft", "delete", "table", "netdev", TABLE])
            .output();
        if !removed.is_ok_and(|out| out.status.success()) {
            eprintln!(
                "warning: could not delete nft table {TABLE} in {}",
                self.ns.name()
            );
        }
    }
}
