//! The XDP program and the codec judged on the same frame: the program's counter must be the
//! codec's discard reason, and what it delivers exactly what the codec accepts. Shared by the
//! `xdp_differential` integration test (generated frames) and the `xdp_differential` fuzz target
//! in vrrp-user/fuzz (coverage-guided frames).

use std::{
    net::{Ipv4Addr, Ipv6Addr},
    path::PathBuf,
    process::Command,
    sync::OnceLock,
};

use tokio::runtime::Runtime;
use vrrp_common::{
    advert::{Advert, ChecksumStyle, DecodeError, VersionMode},
    checksum::{internet_checksum, ipv4_pseudo_header_checksum, ipv6_pseudo_header_checksum},
    counters::Counter,
    maps::{AddressFamily, Role},
};
use vrrp_user::dataplane::{AdvertEvents, InstanceSettings};

use crate::{
    frames::{VRRP_GROUP_V4, VRRP_GROUP_V6, VRRP_MAC_V4, VRRP_MAC_V6, ethernet, ipv4, ipv6},
    xdp::{TEST_HEARTBEAT_TIMEOUT, XdpUnderTest, io_runtime},
};

const XDP_DROP: u32 = 1;
const ETHERTYPE_IPV6: [u8; 2] = [0x86, 0xdd];
/// Where the VRRP message starts in an IPv4 frame (no options) and an IPv6 one.
const MESSAGE_AT_V4: usize = 14 + 20;
const MESSAGE_AT_V6: usize = 14 + 40;
/// The longest VRRP message [`fuzzed_frame`] builds.
const MAX_MESSAGE: usize = 1480;
/// The peer's MAC in the frames.
pub const PEER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];
/// The peer's IPv4 source address.
pub const PEER4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
/// VRIDs configured (Master, so every valid advert for them is delivered), each with its IPv4
/// checksum style and VRRP versions (IPv6 is always VRRPv3); 3 and 0 are not (checked as RFC
/// 9568 VRRPv3).
pub const CONFIGURED: [(u8, ChecksumStyle, VersionMode); 5] = [
    (1, ChecksumStyle::Rfc9568, VersionMode::V3),
    (2, ChecksumStyle::WithoutPseudoHeader, VersionMode::V3),
    (4, ChecksumStyle::AcceptBoth, VersionMode::V3),
    (5, ChecksumStyle::Rfc9568, VersionMode::V2),
    (6, ChecksumStyle::WithoutPseudoHeader, VersionMode::V2AndV3),
];

/// The verdicts the mutations of valid adverts aim at (a run that never reaches one of them
/// tested less than it claims).
pub const TARGETED: [Counter; 10] = [
    Counter::AdvertsToUserspace,
    Counter::UnknownVrid,
    Counter::InvalidLength,
    Counter::InvalidTtl,
    Counter::InvalidVersion,
    Counter::InvalidType,
    Counter::InvalidChecksum,
    Counter::ChecksumOtherStyle,
    Counter::ZeroInterval,
    Counter::AuthTypeMismatch,
];

/// The checksum style and IPv4 VRRP versions VRID `vrid` accepts.
fn accepts(vrid: u8) -> (ChecksumStyle, VersionMode) {
    CONFIGURED
        .into_iter()
        .find(|(configured, ..)| *configured == vrid)
        .map_or(
            (ChecksumStyle::Rfc9568, VersionMode::V3),
            |(_, style, versions)| (style, versions),
        )
}

fn configured(vrid: u8) -> bool {
    CONFIGURED
        .iter()
        .any(|(configured, ..)| *configured == vrid)
}

/// The peer's IPv6 (link-local) source address.
pub fn peer6() -> Ipv6Addr {
    Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 2)
}

/// The counter the XDP program must bump for what the codec says about the same packet.
pub(crate) fn expected_counter(decoded: &Result<Advert<'_>, DecodeError>) -> Counter {
    match decoded {
        Ok(advert) if configured(advert.vrid()) => Counter::AdvertsToUserspace,
        // The codec cannot know the configuration; VRID 0 is never configured.
        Ok(_) | Err(DecodeError::ZeroVrid) => Counter::UnknownVrid,
        Err(DecodeError::Truncated { .. })
        | Err(DecodeError::NoAddresses { .. })
        | Err(DecodeError::AddressCountMismatch { .. }) => Counter::InvalidLength,
        Err(DecodeError::BadTtl { .. }) => Counter::InvalidTtl,
        Err(DecodeError::BadVersion { .. }) | Err(DecodeError::Version2 { .. }) => {
            Counter::InvalidVersion
        }
        Err(DecodeError::BadType { .. }) => Counter::InvalidType,
        Err(DecodeError::BadChecksum { .. }) => Counter::InvalidChecksum,
        Err(DecodeError::ChecksumOtherStyle { .. }) => Counter::ChecksumOtherStyle,
        Err(DecodeError::ZeroInterval { .. }) => Counter::ZeroInterval,
        Err(DecodeError::AuthType { .. }) => Counter::AuthTypeMismatch,
        Err(error @ DecodeError::WrongFamily { .. })
        | Err(error @ DecodeError::BadIpv4HeaderLength { .. })
        | Err(error @ DecodeError::NotVrrp { .. }) => {
            panic!("the frame is no advert at all: {error}")
        }
    }
}

