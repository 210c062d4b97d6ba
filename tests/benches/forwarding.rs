//! `cargo xtask bench forwarding`: what the data plane costs traffic a Master forwards. Two hosts
//! and a router in namespaces, joined by veths (host – router – host); the router runs the data
//! plane on both interfaces (one Master instance each) in every ingress mode, and iperf3 pushes
//! TCP (two streams) and 64-byte UDP through it. Modes are interleaved round by round with the
//! no-program baseline, and each round's ratio is taken against that round's baseline, because
//! this shared machine drifts. Prints a Markdown table (xtask writes it to docs/BENCHMARKS.md).
//! Needs root and iperf3.

use std::{
    net::{IpAddr, Ipv4Addr},
    process::Stdio,
    time::Duration,
};

use vrrp_common::maps::{AddressFamily, Role};
use vrrp_tests::{
    netns::NetNs,
    privilege::require_root,
    wait,
    xdp::{TestPinRoot, test_instance, test_options},
};
use vrrp_user::dataplane::{Dataplane, IngressHook, XdpAttachMode};

/// Rounds; each runs every mode once.
const ROUNDS: usize = 5;
/// Length of one iperf3 run.
const SECONDS: u32 = 3;

/// A data-plane setting under test; `None` is the baseline without programs.
const MODES: [Option<XdpAttachMode>; 4] = [
    None,
    Some(XdpAttachMode::Auto),
    Some(XdpAttachMode::Native),
    Some(XdpAttachMode::Generic),
];

fn label(mode: Option<XdpAttachMode>, hook: Option<IngressHook>) -> String {
    match (mode, hook) {
        (None, _) => "no program".to_owned(),
        (Some(XdpAttachMode::Auto), Some(hook)) => format!("auto (default; {hook} on veth)"),
        (Some(mode), _) => format!("{mode:?}").to_lowercase(),
    }
}

/// host a (192.0.2.10) – router (192.0.2.1 | 198.51.100.1) – host b (198.51.100.10).
struct Path {
    a: NetNs,
    router: NetNs,
    b: NetNs,
}

