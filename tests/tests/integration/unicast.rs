//! `unicast_peers`: routers on a LAN whose switch drops every IPv4 multicast frame (as clouds
//! without multicast do) elect a Master, fail over, and ignore adverts from unlisted sources;
//! the same against keepalived's `unicast_peer`. Captures sit on the switch ports, so they see
//! what each router sends whatever the bridge then forwards or drops.

use std::{
    net::{IpAddr, Ipv4Addr},
    path::Path,
    time::{Duration, Instant},
};

use vrrp_common::{
    advert::{AdvertParams, ChecksumStyle},
    frames::build_ipv4_advert_packet,
};
use vrrp_tests::{
    capture::{Capture, Captured, inject},
    daemon::Daemon,
    frames::ethernet,
    keepalived::Keepalived,
    lab::Lab,
    privilege::require_root,
    turn::{Share, Turn},
    vrrp::{Family, RouterSpec, SeenAdvert, VIP4, VRID, adverts},
    wait,
};

use super::advert_filters::{lan_status, wait_counter};

/// Process start to protocol start (exec, XDP load and verification, netlink); keepalived's
/// start is slower.
const STARTUP: Duration = Duration::from_secs(3);
/// Slack on protocol bounds for a loaded 2-core machine (and keepalived's rounding).
const TOLERANCE: Duration = Duration::from_millis(150);
const INTERVAL_MS: u32 = 100;
/// An address on the LAN that no router lists, sending winning adverts.
const STRANGER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
const STRANGER_MAC: [u8; 6] = [2, 0, 0, 0, 0, 0x0a];
/// ether type ARP, for counting gratuitous ARPs.
const ETHERTYPE_ARP: [u8; 2] = [0x08, 0x06];

/// Two routers (192.0.2.1 and .2) and a stranger (.10) on a bridge that forwards no multicast
/// to the routers; a capture on each router's port.
struct UnicastLab {
    lab: Lab,
    family: Family,
    /// The routers' advert sources: IPv4 address, or link-local for IPv6.
    addresses: [IpAddr; 2],
    captures: [Capture; 2],
}

impl UnicastLab {
    /// For IPv4 the bridge floods no multicast to the routers. For IPv6 it must, or Neighbor
    /// Discovery (solicited-node multicast) could not resolve the unicast peers; there the
    /// captures show that no advert went to the group.
    fn new(family: Family) -> Self {
        let mut lab = Lab::new();
        lab.add_node("uc1", 1);
        lab.add_node("uc2", 2);
        lab.add_node("uch", 10);
        let switch = &lab.switch;
        // No multicast to the routers: the bridge floods none to their ports (224.0.0.18 is
        // never snooped, so this flag alone decides).
        for node in lab.nodes[..2].iter().filter(|_| family == Family::V4) {
            switch.run(&[
                "ip",
                "link",
                "set",
                "dev",
                &node.switch_port,
                "type",
                "bridge_slave",
                "mcast_flood",
                "off",
            ]);
        }
        let captures = [0, 1].map(|node| Capture::start(switch, &lab.nodes[node].switch_port));
        let addresses = [0, 1].map(|node| {
            let node = &lab.nodes[node];
            let address = match family {
                Family::V4 => node.ipv4.clone(),
                Family::V6 => node.link_local(),
            };
            address.parse().expect("address")
        });
        Self {
            lab,
            family,
            addresses,
            captures,
        }
    }

    fn address(&self, node: usize) -> IpAddr {
        self.addresses[node]
    }

    /// The adverts node `node` sent.
    fn adverts_of(&self, node: usize) -> Vec<SeenAdvert> {
        let source = self.address(node);
        adverts(&self.captures[node].frames())
            .into_iter()
            .filter(|advert| advert.source == source)
            .collect()
    }

    /// xvrrp on node `node` at `priority`, its instance listing the other router.
    fn start_xvrrp(&self, node: usize, priority: u8, extra: &str) -> (Daemon, RouterSpec) {
        let spec = RouterSpec {
            family: self.family,
            interval_ms: INTERVAL_MS,
            instance_extra: format!("unicast_peers = [\"{}\"]\n{extra}", self.address(1 - node)),
            ..RouterSpec::new(priority)
        };
        let ns = &self.lab.nodes[node].ns;
        let bpffs = format!("/sys/fs/bpf/xvrrp-test-{}", ns.name());
        let daemon = Daemon::start(ns, "xvrrp", &spec.config(&bpffs), Path::new(&bpffs));
        (daemon, spec)
    }

