//! `xvrrp check-config`: validate a file without running it and render the verdict for people
//! (one line per problem) or scripts (`--json`).

use std::path::Path;

use serde::Serialize;

use super::{ConfigError, HostInterfaces, LoadError, Loaded, Mode, Severity, load};

/// Exit code: the file is usable (warnings allowed).
pub const EXIT_OK: u8 = 0;
/// Exit code: the file has at least one error.
pub const EXIT_INVALID: u8 = 1;
/// Exit code: the file could not be read.
pub const EXIT_UNREADABLE: u8 = 2;

/// What `check-config` prints and how it exits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckOutcome {
    /// The process exit code: [`EXIT_OK`], [`EXIT_INVALID`] or [`EXIT_UNREADABLE`].
    pub exit_code: u8,
    /// The report for standard output, newline-terminated.
    pub output: String,
}

/// Checks the file at `path` as `xvrrp check-config` does: an absent interface is a warning.
pub fn check_config(path: &Path, host: &dyn HostInterfaces, json: bool) -> CheckOutcome {
    let verdict = Verdict::from(load(path, host, Mode::Check));
    let output = if json {
        let mut line = serde_json::to_string(&verdict.json())
            .expect("a report of strings, numbers and options always serializes");
        line.push('\n');
        line
    } else {
        verdict.text()
    };
    CheckOutcome {
        exit_code: verdict.exit_code(),
        output,
    }
}

/// The result of loading, reduced to what the report shows.
enum Verdict {
    Ok {
        instances: usize,
        warnings: Vec<ConfigError>,
    },
    Invalid {
        problems: Vec<ConfigError>,
    },
    Unreadable {
        error: String,
    },
}

impl From<Result<Loaded, LoadError>> for Verdict {
    fn from(result: Result<Loaded, LoadError>) -> Self {
        match result {
            Ok(loaded) => Self::Ok {
                instances: loaded.config.instances.len(),
                warnings: loaded.warnings,
            },
            Err(LoadError::Invalid { problems }) => Self::Invalid { problems },
            Err(error @ LoadError::Read { .. }) => Self::Unreadable {
                error: error.to_string(),
            },
        }
    }
}

impl Verdict {
    fn exit_code(&self) -> u8 {
        match self {
            Self::Ok { .. } => EXIT_OK,
            Self::Invalid { .. } => EXIT_INVALID,
            Self::Unreadable { .. } => EXIT_UNREADABLE,
        }
    }

    fn text(&self) -> String {
        let problem_lines = |problems: &[ConfigError]| -> String {
            problems
                .iter()
                .map(|problem| format!("{}: {problem}\n", problem.severity))
                .collect()
        };
        match self {
            Self::Ok {
                instances,
                warnings,
            } => format!(
                "{}ok: {}\n",
                problem_lines(warnings),
                plural(*instances, "instance")
            ),
            Self::Invalid { problems } => {
                let errors = problems
                    .iter()
                    .filter(|problem| problem.severity == Severity::Error)
                    .count();
                let warnings = problems.len() - errors;
                format!(
                    "{}invalid: {}, {}\n",
                    problem_lines(problems),
                    plural(errors, "error"),
                    plural(warnings, "warning")
                )
            }
            Self::Unreadable { error } => format!("error: {error}\n"),
        }
    }

    fn json(&self) -> JsonReport<'_> {
        match self {
            Self::Ok {
                instances,
                warnings,
            } => JsonReport {
                status: "ok",
                instances: Some(*instances),
                problems: json_problems(warnings),
                error: None,
            },
            Self::Invalid { problems: found } => JsonReport {
                status: "invalid",
                instances: None,
                problems: json_problems(found),
                error: None,
            },
            Self::Unreadable { error } => JsonReport {
                status: "unreadable",
                instances: None,
                problems: Vec::new(),
                error: Some(error),
            },
        }
    }
}

fn json_problems(problems: &[ConfigError]) -> Vec<JsonProblem<'_>> {
    problems.iter().map(JsonProblem::from).collect()
}

pub(super) fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// `--json` output: one object on one line.
#[derive(Serialize)]
struct JsonReport<'a> {
    /// "ok", "invalid" or "unreadable".
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    instances: Option<usize>,
    problems: Vec<JsonProblem<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
}

#[derive(Serialize)]
pub(super) struct JsonProblem<'a> {
    severity: Severity,
    file: String,
    line: Option<usize>,
    instance: Option<&'a str>,
    field: Option<&'static str>,
    message: String,
}

impl<'a> From<&'a ConfigError> for JsonProblem<'a> {
    fn from(problem: &'a ConfigError) -> Self {
        Self {
            severity: problem.severity,
            file: problem.location.file.display().to_string(),
            line: problem.location.line,
            instance: problem.instance.as_deref(),
            field: problem.field,
            message: problem.kind.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::{InterfaceAddress, parse};

    fn host(name: &str) -> std::io::Result<Option<Vec<InterfaceAddress>>> {
        Ok((name == "eth0").then(Vec::new))
    }

    fn verdict(text: &str) -> Verdict {
        Verdict::from(parse(text, Path::new("x.toml"), &host, Mode::Check))
    }

    const WARNS: &str = "[[instance]]\nname = \"a\"\ninterface = \"eth9\"\nvrid = 1\n\
                         virtual_addresses = [\"192.0.2.1\"]\n";
    const INVALID: &str = "[[instance]]\nname = \"a\"\ninterface = \"eth9\"\nvrid = 0\n\
                           virtual_addresses = [\"192.0.2.1\"]\n";

    #[test]
    fn text_report_lists_problems_then_a_summary() {
        let ok = verdict(WARNS);
        assert_eq!(ok.exit_code(), EXIT_OK);
        assert_eq!(
            ok.text(),
            "warning: x.toml:3: instance \"a\": interface \"eth9\" does not exist on this host\n\
             ok: 1 instance\n"
        );
        let invalid = verdict(INVALID);
        assert_eq!(invalid.exit_code(), EXIT_INVALID);
        assert_eq!(
            invalid.text(),
            "warning: x.toml:3: instance \"a\": interface \"eth9\" does not exist on this host\n\
             error: x.toml:4: instance \"a\": vrid 0 is out of range 1..=255\n\
             invalid: 1 error, 1 warning\n"
        );
    }

    #[test]
    fn json_report_has_status_and_structured_problems() {
        let json = serde_json::to_value(verdict(INVALID).json()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "status": "invalid",
                "problems": [
                    {
                        "severity": "warning", "file": "x.toml", "line": 3, "instance": "a",
                        "field": "interface",
                        "message": "interface \"eth9\" does not exist on this host",
                    },
                    {
                        "severity": "error", "file": "x.toml", "line": 4, "instance": "a",
                        "field": "vrid", "message": "vrid 0 is out of range 1..=255",
                    },
                ],
            })
        );
        let ok = serde_json::to_value(verdict(WARNS).json()).unwrap();
        assert_eq!(ok["status"], "ok");
        assert_eq!(ok["instances"], 1);
    }

    #[test]
    fn an_unreadable_file_exits_2() {
        let outcome = check_config(Path::new("/nonexistent/x.toml"), &host, false);
        assert_eq!(outcome.exit_code, EXIT_UNREADABLE);
        assert!(
            outcome
                .output
                .starts_with("error: cannot read /nonexistent/x.toml: ")
        );
        let outcome = check_config(Path::new("/nonexistent/x.toml"), &host, true);
        let json: serde_json::Value = serde_json::from_str(&outcome.output).unwrap();
        assert_eq!(json["status"], "unreadable");
    }
}
