//! 255 IPv4 virtual routers on one LAN, as the scale test and `cargo xtask bench scale` run
//! them: their virtual addresses, state transitions counted from a daemon's JSON log, adverts
//! lost to a full ring buffer (the pinned counters), and what a process costs (/proc).

use std::{fs, net::Ipv4Addr, ops::RangeInclusive, path::Path, time::Duration};

use aya::maps::{Map, MapData, PerCpuArray};
use vrrp_common::{counters::Counter, maps::STATS_MAP};

/// Every VRID a LAN can hold.
pub const VRIDS: RangeInclusive<u8> = 1..=255;

/// The virtual address of VRID `vrid`: 198.51.100.`vrid` (TEST-NET-2, RFC 5737).
pub fn vip(vrid: u8) -> Ipv4Addr {
    Ipv4Addr::new(198, 51, 100, vrid)
}

/// How many `from -> to` state changes a daemon's JSON log reports.
pub fn transitions(log: &str, from: &str, to: &str) -> usize {
    log.lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|entry| entry["from"] == from && entry["to"] == to)
        .count()
}

/// Adverts the data plane under `pin_dir` (`<bpffs>/<ifname>`) lost to a full ring buffer,
/// summed over CPUs (`ringbuf_full`, global counter).
pub fn ring_losses(pin_dir: &Path) -> u64 {
    pinned_counter(pin_dir, Counter::RingBufFull)
}

/// Global counter `counter` of the data plane under `pin_dir`, summed over CPUs.
pub fn pinned_counter(pin_dir: &Path, counter: Counter) -> u64 {
    let path = pin_dir.join(STATS_MAP);
    let data = MapData::from_pin(&path)
        .unwrap_or_else(|err| panic!("open pinned {}: {err}", path.display()));
    let map = Map::from_map_data(data).expect("stats map type");
    let stats = PerCpuArray::<_, u64>::try_from(map).expect("stats map is a per-CPU u64 array");
    stats
        .get(&(counter as u32), 0)
        .unwrap_or_else(|err| panic!("read {}: {err}", counter.name()))
        .iter()
        .sum()
}

/// CPU time process `pid` used so far: user + system (`/proc/<pid>/stat` fields 14 and 15).
pub fn cpu_time(pid: u32) -> Duration {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat"))
        .unwrap_or_else(|err| panic!("read /proc/{pid}/stat: {err}"));
    // The command name (field 2) may hold spaces; the fields after it are plain numbers.
    let after_name = &stat[stat.rfind(')').expect("stat has a command name") + 2..];
    let fields: Vec<u64> = after_name
        .split_whitespace()
        .map(|field| field.parse().unwrap_or(0))
        .collect();
    // Field 3 (state) is the first after the name: utime is field 14, stime field 15.
    let ticks = fields[14 - 3] + fields[15 - 3];
    // SAFETY: sysconf has no preconditions.
    let per_second = u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) }).unwrap_or(100);
    Duration::from_millis(ticks * 1000 / per_second)
}

/// Peak resident set size of process `pid` in KiB (`VmHWM` in `/proc/<pid>/status`).
pub fn peak_rss_kib(pid: u32) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|err| panic!("read /proc/{pid}/status: {err}"));
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmHWM for {pid}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions_are_counted_from_json_log_lines() {
        let log = concat!(
            r#"{"level":"INFO","from":"Backup","to":"Master","vrid":1}"#,
            "\n",
            r#"{"level":"INFO","from":"Initialize","to":"Backup","vrid":1}"#,
            "\nnot json\n",
            r#"{"level":"INFO","from":"Backup","to":"Master","vrid":2}"#,
            "\n"
        );
        assert_eq!(transitions(log, "Backup", "Master"), 2);
        assert_eq!(transitions(log, "Initialize", "Backup"), 1);
        assert_eq!(transitions(log, "Master", "Backup"), 0);
    }

    #[test]
    fn this_process_has_a_peak_rss_and_cpu_time() {
        let pid = std::process::id();
        assert!(peak_rss_kib(pid) > 0);
        let spin = std::time::Instant::now();
        while spin.elapsed() < Duration::from_millis(30) {}
        assert!(cpu_time(pid) > Duration::ZERO);
    }
}
