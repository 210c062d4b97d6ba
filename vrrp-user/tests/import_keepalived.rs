//! `xvrrp import-keepalived` on a corpus of keepalived.conf layouts (tests/import/<case>/):
//! the TOML must match `expected.toml`, the notes `expected.notes`, and the TOML must pass the
//! same validation as `xvrrp check-config`. `XVRRP_UPDATE_GOLDEN=1` rewrites the expected files
//! (review the diff).

use std::{fs, io, path::Path};

use vrrp_user::{
    config::{self, InterfaceAddress, Mode},
    import::import_keepalived,
};

/// A host without the interfaces: `check-config` then only warns about them.
fn no_interfaces(_name: &str) -> io::Result<Option<Vec<InterfaceAddress>>> {
    Ok(None)
}

#[test]
fn every_corpus_case_translates_as_expected_and_validates() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/import");
    let update = std::env::var_os("XVRRP_UPDATE_GOLDEN").is_some();
    let mut cases: Vec<_> = fs::read_dir(&corpus)
        .expect("corpus directory")
        .map(|entry| entry.expect("corpus entry").path())
        .collect();
    cases.sort();
    assert!(cases.len() >= 5, "corpus went missing: {cases:?}");
    for case in cases {
        let imported = import_keepalived(&case.join("keepalived.conf"), None)
            .unwrap_or_else(|err| panic!("{}: {err}", case.display()));
        let prefix = format!("{}/", case.display());
        let toml = imported.toml.replace(&prefix, "");
        let notes: String = imported
            .notes
            .iter()
            .map(|note| format!("{}\n", note.to_string().replace(&prefix, "")))
            .collect();
        let (toml_path, notes_path) = (case.join("expected.toml"), case.join("expected.notes"));
        if update {
            fs::write(&toml_path, &toml).unwrap();
            fs::write(&notes_path, &notes).unwrap();
        }
        let name = case.file_name().unwrap().to_string_lossy();
        assert_eq!(
            toml,
            fs::read_to_string(&toml_path).unwrap(),
            "{name}: TOML"
        );
        assert_eq!(
            notes,
            fs::read_to_string(&notes_path).unwrap(),
            "{name}: notes"
        );
        if let Err(error) = config::parse(&toml, &toml_path, &no_interfaces, Mode::Check) {
            panic!("{name}: the imported configuration does not validate:\n{error}");
        }
    }
}

#[test]
fn unreadable_and_unbalanced_files_are_errors_with_their_place() {
    let missing = import_keepalived(Path::new("/nonexistent/keepalived.conf"), None).unwrap_err();
    assert!(
        missing.to_string().contains("/nonexistent/keepalived.conf"),
        "{missing}"
    );
    let dir = std::env::temp_dir().join(format!("xvrrp-import-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let path = dir.join("keepalived.conf");
    fs::write(&path, "vrrp_instance a {\n interface eth0\n").unwrap();
    let open = import_keepalived(&path, None).unwrap_err();
    fs::remove_dir_all(&dir).unwrap();
    assert!(
        open.to_string()
            .ends_with("keepalived.conf:1: '{' is never closed"),
        "{open}"
    );
}

#[test]
fn the_cli_writes_toml_that_check_config_accepts_and_notes_on_stderr() {
    let case = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/import/tracking");
    let import = std::process::Command::new(env!("CARGO_BIN_EXE_xvrrp"))
        .arg("import-keepalived")
        .arg(case.join("keepalived.conf"))
        .output()
        .expect("run xvrrp import-keepalived");
    assert!(import.status.success(), "{import:?}");
    let stderr = String::from_utf8_lossy(&import.stderr);
    assert!(
        stderr.contains("keepalived.conf:22: track_script not translated"),
        "{stderr}"
    );
    let out = std::env::temp_dir().join(format!("xvrrp-imported-{}.toml", std::process::id()));
    fs::write(&out, &import.stdout).unwrap();
    let check = std::process::Command::new(env!("CARGO_BIN_EXE_xvrrp"))
        .arg("check-config")
        .arg(&out)
        .output()
        .expect("run xvrrp check-config");
    fs::remove_file(&out).unwrap();
    assert_eq!(check.status.code(), Some(0), "{check:?}");
}
