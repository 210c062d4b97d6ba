//! RFC 1071 one's-complement sums for the VRRP checksum (RFC 5798 §5.2.8) and the ICMPv6
//! checksum of the Neighbor Advertisements we build (RFC 4443 §2.3).

use aya_ebpf::helpers::bpf_csum_diff;
use vrrp_common::event::MESSAGE_CAPACITY;

use crate::{
    maps::XVRRP_SCRATCH,
    parse::{Frame, Malformed},
};

/// Bytes summed per `bpf_csum_diff` call (the helper's limit).
const CHUNK: usize = 512;
/// Calls needed for the longest message (255 IPv6 addresses).
const MAX_CHUNKS: usize = MESSAGE_CAPACITY.div_ceil(CHUNK);

/// Adds the 16-bit big-endian words of `bytes` to `sum` (no folding).
#[inline(always)]
pub(crate) fn add_bytes<const N: usize>(mut sum: u64, bytes: &[u8; N]) -> u64 {
    let mut index = 0;
    while index + 1 < N {
        sum += u64::from(u16::from_be_bytes([bytes[index], bytes[index + 1]]));
        index += 2;
    }
    sum
}

/// Adds `len` bytes of the frame starting at `offset` to `sum`; `len` must be a multiple of 4
/// (the caller rejects other VRRP lengths) and at most [`MESSAGE_CAPACITY`].
///
/// The bytes are copied once into a per-CPU scratch buffer and summed there with
/// `bpf_csum_diff`, at most 512 bytes per call. Walking a variable length of packet memory
/// directly makes LLVM emit arithmetic on the packet-end pointer (rejected by the verifier), and
/// small stack chunks multiply the verifier's paths past its limit.
#[inline(always)]
pub(crate) fn add_frame(
    ctx: &impl Frame,
    sum: u64,
    offset: usize,
    len: usize,
) -> Result<u64, Malformed> {
    let scratch = XVRRP_SCRATCH.get_ptr_mut(0).ok_or(Malformed)?;
    // LLVM may know bounds the verifier lost on the way: launder the length through a
    // volatile stack slot so the checks below stay in the program.
    // SAFETY: a read of a local we own.
    let len = unsafe { core::ptr::read_volatile(&len) };
    if len == 0 || len > MESSAGE_CAPACITY || !len.is_multiple_of(4) {
        return Err(Malformed);
    }
    // SAFETY: the scratch buffer holds MESSAGE_CAPACITY >= len bytes; the kernel bounds-checks
    // the frame side.
    let copied = unsafe { ctx.load_bytes(offset, (*scratch).message.as_mut_ptr().cast(), len) };
    if copied != 0 {
        return Err(Malformed);
    }
    let mut data_sum: u64 = 0;
    for chunk in 0..MAX_CHUNKS {
        let done = chunk * CHUNK;
        if done >= len {
            break;
        }
        let step = (len - done).min(CHUNK);
        // SAFETY: done + step <= len <= the buffer size; no `from` buffer.
        let partial = unsafe {
            bpf_csum_diff(
                core::ptr::null_mut(),
                0,
                (*scratch).message.as_mut_ptr().add(done).cast(),
                step as u32,
                0,
            )
        };
        if partial < 0 {
            return Err(Malformed);
        }
        data_sum += partial as u64;
    }
    // The helper sums 16-bit words in host (little-endian) order; a one's-complement sum of
    // byte-swapped words is the byte-swapped sum (RFC 1071 §2(B)).
    Ok(sum + u64::from(fold(data_sum).swap_bytes()))
}

/// Folds a sum to 16 bits (carries wrapped around).
#[inline(always)]
pub(crate) fn fold(mut sum: u64) -> u16 {
    // Three folds bring any sum of at most 2^32 words below 2^16.
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    sum as u16
}
