//! Failover drills on a live pair: `xvrrp demote` / `promote` / `priority` / `drill` through the
//! real CLI, and operator requests the CLI never sends through a raw socket. Bounds are the
//! protocol's (Skew_Time, Master_Down_Interval of the routers' 100 ms adverts) plus tolerance.

use std::{
    path::Path,
    time::{Duration, Instant},
};

use serde_json::Value;
use vrrp_tests::{
    daemon::Daemon,
    vrrp::{RouterSpec, VIP4},
    wait,
};

use super::operations::{Pair, answer, cli, error_code, lan_status, wait_status};

const R1: &str = "192.0.2.1";
const R2: &str = "192.0.2.2";
/// Scheduling slack on a loaded 2-core machine, on top of a protocol interval; event times are
/// whole milliseconds taken by the operations layer.
const TOLERANCE: Duration = Duration::from_millis(150);
/// How long a demoted router is watched for a takeover it must not make.
const NO_TAKEOVER_WATCH: Duration = Duration::from_millis(1500);

/// `xvrrp events --json` of `socket`: every record kept.
fn events(socket: &Path) -> Vec<Value> {
    let (ok, stdout, stderr) = cli(socket, &["events", "--json"]);
    assert!(ok, "xvrrp events: {stderr}");
    stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("an event record"))
        .collect()
}

/// The newest event on `socket` matching `wanted`.
fn newest_event(socket: &Path, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
    wait::until(
        what,
        Duration::from_secs(3),
        Duration::from_millis(50),
        || {
            events(socket)
                .into_iter()
                .rev()
                .find(|record| wanted(record))
        },
    )
}

fn at_ms(record: &Value) -> u64 {
    record["at_ms"].as_u64().expect("at_ms")
}

/// `xvrrp <command> lan [args] --json` on `socket`: the daemon's answer.
fn operate(socket: &Path, args: &[&str]) -> Value {
    let mut full = args.to_vec();
    full.push("--json");
    let (ok, stdout, stderr) = cli(socket, &full);
    assert!(ok, "xvrrp {args:?}: {stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|_| panic!("not JSON: {stdout}"))
}

fn ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).expect("small")
}

fn us(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).expect("small")
}

/// r1 (`high`) Master and r2 (`low`) following it.
fn converged(pair: &Pair, high: &RouterSpec, low: &RouterSpec) -> (Daemon, Daemon) {
    let r1 = pair.start(0, "xvrrp", high, "");
    let r2 = pair.start(1, "xvrrp", low, "");
    wait_status(&r1.control_socket(), "r1 Master", |s| {
        s["state"] == "Master"
    });
    wait_status(&r2.control_socket(), "r2 following r1", |s| {
        s["master"]["address"] == R1
    });
    (r1, r2)
}

