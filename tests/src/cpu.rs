//! CPU pinning and per-thread CPU time for the benchmarks. A thread pinned to one CPU and timed
//! by the CPU time it actually ran is not charged for other processes preempting it on a shared
//! machine, and does not migrate between caches mid-measurement.

use std::{mem, time::Duration};

use crate::os_call::expect_success;

/// The highest-numbered CPU this process may run on (the benchmarks pin to it; CPU 0 takes
/// most of the machine's housekeeping).
pub fn last_allowed_cpu() -> usize {
    let set = affinity();
    (0..libc::CPU_SETSIZE as usize)
        .rev()
        // SAFETY: `set` is an initialised cpu_set_t and the index is below CPU_SETSIZE.
        .find(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) })
        .expect("the process may run on some CPU")
}

/// Pins the calling thread to `cpu`; panics with the reason if the kernel refuses.
pub fn pin_current_thread(cpu: usize) {
    // SAFETY: an all-zero cpu_set_t is the empty set.
    let mut set: libc::cpu_set_t = unsafe { mem::zeroed() };
    // SAFETY: `cpu` comes from the allowed set, so it is below CPU_SETSIZE.
    unsafe { libc::CPU_SET(cpu, &mut set) };
    // SAFETY: `set` is valid for the size passed; pid 0 is the calling thread.
    let rc = unsafe { libc::sched_setaffinity(0, mem::size_of_val(&set), &set) };
    expect_success(rc, format_args!("pin the thread to CPU {cpu}"));
}

/// CPU time the calling thread has used so far (user and kernel, nanosecond resolution).
pub fn thread_cpu_time() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid timespec to write; this clock always exists on Linux.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    expect_success(rc, "clock_gettime");
    Duration::new(
        u64::try_from(now.tv_sec).expect("CPU time is not negative"),
        u32::try_from(now.tv_nsec).expect("nanoseconds below one second"),
    )
}

fn affinity() -> libc::cpu_set_t {
    // SAFETY: an all-zero cpu_set_t is the empty set.
    let mut set: libc::cpu_set_t = unsafe { mem::zeroed() };
    // SAFETY: `set` is valid for the size passed; pid 0 is the calling thread.
    let rc = unsafe { libc::sched_getaffinity(0, mem::size_of_val(&set), &mut set) };
    expect_success(rc, "sched_getaffinity");
    set
}
