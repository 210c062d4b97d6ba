//! `xvrrp import-keepalived`: an xvrrp configuration from a keepalived.conf, for migrations.
//! The TOML goes to stdout; every construct that does not translate exactly is a [`Note`] on
//! stderr with its file and line.

mod parse;
mod translate;

use std::path::Path;

pub use parse::{Location, ParseError};
pub use translate::Note;

/// The result of an import.
#[derive(Debug)]
pub struct Imported {
    /// The xvrrp configuration (TOML).
    pub toml: String,
    /// What did not translate, or only approximately.
    pub notes: Vec<Note>,
}

/// Reads `path` (and its includes; absolute include paths under `include_root` when given)
/// and translates it.
pub fn import_keepalived(path: &Path, include_root: Option<&Path>) -> Result<Imported, ParseError> {
    let tree = parse::read_file(path, include_root)?;
    let (translated, notes) = translate::translate(&tree);
    let body = toml::to_string(&translated).unwrap_or_default();
    let toml = format!(
        "# Imported from {} by `xvrrp import-keepalived`; check it with `xvrrp check-config`.\n\n{body}",
        path.display()
    );
    Ok(Imported { toml, notes })
}
