//! Checks of `[[global.hook]]`, `[[instance.hook]]` and `[global.webhook]`.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::time::Duration;

use toml::Spanned;

use super::Validator;
use crate::config::error::{ConfigErrorKind, Severity};
use crate::config::{HookConfig, RawHook, RawWebhook, WebhookConfig};
use crate::proto::State;

/// Hook run time: long enough for a script that calls an API, short enough that a hung one
/// does not hold back the instance's next transitions for long.
const HOOK_TIMEOUT_MS: (i64, i64) = (10, 600_000);
const DEFAULT_HOOK_TIMEOUT: Duration = Duration::from_secs(10);
/// One webhook attempt.
const WEBHOOK_TIMEOUT_MS: (i64, i64) = (100, 60_000);
const DEFAULT_WEBHOOK_TIMEOUT: Duration = Duration::from_secs(5);
const WEBHOOK_RETRIES: (i64, i64) = (0, 10);
const DEFAULT_WEBHOOK_RETRIES: u32 = 3;
const WEBHOOK_QUEUE: (i64, i64) = (1, 10_000);
const DEFAULT_WEBHOOK_QUEUE: usize = 100;

impl Validator<'_> {
    /// The hooks of `instance` (or the global ones); the invalid ones are reported and left out.
    pub(super) fn hooks(
        &mut self,
        instance: Option<&str>,
        raw: &[Spanned<RawHook>],
    ) -> Vec<HookConfig> {
        raw.iter()
            .filter_map(|hook| self.hook(instance, hook.get_ref()))
            .collect()
    }

    fn hook(&mut self, instance: Option<&str>, raw: &RawHook) -> Option<HookConfig> {
        let errors_before = self.error_count();
        let command = raw.command.get_ref();
        match command.first() {
            None => self.push(
                Severity::Error,
                Some(raw.command.span()),
                instance,
                Some("command"),
                ConfigErrorKind::EmptyHookCommand,
            ),
            Some(program) => self.hook_program(instance, program),
        }
        for (index, argument) in command.iter().enumerate() {
            if argument.get_ref().contains('\0') {
                self.push(
                    Severity::Error,
                    Some(argument.span()),
                    instance,
                    Some("command"),
                    ConfigErrorKind::NulInHookCommand { index },
                );
            }
        }
        let timeout = raw
            .timeout_ms
            .as_ref()
            .map_or(Some(DEFAULT_HOOK_TIMEOUT), |value| {
                let (min, max) = HOOK_TIMEOUT_MS;
                self.milliseconds(instance, "hook.timeout_ms", value, min, max)
            });
        let mut states = Vec::new();
        for text in raw.states.iter().flatten() {
            match parse_state(text.get_ref()) {
                Some(state) if !states.contains(&state) => states.push(state),
                Some(_) => {}
                None => self.push(
                    Severity::Error,
                    Some(text.span()),
                    instance,
                    Some("states"),
                    ConfigErrorKind::UnknownState {
                        value: text.get_ref().clone(),
                    },
                ),
            }
        }
        (self.error_count() == errors_before).then(|| HookConfig {
            command: command.iter().map(|arg| arg.get_ref().clone()).collect(),
            timeout: timeout.unwrap_or(DEFAULT_HOOK_TIMEOUT),
            states,
        })
    }

    /// Absolute, or an error; absent or not executable here is a warning (the file may be
    /// checked on another host, and a hook that cannot start is counted as failed when run).
    fn hook_program(&mut self, instance: Option<&str>, program: &Spanned<String>) {
        let path = Path::new(program.get_ref());
        let kind = if !path.is_absolute() {
            ConfigErrorKind::RelativeHookProgram {
                program: program.get_ref().clone(),
            }
        } else if let Some(reason) = unusable_program(path) {
            let kind = ConfigErrorKind::UnusableHookProgram {
                program: program.get_ref().clone(),
                reason,
            };
            self.push(
                Severity::Warning,
                Some(program.span()),
                instance,
                Some("command"),
                kind,
            );
            return;
        } else {
            return;
        };
        self.push(
            Severity::Error,
            Some(program.span()),
            instance,
            Some("command"),
            kind,
        );
    }

    /// The webhook, if one is configured and valid.
    pub(super) fn webhook(&mut self, raw: Option<&Spanned<RawWebhook>>) -> Option<WebhookConfig> {
        let raw = raw?.get_ref();
        let errors_before = self.error_count();
        let url = raw.url.get_ref();
        if let Some(reason) = webhook_url_problem(url) {
            self.push(
                Severity::Error,
                Some(raw.url.span()),
                None,
                Some("webhook.url"),
                ConfigErrorKind::InvalidWebhookUrl {
                    url: url.clone(),
                    reason,
                },
            );
        }
        let timeout = raw
            .timeout_ms
            .as_ref()
            .map_or(Some(DEFAULT_WEBHOOK_TIMEOUT), |value| {
                let (min, max) = WEBHOOK_TIMEOUT_MS;
                self.milliseconds(None, "webhook.timeout_ms", value, min, max)
            });
        let retries = raw
            .retries
            .as_ref()
            .map_or(Some(DEFAULT_WEBHOOK_RETRIES), |value| {
                let (min, max) = WEBHOOK_RETRIES;
                self.in_range(None, "webhook.retries", value, min, max)
                    .and_then(|n| u32::try_from(n).ok())
            });
        let queue = raw
            .queue
            .as_ref()
            .map_or(Some(DEFAULT_WEBHOOK_QUEUE), |value| {
                let (min, max) = WEBHOOK_QUEUE;
                self.in_range(None, "webhook.queue", value, min, max)
                    .and_then(|n| usize::try_from(n).ok())
            });
        if self.error_count() > errors_before {
            return None;
        }
        Some(WebhookConfig {
            url: url.clone(),
            timeout: timeout?,
            retries: retries?,
            queue: queue?,
        })
    }

    /// A duration configured in milliseconds, checked into `min..=max`.
    fn milliseconds(
        &mut self,
        instance: Option<&str>,
        field: &'static str,
        value: &Spanned<i64>,
        min: i64,
        max: i64,
    ) -> Option<Duration> {
        self.in_range(instance, field, value, min, max)
            .and_then(|ms| u64::try_from(ms).ok())
            .map(Duration::from_millis)
    }
}

