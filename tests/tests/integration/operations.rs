//! The operations interface of a live pair: `xvrrp status`, `xvrrp events --follow`, the
//! journal across restarts, the Prometheus endpoint, and a control socket under abuse. The
//! clients are the real CLI (for status and events) or raw sockets (for what the CLI never
//! sends).

use std::{
    io::{BufRead as _, BufReader, Read as _, Write as _},
    net::{Shutdown, TcpStream},
    os::unix::net::UnixStream,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use serde_json::Value;
use vrrp_tests::{
    daemon::{Daemon, instance_status, xvrrp_binary},
    lab::{Lab, two_routers},
    netns::NetNs,
    turn::Turn,
    vrrp::{RouterSpec, VIP4},
    wait,
};
use vrrp_user::ops::READ_TIMEOUT;

const R1: &str = "192.0.2.1";
/// Process start to a Backup following the Master, with room for a loaded machine.
pub(super) const SETTLE: Duration = Duration::from_secs(5);
/// Timer tolerance, as in the daemon suite.
const TOLERANCE: Duration = Duration::from_millis(60);

pub(crate) struct Pair {
    pub(crate) lab: Lab,
}

impl Pair {
    pub(crate) fn for_test(test: &str) -> Option<(Turn, Self)> {
        let (turn, lab) = two_routers(test)?;
        Some((turn, Self { lab }))
    }

    pub(super) fn ns(&self, node: usize) -> &NetNs {
        &self.lab.nodes[node].ns
    }

    /// Starts node `node` (0 = r1, 1 = r2) with `spec`, `extra_global` added to `[global]`.
    pub(crate) fn start(
        &self,
        node: usize,
        name: &str,
        spec: &RouterSpec,
        extra_global: &str,
    ) -> Daemon {
        let ns = self.ns(node);
        let bpffs = format!("/sys/fs/bpf/xvrrp-test-{}", ns.name());
        let config =
            spec.config(&bpffs)
                .replacen("[global]\n", &format!("[global]\n{extra_global}"), 1);
        Daemon::start(ns, name, &config, Path::new(&bpffs))
    }
}

/// `xvrrp <args> --socket <socket>`: exit success and stdout.
pub(crate) fn cli(socket: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(xvrrp_binary())
        .args(args)
        .arg("--socket")
        .arg(socket)
        .output()
        .expect("run xvrrp");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `xvrrp status --json` of the instance `lan`, once the daemon answers.
pub(crate) fn lan_status(socket: &Path) -> Option<Value> {
    instance_status(socket, "lan")
}

/// Waits until `socket`'s instance satisfies `condition`, returning its status.
pub(crate) fn wait_status(socket: &Path, what: &str, condition: impl Fn(&Value) -> bool) -> Value {
    wait::until(what, SETTLE, Duration::from_millis(50), || {
        lan_status(socket).filter(|status| condition(status))
    })
}

#[test]
fn status_of_a_live_pair_agrees_on_master_priorities_and_addresses() {
    let Some((_turn, pair)) =
        Pair::for_test("status_of_a_live_pair_agrees_on_master_priorities_and_addresses")
    else {
        return;
    };
    let r1 = pair.start(0, "xvrrp", &RouterSpec::new(200), "");
    let r2 = pair.start(1, "xvrrp", &RouterSpec::new(100), "");
    let master = wait_status(&r1.control_socket(), "r1 Master", |s| {
        s["state"] == "Master"
    });
    let backup = wait_status(&r2.control_socket(), "r2 following r1", |s| {
        s["state"] == "Backup" && s["master"]["address"] == R1
    });
    for status in [&master, &backup] {
        assert_eq!(status["virtual_addresses"], serde_json::json!([VIP4]));
        assert_eq!(status["virtual_mac"], "00:00:5e:00:01:33");
        assert_eq!(status["vrid"], 51);
        assert_eq!(status["vrrp_version"], "3");
        assert_eq!(status["unicast_peers"], serde_json::json!([]));
        assert_eq!(status["family"], "IPv4");
        assert_eq!(status["interface"], "eth0");
        assert_eq!(status["advert_interval_ms"], 100);
        assert_eq!(status["master"]["priority"], 200, "{status}");
        assert_eq!(status["master"]["advert_interval_ms"], 100);
    }
    assert_eq!(master["master"]["local"], true);
    assert_eq!(master["effective_priority"], 200);
    assert_eq!(backup["master"]["local"], false);
    assert_eq!(backup["configured_priority"], 100);
    assert_eq!(backup["effective_priority"], 100);
    // Skew_Time = (256 - 100) * 100 ms / 256; Master_Down_Interval = 3 * 100 ms + that.
    assert_eq!(backup["skew_time_us"], 60_937);
    assert_eq!(backup["master_down_interval_us"], 360_937);
    let heard = backup["master"]["last_heard_ms_ago"]
        .as_u64()
        .expect("heard");
    assert!(
        heard < 500,
        "Master last heard {heard} ms ago at 100 ms adverts"
    );
    // Later the counters moved: the Master sends, the Backup receives in XDP (the snapshot is
    // refreshed every second, so wait two).
    let sent_before = master["counters"]["adverts_sent"].as_u64().unwrap();
    std::thread::sleep(Duration::from_secs(2));
    let master = lan_status(&r1.control_socket()).expect("r1 status");
    let backup = lan_status(&r2.control_socket()).expect("r2 status");
    let sent = master["counters"]["adverts_sent"].as_u64().unwrap() - sent_before;
    let absorbed = backup["dataplane"]["adverts_absorbed"].as_u64().unwrap();
    assert!(sent >= 5, "r1 sent {sent} adverts in 2 s");
    assert!(absorbed >= 5, "r2 absorbed {absorbed} adverts");
    assert_eq!(master["counters"]["became_master"], 1);

    let (ok, table, _) = cli(&r2.control_socket(), &["status"]);
    assert!(ok);
    assert!(
        table.contains("lan (eth0, IPv4 VRID 51, group lan): Backup for"),
        "{table}"
    );
    assert!(
        table.contains(&format!("{R1}, priority 200, interval 100 ms, heard")),
        "{table}"
    );
    assert!(table.contains("ingress hook TC ingress"), "{table}");
    assert!(table.lines().all(|line| line.len() <= 100), "{table}");
    let (ok, _, stderr) = cli(&r2.control_socket(), &["status", "nosuch"]);
    assert!(!ok && stderr.contains("unknown_instance"), "{stderr}");
}

/// Runs `xvrrp events --follow --json` against `socket`; each stdout line arrives on the
/// channel. The child is killed by the returned guard.
struct Follower {
    child: std::process::Child,
    lines: mpsc::Receiver<String>,
}

impl Follower {
    fn start(socket: &Path) -> Self {
        let mut child = Command::new(xvrrp_binary())
            .args(["events", "--follow", "--json", "--socket"])
            .arg(socket)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start xvrrp events");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self { child, lines }
    }

    /// The first record satisfying `condition` within `timeout`.
    fn wait_for(&self, timeout: Duration, condition: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + timeout;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let record: Value = serde_json::from_str(&line).expect("JSON event line");
                    if condition(&record) {
                        return record;
                    }
                    seen.push(line);
                }
                Err(_) => panic!("no matching event within {timeout:?}; saw {seen:#?}"),
            }
        }
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        let _already_gone = self.child.kill();
        let _reaped = self.child.wait();
    }
}

