//! The XDP program (`BPF_PROG_TEST_RUN` on a veth in a namespace of its own) and the codec on
//! the same advert frame (see `vrrp_tests::differential::fuzzed_frame` for the input's
//! layout): same verdict, same counter, and the program delivers exactly what the codec
//! accepts. Needs root and the built BPF object (`cargo xtask build-ebpf`). Coverage comes from
//! the codec's side; the program's verdict is checked against it on every input.
#![no_main]

use std::cell::RefCell;

use libfuzzer_sys::fuzz_target;
use vrrp_tests::differential::{Differential, fuzzed_frame};

thread_local! {
    // One namespace and program for the whole run; libFuzzer calls from one thread.
    static DIFFERENTIAL: RefCell<Differential> = RefCell::new({
        let differential = Differential::new();
        differential.remove_at_process_end();
        differential
    });
}

fuzz_target!(|data: &[u8]| {
    let frame = fuzzed_frame(data);
    DIFFERENTIAL.with_borrow_mut(|differential| {
        if let Err(disagreement) = differential.agree(&frame) {
            panic!("XDP and codec disagree on {frame:02x?}: {disagreement}");
        }
    });
});
