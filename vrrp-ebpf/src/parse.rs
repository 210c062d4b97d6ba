//! Bounds-checked access to the frame. Every packet read and write goes through [`ptr_at`], the
//! one place that proves `offset + size <= data_end` to the verifier. Layouts are the codec's
//! (`vrrp_common::wire`): byte-array structs with alignment 1, so any offset is fine.

use aya_ebpf::programs::XdpContext;

/// Our own parser could not handle the frame: the entry point passes it and counts it.
pub(crate) struct Malformed;

/// A pointer to a `T` at `offset` bytes into the frame, if the frame is long enough.
#[inline(always)]
pub(crate) fn ptr_at<T>(ctx: &XdpContext, offset: usize) -> Result<*mut T, Malformed> {
    let start = ctx.data();
    let end = ctx.data_end();
    if start + offset + size_of::<T>() > end {
        return Err(Malformed);
    }
    Ok((start + offset) as *mut T)
}

/// Copies the `T` (a wire header or byte array) at `offset` out of the frame.
#[inline(always)]
pub(crate) fn read<T: Copy>(ctx: &XdpContext, offset: usize) -> Result<T, Malformed> {
    let at = ptr_at::<T>(ctx, offset)?;
    // SAFETY: in bounds (checked by ptr_at); unaligned read of plain bytes.
    Ok(unsafe { at.read_unaligned() })
}

/// Writes `value` (a wire header or byte array) at `offset`.
#[inline(always)]
pub(crate) fn write<T>(ctx: &XdpContext, offset: usize, value: T) -> Result<(), Malformed> {
    let at = ptr_at::<T>(ctx, offset)?;
    // SAFETY: in bounds (checked by ptr_at); unaligned write of plain bytes.
    unsafe { at.write_unaligned(value) };
    Ok(())
}

/// Reads one byte at `offset`.
#[inline(always)]
pub(crate) fn read_u8(ctx: &XdpContext, offset: usize) -> Result<u8, Malformed> {
    read::<u8>(ctx, offset)
}
