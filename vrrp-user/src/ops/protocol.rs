//! The control-socket protocol, version 1: JSON Lines over a Unix stream socket.
//!
//! A client writes one request object per line, at most [`MAX_REQUEST_BYTES`] including the
//! newline; the daemon answers each with one or more response lines, each carrying `version`.
//! docs/OPERATIONS.md is the reference; the shapes are:
//!
//! ```text
//! -> {"version":1,"command":"status"}                     (optional "instance":"NAME")
//! <- {"version":1,"status":{...StatusReport...}}
//! -> {"version":1,"command":"events","since_ms":0}        (optional "follow":true)
//! -> {"version":1,"command":"demote","instance":"NAME"}   (also "promote", "reset_priority",
//!                                                          "drill")
//! -> {"version":1,"command":"priority","instance":"NAME","priority":250}
//! <- {"version":1,"command":{...CommandReply...}}
//! <- {"version":1,"drill":{...DrillResult...}}
//! <- {"version":1,"event":{...EventRecord...}}            (one per event, oldest first)
//! <- {"version":1,"end":{"events":N}}                     (without follow)
//! <- {"version":1,"lost":{"events":N}}                    (follow: a slow reader lost N)
//! <- {"version":1,"error":{"code":"malformed","message":"..."}}
//! ```
//!
//! Fields are only ever added within a version; a change that breaks a client bumps it.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    journal::EventRecord,
    operator::{CommandReply, DrillResult},
    status::StatusReport,
};
use crate::proto::OverridePriority;

/// The protocol version this daemon and CLI speak.
pub const PROTOCOL_VERSION: u32 = 1;
/// Longest request line accepted, newline included.
pub const MAX_REQUEST_BYTES: usize = 4096;

/// What a client asks for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// The status of every instance, or of one.
    Status {
        /// Only this instance.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        instance: Option<String>,
    },
    /// Recorded events at or after `since_ms` (Unix milliseconds; 0 = all kept), then, with
    /// `follow`, every new one as it happens.
    Events {
        /// Oldest event wanted.
        #[serde(default)]
        since_ms: u64,
        /// Keep the connection open and stream new events.
        #[serde(default)]
        follow: bool,
    },
    /// Release mastership now and stay Backup until `promote` (maintenance mode).
    Demote {
        /// The instance.
        instance: String,
    },
    /// End a demotion: back to the normal election.
    Promote {
        /// The instance.
        instance: String,
    },
    /// Override the priority (1..=254) until `reset_priority`, a restart, or a reload that
    /// changes the instance.
    Priority {
        /// The instance.
        instance: String,
        /// The priority to use.
        priority: OverridePriority,
    },
    /// Drop the priority override.
    ResetPriority {
        /// The instance.
        instance: String,
    },
    /// A planned switchover to the best Backup and back, timed; answered when it is over.
    Drill {
        /// The instance.
        instance: String,
    },
}

/// Who sent a request: the control socket peer's credentials (SO_PEERCRED).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requester {
    /// Its user id.
    pub uid: u32,
    /// Its process id, if the kernel told.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<i32>,
}

impl fmt::Display for Requester {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "uid {}", self.uid)?;
        match self.pid {
            Some(pid) => write!(f, " (pid {pid})"),
            None => Ok(()),
        }
    }
}

/// One response line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    /// Always [`PROTOCOL_VERSION`].
    pub version: u32,
    /// What it says.
    #[serde(flatten)]
    pub body: ResponseBody,
}

/// The payload of a response line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseBody {
    /// The answer to `status`.
    Status(Box<StatusReport>),
    /// One event of an `events` answer.
    Event(EventRecord),
    /// The end of an `events` answer without `follow`.
    End {
        /// How many events were sent.
        events: usize,
    },
    /// A follower read too slowly and missed events.
    Lost {
        /// How many.
        events: u64,
    },
    /// The answer to `demote`, `promote`, `priority` and `reset_priority`.
    Command(CommandReply),
    /// The answer to `drill`.
    Drill(DrillResult),
    /// The request was not served.
    Error {
        /// Machine-readable reason.
        code: ErrorCode,
        /// For humans.
        message: String,
    },
}

impl Response {
    /// A response of the current version.
    pub fn new(body: ResponseBody) -> Self {
        Self {
            version: PROTOCOL_VERSION,
            body,
        }
    }