/// The state names as `xvrrp status` prints them.
fn parse_state(text: &str) -> Option<State> {
    [State::Initialize, State::Backup, State::Master]
        .into_iter()
        .find(|state| state.to_string() == text)
}

/// Why `path` cannot be executed here, if it cannot.
fn unusable_program(path: &Path) -> Option<&'static str> {
    match std::fs::metadata(path) {
        Err(_) => Some("does not exist on this host"),
        Ok(meta) if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 => {
            Some("is not an executable file")
        }
        Ok(_) => None,
    }
}

/// What keeps `url` from being posted to, if anything.
fn webhook_url_problem(url: &str) -> Option<String> {
    let uri = match url.parse::<hyper::Uri>() {
        Ok(uri) => uri,
        Err(err) => return Some(format!("is not a URL: {err}")),
    };
    match uri.scheme_str() {
        Some("http" | "https") => {}
        _ => return Some("must start with http:// or https://".to_owned()),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Some("has no host".to_owned());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_parse_by_their_status_names() {
        assert_eq!(parse_state("Master"), Some(State::Master));
        assert_eq!(parse_state("Backup"), Some(State::Backup));
        assert_eq!(parse_state("Initialize"), Some(State::Initialize));
        assert_eq!(parse_state("master"), None);
    }

    #[test]
    fn webhook_urls_need_a_http_scheme_and_a_host() {
        assert_eq!(
            webhook_url_problem("https://alerts.example.net/x?y=1"),
            None
        );
        assert_eq!(webhook_url_problem("http://192.0.2.1:8080/"), None);
        assert_eq!(
            webhook_url_problem("ftp://example.net/"),
            Some("must start with http:// or https://".to_owned())
        );
        assert_eq!(
            webhook_url_problem("/just/a/path"),
            Some("must start with http:// or https://".to_owned())
        );
        assert!(webhook_url_problem("http://exa mple/").is_some());
    }
}
