//! Per-interface kernel settings the daemon needs on a VRRP interface.

use std::path::PathBuf;

/// Makes the kernel source its own ARP requests on `ifname` from the interface's primary
/// address instead of from a virtual address (arp_announce=2). Otherwise a Master resolving a
/// neighbour (say, to answer a ping to the VIP) announces VIP -> physical MAC, and hosts
/// overwrite their neighbour entry for the VIP with the physical MAC: the next failover then
/// blackholes them until that entry expires (RFC 9568 §8.1.2: the Master must not use its
/// physical MAC for the virtual addresses).
pub fn announce_arp_from_primary_address(ifname: &str) -> std::io::Result<()> {
    let path: PathBuf = ["/proc/sys/net/ipv4/conf", ifname, "arp_announce"]
        .iter()
        .collect();
    std::fs::write(path, "2")
}
