//! How many frames per second to the virtual MAC a Backup discards on a veth, with the data
//! plane (in the hook `auto` picks on a veth, and native XDP) against an nftables drop rule at
//! the device's netdev ingress hook. One generator (AF_PACKET, `sendmmsg`, qdisc bypass) pinned
//! to one CPU sends the same frame in every case; a veth delivers on the sending CPU, so that
//! core runs the generator and the receive path, and the rate is what one core does end to end.

use std::{net::IpAddr, time::Duration};

use vrrp_common::{
    counters::Counter,
    maps::{AddressFamily, Role},
};
use vrrp_tests::{
    frame_generator::FrameGenerator,
    frames::{ROUTER_MAC, echo_v4, mac_text},
    netns::NetNs,
    nft::NetdevDrop,
    spread::Spread,
    xdp::{TestPinRoot, test_options},
};
use vrrp_user::dataplane::{Dataplane, IngressHook, XdpAttachMode, virtual_mac};

use crate::{VIP, VRID, instance};

/// Rounds; each runs every receiver once, in the same order.
const ROUNDS: usize = 11;
/// Length of one burst.
const WINDOW: Duration = Duration::from_secs(1);

/// The generator's end of the veth.
const GENERATOR_IF: &str = "xvg0";
/// The Backup's end.
const RECEIVER_IF: &str = "xvr0";

/// What discards the frames on the receiver's veth.
#[derive(Clone, Copy)]
enum Receiver {
    /// `ether daddr <vMAC> counter drop` at netdev ingress, no program.
    Nftables,
    /// The data plane as a Backup for the VRID, attached in this mode.
    Xvrrp(XdpAttachMode),
}

const RECEIVERS: [Receiver; 3] = [
    Receiver::Nftables,
    Receiver::Xvrrp(XdpAttachMode::Auto),
    Receiver::Xvrrp(XdpAttachMode::Native),
];

fn label(receiver: Receiver, hook: Option<IngressHook>) -> String {
    match (receiver, hook) {
        (Receiver::Nftables, _) => "nftables drop rule (netdev ingress)".to_owned(),
        (Receiver::Xvrrp(XdpAttachMode::Auto), Some(hook)) => {
            format!("xvrrp Backup, auto (default; {hook} on veth)")
        }
        (Receiver::Xvrrp(mode), _) => {
            format!("xvrrp Backup, {} XDP", format!("{mode:?}").to_lowercase())
        }
    }
}

/// generator namespace – veth – receiver namespace.
struct VethLab {
    generator: NetNs,
    receiver: NetNs,
    pins: TestPinRoot,
}

impl VethLab {
    fn new() -> Self {
        let (generator, receiver) = (NetNs::new("vmgen"), NetNs::new("vmrcv"));
        generator.run(&[
            "ip",
            "link",
            "add",
            GENERATOR_IF,
            "type",
            "veth",
            "peer",
            "name",
            RECEIVER_IF,
            "netns",
            receiver.name(),
        ]);
        receiver.run(&[
            "ip",
            "link",
            "set",
            RECEIVER_IF,
            "address",
            &mac_text(ROUTER_MAC),
            "up",
        ]);
        generator.run(&["ip", "link", "set", GENERATOR_IF, "up"]);
        let pins = TestPinRoot::new(receiver.name());
        Self {
            generator,
            receiver,
            pins,
        }
    }

    /// The data plane on the receiver's veth, Backup for [`VRID`].
    fn attach_backup(&self, mode: XdpAttachMode) -> Dataplane {
        let _inside = self.receiver.enter();
        let mut dataplane = Dataplane::attach(RECEIVER_IF, &test_options(mode, &self.pins))
            .unwrap_or_else(|err| panic!("attach ({mode:?}) to {RECEIVER_IF}: {err}"));
        dataplane
            .set_instance(AddressFamily::Ipv4, VRID, &instance(Role::Backup))
            .expect("write the instance");
        dataplane
            .add_vip(IpAddr::V4(VIP), VRID)
            .expect("write the VIP");
        dataplane
    }
}

