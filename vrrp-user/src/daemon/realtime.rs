//! Real-time scheduling and locked memory for the timing-critical thread.
//!
//! At 10 ms adverts a Backup declares its Master down 36 ms after the last advert, so a Master
//! whose sender waits 40 ms behind a compiler or a `stress-ng` worker for the CPU is a false
//! takeover, and a Backup that waits as long is late with a stamp check. keepalived answers this
//! with `vrrp_rt_priority`; xvrrp does the same by default: the thread that runs the event loop
//! (the only one with protocol timing; it is the thread that calls [`apply`]) becomes SCHED_FIFO
//! at a low real-time priority, so it runs as soon as it is runnable and everything else that is
//! not real-time waits for it. `SCHED_RESET_ON_FORK` keeps the priority to this thread: tokio's
//! blocking threads and the operators' hooks start as ordinary tasks. The kernel's real-time
//! throttling (`kernel.sched_rt_runtime_us`, 95 % of each second by default) still leaves the
//! rest of the machine time if the loop ever spins.
//!
//! Locking memory (`MCL_ONFAULT`: pages stay resident once touched, nothing is faulted in ahead,
//! so the resident size does not grow) keeps a page-in from stalling the loop on a host under
//! memory pressure.

use std::io;

/// What [`apply`] asks for (from `[global] realtime_priority` and `lock_memory`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RealtimeRequest {
    /// SCHED_FIFO priority (1..=99); `None`: ordinary scheduling.
    pub priority: Option<u8>,
    /// mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT).
    pub lock_memory: bool,
}

/// Why a part of the request was refused.
#[derive(Debug, thiserror::Error)]
pub enum RealtimeError {
    /// sched_setscheduler(2) refused (no CAP_SYS_NICE and RLIMIT_RTPRIO below the priority, or
    /// systemd's `RestrictRealtime=`).
    #[error("sched_setscheduler(SCHED_FIFO, priority {priority})")]
    Schedule {
        /// The requested priority.
        priority: u8,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// mlockall(2) refused.
    #[error("mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT)")]
    LockMemory(#[source] io::Error),
    /// Not attempted: with MCL_FUTURE every later allocation counts against RLIMIT_MEMLOCK,
    /// and one past a finite limit fails (the daemon would abort on it), so memory is locked
    /// only with an unlimited RLIMIT_MEMLOCK or CAP_IPC_LOCK.
    #[error("memory not locked: RLIMIT_MEMLOCK is {limit_bytes} bytes and CAP_IPC_LOCK is missing")]
    MemoryLockLimited {
        /// The soft limit.
        limit_bytes: u64,
    },
}

/// CAP_IPC_LOCK: locking memory beyond RLIMIT_MEMLOCK.
const CAP_IPC_LOCK: u32 = 14;

/// RLIMIT_MEMLOCK's soft limit when it is finite and CAP_IPC_LOCK is not effective.
fn memory_lock_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid rlimit to write into.
    if unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut limit) } != 0
        || limit.rlim_cur == libc::RLIM_INFINITY
    {
        return None;
    }
    let effective = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let hex = status
                .lines()
                .find_map(|line| line.strip_prefix("CapEff:"))?;
            u64::from_str_radix(hex.trim(), 16).ok()
        })
        .unwrap_or(0);
    (effective & (1 << CAP_IPC_LOCK) == 0).then_some(limit.rlim_cur)
}

/// Makes the calling thread SCHED_FIFO at `request.priority` and locks the process's memory, as
/// requested; each part is tried even if the other failed.
pub fn apply(request: RealtimeRequest) -> Vec<RealtimeError> {
    let mut errors = Vec::new();
    if let Some(priority) = request.priority {
        let param = libc::sched_param {
            sched_priority: i32::from(priority),
        };
        // SAFETY: `param` is a valid sched_param; pid 0 is the calling thread.
        let result = unsafe {
            libc::sched_setscheduler(0, libc::SCHED_FIFO | libc::SCHED_RESET_ON_FORK, &param)
        };
        if result != 0 {
            errors.push(RealtimeError::Schedule {
                priority,
                source: io::Error::last_os_error(),
            });
        }
    }
    if request.lock_memory {
        if let Some(limit_bytes) = memory_lock_limit() {
            errors.push(RealtimeError::MemoryLockLimited { limit_bytes });
            return errors;
        }
        // SAFETY: mlockall has no memory-safety preconditions.
        let result =
            unsafe { libc::mlockall(libc::MCL_CURRENT | libc::MCL_FUTURE | libc::MCL_ONFAULT) };
        if result == 0 {
            keep_memory_lockable_across_exec();
        } else {
            errors.push(RealtimeError::LockMemory(io::Error::last_os_error()));
        }
    }
    errors
}