/// `xvrrp plan --config <config> <args>` (the socket from the configuration): exit success
/// and stdout.
fn plan(config: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(xvrrp_binary())
        .arg("plan")
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .expect("run xvrrp plan");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn plan_of_a_live_pair_shows_the_master_then_says_when_the_daemon_is_gone() {
    let Some((_turn, pair)) =
        Pair::for_test("plan_of_a_live_pair_shows_the_master_then_says_when_the_daemon_is_gone")
    else {
        return;
    };
    let _r1 = pair.start(0, "xvrrp", &RouterSpec::new(200), "");
    let mut r2 = pair.start(1, "xvrrp", &RouterSpec::new(100), "");
    wait_status(&r2.control_socket(), "r2 following r1", |s| {
        s["state"] == "Backup" && s["master"]["address"] == R1 && s["master"]["priority"] == 200
    });
    let config = r2.config_path();
    let (ok, json) = plan(&config, &["--format", "json"]);
    assert!(ok, "{json}");
    let json: Value = serde_json::from_str(&json).expect("plan JSON");
    let planned = &json["instances"][0];
    assert_eq!(planned["name"], "lan");
    assert_eq!(planned["vrid"], 51);
    assert_eq!(planned["virtual_mac"], "00:00:5e:00:01:33");
    assert_eq!(planned["virtual_addresses"], serde_json::json!([VIP4]));
    assert_eq!(planned["priority"], 100);
    let live = &json["daemon"]["running"];
    assert_eq!(live["pid"], r2.pid(), "{json}");
    assert_eq!(live["instances"][0]["state"], "Backup");
    assert_eq!(live["instances"][0]["master"]["address"], R1);
    assert_eq!(live["instances"][0]["master"]["priority"], 200);

    let (ok, markdown) = plan(&config, &[]);
    assert!(ok, "{markdown}");
    assert!(
        markdown.contains(&format!(
            "| lan | eth0 | IPv4 | 51 | `00:00:5e:00:01:33` | {VIP4} | 100 | 100 ms | yes | no | \
             none | any | lan |"
        )),
        "{markdown}"
    );
    assert!(
        markdown.contains(&format!("| lan | Backup | 100 | {R1} | 200 | ")),
        "{markdown}"
    );

    // Without a daemon: said so, and the configured part is still there.
    r2.signal(libc::SIGTERM);
    assert_eq!(r2.wait_exit(Duration::from_secs(5)), Some(0));
    let (ok, markdown) = plan(&config, &[]);
    assert!(ok, "{markdown}");
    assert!(markdown.contains("Daemon: not reachable at"), "{markdown}");
    assert!(
        markdown.contains("| lan | eth0 | IPv4 | 51 |"),
        "{markdown}"
    );
    assert!(!markdown.contains("## Live state"), "{markdown}");
}

#[test]
fn events_follow_shows_the_backup_takeover_with_its_gap() {
    let Some((_turn, pair)) =
        Pair::for_test("events_follow_shows_the_backup_takeover_with_its_gap")
    else {
        return;
    };
    let spec2 = RouterSpec::new(100);
    let r1 = pair.start(0, "xvrrp", &RouterSpec::new(200), "");
    let r2 = pair.start(1, "xvrrp", &spec2, "");
    wait_status(&r2.control_socket(), "r2 following r1", |s| {
        s["master"]["address"] == R1
    });
    let follower = Follower::start(&r2.control_socket());
    // History first: r2's own start.
    follower.wait_for(Duration::from_secs(2), |r| {
        r["kind"] == "transition" && r["to"] == "Backup"
    });
    // Under load r2 may have been Master briefly at start, before r1 preempted it: only a
    // takeover recorded after the kill counts.
    let killed_ms = vrrp_user::ops::time::unix_ms_now();
    r1.signal(libc::SIGKILL);
    let takeover = follower.wait_for(Duration::from_secs(3), |r| {
        r["kind"] == "transition"
            && r["to"] == "Master"
            && r["at_ms"].as_u64().is_some_and(|at| at >= killed_ms)
    });
    assert_eq!(takeover["from"], "Backup");
    assert_eq!(takeover["instance"], "lan");
    assert_eq!(takeover["peer"], R1);
    let gap = Duration::from_micros(takeover["gap_us"].as_u64().expect("gap_us"));
    let bound = spec2.master_down_interval();
    assert!(
        gap + TOLERANCE >= bound && gap <= bound + TOLERANCE,
        "gap {gap:?}, Master_Down_Interval {bound:?}"
    );
    let (ok, text, _) = cli(&r2.control_socket(), &["events", "--since", "1m"]);
    assert!(ok);
    assert!(
        text.contains("lan  Backup -> Master: master down timer expired (no advert from 192.0.2.1"),
        "{text}"
    );
}

/// A broken file whose reload is rejected with a long error: a cheap, bulky event.
const BROKEN: &str = "[[instance]]\nname = \"broken one with a name that is not valid at all\"\n\
                      interface = \"no-such-interface-name\"\nvrid = 0\npriority = 0\n\
                      virtual_addresses = [\"224.0.0.1\"]\n";

#[test]
fn journal_rotates_and_history_survives_a_restart() {
    let Some((_turn, pair)) = Pair::for_test("journal_rotates_and_history_survives_a_restart")
    else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("xvrrp-journal-{}", pair.ns(0).name()));
    let _fresh = std::fs::remove_dir_all(&dir);
    let journal = dir.join("events.jsonl");
    let rotated = PathBuf::from(format!("{}.1", journal.display()));
    let global = format!(
        "journal = \"{}\"\njournal_max_bytes = 4096\n",
        journal.display()
    );
    let spec = RouterSpec::new(200);
    let mut r1 = pair.start(0, "xvrrp", &spec, &global);
    wait_status(&r1.control_socket(), "r1 Master", |s| {
        s["state"] == "Master"
    });
    std::fs::write(r1.config_path(), BROKEN).expect("break the config");
    let count_rejected = |socket: &Path| {
        let (_, text, _) = cli(socket, &["events", "--json"]);
        text.lines()
            .filter(|l| l.contains("reload_rejected"))
            .count()
    };
    for sent in 1..=20 {
        r1.signal(libc::SIGHUP);
        wait::until(
            "the reload to be rejected",
            SETTLE,
            Duration::from_millis(20),
            || (count_rejected(&r1.control_socket()) >= sent).then_some(()),
        );
    }
    assert!(rotated.exists(), "no rotation after 20 bulky events");
    let size = std::fs::metadata(&journal).expect("journal").len();
    assert!(size <= 4096, "journal {size} bytes, limit 4096");
    r1.signal(libc::SIGTERM);
    assert_eq!(r1.wait_exit(Duration::from_secs(5)), Some(0));
    drop(r1);

    let r1 = pair.start(0, "xvrrp-again", &spec, &global);
    wait_status(&r1.control_socket(), "r1 Master again", |s| {
        s["state"] == "Master"
    });
    let rejected = count_rejected(&r1.control_socket());
    assert!(
        (5..=20).contains(&rejected),
        "{rejected} rejected reloads remembered across the restart"
    );
    let (_, text, _) = cli(&r1.control_socket(), &["events", "--json"]);
    let starts = text
        .lines()
        .filter(|l| l.contains(r#""from":"Initialize""#))
        .count();
    assert!(starts >= 1, "this run's start missing:\n{text}");
    // `status` shows this run's last transition, not one from the journal's past.
    let (_, table, _) = cli(&r1.control_socket(), &["status"]);
    assert!(table.contains("Last transition"), "{table}");
    let _cleanup = std::fs::remove_dir_all(&dir);
}

/// `GET /metrics` from inside `ns`.
pub(super) fn scrape(ns: &NetNs, address: &str) -> String {
    let _inside = ns.enter();
    let mut stream = TcpStream::connect(address).expect("connect to /metrics");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response");
    let (head, body) = response.split_once("\r\n\r\n").expect("HTTP response");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("application/openmetrics-text"), "{head}");
    body.to_owned()
}

/// One sample of the exposition: name, labels, value.
#[derive(Debug)]
pub(super) struct Sample {
    name: String,
    labels: Vec<(String, String)>,
    value: f64,
}

/// Parses the text exposition strictly enough to catch a broken line: every line is a
/// comment (`# HELP`, `# TYPE`, `# EOF` last) or `name{label="value",...} number`.
pub(super) fn parse_exposition(text: &str) -> Vec<Sample> {
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.last(),
        Some(&"# EOF"),
        "exposition must end with # EOF"
    );
    let mut samples = Vec::new();
    for line in &lines[..lines.len() - 1] {
        if line.starts_with("# HELP ") || line.starts_with("# TYPE ") {
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("bad line {line:?}"));
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("bad value in {line:?}"));
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => {
                let inner = rest
                    .strip_suffix('}')
                    .unwrap_or_else(|| panic!("bad labels {line:?}"));
                let labels = inner
                    .split("\",")
                    .map(|pair| {
                        let (key, value) = pair
                            .split_once("=\"")
                            .unwrap_or_else(|| panic!("bad label in {line:?}"));
                        (key.to_owned(), value.trim_end_matches('"').to_owned())
                    })
                    .collect();
                (name, labels)
            }
            None => (series, Vec::new()),
        };
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "bad metric name in {line:?}"
        );
        samples.push(Sample {
            name: name.to_owned(),
            labels,
            value,
        });
    }
    samples
}