/// The program on a veth in its own namespace, every [`CONFIGURED`] VRID a Master in both
/// families, and the ring it delivers to.
pub struct Differential {
    xdp: XdpUnderTest,
    events: AdvertEvents,
    // Dropped last: the ring's reader is registered with its reactor.
    runtime: Runtime,
}

impl Differential {
    /// Sets everything up (root); panics with the reason if anything fails.
    pub fn new() -> Self {
        let runtime = io_runtime();
        let _inside_runtime = runtime.enter();
        let mut xdp = XdpUnderTest::new();
        let events = xdp.dataplane.take_events().expect("the advert ring");
        for (vrid, checksum_style, ipv4_versions) in CONFIGURED {
            for (family, master_address, versions) in [
                (AddressFamily::Ipv4, PEER4.into(), ipv4_versions),
                (AddressFamily::Ipv6, peer6().into(), VersionMode::V3),
            ] {
                let settings = InstanceSettings {
                    role: Role::Master,
                    accept: false,
                    master_address,
                    master_priority: 100,
                    master_interval_cs: 100,
                    owner: false,
                    heartbeat_timeout: TEST_HEARTBEAT_TIMEOUT,
                    checksum_style,
                    peers_listed: false,
                    versions,
                };
                xdp.dataplane
                    .set_instance(family, vrid, &settings)
                    .expect("configure a VRID");
            }
        }
        Self {
            xdp,
            events,
            runtime,
        }
    }

    /// Runs one advert frame (Ethernet, IPv4 without options or IPv6 without extension headers,
    /// protocol 112) through both; returns the verdict they agree on, or how they disagree.
    pub fn agree(&mut self, frame: &[u8]) -> Result<Counter, String> {
        let _inside_runtime = self.runtime.enter();
        let ipv6 = frame.get(12..14) == Some(&ETHERTYPE_IPV6[..]);
        let message_at = if ipv6 { MESSAGE_AT_V6 } else { MESSAGE_AT_V4 };
        let first = frame.get(message_at).copied();
        let vrid = frame.get(message_at + 1).copied().unwrap_or(0);
        let decoded = if ipv6 {
            Advert::decode_ipv6_packet(&frame[14..])
        } else {
            let (style, versions) = accepts(vrid);
            Advert::decode_ipv4_packet_accepting(&frame[14..], style, versions)
        };
        let expected = expected_counter(&decoded);
        let before = self.xdp.dataplane.counters().expect("read the counters");
        let verdict = self.xdp.run(frame);
        let after = self.xdp.dataplane.counters().expect("read the counters");
        if verdict.action != XDP_DROP {
            return Err(format!("XDP action {}, not DROP", verdict.action));
        }
        let moved: Vec<Counter> = Counter::ALL
            .into_iter()
            .filter(|counter| after.get(*counter) != before.get(*counter))
            .filter(|counter| *counter != Counter::AdvertsReceived)
            .collect();
        // A VRRPv2 advert over IPv4 is also handed up, for the daemon to report the peer.
        let version2_report =
            !ipv6 && first.map(|byte| byte >> 4) == Some(2) && expected == Counter::InvalidVersion;
        // One advert in the other checksum style per second and CPU is handed up as a sample,
        // for the daemon to name the peer and the setting.
        let other_style_sample = expected == Counter::ChecksumOtherStyle && configured(vrid);
        let delivered = self.events.try_next().map(|advert| advert.message);
        let disagree = |what: &str| Err(format!("{what}: counters {moved:?}, codec {decoded:?}"));
        if other_style_sample && delivered.is_some() {
            if moved != [Counter::AdvertsToUserspace, Counter::ChecksumOtherStyle] {
                return disagree("an other-style sample");
            }
            let message_len = usize::from(u16::from_be_bytes([frame[16], frame[17]])) - 20;
            if delivered.as_deref() != frame.get(message_at..message_at + message_len) {
                return disagree("the sample is not the message");
            }
        } else if version2_report {
            if moved != [Counter::AdvertsToUserspace, Counter::InvalidVersion]
                || delivered.is_none()
            {
                return disagree("a version 2 report");
            }
        } else {
            if moved != [expected] {
                return disagree(&format!("expected only {}", expected.name()));
            }
            let accepted = decoded
                .as_ref()
                .ok()
                .filter(|_| expected == Counter::AdvertsToUserspace)
                .map(|advert| advert.message().to_vec());
            if delivered != accepted {
                return disagree(&format!("delivered {delivered:?}"));
            }
        }
        if self.events.try_next().is_some() {
            return disagree("a second delivery");
        }
        Ok(expected)
    }
}

