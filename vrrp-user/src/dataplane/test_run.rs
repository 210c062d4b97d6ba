//! `BPF_PROG_TEST_RUN` of the data plane's programs on this interface's live maps, for the
//! integration tests and the benchmarks. Not part of the daemon: built with the `test-hooks`
//! feature only.

use aya::programs::{SchedClassifier, TestRun, TestRunOptions, Xdp};
use vrrp_common::maps::{EGRESS_PROGRAM_NAME, PASS_PROGRAM_NAME, PROGRAM_NAME, TC_PROGRAM_NAME};

use super::{Dataplane, DataplaneError, attach::loaded_program};

/// Which program of the object [`Dataplane::test_run`] runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TestProgram {
    /// The data plane (XDP, ingress).
    Xvrrp,
    /// The `XDP_PASS`-only baseline of the benchmark.
    PassOnly,
    /// The data plane built for TC ingress, run on a frame as if it arrived here.
    TcIngress,
    /// The TC egress stamp, run on a frame as if it left through this interface.
    Egress,
}

/// Result of one `BPF_PROG_TEST_RUN`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TestRunOutcome {
    /// The XDP action the program returned.
    pub action: u32,
    /// Length of the output frame.
    pub frame_len: usize,
}

impl Dataplane {
    /// Runs `program` `repeat` times on `frame` through `BPF_PROG_TEST_RUN`, as if it arrived
    /// on this interface; `frame_out` receives the (possibly rewritten) frame. Repetitions run
    /// on the same buffer, so a program that rewrites the frame sees its own output from the
    /// second run on. Used by the integration tests and the benchmark; the maps are the live
    /// ones.
    pub fn test_run(
        &mut self,
        program: TestProgram,
        frame: &[u8],
        frame_out: &mut [u8],
        repeat: u32,
    ) -> Result<TestRunOutcome, DataplaneError> {
        let ifindex = self.ifindex;
        let frame_len = u32::try_from(frame.len()).unwrap_or(u32::MAX);
        let (context, name) = match program {
            // struct xdp_md {data, data_end, data_meta, ingress_ifindex, rx_queue_index,
            // egress_ifindex}: the kernel requires data_end = frame length and takes the
            // ingress device from here.
            TestProgram::Xvrrp | TestProgram::PassOnly => (
                vec![0, frame_len, 0, ifindex, 0, 0],
                if program == TestProgram::Xvrrp {
                    PROGRAM_NAME
                } else {
                    PASS_PROGRAM_NAME
                },
            ),
            // struct __sk_buff up to `ifindex` (the 11th u32), which the kernel accepts as the
            // device the skb is on; every other field it reads must be zero.
            TestProgram::TcIngress | TestProgram::Egress => {
                let mut skb = vec![0; SKB_IFINDEX_WORD + 1];
                skb[SKB_IFINDEX_WORD] = ifindex;
                (
                    skb,
                    if program == TestProgram::Egress {
                        EGRESS_PROGRAM_NAME
                    } else {
                        TC_PROGRAM_NAME
                    },
                )
            }
        };
        let context_bytes: Vec<u8> = context.iter().flat_map(|word| word.to_ne_bytes()).collect();
        let options = TestRunOptions {
            data_in: Some(frame),
            data_out: Some(frame_out),
            ctx_in: Some(&context_bytes),
            repeat,
            ..TestRunOptions::new()
        };
        // An adopted data plane has no object of its own to run programs from.
        let ebpf = self
            .ebpf
            .as_mut()
            .ok_or(DataplaneError::ProgramMissing { name })?;
        let result = if matches!(program, TestProgram::TcIngress | TestProgram::Egress) {
            loaded_program::<SchedClassifier>(ebpf, &self.ifname, name)?.test_run(options)
        } else {
            loaded_program::<Xdp>(ebpf, &self.ifname, name)?.test_run(options)
        }
        .map_err(|source| DataplaneError::program(&self.ifname, "test-run", source))?;
        Ok(TestRunOutcome {
            action: result.return_value,
            frame_len: result.data_size_out as usize,
        })
    }
}

/// Index of `ifindex` in `struct __sk_buff`, counted in u32 words.
const SKB_IFINDEX_WORD: usize = 10;