/// What one burst did, per second of the generator thread's CPU time (one core's worth, what
/// other processes took from the CPU not counted).
struct Burst {
    discarded_per_s: f64,
    sent_per_s: f64,
    /// Share of the window the generator had the CPU.
    on_cpu: f64,
}

/// One burst, counting what `discarded` counts.
#[expect(clippy::float_arithmetic, reason = "rates")]
fn burst(generator: &FrameGenerator, cpu: usize, discarded: impl Fn() -> u64) -> Burst {
    let before = discarded();
    let sent = generator.send_for(WINDOW, cpu);
    let after = discarded();
    let seconds = sent.cpu_time.as_secs_f64();
    Burst {
        discarded_per_s: (after - before) as f64 / seconds,
        sent_per_s: sent.frames as f64 / seconds,
        on_cpu: seconds / sent.elapsed.as_secs_f64(),
    }
}

#[expect(clippy::float_arithmetic, reason = "rates and ratios")]
pub(crate) fn run(cpu: usize) {
    let lab = VethLab::new();
    let vmac = virtual_mac(AddressFamily::Ipv4, VRID);
    let generator = FrameGenerator::new(&lab.generator, GENERATOR_IF, echo_v4(vmac, VIP));
    // [receiver][round]
    let mut discarded = vec![Vec::new(); RECEIVERS.len()];
    let mut sent = vec![Vec::new(); RECEIVERS.len()];
    let mut on_cpu = Vec::new();
    let mut hooks = vec![None; RECEIVERS.len()];
    for round in 0..ROUNDS {
        for (index, receiver) in RECEIVERS.iter().enumerate() {
            let burst = match *receiver {
                Receiver::Nftables => {
                    let rule = NetdevDrop::install(&lab.receiver, RECEIVER_IF, vmac);
                    burst(&generator, cpu, || rule.dropped())
                }
                Receiver::Xvrrp(mode) => {
                    let dataplane = lab.attach_backup(mode);
                    hooks[index] = Some(dataplane.ingress_hook());
                    burst(&generator, cpu, || {
                        dataplane
                            .counter(Counter::VmacDroppedBackup)
                            .expect("read the counter")
                    })
                }
            };
            discarded[index].push(burst.discarded_per_s);
            sent[index].push(burst.sent_per_s);
            on_cpu.push(burst.on_cpu);
        }
        eprintln!("virtual-MAC drop: round {}/{ROUNDS}", round + 1);
    }
    println!(
        "- Virtual-MAC drop rate: VRID {VRID}, frames to {} of {} B; {ROUNDS} rounds of a {} s \
         burst per receiver; the generator had the CPU for {:.0} % of its windows.\n",
        mac_text(vmac),
        echo_v4(vmac, VIP).len(),
        WINDOW.as_secs(),
        Spread::of(&on_cpu).scaled(100.0),
    );
    println!(
        "| receiver on the veth | discarded, Mframes per CPU-second | ratio to nftables (same round) | \
         core ns per frame | saved vs nftables, ns per frame (same round) | sent, Mframes per \
         CPU-second |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for (index, receiver) in RECEIVERS.iter().enumerate() {
        let rounds = discarded[index].iter().zip(&discarded[0]);
        let ratios: Vec<f64> = rounds
            .clone()
            .map(|(rate, nftables)| rate / nftables)
            .collect();
        let saved_ns: Vec<f64> = rounds
            .map(|(rate, nftables)| 1e9 / nftables - 1e9 / rate)
            .collect();
        let rate = Spread::of(&discarded[index]);
        println!(
            "| {} | {:.2} | {:.2} | {:.0} | {:.0} | {:.2} |",
            label(*receiver, hooks[index]),
            rate.scaled(1e-6),
            Spread::of(&ratios),
            1e9 / rate.median,
            Spread::of(&saved_ns),
            Spread::of(&sent[index]).scaled(1e-6),
        );
    }
    println!();
}
