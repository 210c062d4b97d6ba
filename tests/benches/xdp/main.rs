//! `cargo xtask bench xdp`: nanoseconds per packet of the XDP program through
//! BPF_PROG_TEST_RUN with a large repeat count, against the object's `XDP_PASS`-only program
//! measured in the same run. Prints a Markdown table (xtask writes it to docs/BENCHMARKS.md).
//! Needs root.

use std::{
    net::{IpAddr, Ipv4Addr},
    time::Duration,
};

use vrrp_common::{
    advert::ChecksumStyle,
    maps::{AddressFamily, Role},
};
use vrrp_tests::xdp::TEST_HEARTBEAT_TIMEOUT;
use vrrp_tests::{
    frames::{self, Advert, HOST_MAC, arp_request, echo_v4},
    privilege::require_root,
    xdp::XdpUnderTest,
};
use vrrp_user::dataplane::{InstanceSettings, TestProgram, virtual_mac};

/// Repetitions per measurement: long enough that timer overhead vanishes.
const REPEAT: u32 = 2_000_000;
/// Measurements per case; the median is reported.
const ROUNDS: usize = 7;

const VRID: u8 = 7;
const VIP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 100);
const PEER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);

/// How a case is run.
#[derive(Clone, Copy)]
enum Mode {
    /// Same buffer every repetition (the program must not change the frame).
    InPlace,
    /// Live frames: every repetition starts from the input (for frames the program rewrites).
    Live,
}

struct Case {
    name: &'static str,
    frame: Vec<u8>,
    role: Role,
    mode: Mode,
    /// Upper bound on the ratio to the empty program, if the design sets one.
    target: Option<f64>,
}

fn configure(xdp: &mut XdpUnderTest, role: Role) {
    xdp.dataplane
        .set_instance(
            AddressFamily::Ipv4,
            VRID,
            &InstanceSettings {
                role,
                accept: true,
                master_address: IpAddr::V4(PEER),
                master_priority: 200,
                master_interval_cs: 100,
                owner: false,
                heartbeat_timeout: TEST_HEARTBEAT_TIMEOUT,
                checksum_style: ChecksumStyle::Rfc9568,
                peers_listed: false,
                versions: vrrp_common::advert::VersionMode::V3,
            },
        )
        .expect("write the instance");
}

fn median_ns(xdp: &mut XdpUnderTest, program: TestProgram, frame: &[u8], mode: Mode) -> f64 {
    let mut out = vec![0; frame.len() + 256];
    let mut samples: Vec<Duration> = (0..ROUNDS)
        .map(|_| {
            match mode {
                Mode::InPlace => xdp.dataplane.test_run(program, frame, &mut out, REPEAT),
                Mode::Live => xdp.dataplane.test_run_live(program, frame, REPEAT),
            }
            .expect("BPF_PROG_TEST_RUN")
            .duration
        })
        .collect();
    samples.sort();
    let median = samples[ROUNDS / 2];
    // Integer nanoseconds from the kernel; the ratio needs a fraction.
    #[expect(clippy::float_arithmetic, reason = "reporting only")]
    let ns = median.as_secs_f64() * 1e9;
    ns
}

fn main() {
    if !require_root("bench xdp") {
        return;
    }
    let mut xdp = XdpUnderTest::new();
    xdp.dataplane
        .add_vip(IpAddr::V4(VIP), VRID)
        .expect("write the VIP");
    // Heartbeat fresh for the whole run (the ARP case reads it).
    xdp.dataplane.refresh_heartbeat().expect("heartbeat");
    let cases = [
        Case {
            name: "transit IPv4 UDP (64 B payload)",
            frame: frames::udp_v4(64),
            role: Role::Backup,
            mode: Mode::InPlace,
            target: Some(1.1),
        },
        Case {
            name: "transit IPv6 UDP (64 B payload)",
            frame: frames::udp_v6(64),
            role: Role::Backup,
            mode: Mode::InPlace,
            target: Some(1.1),
        },
        Case {
            name: "routine advert (Backup, checksum, absorbed)",
            frame: Advert::new(VRID, 200).frame_v4(HOST_MAC, PEER, &[VIP]),
            role: Role::Backup,
            mode: Mode::InPlace,
            target: Some(5.0),
        },
        Case {
            name: "VMAC frame dropped (Backup)",
            frame: echo_v4(virtual_mac(AddressFamily::Ipv4, VRID), VIP),
            role: Role::Backup,
            mode: Mode::InPlace,
            target: Some(1.25),
        },
        Case {
            name: "ARP reply (Master, XDP_TX, live frames)",
            frame: arp_request(HOST_MAC, Ipv4Addr::new(192, 0, 2, 10), VIP),
            role: Role::Master,
            mode: Mode::Live,
            target: None,
        },
    ];
    let baseline_frame = frames::udp_v4(64);
    println!("| case | ns/packet | empty XDP_PASS ns/packet | ratio | target |");
    println!("|---|---:|---:|---:|---:|");
    for case in &cases {
        configure(&mut xdp, case.role);
        // The baseline runs right before each case so drift (frequency, noise) hits both.
        let baseline = median_ns(&mut xdp, TestProgram::PassOnly, &baseline_frame, case.mode);
        let measured = median_ns(&mut xdp, TestProgram::Xvrrp, &case.frame, case.mode);
        #[expect(clippy::float_arithmetic, reason = "reporting only")]
        let ratio = measured / baseline;
        let target = case
            .target
            .map_or_else(|| "—".to_owned(), |bound| format!("≤ {bound}"));
        println!(
            "| {} | {measured:.1} | {baseline:.1} | {ratio:.2} | {target} |",
            case.name
        );
    }
}
