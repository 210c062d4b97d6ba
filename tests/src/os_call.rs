//! Checking the return code of a libc call the harness cannot go on without.

use std::fmt::Display;

/// Panics with `what` and the OS error unless `rc` is 0 (libc's success).
pub fn expect_success(rc: libc::c_int, what: impl Display) {
    assert_eq!(rc, 0, "{what}: {}", std::io::Error::last_os_error());
}