impl Path {
    fn new() -> Self {
        let (a, router, b) = (NetNs::new("fa"), NetNs::new("fr"), NetNs::new("fb"));
        for (host, inside, port, host_ip, router_ip) in [
            (&a, "eth0", "ra", "192.0.2.10", "192.0.2.1"),
            (&b, "eth0", "rb", "198.51.100.10", "198.51.100.1"),
        ] {
            host.run(&[
                "ip",
                "link",
                "add",
                inside,
                "type",
                "veth",
                "peer",
                "name",
                port,
                "netns",
                router.name(),
            ]);
            host.run(&["ip", "addr", "add", &format!("{host_ip}/24"), "dev", inside]);
            host.run(&["ip", "link", "set", inside, "up"]);
            host.run(&["ip", "route", "add", "default", "via", router_ip]);
            router.run(&["ip", "addr", "add", &format!("{router_ip}/24"), "dev", port]);
            router.run(&["ip", "link", "set", port, "up"]);
        }
        router.run(&["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
        Self { a, router, b }
    }

    /// The data plane on both router ports, Master for one VIP each.
    fn attach(&self, mode: XdpAttachMode, pins: &TestPinRoot) -> Vec<Dataplane> {
        let _inside = self.router.enter();
        [("ra", 7, [192, 0, 2, 100]), ("rb", 8, [198, 51, 100, 100])]
            .into_iter()
            .map(|(port, vrid, vip)| {
                let mut dataplane =
                    Dataplane::attach(port, &test_options(mode, pins)).expect("attach");
                dataplane
                    .set_instance(
                        AddressFamily::Ipv4,
                        vrid,
                        &test_instance(
                            Role::Master,
                            false,
                            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
                        ),
                    )
                    .expect("configure");
                dataplane
                    .add_vip(IpAddr::V4(Ipv4Addr::from(vip)), vrid)
                    .expect("VIP");
                dataplane
            })
            .collect()
    }

    /// Receiver-side rate of one iperf3 run (bits/s for TCP, packets/s for UDP).
    #[expect(clippy::float_arithmetic, reason = "packet rate from iperf3's counts")]
    fn iperf(&self, udp: bool) -> f64 {
        let mut server = self
            .b
            .command(&["iperf3", "-s", "-1", "-p", "5201"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start iperf3 server");
        // The server listens within a moment; the client retries its connect for this long.
        wait::until(
            "the iperf3 server to listen",
            Duration::from_secs(5),
            Duration::from_millis(50),
            || {
                let listening = self
                    .b
                    .command(&["ss", "-ltn", "sport = :5201"])
                    .output()
                    .ok()?;
                String::from_utf8_lossy(&listening.stdout)
                    .contains("5201")
                    .then_some(())
            },
        );
        let seconds = SECONDS.to_string();
        let mut args = vec![
            "iperf3",
            "-c",
            "198.51.100.10",
            "-p",
            "5201",
            "-t",
            &seconds,
            "-J",
        ];
        if udp {
            args.extend(["-u", "-b", "0", "-l", "64"]);
        } else {
            args.extend(["-P", "2"]);
        }
        let output = self.a.command(&args).output().expect("run iperf3");
        let _reaped = server.wait();
        let report: serde_json::Value =
            serde_json::from_slice(&output.stdout).expect("iperf3 JSON");
        let end = &report["end"];
        if udp {
            let sum = &end["sum"];
            let packets = sum["packets"].as_f64().unwrap_or(0.0)
                - sum["lost_packets"].as_f64().unwrap_or(0.0);
            packets / sum["seconds"].as_f64().unwrap_or(f64::from(SECONDS))
        } else {
            end["sum_received"]["bits_per_second"]
                .as_f64()
                .unwrap_or_else(|| panic!("no throughput in {report}"))
        }
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[expect(clippy::float_arithmetic, reason = "throughput ratios")]
fn main() {
    if !require_root("bench forwarding") {
        std::process::exit(1);
    }
    let path = Path::new();
    let pins = TestPinRoot::new(path.router.name());
    // rates[udp][mode][round]
    let mut rates = vec![vec![Vec::new(); MODES.len()]; 2];
    let mut hooks = vec![None; MODES.len()];
    for round in 0..ROUNDS {
        for (index, mode) in MODES.iter().enumerate() {
            let attached = mode.map(|mode| path.attach(mode, &pins));
            hooks[index] = attached
                .as_ref()
                .and_then(|dataplanes| dataplanes.first())
                .map(Dataplane::ingress_hook);
            for udp in [false, true] {
                rates[usize::from(udp)][index].push(path.iperf(udp));
            }
            drop(attached);
            eprintln!(
                "round {}/{ROUNDS}: {}",
                round + 1,
                label(*mode, hooks[index])
            );
        }
    }
    println!("| ingress | TCP, 2 streams | ratio | UDP 64 B | ratio |");
    println!("|---|---:|---:|---:|---:|");
    for (index, mode) in MODES.iter().enumerate() {
        let mut cells = Vec::new();
        for udp in [false, true] {
            let series = &rates[usize::from(udp)];
            let mut values = series[index].clone();
            let mut ratios: Vec<f64> = (0..ROUNDS)
                .map(|round| series[index][round] / series[0][round])
                .collect();
            let (low, high) = (
                ratios.iter().copied().fold(f64::INFINITY, f64::min),
                ratios.iter().copied().fold(0.0, f64::max),
            );
            let value = median(&mut values);
            let rate = if udp {
                format!("{:.0} kpps", value / 1e3)
            } else {
                format!("{:.1} Gbit/s", value / 1e9)
            };
            cells.push(format!(
                "{rate} | {:.2} ({low:.2}–{high:.2})",
                median(&mut ratios)
            ));
        }
        println!("| {} | {} |", label(*mode, hooks[index]), cells.join(" | "));
    }
}
