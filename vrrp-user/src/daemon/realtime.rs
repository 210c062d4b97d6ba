//! Real-time scheduling for the daemon (keepalived's `vrrp_rt_priority` is the model). VRRP's
//! timing is tight at short intervals (at 10 ms adverts a Backup takes over 36 ms after the
//! Master's last advert), and a CPU-bound neighbour (a compiler, a backup job) must not delay a
//! Master's adverts or a Backup's stamp check past that. The daemon mostly sleeps, so a modest
//! round-robin priority costs other work nothing measurable; an RTTIME limit is the guard
//! against a runaway loop starving the machine (the data plane's heartbeat then fails safe).

use std::io;

/// CPU time an RT thread may use without blocking before the kernel kills the process.
const RT_TIME_LIMIT_US: libc::rlim_t = 2_000_000;

/// Runs the calling thread (and the threads it starts) under SCHED_RR at `priority`
/// (1..=99).
pub fn use_realtime_priority(priority: u8) -> io::Result<()> {
    let limit = libc::rlimit {
        rlim_cur: RT_TIME_LIMIT_US,
        rlim_max: RT_TIME_LIMIT_US,
    };
    // SAFETY: plain setrlimit(2) / sched_setscheduler(2) on this process with valid arguments.
    unsafe {
        if libc::setrlimit(libc::RLIMIT_RTTIME, &raw const limit) != 0 {
            return Err(io::Error::last_os_error());
        }
        let parameters = libc::sched_param {
            sched_priority: i32::from(priority),
        };
        if libc::sched_setscheduler(0, libc::SCHED_RR, &raw const parameters) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}
