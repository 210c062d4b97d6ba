//! The invariants the fuzz targets check, one function per target. Also compiled into
//! vrrp-user's `fuzz_seeds` test (by path), which replays the seed corpora on stable in
//! `cargo xtask test`; so this file uses vrrp-user's public API and std only.

use std::{
    io,
    net::IpAddr,
    path::{Path, PathBuf},
    sync::OnceLock,
};

use vrrp_user::{
    config::{self, InterfaceAddress, LoadError, Mode},
    import::import_keepalived,
    ops::protocol::{parse_request, request_line},
};

/// A host with one interface, `eth0`, holding addresses in every documentation range, so that
/// fuzzed configurations get past the interface checks into the deeper ones.
fn fuzz_host(name: &str) -> io::Result<Option<Vec<InterfaceAddress>>> {
    let address = |address: &str, prefix_len| InterfaceAddress {
        address: address.parse::<IpAddr>().expect("literal address"),
        prefix_len,
    };
    Ok((name == "eth0").then(|| {
        vec![
            address("192.0.2.2", 24),
            address("198.51.100.2", 24),
            address("2001:db8::2", 64),
            address("fe80::2", 64),
        ]
    }))
}

/// Configuration text in both modes: validation returns a configuration or problems, never
/// panics, and every problem renders.
pub fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for mode in [Mode::Check, Mode::Run] {
        match config::parse(text, Path::new("fuzz.toml"), &fuzz_host, mode) {
            Ok(loaded) => {
                for warning in &loaded.warnings {
                    assert!(!warning.to_string().is_empty());
                }
            }
            Err(error @ LoadError::Invalid { .. }) => assert!(!error.to_string().is_empty()),
            Err(error) => panic!("parsing text cannot fail to read a file: {error}"),
        }
    }
}

/// One control-socket line: an accepted request goes back out as a line the parser reads as
/// the same request (what the CLI sends is what the daemon understands).
pub fn control_request(data: &[u8]) {
    if let Ok(request) = parse_request(data) {
        let line = request_line(&request);
        let again = parse_request(line.trim_end_matches('\n').as_bytes())
            .unwrap_or_else(|error| panic!("{line:?} does not parse back: {}", error.message));
        assert_eq!(again, request, "{line:?}");
    }
}

/// A keepalived.conf: the importer reads it or says why not; what it writes is TOML that
/// validation judges without panicking.
pub fn keepalived_import(data: &[u8]) {
    let path = import_file();
    // Includes stay in the input's own directory, which holds nothing else: absolute ones
    // resolve under it (`include_root`), and relative ones cannot climb out once `..` is gone.
    // Otherwise a fuzzed `include ../../**/*` reads the whole file system, every execution.
    let contained = String::from_utf8_lossy(data).replace("..", "__");
    std::fs::write(path, contained).expect("write the fuzz input");
    let Ok(imported) = import_keepalived(path, path.parent()) else {
        return;
    };
    if let Err(error) = imported.toml.parse::<toml::Table>() {
        panic!(
            "the importer wrote invalid TOML ({error}):\n{}",
            imported.toml
        );
    }
    config(imported.toml.as_bytes());
}

/// `keepalived.conf` in a directory of this process's own under the temp directory (nothing
/// else in it; left behind, one small file per run).
fn import_file() -> &'static Path {
    static FILE: OnceLock<PathBuf> = OnceLock::new();
    FILE.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("xvrrp-fuzz-import-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create the fuzz input directory");
        dir.join("keepalived.conf")
    })
}