    /// An error response.
    pub fn error(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::new(ResponseBody::Error {
            code,
            message: message.into(),
        })
    }

    /// The response as one line, newline included.
    pub fn to_line(&self) -> String {
        let mut line = serde_json::to_string(self).unwrap_or_else(|err| {
            format!(r#"{{"version":{PROTOCOL_VERSION},"error":{{"code":"internal","message":"{err}"}}}}"#)
        });
        line.push('\n');
        line
    }
}

/// Why a request was refused; also the label of the error counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Not JSON, not an object, an unknown command or field, or a wrong type.
    Malformed,
    /// Longer than [`MAX_REQUEST_BYTES`]; the connection is closed.
    TooLarge,
    /// No complete line within the read timeout; the connection is closed.
    Timeout,
    /// The client closed its side in the middle of a line.
    Incomplete,
    /// A `version` this daemon does not speak.
    UnsupportedVersion,
    /// `status` or a command for an instance that is not configured.
    UnknownInstance,
    /// A command the instance cannot take now: not running, a drill runs on it, the owner's
    /// priority, a drill from Backup or without preempt.
    Rejected,
    /// Too many connections at once; try again.
    Busy,
    /// The daemon failed to build the answer.
    Internal,
}

impl ErrorCode {
    /// Every code, for counters.
    pub const ALL: [Self; 9] = [
        Self::Malformed,
        Self::TooLarge,
        Self::Timeout,
        Self::Incomplete,
        Self::UnsupportedVersion,
        Self::UnknownInstance,
        Self::Rejected,
        Self::Busy,
        Self::Internal,
    ];

    /// The snake_case name used on the wire and as the metric label.
    pub fn name(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::TooLarge => "too_large",
            Self::Timeout => "timeout",
            Self::Incomplete => "incomplete",
            Self::UnsupportedVersion => "unsupported_version",
            Self::UnknownInstance => "unknown_instance",
            Self::Rejected => "rejected",
            Self::Busy => "busy",
            Self::Internal => "internal",
        }
    }
}

/// A refused request: the code and the message sent back.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct RequestError {
    /// Machine-readable reason.
    pub code: ErrorCode,
    /// For humans.
    pub message: String,
}

