//! Table-driven tests: configuration text in, every rendered problem (with line) out.

use std::io;
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use super::*;
use crate::proto::{Centiseconds, State};

/// The host the tests pretend to run on.
fn fake_host(name: &str) -> io::Result<Option<Vec<InterfaceAddress>>> {
    let addresses = |list: &[(&str, u8)]| {
        list.iter()
            .map(|&(address, prefix_len)| InterfaceAddress {
                address: address.parse().unwrap(),
                prefix_len,
            })
            .collect()
    };
    match name {
        "eth0" => Ok(Some(addresses(&[
            ("192.0.2.2", 24),
            ("198.51.100.1", 24),
            ("203.0.113.2", 24),
            ("10.0.0.1", 31),
            ("2001:db8::2", 64),
            ("fe80::2", 64),
        ]))),
        "eth1" | "eth2" => Ok(Some(Vec::new())),
        "broken0" => Err(io::Error::other("netlink says no")),
        _ => Ok(None),
    }
}

fn load_text(lines: &[&str], mode: Mode) -> Result<Loaded, LoadError> {
    parse(&lines.join("\n"), Path::new("test.toml"), &fake_host, mode)
}

/// Every problem as `xvrrp check-config` prints it.
fn rendered(result: &Result<Loaded, LoadError>) -> Vec<String> {
    let problems = match result {
        Ok(loaded) => &loaded.warnings,
        Err(LoadError::Invalid { problems }) => problems,
        Err(error) => panic!("unexpected {error}"),
    };
    problems
        .iter()
        .map(|problem| format!("{}: {problem}", problem.severity))
        .collect()
}

