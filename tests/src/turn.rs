//! How the namespace tests share this small (2-core) machine. Most daemon tests are light and
//! run two at a time; a test that loads every core or measures timing tighter than a daemon's
//! real-time scheduling guarantees under a neighbour (255 VRIDs, floods, the soak, 10 ms
//! adverts, checks that an advert schedule did not move) runs alone. Hold the turn for the whole test.

use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

static MACHINE: RwLock<()> = RwLock::new(());

/// A test's claim on the machine; released on drop.
pub enum Turn {
    /// Alongside at most the other test threads (`RUST_TEST_THREADS`, 2 in `cargo xtask test`).
    Shared(RwLockReadGuard<'static, ()>),
    /// No other turn-holding test runs meanwhile.
    Alone(RwLockWriteGuard<'static, ()>),
}

/// What a test needs of the machine.
#[derive(Clone, Copy, Debug)]
pub enum Share {
    Alongside,
    Alone,
}

impl Turn {
    /// Waits for a turn of the given kind. A failed test poisons the lock; the next test is
    /// still valid.
    pub fn take(share: Share) -> Self {
        match share {
            Share::Alongside => {
                Self::Shared(MACHINE.read().unwrap_or_else(PoisonError::into_inner))
            }
            Share::Alone => Self::Alone(MACHINE.write().unwrap_or_else(PoisonError::into_inner)),
        }
    }
}
