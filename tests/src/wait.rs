//! Bounded polling: every wait in the tests has a deadline.

use std::time::{Duration, Instant};

/// Polls `condition` every `step` until it returns `Some`, or panics after `timeout` naming
/// `what` was awaited.
pub fn until<T>(
    what: &str,
    timeout: Duration,
    step: Duration,
    mut condition: impl FnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = condition() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(step);
    }
}