struct Case {
    name: &'static str,
    toml: &'static [&'static str],
    expected: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        name: "toml syntax error",
        toml: &["[[instance]]", r#"name = "lan"#],
        expected: &["error: test.toml:2: invalid basic string"],
    },
    Case {
        name: "unknown key",
        toml: &[
            "[[instance]]",
            r#"name = "lan""#,
            r#"interface = "eth0""#,
            "vrid = 1",
            "prio = 10",
            r#"virtual_addresses = ["192.0.2.1"]"#,
        ],
        expected: &[
            "error: test.toml:5: unknown field `prio`, expected one of `name`, `interface`, \
             `vrid`, `priority`, `advert_interval_ms`, `preempt`, `preempt_delay_ms`, \
             `accept_mode`, `virtual_addresses`, `track`, `allowed_peers`, `unicast_peers`, `lan_announcements`, `ipv4_checksum`, `version`, `group`, `hook`, \
             `router_advertisement`",
        ],
    },
    Case {
        name: "missing key points at the instance",
        toml: &[
            "[[instance]]",
            r#"name = "lan""#,
            r#"interface = "eth0""#,
            r#"virtual_addresses = ["192.0.2.1"]"#,
        ],
        expected: &["error: test.toml:1: missing field `vrid`"],
    },
    Case {
        name: "unknown log format",
        toml: &["[global]", r#"log_format = "xml""#],
        expected: &["error: test.toml:2: unknown variant `xml`, expected `text` or `json`"],
    },
    Case {
        name: "relative paths and no instances",
        toml: &[
            "[global]",
            r#"bpffs = "bpf""#,
            r#"control_socket = "x.sock""#,
        ],
        expected: &[
            "error: test.toml: no [[instance]] is defined; the daemon would have nothing to do",
            r#"error: test.toml:2: bpffs "bpf" must be an absolute path"#,
            r#"error: test.toml:3: control_socket "x.sock" must be an absolute path"#,
        ],
    },
    Case {
        name: "operations settings out of range",
        toml: &[
            "[global]",
            r#"journal = "events.jsonl""#,
            "journal_max_bytes = 100",
            r#"metrics_listen = "localhost""#,
            "metrics = true",
            "realtime_priority = 100",
            "[[instance]]",
            r#"name = "lan""#,
            r#"interface = "eth0""#,
            "vrid = 1",
            r#"virtual_addresses = ["192.0.2.1"]"#,
            r#"group = "cust a""#,
        ],
        expected: &[
            r#"error: test.toml:2: journal "events.jsonl" must be an absolute path"#,
            "error: test.toml:3: journal_max_bytes 100 is out of range 4096..=1073741824",
            r#"error: test.toml:4: metrics_listen "localhost" is not an address:port (e.g. "127.0.0.1:9568")"#,
            "error: test.toml:6: realtime_priority 100 is out of range 0..=99",
            r#"error: test.toml:12: instance "lan": group "cust a" must be 1..=32 characters from A-Z a-z 0-9 . _ -"#,
        ],
    },
    Case {
        name: "metrics_listen without metrics",
        toml: &[
            "[global]",
            r#"metrics_listen = "192.0.2.1:9568""#,
            "[[instance]]",
            r#"name = "lan""#,
            r#"interface = "eth0""#,
            "vrid = 1",
            r#"virtual_addresses = ["192.0.2.1"]"#,
        ],
        expected: &["warning: test.toml:2: metrics_listen has no effect without metrics = true"],
    },
    Case {
        name: "numbers out of range",
        toml: &[
            "[[instance]]",
            r#"name = "lan""#,
            r#"interface = "eth0""#,
            "vrid = 0",
            "priority = 0",
            "advert_interval_ms = 40960",
            "preempt_delay_ms = -1",
            r#"virtual_addresses = ["192.0.2.1"]"#,
            r#"track = [{ interface = "eth1", weight = 0 }, { interface = "eth2", weight = 255 }]"#,
        ],
        expected: &[
            r#"error: test.toml:4: instance "lan": vrid 0 is out of range 1..=255"#,
            r#"error: test.toml:5: instance "lan": priority 0 is out of range 1..=255"#,
            r#"error: test.toml:6: instance "lan": advert_interval_ms 40960 is out of range 10..=40950"#,
            r#"error: test.toml:7: instance "lan": preempt_delay_ms -1 is out of range 0..=3600000"#,
            r#"error: test.toml:9: instance "lan": track.weight 0 is out of range 1..=254"#,
            r#"error: test.toml:9: instance "lan": track.weight 255 is out of range 1..=254"#,
        ],
    },
    Case {
        name: "upper bounds and a short interval",
        toml: &[
            "[[instance]]",
            r#"name = "lan""#,
            r#"interface = "eth0""#,
            "vrid = 256",
            "priority = 256",
            "advert_interval_ms = 5",
            r#"virtual_addresses = ["192.0.2.1"]"#,
        ],
        expected: &[
            r#"error: test.toml:4: instance "lan": vrid 256 is out of range 1..=255"#,
            r#"error: test.toml:5: instance "lan": priority 256 is out of range 1..=255"#,
            r#"error: test.toml:6: instance "lan": advert_interval_ms 5 is out of range 10..=40950"#,
        ],
    },
    Case {
        name: "interval in milliseconds the wire cannot carry",
        toml: &[
            "[[instance]]",
            r#"name = "lan""#,
            r#"interface = "eth0""#,
            "vrid = 1",
            "advert_interval_ms = 1005",
            r#"virtual_addresses = ["192.0.2.1"]"#,
        ],
        expected: &[
            r#"error: test.toml:5: instance "lan": advert_interval_ms 1005 is not a multiple of 10 (the wire carries centiseconds, RFC 9568 §5.2.7)"#,
        ],
    },
    Case {
        name: "names: invalid, empty, duplicate",
        toml: &[
            "[[instance]]",
            r#"name = "lan one""#,
            r#"interface = "eth0""#,
            "vrid = 1",
            r#"virtual_addresses = ["192.0.2.1"]"#,
            "[[instance]]",
            r#"name = """#,
            r#"interface = "eth0""#,
            "vrid = 2",
            r#"virtual_addresses = ["192.0.2.20"]"#,
            "[[instance]]",
            r#"name = "lan one""#,
            r#"interface = "eth0""#,
            "vrid = 3",
            r#"virtual_addresses = ["192.0.2.30"]"#,
        ],
        expected: &[
            r#"error: test.toml:2: instance "lan one": name "lan one" must be 1..=32 characters from A-Z a-z 0-9 . _ -"#,
            r#"error: test.toml:7: instance "": name "" must be 1..=32 characters from A-Z a-z 0-9 . _ -"#,
            r#"error: test.toml:12: instance "lan one": name "lan one" must be 1..=32 characters from A-Z a-z 0-9 . _ -"#,
            r#"error: test.toml:12: instance "lan one": name "lan one" is already used by the instance at line 2"#,
        ],
    },
    Case {
        name: "interface names and lookups",
        toml: &[
            "[[instance]]",
            r#"name = "a""#,
            r#"interface = "eth0:1""#,
            "vrid = 1",
            r#"virtual_addresses = ["192.0.2.1"]"#,
            r#"track = [{ interface = "a-very-long-name0", weight = 10 }, { interface = "broken0", weight = 10 }]"#,
            "[[instance]]",
            r#"name = "b""#,
            r#"interface = "eth9""#,
            "vrid = 2",
            r#"virtual_addresses = ["192.0.2.20"]"#,
            r#"track = [{ interface = "eth1", weight = 10 }, { interface = "eth1", weight = 20 }]"#,
            "[[instance]]",
            r#"name = "c""#,
            r#"interface = "broken0""#,
            "vrid = 3",
            r#"virtual_addresses = ["192.0.2.30"]"#,
            r#"track = [{ interface = "wan7", weight = 10 }]"#,
        ],
        expected: &[
            r#"error: test.toml:3: instance "a": interface "eth0:1" is not a valid interface name (1..=15 bytes, no '/', ':' or whitespace)"#,
            r#"error: test.toml:6: instance "a": track.interface "a-very-long-name0" is not a valid interface name (1..=15 bytes, no '/', ':' or whitespace)"#,
            r#"error: test.toml:6: instance "a": cannot read the addresses of interface "broken0": netlink says no"#,
            r#"warning: test.toml:9: instance "b": interface "eth9" does not exist on this host"#,
            r#"error: test.toml:12: instance "b": tracked interface "eth1" is listed twice"#,
            r#"error: test.toml:15: instance "c": cannot read the addresses of interface "broken0": netlink says no"#,
            r#"warning: test.toml:18: instance "c": tracked interface "wan7" does not exist on this host; it counts as down"#,
        ],
    },
    Case {
        name: "virtual address lists",
        toml: &[
            "[[instance]]",
            r#"name = "empty""#,
            r#"interface = "eth0""#,
            "vrid = 1",
            "virtual_addresses = []",
            "[[instance]]",
            r#"name = "mixed""#,
            r#"interface = "eth0""#,
            "vrid = 2",
            r#"virtual_addresses = ["192.0.2.20", "2001:db8::20", "192.0.2.300", "192.0.2.20"]"#,
            "[[instance]]",
            r#"name = "v6""#,
            r#"interface = "eth0""#,
            "vrid = 3",
            r#"virtual_addresses = ["2001:db8::30", "fe80::30"]"#,
        ],
        expected: &[
            r#"error: test.toml:5: instance "empty": virtual_addresses is empty; at least one address is required"#,
            r#"error: test.toml:10: instance "mixed": virtual_addresses mixes families: 2001:db8::20 is not IPv4 like the first address; use one instance per family (RFC 9568 §5.2.9)"#,
            r#"error: test.toml:10: instance "mixed": virtual_addresses: "192.0.2.300" is not an IP address"#,
            r#"error: test.toml:10: instance "mixed": virtual address 192.0.2.20 is listed twice"#,
            r#"error: test.toml:15: instance "v6": the first IPv6 virtual address must be link-local (fe80::/10), found 2001:db8::30 (RFC 9568 §5.2.9)"#,
        ],
    },
    Case {
        name: "addresses that cannot be virtual",
        toml: &[
            "[[instance]]",
            r#"name = "v4""#,
            r#"interface = "eth0""#,
            "vrid = 1",
            "virtual_addresses = [",
            r#"  "0.0.0.0", "224.0.0.18", "255.255.255.255", "127.0.0.1","#,
            r#"  "192.0.2.0", "192.0.2.255", "10.0.0.0","#,
            "]",
            "[[instance]]",
            r#"name = "v6""#,
            r#"interface = "eth0""#,
            "vrid = 1",
            r#"virtual_addresses = ["fe80::1", "::", "ff02::12", "::1", "::ffff:192.0.2.1", "2001:db8::"]"#,
        ],
        expected: &[
            r#"error: test.toml:6: instance "v4": 0.0.0.0 cannot be a virtual address: it is the unspecified address"#,
            r#"error: test.toml:6: instance "v4": 224.0.0.18 cannot be a virtual address: it is a multicast address"#,
            r#"error: test.toml:6: instance "v4": 255.255.255.255 cannot be a virtual address: it is the limited broadcast address"#,
            r#"error: test.toml:6: instance "v4": 127.0.0.1 cannot be a virtual address: it is a loopback address"#,
            r#"error: test.toml:7: instance "v4": 192.0.2.0 cannot be a virtual address: it is the network address of the interface subnet 192.0.2.2/24"#,
            r#"error: test.toml:7: instance "v4": 192.0.2.255 cannot be a virtual address: it is the broadcast address of the interface subnet 192.0.2.2/24"#,
            r#"error: test.toml:13: instance "v6": :: cannot be a virtual address: it is the unspecified address"#,
            r#"error: test.toml:13: instance "v6": ff02::12 cannot be a virtual address: it is a multicast address"#,
            r#"error: test.toml:13: instance "v6": ::1 cannot be a virtual address: it is a loopback address"#,
            r#"error: test.toml:13: instance "v6": ::ffff:192.0.2.1 cannot be a virtual address: it is an IPv4-mapped IPv6 address"#,
            r#"error: test.toml:13: instance "v6": 2001:db8:: cannot be a virtual address: it is the network address of the interface subnet 2001:db8::2/64"#,
        ],
    },
    Case {
        name: "cross-instance duplicates",
        toml: &[
            "[[instance]]",
            r#"name = "a""#,
            r#"interface = "eth0""#,
            "vrid = 1",
            r#"virtual_addresses = ["192.0.2.1"]"#,
            "[[instance]]",
            r#"name = "b""#,
            r#"interface = "eth0""#,
            "vrid = 1",
            r#"virtual_addresses = ["192.0.2.10"]"#,
            "[[instance]]",
            r#"name = "c""#,
            r#"interface = "eth1""#,
            "vrid = 1",
            r#"virtual_addresses = ["192.0.2.1"]"#,
            "[[instance]]",
            r#"name = "d""#,
            r#"interface = "eth0""#,
            "vrid = 1",
            r#"virtual_addresses = ["fe80::1"]"#,
        ],
        expected: &[
            r#"error: test.toml:9: instance "b": vrid 1 is already used for IPv4 on eth0 by instance "a""#,
            r#"error: test.toml:15: instance "c": virtual address 192.0.2.1 is also a virtual address of instance "a""#,
        ],
    },
    Case {
        name: "address owner",
        toml: &[
            "[[instance]]",
            r#"name = "owner""#,
            r#"interface = "eth0""#,
            "vrid = 1",
            "priority = 255",
            r#"virtual_addresses = ["198.51.100.1", "198.51.100.9"]"#,
            r#"track = [{ interface = "eth1", weight = 10 }]"#,
        ],
        expected: &[
            r#"error: test.toml:5: instance "owner": priority 255 means this router owns its virtual addresses, but 198.51.100.9 is not configured on eth0 (RFC 9568 §5.2.4)"#,
            r#"error: test.toml:7: instance "owner": track cannot lower the priority of an address owner (priority 255, RFC 9568 §5.2.4)"#,
        ],
    },
    Case {
        name: "allowed peers",
        toml: &[
            "[[instance]]",
            r#"name = "v4""#,
            r#"interface = "eth0""#,
            "vrid = 1",
            r#"virtual_addresses = ["192.0.2.1"]"#,
            r#"allowed_peers = ["192.0.2.3", "fe80::3", "224.0.0.18", "peer"]"#,
            "[[instance]]",
            r#"name = "v6""#,
            r#"interface = "eth0""#,
            "vrid = 1",
            r#"virtual_addresses = ["fe80::1"]"#,
            r#"allowed_peers = ["fe80::3", "2001:db8::3", "::"]"#,
        ],
        expected: &[
            r#"error: test.toml:6: instance "v4": allowed_peers: fe80::3 is not IPv4 like the virtual addresses"#,
            r#"error: test.toml:6: instance "v4": allowed_peers: 224.0.0.18 is not a unicast address"#,
            r#"error: test.toml:6: instance "v4": allowed_peers: "peer" is not an IP address"#,
            r#"error: test.toml:12: instance "v6": allowed_peers: 2001:db8::3 is not link-local, but IPv6 adverts come from the sender's link-local address (RFC 9568 §5.1.2.1)"#,
            r#"error: test.toml:12: instance "v6": allowed_peers: :: is not a unicast address"#,
        ],
    },
    Case {
        name: "unicast peers",
        toml: &[
            "[[instance]]",
            r#"name = "v4""#,
            r#"interface = "eth0""#,
            "vrid = 1",
            r#"virtual_addresses = ["192.0.2.1"]"#,
            r#"unicast_peers = ["192.0.2.3", "192.0.2.3", "192.0.2.2", "192.0.2.1", "224.0.0.18", "fe80::3", "peer"]"#,
            "[[instance]]",
            r#"name = "v6""#,
            r#"interface = "eth0""#,
            "vrid = 1",
            r#"virtual_addresses = ["fe80::1"]"#,
            r#"unicast_peers = ["fe80::3", "2001:db8::3", "fe80::2", "ff02::12"]"#,
        ],
        expected: &[
            r#"error: test.toml:6: instance "v4": unicast_peers: 224.0.0.18 is not a unicast address"#,
            r#"error: test.toml:6: instance "v4": unicast_peers: fe80::3 is not IPv4 like the virtual addresses"#,
            r#"error: test.toml:6: instance "v4": unicast_peers: "peer" is not an IP address"#,
            r#"error: test.toml:6: instance "v4": unicast_peers: 192.0.2.3 is listed twice"#,
            r#"error: test.toml:6: instance "v4": unicast_peers: 192.0.2.2 is an address of this router (its interface or a virtual address)"#,
            r#"error: test.toml:6: instance "v4": unicast_peers: 192.0.2.1 is an address of this router (its interface or a virtual address)"#,
            r#"error: test.toml:12: instance "v6": unicast_peers: ff02::12 is not a unicast address"#,
            r#"error: test.toml:12: instance "v6": unicast_peers: 2001:db8::3 is global, but IPv6 adverts come from the sender's link-local address (RFC 9568 §5.1.2.1): list the peers' link-local addresses in allowed_peers"#,
            r#"error: test.toml:12: instance "v6": unicast_peers: fe80::2 is an address of this router (its interface or a virtual address)"#,
        ],
    },
    Case {
        name: "a unicast peer off the link is a warning",
        toml: &[
            "[[instance]]",
            r#"name = "v6""#,
            r#"interface = "eth0""#,
            "vrid = 1",
            r#"virtual_addresses = ["fe80::1"]"#,
            r#"allowed_peers = ["fe80::3"]"#,
            r#"unicast_peers = ["2001:db8::3", "2001:db8:1::3", "fe80::3"]"#,
        ],
        expected: &[
            r#"warning: test.toml:7: instance "v6": unicast_peers: 2001:db8:1::3 is in none of eth0's subnets; adverts reach only peers on the link (TTL 255, RFC 9568 §7.1)"#,
        ],
    },
    Case {
        name: "allowed and unicast peers together hold at most 16",
        toml: &[
            "[[instance]]",
            r#"name = "v4""#,
            r#"interface = "eth0""#,
            "vrid = 1",
            r#"virtual_addresses = ["192.0.2.1"]"#,
            r#"allowed_peers = ["192.0.2.10", "192.0.2.11", "192.0.2.12", "192.0.2.13", "192.0.2.14", "192.0.2.15", "192.0.2.16", "192.0.2.17", "192.0.2.18", "192.0.2.19"]"#,
            r#"unicast_peers = ["192.0.2.10", "192.0.2.20", "192.0.2.21", "192.0.2.22", "192.0.2.23", "192.0.2.24", "192.0.2.25", "192.0.2.26"]"#,
        ],
        expected: &[
            r#"error: test.toml:7: instance "v4": allowed_peers and unicast_peers lists 17 peers; at most 16 are supported"#,
        ],
    },
    Case {
        name: "at most 16 allowed peers",
        toml: &[
            "[[instance]]",
            r#"name = "v4""#,
            r#"interface = "eth0""#,
            "vrid = 1",
            r#"virtual_addresses = ["192.0.2.1"]"#,
            r#"allowed_peers = ["192.0.2.10", "192.0.2.11", "192.0.2.12", "192.0.2.13", "192.0.2.14", "192.0.2.15", "192.0.2.16", "192.0.2.17", "192.0.2.18", "192.0.2.19", "192.0.2.20", "192.0.2.21", "192.0.2.22", "192.0.2.23", "192.0.2.24", "192.0.2.25", "192.0.2.26"]"#,
        ],
        expected: &[
            r#"error: test.toml:6: instance "v4": allowed_peers lists 17 peers; at most 16 are supported"#,
        ],
    },
    Case {
        name: "ipv4 checksum styles",
        toml: &[
            "[[instance]]",
            r#"name = "cisco""#,
            r#"interface = "eth0""#,
            "vrid = 1",
            r#"virtual_addresses = ["192.0.2.1"]"#,
            r#"ipv4_checksum = "without-pseudo-header""#,
            "[[instance]]",
            r#"name = "typo""#,
            r#"interface = "eth0""#,
            "vrid = 2",
            r#"virtual_addresses = ["192.0.2.2"]"#,
            r#"ipv4_checksum = "v2""#,
            "[[instance]]",
            r#"name = "v6""#,
            r#"interface = "eth0""#,
            "vrid = 1",
            r#"virtual_addresses = ["fe80::1"]"#,
            r#"ipv4_checksum = "accept-both""#,
        ],
        expected: &[
            r#"error: test.toml:12: instance "typo": ipv4_checksum "v2" is not one of "rfc9568", "without-pseudo-header", "accept-both""#,
            r#"error: test.toml:18: instance "v6": ipv4_checksum applies to IPv4 instances only: every VRRPv3 implementation includes the IPv6 pseudo-header (RFC 9568 §5.2.8)"#,
        ],
    },
    Case {
        name: "a delay without preemption is only a warning",
        toml: &[
            "[[instance]]",
            r#"name = "lan""#,
            r#"interface = "eth0""#,
            "vrid = 1",
            "preempt = false",
            "preempt_delay_ms = 5000",
            r#"virtual_addresses = ["192.0.2.1"]"#,
        ],
        expected: &[
            r#"warning: test.toml:6: instance "lan": preempt_delay_ms has no effect with preempt = false"#,
        ],
    },
    Case {
        name: "hook and webhook problems",
        toml: &[
            "[[global.hook]]",
            r#"command = ["notify.sh", "a"]"#,
            "timeout_ms = 0",
            r#"states = ["master"]"#,
            "[[global.hook]]",
            "command = []",
            "[global.webhook]",
            r#"url = "ftp://example.net/""#,
            "retries = 11",
            "[[instance]]",
            r#"name = "lan""#,
            r#"interface = "eth0""#,
            "vrid = 1",
            r#"virtual_addresses = ["192.0.2.1"]"#,
            "[[instance.hook]]",
            r#"command = ["/nonexistent/hook", "nul\u0000"]"#,
            "[[instance.hook]]",
            r#"command = ["/"]"#,
        ],
        expected: &[
            r#"error: test.toml:2: hook program "notify.sh" must be an absolute path (hooks run without a shell or a PATH search)"#,
            "error: test.toml:3: hook.timeout_ms 0 is out of range 10..=600000",
            r#"error: test.toml:4: states: "master" is not a state (Initialize, Backup or Master)"#,
            "error: test.toml:6: hook command is empty; it starts with the program's absolute path",
            r#"error: test.toml:8: webhook url "ftp://example.net/" must start with http:// or https://"#,
            "error: test.toml:9: webhook.retries 11 is out of range 0..=10",
            r#"warning: test.toml:16: instance "lan": hook program "/nonexistent/hook" does not exist on this host"#,
            r#"error: test.toml:16: instance "lan": hook command argument 1 contains a NUL byte"#,
            r#"warning: test.toml:18: instance "lan": hook program "/" is not an executable file"#,
        ],
    },
    Case {
        name: "router advertisement settings out of RFC 4861 range",
        toml: &[
            "[[instance]]",
            r#"name = "v6""#,
            r#"interface = "eth0""#,
            "vrid = 1",
            r#"virtual_addresses = ["fe80::1"]"#,
            "[instance.router_advertisement]",
            "min_interval_s = 500",
            "router_lifetime_s = 100",
            r#"preference = "highest""#,
            r#"prefixes = [{ prefix = "2001:db8:1::1/64" }, { prefix = "fe80::/64" }]"#,
            r#"dns_servers = ["ff02::1"]"#,
            r#"search_domains = ["a..b"]"#,
            "mtu = 1000",
        ],
        expected: &[
            r#"error: test.toml:7: instance "v6": min_interval_s 500 must be 3..=0.75 × max_interval_s (600) (RFC 4861 §6.2.1)"#,
            r#"error: test.toml:8: instance "v6": router_lifetime_s 100 must be 0 or max_interval_s (600)..=9000 (RFC 4861 §6.2.1)"#,
            r#"error: test.toml:9: instance "v6": preference "highest" is not "low", "medium" or "high""#,
            r#"error: test.toml:10: instance "v6": prefix "2001:db8:1::1/64" is not an IPv6 prefix (address/length, host bits zero)"#,
            r#"error: test.toml:10: instance "v6": prefix "fe80::/64" is link-local or multicast"#,
            r#"error: test.toml:11: instance "v6": dns_servers: "ff02::1" is not an IPv6 unicast address"#,
            r#"error: test.toml:12: instance "v6": search_domains: "a..b": empty label"#,
            r#"error: test.toml:13: instance "v6": mtu 1000 is out of range 1280..=65535"#,
        ],
    },
    Case {
        name: "router advertisements on an IPv4 instance",
        toml: &[
            "[[instance]]",
            r#"name = "v4""#,
            r#"interface = "eth0""#,
            "vrid = 1",
            r#"virtual_addresses = ["192.0.2.1"]"#,
            "[instance.router_advertisement]",
            "max_interval_s = 30",
        ],
        expected: &[
            r#"error: test.toml:6: instance "v4": router_advertisement applies to IPv6 instances only"#,
        ],
    },
];

