//! The fuzz targets' invariants (vrrp-user/fuzz/src/checks.rs) on their seed corpora, on stable
//! and in every `cargo test`: the example configurations, the keepalived.conf import corpus and
//! the control-request seeds. `cargo xtask fuzz` starts from the same seeds.

use std::{fs, path::Path};

// Public for the fuzz crate, whose library it is.
#[allow(unreachable_pub)]
#[path = "../fuzz/src/checks.rs"]
mod checks;

/// Every file under `dir` (recursively), sorted.
fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).unwrap_or_else(|err| panic!("{}: {err}", dir.display())) {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            found.extend(files(&path));
        } else {
            found.push(path);
        }
    }
    found.sort();
    found
}

fn replay(seeds: &str, check: fn(&[u8]), at_least: usize) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(seeds);
    let files = files(&dir);
    assert!(
        files.len() >= at_least,
        "{}: seeds went missing ({} files)",
        dir.display(),
        files.len()
    );
    for file in files {
        eprintln!("{}", file.display());
        check(&fs::read(&file).expect("read a seed"));
    }
}

#[test]
fn config_seeds_hold_the_fuzz_invariants() {
    replay("../examples/configs", checks::config, 5);
}

#[test]
fn control_request_seeds_hold_the_fuzz_invariants() {
    replay("fuzz/seeds/control_request", checks::control_request, 5);
}

#[test]
fn keepalived_import_seeds_hold_the_fuzz_invariants() {
    replay("tests/import", checks::keepalived_import, 10);
}
