//! `cargo xtask demo`: two xvrrp routers and a host in network namespaces; kill the Master and
//! measure what the host sees. Everything it creates is removed when it ends, also on failure.

use std::{
    path::Path,
    time::{Duration, Instant},
};

use vrrp_tests::{
    capture::Capture,
    daemon::{Daemon, xvrrp_binary},
    failover::{Failover, millis},
    lab::{LAN_IF, Lab},
    netns::NetNs,
    vrrp::{RouterSpec, VIP4, adverts_from},
    wait,
};

const INTERVAL_MS: u32 = 100;
const VIP6: &str = "2001:db8::100";

fn config(priority: u8, bpffs: &str) -> String {
    format!(
        r#"# xvrrp demo router: IPv4 and IPv6 virtual routers on eth0
[global]
bpffs = "{bpffs}"

[[instance]]
name = "lan-v4"
interface = "eth0"
vrid = 51
priority = {priority}
advert_interval_ms = {INTERVAL_MS}
accept_mode = true
virtual_addresses = ["{VIP4}"]

[[instance]]
name = "lan-v6"
interface = "eth0"
vrid = 52
priority = {priority}
advert_interval_ms = {INTERVAL_MS}
accept_mode = true
virtual_addresses = ["fe80::100", "{VIP6}"]
"#
    )
}

struct Router<'a> {
    name: &'static str,
    ns: &'a NetNs,
    address: &'a str,
    priority: u8,
}

impl Router<'_> {
    fn start(&self) -> Daemon {
        let bpffs = format!("/sys/fs/bpf/xvrrp-demo-{}", self.ns.name());
        Daemon::start(
            self.ns,
            self.name,
            &config(self.priority, &bpffs),
            Path::new(&bpffs),
        )
    }
}

fn print_failover(failover: &Failover, bound: Duration) {
    println!(
        "   protocol bound: Master_Down_Interval(priority 100, {INTERVAL_MS} ms) = {}",
        millis(bound)
    );
    println!(
        "   takeover on the wire (old Master's last advert -> new Master's first): {}",
        millis(failover.takeover)
    );
    for outage in &failover.outages {
        println!(
            "   longest gap in replies to {}: {} ({} replies, {} lost)",
            outage.target,
            millis(outage.gap),
            outage.replies,
            outage.lost
        );
    }
}

fn who_is_master(capture: &Capture, routers: &[&Router<'_>]) -> String {
    capture.clear();
    std::thread::sleep(Duration::from_millis(u64::from(INTERVAL_MS) * 3));
    let frames = capture.frames();
    routers
        .iter()
        .map(|router| {
            let adverts = adverts_from(&frames, router.address);
            let role = if adverts.is_empty() {
                "Backup"
            } else {
                "Master"
            };
            format!(
                "  {:<3} {:<11} priority {:<3}  {role}",
                router.name, router.address, router.priority
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `$ xvrrp <args>` against `daemon`'s control socket, and what it printed, indented.
fn xvrrp(daemon: &Daemon, args: &[&str]) -> String {
    let out = std::process::Command::new(xvrrp_binary())
        .args(args)
        .arg("--socket")
        .arg(daemon.control_socket())
        .output()
        .expect("run xvrrp");
    let text = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
    let shown: Vec<String> = text
        .lines()
        .map(|line| format!("  {line}").trim_end().to_owned())
        .collect();
    format!("  $ xvrrp {}\n{}", args.join(" "), shown.join("\n"))
}

fn main() {
    assert!(
        // SAFETY: geteuid cannot fail.
        unsafe { libc::geteuid() } == 0,
        "the demo creates network namespaces and loads XDP: run it as root"
    );
    let started = Instant::now();
    println!(
        "== xvrrp demo: two routers and a host on a bridge (namespaces, documentation addresses)"
    );
    let mut lab = Lab::new();
    let (r1, r2, host) = (
        lab.add_node("r1", 1),
        lab.add_node("r2", 2),
        lab.add_node("h", 10),
    );
    let router1 = Router {
        name: "r1",
        ns: &lab.nodes[r1].ns,
        address: "192.0.2.1",
        priority: 200,
    };
    let router2 = Router {
        name: "r2",
        ns: &lab.nodes[r2].ns,
        address: "192.0.2.2",
        priority: 100,
    };
    let host_ns = &lab.nodes[host].ns;
    let capture = Capture::start(host_ns, LAN_IF);
    println!(
        "   VIPs {VIP4} (VRID 51) and fe80::100, {VIP6} (VRID 52); adverts every {INTERVAL_MS} ms"
    );

    let daemon1 = router1.start();
    let daemon2 = router2.start();
    let bound = RouterSpec {
        interval_ms: INTERVAL_MS,
        ..RouterSpec::new(router2.priority)
    }
    .master_down_interval();
    wait::until(
        "r1 to become Master",
        Duration::from_secs(10),
        Duration::from_millis(20),
        || (!adverts_from(&capture.frames(), router1.address).is_empty()).then_some(()),
    );
    println!(
        "\n== who is Master (read from the wire)\n{}",
        who_is_master(&capture, &[&router1, &router2])
    );
    println!(
        "\n== what r1's daemon says (xvrrp status asks it over its control socket)\n{}",
        xvrrp(&daemon1, &["status", "lan-v4"])
    );

    println!("\n== 1. the Master's daemon crashes (SIGKILL); the node stays on the LAN");
    println!("   its pinned data plane keeps forwarding until its heartbeat goes stale, then");
    println!("   behaves as Backup; r2 takes over Master_Down_Interval after r1's last advert");
    let failover = Failover::measure(
        host_ns,
        &capture,
        router1.address,
        router2.address,
        &[VIP4, VIP6],
        || daemon1.signal(libc::SIGKILL),
    );
    print_failover(&failover, bound);
    println!(
        "\n== who is Master now\n{}",
        who_is_master(&capture, &[&router1, &router2])
    );
    println!(
        "\n== r2's view after the takeover\n{}\n{}",
        xvrrp(&daemon2, &["status", "lan-v4"]),
        xvrrp(&daemon2, &["events"])
    );

    println!("\n== 2. restart r1: it preempts (priority 200 > 100)");
    drop(daemon1);
    let daemon1 = router1.start();
    let restarted = Instant::now();
    wait::until(
        "r1 to preempt",
        Duration::from_secs(10),
        Duration::from_millis(20),
        || {
            let frames = capture.frames();
            adverts_from(&frames, router1.address)
                .iter()
                .any(|advert| advert.at > restarted)
                .then_some(())
        },
    );
    println!("{}", who_is_master(&capture, &[&router1, &router2]));
    println!("\n== r1's events\n{}", xvrrp(&daemon1, &["events"]));

    println!("\n== 3. the Master node dies (daemon killed and its switch port cut at once)");
    let port = lab.nodes[r1].switch_port.clone();
    let failover = Failover::measure(
        host_ns,
        &capture,
        router1.address,
        router2.address,
        &[VIP4, VIP6],
        || {
            daemon1.signal(libc::SIGKILL);
            lab.switch.run(&["ip", "link", "set", &port, "down"]);
        },
    );
    print_failover(&failover, bound);
    println!(
        "\n== who is Master now\n{}",
        who_is_master(&capture, &[&router1, &router2])
    );
    println!(
        "\n== r2's events: both takeovers and the preemption\n{}",
        xvrrp(&daemon2, &["events"])
    );
    drop((daemon1, daemon2, capture));
    drop(lab);
    println!(
        "\n== cleaned up: namespaces, data-plane programs and pins removed ({} s in all)",
        started.elapsed().as_secs()
    );
}