#[test]
fn every_problem_is_reported_with_its_line() {
    let mut failures = Vec::new();
    for case in CASES {
        let actual = rendered(&load_text(case.toml, Mode::Check));
        if actual != case.expected {
            failures.push(format!(
                "{}:\n  expected {:#?}\n  actual {:#?}",
                case.name, case.expected, actual
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn an_absent_interface_is_a_warning_when_checking_and_awaited_when_running() {
    let toml = &[
        "[[instance]]",
        r#"name = "lan""#,
        r#"interface = "eth9""#,
        "vrid = 1",
        r#"virtual_addresses = ["192.0.2.1"]"#,
    ];
    let checked = load_text(toml, Mode::Check).expect("only a warning");
    assert_eq!(checked.config.instances.len(), 1);
    assert_eq!(checked.warnings.len(), 1);
    assert_eq!(checked.warnings[0].severity, Severity::Warning);

    // The daemon starts anyway and waits for the interface.
    let running = load_text(toml, Mode::Run).expect("only a warning");
    assert_eq!(running.config.instances.len(), 1);
    assert_eq!(
        rendered(&Ok(running)),
        [
            r#"warning: test.toml:3: instance "lan": interface "eth9" does not exist yet; its instances start when it appears"#
        ]
    );
}

#[test]
fn defaults_fill_every_optional_key() {
    let loaded = load_text(
        &[
            "[[instance]]",
            r#"name = "lan""#,
            r#"interface = "eth0""#,
            "vrid = 7",
            r#"virtual_addresses = ["192.0.2.1"]"#,
        ],
        Mode::Run,
    )
    .expect("valid");
    assert!(loaded.warnings.is_empty());
    let Config { global, instances } = loaded.config;
    assert_eq!(
        global,
        GlobalConfig {
            bpffs: "/sys/fs/bpf/xvrrp".into(),
            log_format: LogFormat::Text,
            control_socket: "/run/xvrrp.sock".into(),
            journal: "/var/lib/xvrrp/events.jsonl".into(),
            journal_max_bytes: 1 << 20,
            metrics_listen: None,
            realtime_priority: Some(10),
            lock_memory: true,
            notify: NotifyConfig::default(),
        }
    );
    assert_eq!(
        instances,
        [InstanceConfig {
            name: "lan".into(),
            interface: "eth0".into(),
            vrid: 7,
            family: AddressFamily::Ipv4,
            priority: 100,
            advert_interval: Centiseconds::DEFAULT,
            preempt: true,
            preempt_delay: Duration::ZERO,
            accept_mode: false,
            virtual_addresses: vec![IpAddr::from([192, 0, 2, 1])],
            track: Vec::new(),
            allowed_peers: Vec::new(),
            unicast_peers: Vec::new(),
            lan_announcements: true,
            ipv4_checksum: ChecksumStyle::Rfc9568,
            version: VersionMode::V3,
            group: "lan".into(),
            router_advertisement: None,
        }]
    );
}

#[test]
fn every_key_maps_to_its_typed_field() {
    let loaded = load_text(
        &[
            "[global]",
            r#"bpffs = "/sys/fs/bpf/lab""#,
            r#"log_format = "json""#,
            r#"control_socket = "/run/lab.sock""#,
            r#"journal = "/var/log/xvrrp.jsonl""#,
            "journal_max_bytes = 65536",
            "metrics = true",
            "realtime_priority = 0",
            "lock_memory = false",
            "[[instance]]",
            r#"name = "lan-v6""#,
            r#"interface = "eth0""#,
            "vrid = 255",
            "priority = 254",
            "advert_interval_ms = 40950",
            "preempt = true",
            "preempt_delay_ms = 1500",
            "accept_mode = true",
            r#"virtual_addresses = ["fe80::1", "2001:db8::1"]"#,
            r#"track = [{ interface = "eth1", weight = 20 }, { interface = "eth2", weight = 254 }]"#,
            r#"allowed_peers = ["fe80::3"]"#,
            r#"unicast_peers = ["fe80::4", "2001:db8::4"]"#,
            "lan_announcements = false",
            r#"group = "cust-a.edge""#,
        ],
        Mode::Run,
    )
    .expect("valid");
    assert_eq!(
        loaded.config.global.journal,
        Path::new("/var/log/xvrrp.jsonl")
    );
    assert_eq!(loaded.config.global.journal_max_bytes, 65536);
    assert_eq!(loaded.config.global.realtime_priority, None, "0 is off");
    assert!(!loaded.config.global.lock_memory);
    assert_eq!(
        loaded.config.global.metrics_listen,
        Some(std::net::SocketAddr::from(([127, 0, 0, 1], 9568)))
    );
    assert_eq!(loaded.config.instances[0].group, "cust-a.edge");
    assert_eq!(loaded.config.global.bpffs, Path::new("/sys/fs/bpf/lab"));
    assert_eq!(loaded.config.global.log_format, LogFormat::Json);
    assert_eq!(
        loaded.config.global.control_socket,
        Path::new("/run/lab.sock")
    );
    let instance = &loaded.config.instances[0];
    assert_eq!(instance.vrid, 255);
    assert_eq!(instance.family, AddressFamily::Ipv6);
    assert_eq!(instance.priority, 254);
    assert_eq!(instance.advert_interval, Centiseconds::MAX);
    assert_eq!(instance.preempt_delay, Duration::from_millis(1500));
    assert!(instance.accept_mode);
    assert_eq!(
        instance.virtual_addresses,
        [
            "fe80::1".parse::<IpAddr>().unwrap(),
            "2001:db8::1".parse().unwrap()
        ]
    );
    assert_eq!(
        instance.track,
        [
            TrackedInterface {
                interface: "eth1".into(),
                weight: 20
            },
            TrackedInterface {
                interface: "eth2".into(),
                weight: 254
            },
        ]
    );
    assert_eq!(
        instance.allowed_peers,
        ["fe80::3".parse::<IpAddr>().unwrap()]
    );
    let unicast: [IpAddr; 2] = ["fe80::4".parse().unwrap(), "2001:db8::4".parse().unwrap()];
    assert_eq!(instance.unicast_peers, unicast);
    assert_eq!(
        instance.accepted_peers(),
        ["fe80::3".parse::<IpAddr>().unwrap(), unicast[0], unicast[1]]
    );
    assert!(
        instance.accepts_source(unicast[0]) && !instance.accepts_source("fe80::5".parse().unwrap())
    );
    assert!(!instance.lan_announcements);
    assert_eq!(instance.ipv4_checksum, ChecksumStyle::Rfc9568);
}

#[test]
fn hooks_and_the_webhook_map_to_the_notify_config() {
    let loaded = load_text(
        &[
            "[[global.hook]]",
            r#"command = ["/bin/sh", "-c", "exit 0"]"#,
            "[[global.hook]]",
            r#"command = ["/bin/true"]"#,
            "timeout_ms = 2500",
            r#"states = ["Master", "Backup", "Master"]"#,
            "[global.webhook]",
            r#"url = "https://alerts.example.net/vrrp""#,
            "timeout_ms = 1000",
            "retries = 0",
            "queue = 7",
            "[[instance]]",
            r#"name = "lan""#,
            r#"interface = "eth0""#,
            "vrid = 1",
            r#"virtual_addresses = ["192.0.2.1"]"#,
            "[[instance.hook]]",
            r#"command = ["/bin/true", "lan"]"#,
            "[[instance]]",
            r#"name = "quiet""#,
            r#"interface = "eth0""#,
            "vrid = 2",
            r#"virtual_addresses = ["192.0.2.3"]"#,
        ],
        Mode::Run,
    )
    .expect("valid");
    assert_eq!(rendered(&Ok(loaded.clone())), Vec::<String>::new());
    let notify = loaded.config.global.notify;
    let hook = |command: &[&str], timeout_ms: u64, states: Vec<State>| HookConfig {
        command: command.iter().map(|arg| (*arg).to_owned()).collect(),
        timeout: Duration::from_millis(timeout_ms),
        states,
    };
    assert_eq!(
        notify.hooks,
        [
            hook(&["/bin/sh", "-c", "exit 0"], 10_000, Vec::new()),
            hook(&["/bin/true"], 2500, vec![State::Master, State::Backup]),
        ]
    );
    assert_eq!(
        notify.instance_hooks.into_iter().collect::<Vec<_>>(),
        [(
            "lan".to_owned(),
            vec![hook(&["/bin/true", "lan"], 10_000, Vec::new())]
        )]
    );
    assert_eq!(
        notify.webhook,
        Some(WebhookConfig {
            url: "https://alerts.example.net/vrrp".to_owned(),
            timeout: Duration::from_secs(1),
            retries: 0,
            queue: 7,
        })
    );
    assert!(notify.hooks[1].wants(State::Backup));
    assert!(!notify.hooks[1].wants(State::Initialize));
    assert!(notify.hooks[0].wants(State::Initialize));
}

#[test]
fn the_owner_of_its_addresses_may_use_priority_255() {
    let loaded = load_text(
        &[
            "[[instance]]",
            r#"name = "owner""#,
            r#"interface = "eth0""#,
            "vrid = 1",
            "priority = 255",
            r#"virtual_addresses = ["198.51.100.1"]"#,
        ],
        Mode::Run,
    )
    .expect("eth0 has 198.51.100.1");
    assert!(loaded.config.instances[0].is_owner());
}

#[test]
fn effective_priority_subtracts_down_links_and_stays_at_least_one() {
    let instance = InstanceConfig {
        name: "lan".into(),
        interface: "eth0".into(),
        vrid: 1,
        family: AddressFamily::Ipv4,
        priority: 200,
        advert_interval: Centiseconds::DEFAULT,
        preempt: true,
        preempt_delay: Duration::ZERO,
        accept_mode: false,
        virtual_addresses: vec![IpAddr::from([192, 0, 2, 1])],
        group: "lan".into(),
        router_advertisement: None,
        track: vec![
            TrackedInterface {
                interface: "eth1".into(),
                weight: 120,
            },
            TrackedInterface {
                interface: "eth2".into(),
                weight: 150,
            },
        ],
        allowed_peers: Vec::new(),
        unicast_peers: Vec::new(),
        lan_announcements: true,
        ipv4_checksum: ChecksumStyle::Rfc9568,
        version: VersionMode::V3,
    };
    assert_eq!(instance.effective_priority(|_| true), 200);
    assert_eq!(instance.effective_priority(|name| name != "eth1"), 80);
    assert_eq!(instance.effective_priority(|name| name != "eth2"), 50);
    assert_eq!(instance.effective_priority(|_| false), 1);
}

#[test]
fn load_error_lists_every_problem_with_its_severity() {
    let error = load_text(
        &[
            "[[instance]]",
            r#"name = "lan""#,
            r#"interface = "eth9""#,
            "vrid = 0",
            r#"virtual_addresses = ["192.0.2.1"]"#,
        ],
        Mode::Check,
    )
    .expect_err("vrid 0");
    assert_eq!(
        error.to_string(),
        "warning: test.toml:3: instance \"lan\": interface \"eth9\" does not exist on this host\n\
         error: test.toml:4: instance \"lan\": vrid 0 is out of range 1..=255"
    );
}

#[test]
fn an_unreadable_file_is_a_read_error() {
    let error = load(
        Path::new("/nonexistent/xvrrp.toml"),
        &fake_host,
        Mode::Check,
    )
    .expect_err("no such file");
    assert!(matches!(error, LoadError::Read { .. }), "{error:?}");
    assert!(
        error
            .to_string()
            .starts_with("cannot read /nonexistent/xvrrp.toml: ")
    );
}

#[test]
fn every_example_configuration_is_valid() {
    let directory = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/configs");
    let mut checked = Vec::new();
    for entry in std::fs::read_dir(&directory).expect("examples/configs exists") {
        let path = entry.expect("readable directory").path();
        if path.extension().is_none_or(|extension| extension != "toml") {
            continue;
        }
        match load(&path, &fake_host, Mode::Run) {
            // Hook scripts in examples are site-specific: only their absence may be warned of.
            Ok(loaded) => assert!(
                loaded.warnings.iter().all(|warning| matches!(
                    warning.kind,
                    ConfigErrorKind::UnusableHookProgram { .. }
                )),
                "{}: {:?}",
                path.display(),
                loaded.warnings
            ),
            Err(error) => panic!("{}:\n{error}", path.display()),
        }
        checked.push(path.file_name().unwrap().to_string_lossy().into_owned());
    }
    checked.sort();
    assert_eq!(
        checked,
        [
            "hooks.toml",
            "no-preempt.toml",
            "owner.toml",
            "two-routers-r1.toml",
            "two-routers-r2.toml",
            "xvrrp.toml"
        ]
    );
}

/// `count` IPv6 virtual addresses on eth0 (the first link-local, as required).
fn many_ipv6_addresses(count: usize) -> String {
    let listed: Vec<String> = (0..count)
        .map(|index| {
            if index == 0 {
                "\"fe80::1\"".to_owned()
            } else {
                format!("\"2001:db8::1:{index:x}\"")
            }
        })
        .collect();
    format!(
        "[[instance]]\nname = \"lan\"\ninterface = \"eth0\"\nvrid = 1\nvirtual_addresses = [{}]",
        listed.join(", ")
    )
}

/// The fake host, with an MTU for eth0.
struct HostWithMtu(u32);

impl HostInterfaces for HostWithMtu {
    fn addresses(&self, name: &str) -> io::Result<Option<Vec<InterfaceAddress>>> {
        fake_host(name)
    }

    fn mtu(&self, _name: &str) -> Option<u32> {
        Some(self.0)
    }
}

#[test]
fn virtual_addresses_must_fit_one_advert_and_the_mtu() {
    let text = many_ipv6_addresses(256);
    let result = parse(&text, Path::new("test.toml"), &fake_host, Mode::Run);
    assert_eq!(
        rendered(&result),
        [
            "error: test.toml:5: instance \"lan\": 256 virtual addresses: an advert carries at \
             most 255 (Count IPvX Addr is 8 bits, RFC 9568 §5.2.6)"
        ]
    );
    // 40 + 8 + 90 * 16 = 1488 fits 1500; 91 addresses (1504 bytes) do not.
    for (count, fits) in [(90, true), (91, false)] {
        let text = many_ipv6_addresses(count);
        let result = parse(&text, Path::new("test.toml"), &HostWithMtu(1500), Mode::Run);
        if fits {
            assert!(result.is_ok(), "{count}: {:?}", rendered(&result));
        } else {
            assert_eq!(
                rendered(&result),
                [
                    "error: test.toml:5: instance \"lan\": 91 virtual addresses make a 1504-byte \
                     advert, more than the MTU 1500 of eth0; at most 90 fit"
                ]
            );
        }
    }
}

#[test]
fn a_link_local_virtual_address_is_unique_per_interface() {
    let instance = |name: &str, interface: &str| {
        format!(
            "[[instance]]\nname = \"{name}\"\ninterface = \"{interface}\"\nvrid = 1\n\
             virtual_addresses = [\"fe80::1\"]\n"
        )
    };
    let text = [instance("a", "eth0"), instance("b", "eth1")].concat();
    let result = parse(&text, Path::new("test.toml"), &fake_host, Mode::Run);
    assert!(result.is_ok(), "{:?}", rendered(&result));
    let text = [
        instance("a", "eth0"),
        instance("b", "eth1"),
        instance("c", "eth0").replace("vrid = 1", "vrid = 2"),
    ]
    .concat();
    let result = parse(&text, Path::new("test.toml"), &fake_host, Mode::Run);
    assert_eq!(
        rendered(&result),
        [
            "error: test.toml:15: instance \"c\": virtual address fe80::1 is also a virtual \
             address of instance \"a\""
        ]
    );
}

#[test]
fn each_ipv4_checksum_style_loads_by_its_name() {
    for style in ChecksumStyle::ALL {
        let value = format!("ipv4_checksum = {:?}", style.name());
        let loaded = load_text(
            &[
                "[[instance]]",
                r#"name = "lan""#,
                r#"interface = "eth0""#,
                "vrid = 1",
                r#"virtual_addresses = ["192.0.2.1"]"#,
                &value,
            ],
            Mode::Run,
        )
        .expect("valid");
        assert_eq!(loaded.config.instances[0].ipv4_checksum, style);
    }
}

#[test]
fn the_allowed_peers_of_one_interface_fit_its_data_plane() {
    // 65 instances of 16 peers: 1040, over the 1024 one interface holds.
    let peers: Vec<String> = (1..=16).map(|n| format!("\"192.0.2.{n}\"")).collect();
    let instance = |vrid: u32| {
        [
            "[[instance]]".to_owned(),
            format!("name = \"vr{vrid}\""),
            r#"interface = "eth0""#.to_owned(),
            format!("vrid = {vrid}"),
            format!("virtual_addresses = [\"198.51.100.{vrid}\"]"),
            format!("allowed_peers = [{}]", peers.join(", ")),
        ]
    };
    let lines: Vec<String> = (1..=65).flat_map(instance).collect();
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let rendered = rendered(&load_text(&lines, Mode::Check));
    assert_eq!(rendered.len(), 1, "{rendered:?}");
    assert!(
        rendered[0].contains(
            r#"instance "vr65": the instances on eth0 list more than 1024 allowed_peers together"#
        ),
        "{rendered:?}"
    );
    let fits: Vec<&str> = lines[..64 * 6].to_vec();
    assert!(load_text(&fits, Mode::Check).is_ok());
}

#[test]
fn router_advertisement_defaults_follow_rfc4861_and_every_key_maps() {
    let base = [
        "[[instance]]",
        r#"name = "v6""#,
        r#"interface = "eth0""#,
        "vrid = 1",
        r#"virtual_addresses = ["fe80::1"]"#,
    ];
    let ra = |extra: &[&str]| {
        let lines: Vec<&str> = base.iter().chain(extra).copied().collect();
        load_text(&lines, Mode::Run).unwrap().config.instances[0]
            .router_advertisement
            .clone()
    };
    assert_eq!(ra(&[]), None, "no section: no RAs");
    assert_eq!(
        ra(&["[instance.router_advertisement]", "enabled = false"]),
        None
    );
    let defaults = ra(&["[instance.router_advertisement]"]).expect("enabled by the section");
    assert_eq!(defaults.max_interval, Duration::from_secs(600));
    assert_eq!(defaults.min_interval, Duration::from_secs(198));
    assert_eq!(defaults.router_lifetime_s, 1800);
    assert_eq!(defaults.hop_limit, 64);
    assert_eq!(defaults.preference, router_advert::RouterPreference::Medium);
    assert_eq!((defaults.managed, defaults.other_config), (false, false));
    assert_eq!(defaults.mtu, None);
    assert!(defaults.prefixes.is_empty() && defaults.dns_servers.is_empty());
    assert_eq!(defaults.dns_lifetime_s, 1800);
    // Short intervals: min stays within 3..=0.75 × max.
    let short = ra(&["[instance.router_advertisement]", "max_interval_s = 4"]).unwrap();
    assert_eq!(short.min_interval, Duration::from_secs(3));
    assert_eq!(short.router_lifetime_s, 12);
    let full = ra(&[
        "[instance.router_advertisement]",
        "enabled = true",
        "max_interval_s = 30",
        "min_interval_s = 10",
        "router_lifetime_s = 0",
        r#"preference = "low""#,
        "managed = true",
        "other_config = true",
        "hop_limit = 0",
        "mtu = 9000",
        r#"prefixes = [{ prefix = "2001:db8:1::/64", on_link = false, autonomous = false, valid_lifetime_s = 100, preferred_lifetime_s = 50 }]"#,
        r#"dns_servers = ["2001:db8::53"]"#,
        r#"search_domains = ["example.com."]"#,
        "dns_lifetime_s = 90",
    ])
    .unwrap();
    assert_eq!(
        full,
        RouterAdvertConfig {
            min_interval: Duration::from_secs(10),
            max_interval: Duration::from_secs(30),
            router_lifetime_s: 0,
            preference: router_advert::RouterPreference::Low,
            managed: true,
            other_config: true,
            hop_limit: 0,
            mtu: Some(9000),
            prefixes: vec![vrrp_common::router_advert::PrefixInformation {
                prefix: "2001:db8:1::".parse().unwrap(),
                length: 64,
                on_link: false,
                autonomous: false,
                valid_lifetime_s: 100,
                preferred_lifetime_s: 50,
            }],
            dns_servers: vec!["2001:db8::53".parse().unwrap()],
            search_domains: vec!["example.com.".into()],
            dns_lifetime_s: 90,
        }
    );
}

#[test]
fn a_router_advertisement_too_large_for_the_ipv6_minimum_mtu_is_refused() {
    let servers: Vec<String> = (1..=80).map(|n| format!(r#""2001:db8::{n:x}""#)).collect();
    let servers = format!("dns_servers = [{}]", servers.join(", "));
    let lines = [
        "[[instance]]",
        r#"name = "v6""#,
        r#"interface = "eth0""#,
        "vrid = 1",
        r#"virtual_addresses = ["fe80::1"]"#,
        "[instance.router_advertisement]",
        &servers,
    ];
    assert_eq!(
        rendered(&load_text(&lines, Mode::Run)),
        [
            r#"error: test.toml:6: instance "v6": the router advertisement would be 1312 bytes, more than the 1240 an IPv6 link carries unfragmented (fewer prefixes, servers or domains)"#
        ]
    );
}

#[test]
fn version_loads_from_integers_and_strings_and_rejects_what_v2_cannot_carry() {
    let instance = |address: &str, extra: &str| {
        let lines = [
            "[[instance]]".to_owned(),
            r#"name = "lan""#.to_owned(),
            r#"interface = "eth0""#.to_owned(),
            "vrid = 1".to_owned(),
            format!("virtual_addresses = [\"{address}\"]"),
            extra.to_owned(),
        ];
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        load_text(&lines, Mode::Run)
    };
    let version_of = |extra: &str| {
        instance("192.0.2.1", extra)
            .expect("valid")
            .config
            .instances[0]
            .version
    };
    assert_eq!(version_of(""), VersionMode::V3);
    assert_eq!(version_of("version = 3"), VersionMode::V3);
    assert_eq!(version_of(r#"version = "3""#), VersionMode::V3);
    assert_eq!(version_of("version = 2"), VersionMode::V2);
    assert_eq!(version_of(r#"version = "2""#), VersionMode::V2);
    assert_eq!(version_of(r#"version = "2+3""#), VersionMode::V2AndV3);
    assert_eq!(
        rendered(&instance("192.0.2.1", "version = 4")),
        [r#"error: test.toml:6: instance "lan": version "4" is not one of 3, 2, "2+3""#]
    );
    assert_eq!(
        rendered(&instance("fe80::1", r#"version = "2+3""#)),
        [
            "error: test.toml:6: instance \"lan\": version \"2+3\" applies to IPv4 instances \
             only: VRRPv2 (RFC 3768) has no IPv6, use version = 3"
        ]
    );
    assert_eq!(
        rendered(&instance(
            "192.0.2.1",
            "version = 2\nadvert_interval_ms = 1500"
        )),
        [
            "error: test.toml:6: instance \"lan\": version \"2\" sends VRRPv2, whose Adver Int \
             counts whole seconds (RFC 3768 §5.3.7): advert_interval_ms 1500 must be a multiple \
             of 1000"
        ]
    );
    assert_eq!(
        version_of("version = 2\nadvert_interval_ms = 3000"),
        VersionMode::V2
    );
}