impl Differential {
    /// Makes sure the namespace and the pins go away although `self` is never dropped: a
    /// fuzzer ends its process with `exit` (at its time limit) or `abort` (after a panic, from
    /// its panic hook, which runs before any unwinding). Call once, after the fuzzer installed
    /// its hook.
    pub fn remove_at_process_end(&self) {
        let (netns, pins) = self.xdp.leftovers();
        if LEFTOVERS.set((netns, pins)).is_err() {
            return;
        }
        let fuzzer_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            remove_leftovers();
            fuzzer_hook(info);
        }));
        // SAFETY: registers a function without arguments that does not unwind (it only logs).
        if unsafe { libc::atexit(remove_leftovers_at_exit) } != 0 {
            eprintln!("warning: atexit failed; the namespace may outlive the process");
        }
    }
}

/// The namespace and pin directory [`Differential::remove_at_process_end`] removes.
static LEFTOVERS: OnceLock<(String, PathBuf)> = OnceLock::new();

extern "C" fn remove_leftovers_at_exit() {
    remove_leftovers();
}

/// Deletes the namespace by name and the pins' directory (both tolerate being gone already).
fn remove_leftovers() {
    let Some((netns, pins)) = LEFTOVERS.get() else {
        return;
    };
    let deleted = Command::new("ip").args(["netns", "del", netns]).output();
    if !deleted.is_ok_and(|out| out.status.success()) {
        eprintln!("warning: could not delete network namespace {netns}");
    }
    if pins.exists() && std::fs::remove_dir_all(pins).is_err() {
        eprintln!("warning: could not remove {}", pins.display());
    }
}

impl Default for Differential {
    fn default() -> Self {
        Self::new()
    }
}

/// An advert frame from fuzz input: byte 0 holds flags (bit 0 IPv6, bit 1 a correct IP length,
/// bit 2 a correct VRRP checksum, bit 3 that checksum without the pseudo-header, as VRRPv2 sums
/// it), byte 1 the
/// TTL / hop limit, bytes 2..4 the IP length when it is not made correct, the rest is the VRRP
/// message. Ethernet and IP headers stay well-formed (the peer to the VRRP group), so that
/// every input is an advert for both judges; correcting length and checksum lets the fuzzer
/// reach the checks behind them.
pub fn fuzzed_frame(data: &[u8]) -> Vec<u8> {
    let flag = |bit: u8| data.first().is_some_and(|flags| flags & (1 << bit) != 0);
    let ttl = data.get(1).copied().unwrap_or(255);
    let length_field = data
        .get(2..4)
        .map_or(0, |bytes| u16::from_be_bytes([bytes[0], bytes[1]]));
    // An Ethernet MTU's worth at most (what BPF_PROG_TEST_RUN takes, and what a VRRP message
    // of 255 IPv6 addresses would not fit anyway).
    let mut message = data.get(4..).unwrap_or_default().to_vec();
    message.truncate(MAX_MESSAGE);
    let v6 = flag(0);
    if flag(2) && message.len() >= 8 {
        message[6..8].fill(0);
        let checksum = if flag(3) {
            internet_checksum(&message)
        } else if v6 {
            ipv6_pseudo_header_checksum(&peer6(), &VRRP_GROUP_V6, 112, &message)
        } else {
            ipv4_pseudo_header_checksum(PEER4, VRRP_GROUP_V4, 112, &message)
        };
        message[6..8].copy_from_slice(&checksum.to_be_bytes());
    }
    if v6 {
        let mut packet = ipv6(peer6(), VRRP_GROUP_V6, ttl, 112, &message);
        if !flag(1) {
            packet[4..6].copy_from_slice(&length_field.to_be_bytes());
        }
        ethernet(VRRP_MAC_V6, PEER_MAC, 0x86dd, &packet)
    } else {
        let mut packet = ipv4(PEER4, VRRP_GROUP_V4, ttl, 112, &message);
        // Never shorter than the header, which the codec (rightly) judges no advert at all.
        if !flag(1) {
            packet[2..4].copy_from_slice(&length_field.max(20).to_be_bytes());
        }
        ethernet(VRRP_MAC_V4, PEER_MAC, 0x0800, &packet)
    }
}