impl RequestError {
    /// A refusal with `code`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// Parses one request line (without its newline). The version is checked before the command,
/// so a newer client gets "unsupported version" rather than "unknown command".
pub fn parse_request(line: &[u8]) -> Result<Request, RequestError> {
    if line.len() >= MAX_REQUEST_BYTES {
        return Err(RequestError::new(
            ErrorCode::TooLarge,
            format!("request longer than {MAX_REQUEST_BYTES} bytes"),
        ));
    }
    let malformed = |message: String| RequestError::new(ErrorCode::Malformed, message);
    let value: Value =
        serde_json::from_slice(line).map_err(|err| malformed(format!("not JSON: {err}")))?;
    let Value::Object(mut object) = value else {
        return Err(malformed("a request is a JSON object".to_owned()));
    };
    match object.remove("version") {
        Some(Value::Number(number)) if number.as_u64() == Some(u64::from(PROTOCOL_VERSION)) => {}
        Some(Value::Number(number)) => {
            return Err(RequestError::new(
                ErrorCode::UnsupportedVersion,
                format!("version {number} is not supported; this daemon speaks {PROTOCOL_VERSION}"),
            ));
        }
        Some(_) | None => return Err(malformed("\"version\" must be a number".to_owned())),
    }
    serde_json::from_value(Value::Object(object)).map_err(|err| malformed(err.to_string()))
}

/// The request as one line, newline included (what the CLI sends).
pub fn request_line(request: &Request) -> String {
    let mut value = serde_json::to_value(request).unwrap_or(Value::Null);
    if let Value::Object(object) = &mut value {
        object.insert("version".to_owned(), Value::from(PROTOCOL_VERSION));
    }
    let mut line = value.to_string();
    line.push('\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(line: &str) -> ErrorCode {
        parse_request(line.as_bytes()).expect_err(line).code
    }

    #[test]
    fn requests_parse_with_defaults() {
        assert_eq!(
            parse_request(br#"{"version":1,"command":"status"}"#),
            Ok(Request::Status { instance: None })
        );
        assert_eq!(
            parse_request(br#"{"command":"status","instance":"lan","version":1}"#),
            Ok(Request::Status {
                instance: Some("lan".to_owned())
            })
        );
        assert_eq!(
            parse_request(br#"{"version":1,"command":"events","follow":true}"#),
            Ok(Request::Events {
                since_ms: 0,
                follow: true
            })
        );
    }

    #[test]
    fn what_the_cli_sends_is_what_the_daemon_parses() {
        for request in [
            Request::Status { instance: None },
            Request::Status {
                instance: Some("lan-v6".to_owned()),
            },
            Request::Events {
                since_ms: 1_796_163_015_123,
                follow: true,
            },
            Request::Demote {
                instance: "lan".to_owned(),
            },
            Request::Promote {
                instance: "lan".to_owned(),
            },
            Request::Priority {
                instance: "lan".to_owned(),
                priority: OverridePriority::try_from(254).expect("in range"),
            },
            Request::ResetPriority {
                instance: "lan".to_owned(),
            },
            Request::Drill {
                instance: "lan".to_owned(),
            },
        ] {
            let line = request_line(&request);
            assert!(line.ends_with('\n') && line.len() < MAX_REQUEST_BYTES);
            assert_eq!(parse_request(line.trim_end().as_bytes()), Ok(request));
        }
    }

    #[test]
    fn every_malformed_request_gets_its_code() {
        assert_eq!(code("hello"), ErrorCode::Malformed);
        assert_eq!(code(""), ErrorCode::Malformed);
        assert_eq!(
            code(r#"{"version":1,"command":"status""#),
            ErrorCode::Malformed
        );
        assert_eq!(code("[1,2]"), ErrorCode::Malformed);
        assert_eq!(code(r#"{"command":"status"}"#), ErrorCode::Malformed);
        assert_eq!(
            code(r#"{"version":"1","command":"status"}"#),
            ErrorCode::Malformed
        );
        assert_eq!(
            code(r#"{"version":1,"command":"reboot"}"#),
            ErrorCode::Malformed
        );
        assert_eq!(
            code(r#"{"version":1,"command":"status","x":1}"#),
            ErrorCode::Malformed
        );
        assert_eq!(
            code(r#"{"version":1,"command":"events","since_ms":-5}"#),
            ErrorCode::Malformed
        );
        assert_eq!(
            code(r#"{"version":2,"command":"status"}"#),
            ErrorCode::UnsupportedVersion
        );
        assert_eq!(
            code(r#"{"version":2,"command":"new-thing"}"#),
            ErrorCode::UnsupportedVersion
        );
        let huge = format!(
            r#"{{"version":1,"command":"status","instance":"{}"}}"#,
            "x".repeat(5000)
        );
        assert_eq!(code(&huge), ErrorCode::TooLarge);
        assert_eq!(code("\u{fffd}\0\u{1}"), ErrorCode::Malformed);
    }

    #[test]
    fn commands_need_an_instance_and_a_settable_priority() {
        assert_eq!(
            parse_request(br#"{"version":1,"command":"priority","instance":"lan","priority":7}"#),
            Ok(Request::Priority {
                instance: "lan".to_owned(),
                priority: OverridePriority::try_from(7).expect("in range"),
            })
        );
        assert_eq!(
            code(r#"{"version":1,"command":"demote"}"#),
            ErrorCode::Malformed
        );
        for priority in ["0", "255", "300", "-1", "\"7\""] {
            let line = format!(
                r#"{{"version":1,"command":"priority","instance":"lan","priority":{priority}}}"#
            );
            assert_eq!(code(&line), ErrorCode::Malformed, "{line}");
        }
        let refused =
            parse_request(br#"{"version":1,"command":"priority","instance":"lan","priority":255}"#)
                .expect_err("owner priority");
        assert!(
            refused.message.contains("255 is the address owner's"),
            "{refused}"
        );
    }

    #[test]
    fn responses_carry_the_version_and_one_key() {
        let line = Response::error(ErrorCode::TooLarge, "too long").to_line();
        assert_eq!(
            line,
            "{\"version\":1,\"error\":{\"code\":\"too_large\",\"message\":\"too long\"}}\n"
        );
        let end = Response::new(ResponseBody::End { events: 3 });
        assert_eq!(end.to_line(), "{\"version\":1,\"end\":{\"events\":3}}\n");
        assert_eq!(
            serde_json::from_str::<Response>(end.to_line().trim_end()).unwrap(),
            end
        );
    }
}
