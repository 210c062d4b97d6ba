//! Per-CPU counters the XDP program keeps, indexed by [`Counter`].

/// Index of a global counter in the per-CPU stats array.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counter {
    /// Every frame the XDP program saw.
    RxFrames = 0,
}

impl Counter {
    /// Number of counters: the length of the stats array.
    pub const COUNT: u32 = 1;

    /// All counters in index order, for export.
    pub const ALL: [Counter; Self::COUNT as usize] = [Counter::RxFrames];

    /// Stable name for logs, metrics and the CLI.
    pub const fn name(self) -> &'static str {
        match self {
            Counter::RxFrames => "rx_frames",
        }
    }
}
