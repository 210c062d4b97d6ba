//! Nanoseconds per packet of the XDP program through BPF_PROG_TEST_RUN, against the object's
//! `XDP_PASS`-only program. Each call is timed by the thread's CPU time at R and 2R
//! repetitions; (T(2R) − T(R)) / R cancels the fixed cost of the call and is not rounded to
//! whole nanoseconds as the kernel's own mean is.

use std::{net::Ipv4Addr, time::Duration};

use vrrp_common::maps::{AddressFamily, Role};
use vrrp_tests::{
    cpu::thread_cpu_time,
    frames::{self, Advert, HOST_MAC, arp_request, echo_v4},
    spread::Spread,
    xdp::XdpUnderTest,
};
use vrrp_user::dataplane::{TestProgram, virtual_mac};

use crate::{PEER, VIP, VRID, instance};

/// Rounds; each runs every case's program and baseline once, alternating which goes first.
const ROUNDS: usize = 21;

/// R: the shorter call's repetitions (the longer one runs 2R). Long enough that the per-call
/// cost is small next to it; the rounds, not R, buy the stability.
const REPEAT: u32 = 500_000;

struct Case {
    name: &'static str,
    frame: Vec<u8>,
    role: Role,
    /// Upper bound on the ratio to the empty program, if the design sets one.
    target: Option<f64>,
}

/// Per-round costs of one case.
#[derive(Default)]
struct Series {
    program_ns: Vec<f64>,
    baseline_ns: Vec<f64>,
    ratios: Vec<f64>,
}

fn cases() -> [Case; 5] {
    [
        Case {
            name: "transit IPv4 UDP (64 B payload)",
            frame: frames::udp_v4(64),
            role: Role::Backup,
            target: Some(1.1),
        },
        Case {
            name: "transit IPv6 UDP (64 B payload)",
            frame: frames::udp_v6(64),
            role: Role::Backup,
            target: Some(1.1),
        },
        Case {
            name: "routine advert (Backup, checksum, absorbed)",
            frame: Advert::new(VRID, 200).frame_v4(HOST_MAC, PEER, &[VIP]),
            role: Role::Backup,
            target: Some(5.0),
        },
        Case {
            name: "VMAC frame dropped (Backup)",
            frame: echo_v4(virtual_mac(AddressFamily::Ipv4, VRID), VIP),
            role: Role::Backup,
            target: Some(1.25),
        },
        Case {
            name: "ARP request for a VIP (Master, passed to the stack)",
            frame: arp_request(HOST_MAC, Ipv4Addr::new(192, 0, 2, 10), VIP),
            role: Role::Master,
            target: None,
        },
    ]
}

/// CPU time of one BPF_PROG_TEST_RUN call of `repeat` repetitions on the same buffer (no
/// case rewrites its frame).
fn timed_call(xdp: &mut XdpUnderTest, program: TestProgram, frame: &[u8], repeat: u32) -> Duration {
    let mut out = vec![0; frame.len() + 256];
    let start = thread_cpu_time();
    xdp.dataplane
        .test_run(program, frame, &mut out, repeat)
        .expect("BPF_PROG_TEST_RUN");
    thread_cpu_time().saturating_sub(start)
}

/// Nanoseconds per repetition from calls of R and 2R repetitions.
#[expect(
    clippy::float_arithmetic,
    reason = "sub-nanosecond cost from two timings"
)]
fn per_packet_ns(xdp: &mut XdpUnderTest, program: TestProgram, frame: &[u8]) -> f64 {
    let once = timed_call(xdp, program, frame, REPEAT);
    let twice = timed_call(xdp, program, frame, 2 * REPEAT);
    (twice.as_secs_f64() - once.as_secs_f64()) * 1e9 / f64::from(REPEAT)
}

#[expect(clippy::float_arithmetic, reason = "cost ratios")]
pub(crate) fn run() {
    let mut xdp = XdpUnderTest::new();
    xdp.dataplane
        .add_vip(std::net::IpAddr::V4(VIP), VRID)
        .expect("write the VIP");
    // Heartbeat fresh for the whole run (the ARP case reads it).
    xdp.dataplane.refresh_heartbeat().expect("heartbeat");
    let cases = cases();
    let mut series: Vec<Series> = cases.iter().map(|_| Series::default()).collect();
    for round in 0..ROUNDS {
        for (case, series) in cases.iter().zip(&mut series) {
            xdp.dataplane
                .set_instance(AddressFamily::Ipv4, VRID, &instance(case.role))
                .expect("write the instance");
            // The baseline runs on the case's frame: same length, same copy in and out.
            let mut measure = |program| per_packet_ns(&mut xdp, program, &case.frame);
            let (program, baseline) = if round % 2 == 0 {
                let program = measure(TestProgram::Xvrrp);
                (program, measure(TestProgram::PassOnly))
            } else {
                let baseline = measure(TestProgram::PassOnly);
                (measure(TestProgram::Xvrrp), baseline)
            };
            series.program_ns.push(program);
            series.baseline_ns.push(baseline);
            series.ratios.push(program / baseline);
        }
        eprintln!("per packet: round {}/{ROUNDS}", round + 1);
    }
    println!("- Per packet: R = {REPEAT}, {ROUNDS} rounds.\n");
    println!("| case | ns/packet | empty XDP_PASS ns/packet | ratio (same round) | target |");
    println!("|---|---:|---:|---:|---:|");
    for (case, series) in cases.iter().zip(&series) {
        let target = case
            .target
            .map_or_else(|| "—".to_owned(), |bound| format!("≤ {bound}"));
        println!(
            "| {} | {:.1} | {:.1} | {:.2} | {target} |",
            case.name,
            Spread::of(&series.program_ns),
            Spread::of(&series.baseline_ns),
            Spread::of(&series.ratios),
        );
    }
    println!();
}