    /// Waits until `master` advertises, then checks over a clean second that it alone does,
    /// every advert going to the other router as unicast from the interface's own MAC, and that
    /// neither router sent a multicast advert.
    fn assert_sole_master(&self, master: usize, timeout: Duration) {
        let peer = self.address(1 - master);
        wait::until(
            "the Master to advertise",
            timeout,
            Duration::from_millis(20),
            || (!self.adverts_of(master).is_empty()).then_some(()),
        );
        std::thread::sleep(Duration::from_millis(500));
        for capture in &self.captures {
            capture.clear();
        }
        std::thread::sleep(Duration::from_secs(1));
        let sent = self.adverts_of(master);
        assert!(
            sent.len() >= 7,
            "the Master sent only {} adverts in 1 s",
            sent.len()
        );
        for advert in &sent {
            assert_eq!(advert.destination, peer, "{advert:?}");
            assert_eq!(advert.source_mac, self.mac(master), "{advert:?}");
        }
        let backup = self.adverts_of(1 - master);
        assert!(backup.is_empty(), "the Backup advertised: {backup:?}");
        for node in [0, 1] {
            let multicast = adverts(&self.captures[node].frames())
                .into_iter()
                .filter(|advert| advert.destination.is_multicast())
                .count();
            assert_eq!(multicast, 0, "node {node} sent multicast adverts");
        }
    }

    /// The MAC of node `node`'s eth0.
    fn mac(&self, node: usize) -> [u8; 6] {
        let out = self.lab.nodes[node]
            .ns
            .run(&["cat", "/sys/class/net/eth0/address"]);
        let text = String::from_utf8_lossy(&out.stdout);
        let bytes: Vec<u8> = text
            .trim()
            .split(':')
            .map(|byte| u8::from_str_radix(byte, 16).expect("MAC byte"))
            .collect();
        bytes.try_into().expect("6-byte MAC")
    }

    /// Waits for node `node`'s first advert and returns when it was captured.
    fn first_advert(&self, node: usize, what: &str, timeout: Duration) -> Instant {
        wait::until(what, timeout, Duration::from_millis(10), || {
            self.adverts_of(node).first().map(|advert| advert.at)
        })
    }

    /// Gratuitous ARPs node `node` sent.
    fn gratuitous_arps(&self, node: usize) -> usize {
        let frames: Vec<Captured> = self.captures[node].frames();
        frames
            .iter()
            .filter(|frame| frame.data.get(12..14) == Some(&ETHERTYPE_ARP[..]))
            .count()
    }

    /// Three winning adverts from the unlisted stranger to node `node`, unicast, 25 ms apart.
    fn inject_stranger(&self, node: usize) {
        let IpAddr::V4(destination) = self.address(node) else {
            unreachable!("the lab's routers have IPv4 addresses");
        };
        let params = AdvertParams {
            vrid: VRID,
            priority: 254,
            max_advert_interval_cs: 10,
        };
        let vip: Ipv4Addr = VIP4.parse().expect("VIP");
        let mut packet = [0; 64];
        let len = build_ipv4_advert_packet(
            &mut packet,
            &params,
            STRANGER,
            destination,
            &[vip],
            ChecksumStyle::Rfc9568,
        )
        .expect("advert fits");
        let frame = ethernet(self.mac(node), STRANGER_MAC, 0x0800, &packet[..len]);
        inject(
            &self.lab.nodes[2].ns,
            "eth0",
            &[frame.clone(), frame.clone(), frame],
            Duration::from_millis(25),
        );
    }
}

#[test]
fn unicast_peers_elect_and_fail_over_without_multicast() {
    if !require_root("unicast_peers_elect_and_fail_over_without_multicast") {
        return;
    }
    let _turn = Turn::take(Share::Alongside);
    let lab = UnicastLab::new(Family::V4);
    let (r2, r2_spec) = lab.start_xvrrp(1, 100, "");
    // r1 announces nothing on the LAN: in a cloud a hook would move the address.
    let (r1, _) = lab.start_xvrrp(0, 200, "lan_announcements = false");
    lab.assert_sole_master(0, STARTUP * 2);
    assert_eq!(
        lab.gratuitous_arps(0),
        0,
        "r1 announced with lan_announcements = false"
    );

    // A stranger's winning adverts reach r2 but are not from a listed peer: dropped, counted.
    lab.inject_stranger(1);
    assert!(wait_counter(&r2, "peer_not_allowed", 3) >= 3);
    assert_eq!(lan_status(&r2)["state"], "Backup", "{}", lan_status(&r2));
    assert!(lab.adverts_of(1).is_empty(), "r2 reacted to the stranger");
    // Status says where adverts go.
    assert_eq!(
        lan_status(&r2)["unicast_peers"],
        serde_json::json!([lab.address(0).to_string()])
    );

    // SIGKILL: no priority-0 advert; r2 takes over within its Master_Down_Interval.
    lab.captures[1].clear();
    r1.signal(libc::SIGKILL);
    let takeover = lab.first_advert(1, "r2 to take over", STARTUP);
    let last_r1 = lab
        .adverts_of(0)
        .last()
        .map(|advert| advert.at)
        .expect("r1 advertised");
    let gap = takeover - last_r1;
    let bound = r2_spec.master_down_interval();
    assert!(
        gap <= bound + TOLERANCE,
        "r2 took over {gap:?} after r1's last advert; bound {bound:?}"
    );
    let sent = lab.adverts_of(1);
    assert!(
        sent.iter()
            .all(|advert| advert.destination == lab.address(0)),
        "{sent:?}"
    );
    // r2 announces by default (lan_announcements = true).
    wait::until(
        "r2's gratuitous ARP",
        Duration::from_secs(1),
        Duration::from_millis(20),
        || (lab.gratuitous_arps(1) > 0).then_some(()),
    );
    drop(r2);
}