/// A handover's successor (`handover`, an execve of the same daemon) starts without
/// CAP_IPC_LOCK, which the bounding set dropped (`capabilities`), and execve undoes
/// mlockall: an unlimited RLIMIT_MEMLOCK, which execve keeps, lets it lock its memory again
/// (what the shipped systemd unit's `LimitMEMLOCK=infinity` gives every run). Raising the
/// hard limit needs CAP_SYS_RESOURCE; without it the successor runs unlocked and says so.
fn keep_memory_lockable_across_exec() {
    let unlimited = libc::rlimit {
        rlim_cur: libc::RLIM_INFINITY,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: `unlimited` is a valid rlimit.
    if unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &unlimited) } != 0 {
        tracing::debug!(
            error = %io::Error::last_os_error(),
            "RLIMIT_MEMLOCK not raised: after a handover memory stays unlocked"
        );
    }
}

/// Applies `request` and logs the outcome: one line on success, a warning with the fix per
/// refusal (not fatal: the daemon works without, only less robustly under CPU load).
pub fn apply_and_log(request: RealtimeRequest) {
    let errors = apply(request);
    if errors.is_empty() && (request.priority.is_some() || request.lock_memory) {
        tracing::info!(
            realtime_priority = request.priority.map_or(0, u8::from),
            lock_memory = request.lock_memory,
            "real-time settings applied to the event loop"
        );
    }
    for error in errors {
        let fix = match error {
            RealtimeError::Schedule { .. } => {
                "run as root or with CAP_SYS_NICE or LimitRTPRIO= (systemd: drop \
                 RestrictRealtime=), or set [global] realtime_priority = 0"
            }
            RealtimeError::LockMemory(_) | RealtimeError::MemoryLockLimited { .. } => {
                "run as root or with CAP_IPC_LOCK or LimitMEMLOCK=infinity, or set [global] \
                 lock_memory = false"
            }
        };
        tracing::warn!(
            error = format!("{:#}", anyhow::Error::from(error)),
            fix,
            "real-time setting refused: under CPU load adverts may be late"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads this thread's scheduling policy.
    fn policy() -> i32 {
        // SAFETY: no preconditions.
        unsafe { libc::sched_getscheduler(0) }
    }

    #[test]
    fn nothing_requested_changes_nothing() {
        let before = policy();
        let errors = apply(RealtimeRequest {
            priority: None,
            lock_memory: false,
        });
        assert!(errors.is_empty());
        assert_eq!(policy(), before);
    }

    #[test]
    fn a_thread_given_a_priority_runs_fifo_and_its_children_do_not() {
        // A thread of its own: the test harness's threads must keep their scheduling.
        std::thread::spawn(|| {
            let errors = apply(RealtimeRequest {
                priority: Some(1),
                lock_memory: false,
            });
            if let Some(RealtimeError::Schedule { source, .. }) = errors.first() {
                // Not root (cargo test by a developer): the refusal must be the permission one.
                assert_eq!(source.raw_os_error(), Some(libc::EPERM), "{source}");
                eprintln!("SKIPPED the SCHED_FIFO half of this test: not permitted here");
                return;
            }
            assert!(errors.is_empty(), "{errors:?}");
            assert_eq!(
                policy() & !libc::SCHED_RESET_ON_FORK,
                libc::SCHED_FIFO,
                "the calling thread is SCHED_FIFO"
            );
            let child = std::thread::spawn(policy).join().expect("child thread");
            assert_eq!(child, libc::SCHED_OTHER, "threads it starts are ordinary");
        })
        .join()
        .expect("test thread");
    }
}