/// The value of `name` for instance `lan` (and `extra` labels).
pub(super) fn lan_value(samples: &[Sample], name: &str, extra: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| {
            s.name == name
                && s.labels
                    .iter()
                    .any(|(k, v)| k == "vrrp_instance" && v == "lan")
                && extra
                    .iter()
                    .all(|(k, v)| s.labels.iter().any(|(lk, lv)| lk == k && lv == v))
        })
        .map(|s| s.value)
}

#[test]
fn metrics_scrape_parses_and_follows_a_failover() {
    let Some((_turn, pair)) = Pair::for_test("metrics_scrape_parses_and_follows_a_failover") else {
        return;
    };
    for node in 0..2 {
        pair.ns(node).run(&["ip", "link", "set", "lo", "up"]);
    }
    let global = "metrics = true\n";
    let r1 = pair.start(0, "xvrrp", &RouterSpec::new(200), global);
    let r2 = pair.start(
        1,
        "xvrrp",
        &RouterSpec::new(100),
        &format!("{global}metrics_listen = \"127.0.0.1:9568\"\n"),
    );
    wait_status(&r2.control_socket(), "r2 following r1", |s| {
        s["master"]["address"] == R1
    });
    let before = parse_exposition(&scrape(pair.ns(1), "127.0.0.1:9568"));
    assert_eq!(
        lan_value(
            &before,
            "xvrrp_vrrp_state",
            &[
                ("group", "lan"),
                ("vrid", "51"),
                ("family", "ipv4"),
                ("interface", "eth0")
            ]
        ),
        Some(1.0)
    );
    assert_eq!(
        lan_value(&before, "xvrrp_vrrp_master_priority", &[]),
        Some(200.0)
    );
    assert_eq!(lan_value(&before, "xvrrp_vrrp_priority", &[]), Some(100.0));
    // Under load r2 may have been Master for a moment at start: compare with before.
    let became = lan_value(&before, "xvrrp_vrrp_become_master_total", &[]).expect("become");
    // A start with nobody heard before is no takeover gap: only the failover will be.
    let gaps = lan_value(&before, "xvrrp_takeover_gap_seconds_count", &[]).unwrap_or(0.0);
    assert_eq!(
        gaps, 0.0,
        "a start without a previous Master counted as a takeover"
    );
    assert!(before.iter().any(|s| s.name == "xvrrp_build_info"));
    assert!(
        before
            .iter()
            .any(|s| s.name == "xvrrp_interface_ingress_hook"
                && s.labels.contains(&("hook".to_owned(), "tc".to_owned())))
    );
    let received = lan_value(&before, "xvrrp_vrrp_adverts_received_total", &[]).expect("received");
    assert!(received > 0.0, "no adverts received");
    let ok_requests = before
        .iter()
        .find(|s| {
            s.name == "xvrrp_control_requests_total"
                && s.labels.contains(&("result".to_owned(), "ok".to_owned()))
        })
        .map(|s| s.value);
    assert!(
        ok_requests.is_some_and(|n| n >= 1.0),
        "status requests not counted"
    );
    // r1 is Master on its side of the same scrape format.
    let r1_metrics = parse_exposition(&scrape(pair.ns(0), "127.0.0.1:9568"));
    assert_eq!(lan_value(&r1_metrics, "xvrrp_vrrp_state", &[]), Some(2.0));

    r1.signal(libc::SIGKILL);
    let after = wait::until(
        "r2's metrics to show the takeover",
        SETTLE,
        Duration::from_millis(100),
        || {
            let samples = parse_exposition(&scrape(pair.ns(1), "127.0.0.1:9568"));
            (lan_value(&samples, "xvrrp_vrrp_state", &[]) == Some(2.0)).then_some(samples)
        },
    );
    assert_eq!(
        lan_value(&after, "xvrrp_vrrp_become_master_total", &[]),
        Some(became + 1.0)
    );
    assert_eq!(
        lan_value(&after, "xvrrp_takeover_gap_seconds_count", &[]),
        Some(1.0)
    );
    let gap = lan_value(&after, "xvrrp_takeover_gap_seconds_sum", &[]).expect("gap sum");
    assert!((0.3..0.45).contains(&gap), "takeover gap {gap} s");
    assert_eq!(
        lan_value(&after, "xvrrp_vrrp_master_priority", &[]),
        Some(100.0)
    );
}