/// IPv6 with link-local unicast peers: the raw IPv6 socket (header included, scoped to the
/// interface) carries every advert, and the Backup takes over from a killed Master in time.
#[test]
fn ipv6_unicast_peers_elect_and_fail_over() {
    if !require_root("ipv6_unicast_peers_elect_and_fail_over") {
        return;
    }
    let _turn = Turn::take(Share::Alongside);
    let lab = UnicastLab::new(Family::V6);
    let (_r2, r2_spec) = lab.start_xvrrp(1, 100, "");
    let (r1, _) = lab.start_xvrrp(0, 200, "");
    lab.assert_sole_master(0, STARTUP * 2);
    lab.captures[1].clear();
    r1.signal(libc::SIGKILL);
    let takeover = lab.first_advert(1, "r2 to take over", STARTUP);
    let last_r1 = lab
        .adverts_of(0)
        .last()
        .map(|advert| advert.at)
        .expect("r1 advertised");
    let bound = r2_spec.master_down_interval();
    assert!(
        takeover - last_r1 <= bound + TOLERANCE,
        "r2 took over {:?} after r1's last advert; bound {bound:?}",
        takeover - last_r1
    );
    let sent = lab.adverts_of(1);
    assert!(
        sent.iter()
            .all(|advert| advert.destination == lab.address(0)),
        "{sent:?}"
    );
}

/// keepalived 2.2.7 with `unicast_peer` (and `unicast_src_ip`, its own address) and
/// `vrrp_version 3`: each elects the right Master over unicast only, the checksums verify both
/// ways (both sum the unicast destination into the pseudo-header), and each takes over from
/// the other.
#[test]
fn unicast_peers_interoperate_with_keepalived_unicast_peer() {
    if !require_root("unicast_peers_interoperate_with_keepalived_unicast_peer") {
        return;
    }
    let _turn = Turn::take(Share::Alongside);
    let lab = UnicastLab::new(Family::V4);
    let keepalived_unicast = format!(
        "    unicast_src_ip {}\n    unicast_peer {{\n        {}\n    }}\n",
        lab.address(1),
        lab.address(0)
    );
    let start_keepalived = |priority| {
        Keepalived::start_with(
            &lab.lab.nodes[1].ns,
            Family::V4,
            priority,
            INTERVAL_MS,
            &keepalived_unicast,
        )
    };

    // keepalived Master, xvrrp Backup; keepalived dies, xvrrp takes over.
    let mut keepalived = start_keepalived(200);
    lab.first_advert(1, "keepalived to become Master", STARTUP * 2);
    let (xvrrp, spec) = lab.start_xvrrp(0, 100, "");
    lab.assert_sole_master(1, STARTUP);
    assert_eq!(lan_status(&xvrrp)["dataplane"]["invalid_checksum"], 0);
    lab.captures[0].clear();
    keepalived.kill();
    let takeover = lab.first_advert(0, "xvrrp to take over", STARTUP);
    let last_keepalived = lab
        .adverts_of(1)
        .last()
        .map(|advert| advert.at)
        .expect("keepalived advertised");
    let gap = takeover - last_keepalived;
    let bound = spec.master_down_interval();
    assert!(
        gap <= bound + TOLERANCE,
        "xvrrp took over {gap:?} after keepalived's last advert; bound {bound:?}"
    );
    drop(keepalived);

    // xvrrp Master, keepalived Backup; xvrrp dies, keepalived takes over.
    let _keepalived = start_keepalived(50);
    std::thread::sleep(STARTUP);
    lab.assert_sole_master(0, STARTUP);
    lab.captures[1].clear();
    xvrrp.signal(libc::SIGKILL);
    let takeover = lab.first_advert(1, "keepalived to take over", STARTUP);
    let last_xvrrp = lab
        .adverts_of(0)
        .last()
        .map(|advert| advert.at)
        .expect("xvrrp advertised");
    // keepalived's Master_Down_Interval at priority 50 and 100 ms.
    let bound = RouterSpec::new(50).master_down_interval();
    let gap = takeover - last_xvrrp;
    assert!(
        gap <= bound + TOLERANCE,
        "keepalived took over {gap:?} after xvrrp's last advert; bound {bound:?}"
    );
}