/// A router that must stay Backup: never Master during the watch.
fn assert_stays_backup(socket: &Path, watch: Duration) {
    let until = Instant::now() + watch;
    while Instant::now() < until {
        let status = lan_status(socket).expect("status");
        assert_eq!(status["state"], "Backup", "{status}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn demote_hands_over_stays_backup_without_master_and_promote_takes_back() {
    let Some((_turn, pair)) =
        Pair::for_test("demote_hands_over_stays_backup_without_master_and_promote_takes_back")
    else {
        return;
    };
    let (high, low) = (RouterSpec::new(200), RouterSpec::new(100));
    let (r1, r2) = converged(&pair, &high, &low);
    let (s1, s2) = (r1.control_socket(), r2.control_socket());
    let mut r2 = Some(r2);

    // Demote: r1 resigns with priority 0 and r2 takes over after its Skew_Time.
    let reply = operate(&s1, &["demote", "lan"]);
    assert_eq!(reply["effect"], "applied", "{reply}");
    assert_eq!(
        (&reply["state"], &reply["demoted"]),
        (&"Backup".into(), &true.into())
    );
    let demoted = newest_event(&s1, "r1's demote event", |r| {
        r["kind"] == "operator"
            && r["reason"]
                .as_str()
                .is_some_and(|w| w.starts_with("demote"))
    });
    assert_eq!(demoted["requester"]["uid"], 0, "{demoted}");
    assert!(demoted["requester"]["pid"].as_u64().is_some(), "{demoted}");
    // After the demote: r2 may have been Master briefly at startup, before r1's first advert.
    let takeover = newest_event(&s2, "r2's takeover", |r| {
        r["to"] == "Master" && at_ms(r) >= at_ms(&demoted)
    });
    assert_eq!(takeover["peer"], R1, "{takeover}");
    let after = at_ms(&takeover) - at_ms(&demoted);
    assert!(
        after <= ms(low.skew_time() + TOLERANCE),
        "r2 took over {after} ms after the demote (Skew_Time {:?})",
        low.skew_time()
    );
    let status = wait_status(&s1, "r1 following r2", |s| s["master"]["address"] == R2);
    assert_eq!(status["demoted"]["by"]["uid"], 0, "{status}");
    let (_, text, _) = cli(&s1, &["status"]);
    assert!(text.contains("stays Backup until"), "{text}");

    // Promote: with preempt on, r1 takes back within its Master_Down_Interval.
    let reply = operate(&s1, &["promote", "lan"]);
    assert_eq!(
        (&reply["effect"], &reply["demoted"]),
        (&"applied".into(), &false.into())
    );
    let promoted = newest_event(&s1, "r1's promote event", |r| {
        r["kind"] == "operator"
            && r["reason"]
                .as_str()
                .is_some_and(|w| w.starts_with("promote"))
    });
    let back = newest_event(&s1, "r1 Master again", |r| {
        r["to"] == "Master" && at_ms(r) >= at_ms(&promoted)
    });
    let after = at_ms(&back) - at_ms(&promoted);
    assert!(
        after <= ms(high.master_down_interval() + TOLERANCE),
        "r1 took back {after} ms after the promote"
    );
    wait_status(&s2, "r2 Backup again", |s| s["master"]["address"] == R1);

    // Demoted again, and the new Master dies: r1 does not take over while demoted.
    operate(&s1, &["demote", "lan"]);
    wait_status(&s1, "r1 following r2", |s| s["master"]["address"] == R2);
    drop(r2.take());
    assert_stays_backup(&s1, NO_TAKEOVER_WATCH);
    let status = lan_status(&s1).expect("status");
    assert!(status["master"].is_null(), "{status}");
    newest_event(&s1, "the no-master warning", |r| {
        r["kind"] == "warning"
            && r["reason"]
                .as_str()
                .is_some_and(|w| w.contains("nobody serves"))
    });
    // Promote with nobody Master: at once.
    operate(&s1, &["promote", "lan"]);
    let status = lan_status(&s1).expect("status");
    assert_eq!(status["state"], "Master", "{status}");
    assert_eq!(status["virtual_addresses"], serde_json::json!([VIP4]));
}

#[test]
fn priority_override_flips_the_election_and_reset_restores_it() {
    let Some((_turn, pair)) =
        Pair::for_test("priority_override_flips_the_election_and_reset_restores_it")
    else {
        return;
    };
    let (r1, r2) = converged(&pair, &RouterSpec::new(200), &RouterSpec::new(100));
    let (s1, s2) = (r1.control_socket(), r2.control_socket());

    let reply = operate(&s2, &["priority", "lan", "250"]);
    assert_eq!(
        (&reply["effective_priority"], &reply["priority_override"]),
        (&250.into(), &250.into()),
        "{reply}"
    );
    // r2 discards r1's lower adverts and preempts Master_Down_Interval after the last it
    // accepted.
    let bound = RouterSpec::new(250).master_down_interval() + TOLERANCE;
    let status = wait::until("r2 Master", bound * 3, Duration::from_millis(20), || {
        lan_status(&s2).filter(|s| s["state"] == "Master")
    });
    assert_eq!(status["effective_priority"], 250);
    assert_eq!(status["configured_priority"], 100);
    assert_eq!(status["priority_override"]["priority"], 250);
    assert_eq!(status["priority_override"]["by"]["uid"], 0);
    let set = newest_event(&s2, "the override event", |r| r["kind"] == "operator");
    let preempted = newest_event(&s2, "r2's preemption", |r| {
        r["to"] == "Master" && at_ms(r) >= at_ms(&set)
    });
    assert!(
        at_ms(&preempted) - at_ms(&set) <= ms(bound),
        "{set} {preempted}"
    );
    wait_status(&s1, "r1 following r2", |s| s["master"]["priority"] == 250);

    // The reset advertises 100 at once; r1 (200, preempt) takes over.
    let reply = operate(&s2, &["priority", "lan", "--reset"]);
    assert!(reply["priority_override"].is_null(), "{reply}");
    assert_eq!(reply["effective_priority"], 100);
    wait_status(&s1, "r1 Master again", |s| s["state"] == "Master");
    let status = wait_status(&s2, "r2 following r1", |s| s["master"]["address"] == R1);
    assert!(status["priority_override"].is_null(), "{status}");
    assert_eq!(status["effective_priority"], 100);
}

#[test]
fn drill_reports_both_gaps_within_protocol_bounds_and_aborts_without_backup() {
    let Some((_turn, pair)) =
        Pair::for_test("drill_reports_both_gaps_within_protocol_bounds_and_aborts_without_backup")
    else {
        return;
    };
    let (high, low) = (RouterSpec::new(200), RouterSpec::new(100));
    let (r1, r2) = converged(&pair, &high, &low);
    let s1 = r1.control_socket();

    let report = operate(&s1, &["drill", "lan"]);
    assert_eq!(report["outcome"], "completed", "{report}");
    let over = &report["switchover"];
    assert_eq!(over["new_master"], R2, "{report}");
    assert_eq!(over["new_master_priority"], 100);
    assert_eq!(over["expected_us"], us(low.skew_time()));
    let gap = over["without_master_us"].as_u64().expect("gap");
    assert!(
        gap <= us(low.skew_time() + TOLERANCE),
        "{gap} µs without Master on the way over: {report}"
    );
    let back = &report["switchback"];
    assert_eq!(back["expected_us"], us(high.master_down_interval()));
    for key in ["after_promote_us", "without_master_us"] {
        let value = back[key].as_u64().expect(key);
        assert!(
            value <= us(high.master_down_interval() + TOLERANCE),
            "{key} {value} µs: {report}"
        );
    }
    assert_eq!(
        (&report["state"], &report["master"]),
        (&"Master".into(), &R1.into())
    );
    let status = lan_status(&s1).expect("status");
    assert!(status["demoted"].is_null(), "{status}");
    newest_event(&s1, "the drill's report event", |r| {
        r["kind"] == "operator"
            && r["reason"]
                .as_str()
                .is_some_and(|w| w.starts_with("drill completed"))
    });
    let (ok, text, _) = cli(&s1, &["drill", "lan"]);
    assert!(ok && text.contains("drill completed"), "{text}");

    // Without a Backup: no advert within the longest Master_Down_Interval plus the daemon's
    // tolerance, so the drill promotes r1 back and says so.
    drop(r2);
    let started = Instant::now();
    let report = operate(&s1, &["drill", "lan"]);
    let took = started.elapsed();
    assert_eq!(report["outcome"], "no_backup", "{report}");
    assert!(report["switchover"].is_null(), "{report}");
    let wait = RouterSpec::new(1).master_down_interval()
        + Duration::from_micros(report["tolerance_us"].as_u64().expect("tolerance"));
    assert!(
        took >= wait && took <= wait + TOLERANCE * 2,
        "took {took:?}"
    );
    assert_eq!(report["state"], "Master", "{report}");
}

#[test]
fn malformed_operator_requests_get_errors_and_the_daemon_keeps_serving() {
    let Some((_turn, pair)) =
        Pair::for_test("malformed_operator_requests_get_errors_and_the_daemon_keeps_serving")
    else {
        return;
    };
    let mut spec = RouterSpec::new(200);
    spec.preempt = false;
    let r1 = pair.start(0, "xvrrp", &spec, "");
    let socket = r1.control_socket();
    wait_status(&socket, "r1 Master", |s| s["state"] == "Master");
    let request = |line: &str| answer(&socket, format!("{line}\n").as_bytes(), false);
    for (line, code) in [
        (
            r#"{"version":1,"command":"demote","instance":"nope"}"#,
            "unknown_instance",
        ),
        (
            r#"{"version":1,"command":"drill","instance":"nope"}"#,
            "unknown_instance",
        ),
        (
            r#"{"version":1,"command":"priority","instance":"nope","priority":9}"#,
            "unknown_instance",
        ),
        (
            r#"{"version":1,"command":"priority","instance":"lan","priority":0}"#,
            "malformed",
        ),
        (
            r#"{"version":1,"command":"priority","instance":"lan","priority":255}"#,
            "malformed",
        ),
        (
            r#"{"version":1,"command":"priority","instance":"lan","priority":300}"#,
            "malformed",
        ),
        (
            r#"{"version":1,"command":"priority","instance":"lan"}"#,
            "malformed",
        ),
        (r#"{"version":1,"command":"demote"}"#, "malformed"),
        // Preempt off: the switchback could not happen.
        (
            r#"{"version":1,"command":"drill","instance":"lan"}"#,
            "rejected",
        ),
    ] {
        let reply = request(line);
        assert_eq!(error_code(&reply), code, "{line}: {reply}");
    }
    let (ok, _, stderr) = cli(&socket, &["demote", "nope"]);
    assert!(!ok && stderr.contains("unknown_instance"), "{stderr}");
    let (ok, _, stderr) = cli(&socket, &["drill", "lan"]);
    assert!(!ok && stderr.contains("preempt is off"), "{stderr}");
    // Nothing flipped, and the daemon still serves.
    let status = lan_status(&socket).expect("status");
    assert_eq!(status["state"], "Master", "{status}");
    assert!(status["demoted"].is_null() && status["priority_override"].is_null());
    let refused = events(&socket)
        .iter()
        .filter(|record| record["kind"] == "operator")
        .count();
    assert_eq!(refused, 0, "refused requests are not operator events");
}
