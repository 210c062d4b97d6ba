//! Runs the built `xvrrp check-config` on good, bad and missing files: exit codes and output.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn check_config(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xvrrp"))
        .arg("check-config")
        .args(args)
        .output()
        .expect("xvrrp runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("UTF-8 output")
}

fn example(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/configs")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// A file in this test binary's scratch directory, named after the test.
fn scratch_file(name: &str, contents: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&path, contents).expect("scratch directory is writable");
    path
}

#[test]
fn a_good_file_exits_0_and_counts_instances() {
    // The example's eth0 may be absent on the test host: that is a warning, still exit 0.
    let output = check_config(&[&example("two-routers-r2.toml")]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert_eq!(text.lines().last(), Some("ok: 2 instances"), "{text}");
    assert!(
        text.lines()
            .all(|line| line.starts_with("warning: ") || line == "ok: 2 instances"),
        "{text}"
    );
}

#[test]
fn a_bad_file_exits_1_and_lists_every_error_with_its_line() {
    let path = scratch_file(
        "bad.toml",
        "[[instance]]\n\
         name = \"lan\"\n\
         interface = \"lo\"\n\
         vrid = 0\n\
         advert_interval_ms = 1005\n\
         virtual_addresses = [\"192.0.2.1\", \"2001:db8::1\"]\n",
    );
    let output = check_config(&[path.to_str().unwrap()]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    let file = path.display();
    assert_eq!(
        text,
        format!(
            "error: {file}:4: instance \"lan\": vrid 0 is out of range 1..=255\n\
             error: {file}:5: instance \"lan\": advert_interval_ms 1005 is not a multiple of 10 \
             (the wire carries centiseconds, RFC 9568 §5.2.7)\n\
             error: {file}:6: instance \"lan\": virtual_addresses mixes families: 2001:db8::1 is \
             not IPv4 like the first address; use one instance per family (RFC 9568 §5.2.9)\n\
             invalid: 3 errors, 0 warnings\n"
        )
    );
}

#[test]
fn json_output_is_one_parseable_object() {
    let path = scratch_file(
        "bad-json.toml",
        "[[instance]]\nname = \"lan\"\ninterface = \"lo\"\nvrid = 300\n\
         virtual_addresses = [\"192.0.2.1\"]\n",
    );
    let output = check_config(&[path.to_str().unwrap(), "--json"]);
    assert_eq!(output.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_str(&stdout(&output)).expect("JSON");
    assert_eq!(json["status"], "invalid");
    assert_eq!(json["problems"][0]["line"], 4);
    assert_eq!(json["problems"][0]["field"], "vrid");
    assert_eq!(
        json["problems"][0]["message"],
        "vrid 300 is out of range 1..=255"
    );
}

#[test]
fn an_unreadable_file_exits_2() {
    let output = check_config(&["/nonexistent/xvrrp.toml"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stdout(&output).starts_with("error: cannot read /nonexistent/xvrrp.toml: "),
        "{}",
        stdout(&output)
    );
}

#[test]
fn version_is_printed() {
    let output = Command::new(env!("CARGO_BIN_EXE_xvrrp"))
        .arg("--version")
        .output()
        .expect("xvrrp runs");
    assert!(output.status.success());
    assert_eq!(
        stdout(&output).trim(),
        format!("xvrrp {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn a_peer_file_is_compared_and_disagreements_set_the_exit_code() {
    // The two example routers are meant for each other.
    let output = check_config(&[
        "--peer",
        &example("two-routers-r1.toml"),
        &example("two-routers-r2.toml"),
    ]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert_eq!(
        text.lines().last(),
        Some("ok: 2 instances paired with the peer, 0 warnings"),
        "{text}"
    );
    // A peer with another address list and the same priority.
    let ours = scratch_file(
        "peer-ours.toml",
        "[[instance]]\nname = \"lan\"\ninterface = \"lo\"\nvrid = 51\npriority = 150\n\
         virtual_addresses = [\"192.0.2.100\"]\n",
    );
    let theirs = scratch_file(
        "peer-theirs.toml",
        "[[instance]]\nname = \"lan\"\ninterface = \"absent0\"\nvrid = 51\npriority = 150\n\
         virtual_addresses = [\"192.0.2.101\"]\n",
    );
    let output = check_config(&["--peer", theirs.to_str().unwrap(), ours.to_str().unwrap()]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(
        !text.contains("absent0\" does not exist"),
        "the peer's interfaces are another host's: {text}"
    );
    assert!(
        text.contains(
            "error: instance \"lan\" / peer \"lan\": virtual addresses differ: only here \
             [192.0.2.100], only on the peer [192.0.2.101]\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("note: instance \"lan\" / peer \"lan\": interface lo here, absent0"),
        "{text}"
    );
    assert!(text.ends_with("invalid: 1 error, 1 warning\n"), "{text}");
    let output = check_config(&[
        "--json",
        "--peer",
        theirs.to_str().unwrap(),
        ours.to_str().unwrap(),
    ]);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("one JSON object");
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(json["status"], "invalid");
    let fields: Vec<&str> = json["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|finding| finding["field"].as_str().expect("field"))
        .collect();
    assert_eq!(fields, ["interface", "virtual_addresses", "priority"]);
    let output = check_config(&["--peer", "/nonexistent/peer.toml", ours.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
}
