//! The short chaos soak (`cargo xtask soak` runs it for as long as asked): about 90 s of
//! random faults on three routers and two hosts, every kind at least once, no check broken.

use std::time::Duration;

use vrrp_tests::{
    privilege::require_root,
    soak::{SoakOptions, soak},
    turn::{Share, Turn},
};

#[test]
fn a_short_soak_injects_every_fault_kind_and_breaks_no_check() {
    if !require_root("a_short_soak_injects_every_fault_kind_and_breaks_no_check") {
        return;
    }
    let _turn = Turn::take(Share::Alone);
    // A new schedule each run; the seed is printed first, so a break can be replayed with
    // `cargo xtask soak --seed`.
    let report = soak(&SoakOptions {
        duration: Duration::from_secs(75),
        seed: fastrand::u64(..),
    });
    println!("{report}");
    assert!(
        report.missing_kinds().is_empty(),
        "fault kinds never injected: {:?}",
        report.missing_kinds()
    );
    assert!(report.breaks.is_empty(), "{report}");
}
