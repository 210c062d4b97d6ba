//! Tests that need root say so loudly: they fail with a clear message, or, when the developer
//! asked for `cargo xtask test --unprivileged`, print that they were skipped.

/// Set by `cargo xtask test --unprivileged`.
const UNPRIVILEGED_ENV: &str = "XVRRP_UNPRIVILEGED";

/// Returns `true` when `test` may run. Panics with an explanation when it needs root and we are
/// not root, unless skipping was explicitly requested, in which case it prints a SKIPPED line.
pub fn require_root(test: &str) -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    if root {
        return true;
    }
    if std::env::var_os(UNPRIVILEGED_ENV).is_some() {
        eprintln!("SKIPPED {test}: needs root (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN)");
        return false;
    }
    panic!(
        "{test} needs root (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN) for network namespaces and \
         XDP: run `cargo xtask test` as root, or `cargo xtask test --unprivileged` to skip it"
    );
}