/// Sends `request` on a fresh connection and returns the first answer line.
pub(crate) fn answer(socket: &Path, request: &[u8], close_write: bool) -> Value {
    let mut stream = UnixStream::connect(socket).expect("connect");
    stream
        .set_read_timeout(Some(READ_TIMEOUT + Duration::from_secs(2)))
        .expect("timeout");
    // A huge request may be cut off by the daemon's reply and close: ignore write errors.
    let _cut_off = stream.write_all(request);
    if close_write {
        stream.shutdown(Shutdown::Write).expect("shutdown");
    }
    let mut line = String::new();
    BufReader::new(stream)
        .read_line(&mut line)
        .expect("answer line");
    serde_json::from_str(&line).unwrap_or_else(|_| panic!("not a JSON answer: {line:?}"))
}

pub(crate) fn error_code(answer: &Value) -> &str {
    answer["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("not an error: {answer}"))
}

#[test]
fn malformed_control_requests_get_errors_and_the_daemon_keeps_serving() {
    let Some((_turn, pair)) =
        Pair::for_test("malformed_control_requests_get_errors_and_the_daemon_keeps_serving")
    else {
        return;
    };
    let r1 = pair.start(0, "xvrrp", &RouterSpec::new(200), "");
    let socket = r1.control_socket();
    wait_status(&socket, "r1 Master", |s| s["state"] == "Master");
    let mode = std::fs::metadata(&socket).expect("socket").permissions();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
        0o600
    );

    // A slow client holds its connection; everyone else is served meanwhile.
    let mut slow = UnixStream::connect(&socket).expect("connect");
    slow.write_all(br#"{"vers"#).expect("partial write");
    let slow_started = Instant::now();

    // Garbage, then a good request on the same connection: a bad line does not end it.
    let mut stream = UnixStream::connect(&socket).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(2)))
        .expect("timeout");
    stream
        .write_all(b"hello\n{\"version\":1,\"command\":\"status\"}\n")
        .expect("write");
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).expect("first answer");
    assert_eq!(
        error_code(&serde_json::from_str(&line).unwrap()),
        "malformed"
    );
    line.clear();
    reader.read_line(&mut line).expect("second answer");
    let status: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(
        status["status"]["snapshot"]["instances"][0]["state"],
        "Master"
    );

    let huge = vec![b'x'; 100_000];
    assert_eq!(error_code(&answer(&socket, &huge, false)), "too_large");
    assert_eq!(
        error_code(&answer(&socket, br#"{"version":1,"comm"#, true)),
        "incomplete"
    );
    assert_eq!(
        error_code(&answer(&socket, b"\xff\xfe\x00\n", false)),
        "malformed"
    );
    let newer = b"{\"version\":9,\"command\":\"status\"}\n";
    assert_eq!(
        error_code(&answer(&socket, newer, false)),
        "unsupported_version"
    );
    assert!(
        slow_started.elapsed() < READ_TIMEOUT,
        "the checks above took too long to prove anything"
    );

    // The slow client is cut off at the read timeout, with an answer.
    slow.set_read_timeout(Some(READ_TIMEOUT + Duration::from_secs(2)))
        .expect("timeout");
    let mut line = String::new();
    BufReader::new(&slow)
        .read_line(&mut line)
        .expect("timeout answer");
    assert_eq!(error_code(&serde_json::from_str(&line).unwrap()), "timeout");
    assert!(slow_started.elapsed() >= READ_TIMEOUT - Duration::from_millis(100));

    // Too many connections: the one over the limit is told so; the daemon still serves after.
    let held: Vec<UnixStream> = (0..vrrp_user::ops::MAX_CONNECTIONS)
        .map(|_| UnixStream::connect(&socket).expect("connect"))
        .collect();
    let busy = wait::until(
        "a busy answer",
        Duration::from_secs(2),
        Duration::from_millis(20),
        || {
            let over = answer(&socket, b"{\"version\":1,\"command\":\"status\"}\n", false);
            (over["error"]["code"] == "busy").then_some(over)
        },
    );
    assert!(
        busy["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("connections"))
    );
    drop(held);
    let served = wait::until(
        "service after the crowd left",
        Duration::from_secs(2),
        Duration::from_millis(20),
        || {
            let (ok, stdout, _) = cli(&socket, &["status", "--json"]);
            ok.then_some(stdout)
        },
    );
    assert!(served.contains("\"Master\""));
    assert!(r1.log().contains("operations interface ready"));
}

/// The value of the unlabelled-but-`result` series `name{result="<result>"}`.
fn result_value(samples: &[Sample], name: &str, result: &str) -> Option<f64> {
    samples
        .iter()
        .find(|s| s.name == name && s.labels == [("result".to_owned(), result.to_owned())])
        .map(|s| s.value)
}

/// A directory for a test's scripts and their output, removed on drop.
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn new(ns: &NetNs) -> Self {
        let dir = std::env::temp_dir().join(format!("xvrrp-hooks-{}", ns.name()));
        let _fresh = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Self(dir)
    }

    /// Writes an executable `/bin/sh` script.
    fn script(&self, name: &str, body: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt as _;
        let path = self.0.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}")).expect("write script");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        path
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _gone = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn hooks_see_every_transition_in_order_and_a_hung_one_is_killed() {
    let Some((_turn, pair)) =
        Pair::for_test("hooks_see_every_transition_in_order_and_a_hung_one_is_killed")
    else {
        return;
    };
    let scratch = ScratchDir::new(pair.ns(1));
    let log = scratch.0.join("slow.log");
    let hung_pid = scratch.0.join("hung.pid");
    // Slower than the transitions it hears about: they queue behind it.
    let slow = scratch.script(
        "slow.sh",
        &format!(
            "echo \"begin $XVRRP_FROM $XVRRP_TO\" >> {log}\nsleep 0.4\n\
             echo \"end $XVRRP_FROM $XVRRP_TO $XVRRP_COLLAPSED $XVRRP_INSTANCE $XVRRP_VRID \
             $XVRRP_INTERFACE $XVRRP_FAMILY peer=$XVRRP_PEER\" >> {log}\n\
             echo slow hook saw \"$XVRRP_TO\"\n",
            log = log.display()
        ),
    );
    let hung = scratch.script(
        "hung.sh",
        &format!("echo $$ > {}\nexec sleep 60\n", hung_pid.display()),
    );
    let hooks = format!(
        "\n[[instance.hook]]\ncommand = [\"{}\"]\n\
         \n[[instance.hook]]\ncommand = [\"{}\", \"fixed-arg\"]\ntimeout_ms = 500\nstates = [\"Master\"]\n",
        slow.display(),
        hung.display()
    );
    let spec1 = RouterSpec::new(200);
    let spec2 = RouterSpec::new(100);
    let bpffs = |node: usize| format!("/sys/fs/bpf/xvrrp-test-{}", pair.ns(node).name());
    let r1 = pair.start(0, "xvrrp", &spec1, "");
    let r2_config = spec2
        .config(&bpffs(1))
        .replacen("[global]\n", "[global]\nmetrics = true\n", 1)
        + &hooks;
    let mut r2 = Daemon::start(pair.ns(1), "xvrrp", &r2_config, Path::new(&bpffs(1)));
    wait_status(&r2.control_socket(), "r2 following r1", |s| {
        s["state"] == "Backup" && s["master"]["address"] == R1
    });
    // Takeover, then r1 back: it preempts. r2 goes Backup -> Master -> Backup while its
    // hooks are still busy with earlier transitions.
    r1.signal(libc::SIGKILL);
    drop(r1);
    wait_status(&r2.control_socket(), "r2 Master", |s| {
        s["state"] == "Master"
    });
    let _r1 = pair.start(0, "xvrrp-again", &spec1, "");
    wait_status(&r2.control_socket(), "r2 Backup again", |s| {
        s["state"] == "Backup" && s["master"]["address"] == R1
    });

    // Every transition r2 recorded, in order, is what the slow hook heard, in order.
    let (_, text, _) = cli(&r2.control_socket(), &["events", "--json"]);
    let recorded: Vec<(String, String)> = text
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|r| r["kind"] == "transition")
        .map(|r| {
            (
                r["from"].as_str().unwrap().to_owned(),
                r["to"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(recorded.len() >= 3, "{recorded:?}");
    // 0.4 s per transition, plus the hung hook's 0.5 s, plus slack for a loaded machine.
    let heard = wait::until(
        "the slow hook to finish the last transition",
        Duration::from_secs(15),
        Duration::from_millis(100),
        || {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let ends = text.lines().filter(|l| l.starts_with("end ")).count();
            (ends == recorded.len()).then_some(text)
        },
    );
    let lines: Vec<&str> = heard.lines().collect();
    for (index, (from, to)) in recorded.iter().enumerate() {
        // Never two runs at once: each begin is followed by its own end.
        assert_eq!(lines[2 * index], format!("begin {from} {to}"), "{heard}");
        assert!(
            lines[2 * index + 1].starts_with(&format!("end {from} {to} 0 lan 51 eth0 IPv4 peer=")),
            "{heard}"
        );
    }
    assert!(recorded.last().is_some_and(|(_, to)| to == "Backup"));
    assert!(
        heard.contains(&format!("end Backup Master 0 lan 51 eth0 IPv4 peer={R1}")),
        "{heard}"
    );
    r2.wait_for_log("slow hook saw", Duration::from_secs(2));

    // The hung hook ran on each transition to Master (the takeover, and a brief startup
    // mastership when r2 starts before r1's first advert reaches it), was killed at its
    // timeout each time, and counted.
    let masterships = recorded.iter().filter(|(_, to)| to == "Master").count();
    assert!(masterships >= 1, "{recorded:?}");
    let pid: i32 = std::fs::read_to_string(&hung_pid)
        .expect("the hung hook ran")
        .trim()
        .parse()
        .expect("pid");
    r2.wait_for_log("hook killed at its timeout", Duration::from_secs(2));
    wait::until(
        "the hung hook's process to be gone",
        Duration::from_secs(2),
        Duration::from_millis(50),
        || {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            (comm.trim() != "sleep").then_some(())
        },
    );
    assert!(r2.is_running(), "the daemon must outlive its hooks");
    let metrics = parse_exposition(&scrape(pair.ns(1), "127.0.0.1:9568"));
    assert_eq!(
        result_value(&metrics, "xvrrp_hook_runs_total", "timeout"),
        Some(masterships as f64)
    );
    assert_eq!(
        result_value(&metrics, "xvrrp_hook_runs_total", "failed"),
        Some(0.0)
    );
    assert_eq!(
        result_value(&metrics, "xvrrp_hook_runs_total", "ok"),
        Some(recorded.len() as f64)
    );
}

/// What the webhook sink received: every request's status answered and body.
#[derive(Default)]
struct SinkLog {
    answered: Vec<(u16, String)>,
}

/// An event record without `at_ms`: each consumer of the bus stamps its copy when it reads it.
fn record_without_time(json: &str) -> Value {
    let mut record: Value = serde_json::from_str(json).expect("event record JSON");
    record.as_object_mut().expect("an object").remove("at_ms");
    record
}

/// A POST sink on 127.0.0.1 inside `ns`: answers 500 to the first `failures` requests, then
/// 200. Runs on its own thread until the test ends (the listener goes with the namespace).
fn webhook_sink(ns: &NetNs, failures: usize) -> (u16, std::sync::Arc<std::sync::Mutex<SinkLog>>) {
    let listener = {
        let _inside = ns.enter();
        std::net::TcpListener::bind("127.0.0.1:0").expect("bind the sink")
    };
    let port = listener.local_addr().expect("sink address").port();
    let log = std::sync::Arc::new(std::sync::Mutex::new(SinkLog::default()));
    let shared = std::sync::Arc::clone(&log);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let _bounded = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let Some(body) = read_post(&mut stream) else {
                continue;
            };
            let mut log = shared.lock().unwrap();
            let status = if log.answered.len() < failures {
                500
            } else {
                200
            };
            log.answered.push((status, body));
            drop(log);
            let reason = if status == 200 {
                "OK"
            } else {
                "Internal Server Error"
            };
            let _gone = stream.write_all(
                format!(
                    "HTTP/1.1 {status} {reason}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                )
                .as_bytes(),
            );
        }
    });
    (port, log)
}

/// The body of one HTTP/1.1 POST with a Content-Length.
fn read_post(stream: &mut TcpStream) -> Option<String> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    if !line.starts_with("POST /hook ") {
        return None;
    }
    let mut length = 0;
    loop {
        line.clear();
        reader.read_line(&mut line).ok()?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().ok()?;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    String::from_utf8(body).ok()
}

#[test]
fn webhook_retries_until_the_receiver_recovers_and_counts_what_overflows() {
    let Some((_turn, pair)) =
        Pair::for_test("webhook_retries_until_the_receiver_recovers_and_counts_what_overflows")
    else {
        return;
    };
    // Three failures: the first record is delivered on its fourth attempt, 0.5 + 1 + 2 s of
    // backoff later; meanwhile only two records fit the queue.
    let (port, sink) = webhook_sink(pair.ns(0), 3);
    let bpffs = format!("/sys/fs/bpf/xvrrp-test-{}", pair.ns(0).name());
    let config =
        RouterSpec::new(200)
            .config(&bpffs)
            .replacen("[global]\n", "[global]\nmetrics = true\n", 1)
            + &format!(
                "\n[global.webhook]\nurl = \"http://127.0.0.1:{port}/hook\"\n\
             timeout_ms = 2000\nretries = 5\nqueue = 2\n"
            );
    let r1 = Daemon::start(pair.ns(0), "xvrrp", &config, Path::new(&bpffs));
    wait_status(&r1.control_socket(), "r1 Master", |s| {
        s["state"] == "Master"
    });
    let reloads = |socket: &Path| {
        let (_, text, _) = cli(socket, &["events", "--json"]);
        text.lines()
            .filter(|l| l.contains(r#""kind":"reloaded""#))
            .count()
    };
    for sent in 1..=5 {
        r1.signal(libc::SIGHUP);
        wait::until("the reload", SETTLE, Duration::from_millis(20), || {
            (reloads(&r1.control_socket()) >= sent).then_some(())
        });
    }
    let (_, text, _) = cli(&r1.control_socket(), &["events", "--json"]);
    let events: Vec<Value> = text.lines().map(record_without_time).collect();
    assert!(events.len() >= 7, "{text}");
    let delivered = |sink: &SinkLog| {
        sink.answered
            .iter()
            .filter(|(status, _)| *status == 200)
            .count()
    };
    assert!(
        delivered(&sink.lock().unwrap()) < 3,
        "the receiver was still failing while the events happened"
    );
    // Backoff 0.5 + 1 + 2 s, then the queued records; with slack for a loaded machine.
    let metrics = wait::until(
        "the webhook to deliver what it kept",
        Duration::from_secs(15),
        Duration::from_millis(100),
        || {
            let metrics = parse_exposition(&scrape(pair.ns(0), "127.0.0.1:9568"));
            let ok = result_value(&metrics, "xvrrp_webhook_deliveries_total", "ok")?;
            let dropped = result_value(&metrics, "xvrrp_webhook_deliveries_total", "dropped")?;
            (ok + dropped >= events.len() as f64).then_some(metrics)
        },
    );
    let value = |result| result_value(&metrics, "xvrrp_webhook_deliveries_total", result).unwrap();
    let answered = std::mem::take(&mut sink.lock().unwrap().answered);
    let failed_attempts: Vec<_> = answered.iter().take(3).collect();
    // The first record (r1's start) was retried until it got through.
    assert!(
        failed_attempts
            .iter()
            .all(|(status, body)| *status == 500 && *body == answered[3].1)
    );
    assert_eq!(
        record_without_time(&answered[3].1),
        events[0],
        "the webhook posts the journal's record"
    );
    assert_eq!(value("failed"), 0.0);
    assert!(value("dropped") >= 1.0, "queue 2 must have overflowed");
    let bodies: Vec<Value> = answered
        .iter()
        .filter(|(status, _)| *status == 200)
        .map(|(_, body)| record_without_time(body))
        .collect();
    assert_eq!(bodies.len() as f64, value("ok"));
    assert_eq!(value("ok") + value("dropped"), events.len() as f64);
    // In order, and each one of the recorded events.
    let positions: Vec<usize> = bodies
        .iter()
        .map(|body| {
            events
                .iter()
                .position(|e| e == body)
                .expect("a recorded event")
        })
        .collect();
    assert!(
        positions.windows(2).all(|pair| pair[0] < pair[1]),
        "{positions:?}"
    );

    // Recovered: the next event goes out at once.
    r1.signal(libc::SIGHUP);
    wait::until(
        "the next event delivered",
        SETTLE,
        Duration::from_millis(50),
        || {
            sink.lock()
                .unwrap()
                .answered
                .iter()
                .any(|(status, body)| *status == 200 && body.contains(r#""kind":"reloaded""#))
                .then_some(())
        },
    );
}
