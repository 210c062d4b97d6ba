//! Bounds-checked access to the frame. Every packet read and write goes through [`ptr_at`], the
//! one place that proves `offset + size <= data_end` to the verifier. Layouts are the codec's
//! (`vrrp_common::wire`): byte-array structs with alignment 1, so any offset is fine.

use aya_ebpf::{
    EbpfContext,
    cty::{c_long, c_void},
    helpers::{bpf_skb_load_bytes, bpf_xdp_load_bytes},
    programs::{TcContext, XdpContext},
};

/// Our own parser could not handle the frame: the entry point passes it and counts it.
pub(crate) struct Malformed;

/// `PACKET_HOST` of linux/if_packet.h: to us.
pub(crate) const PACKET_HOST: u32 = 0;

/// A frame in linear packet memory: the XDP buffer, or the (linear part of the) skb a TC
/// program sees. The ingress logic runs on either hook, so it parses with these helpers only.
pub(crate) trait Frame: EbpfContext {
    /// Address of the first byte.
    fn start(&self) -> usize;
    /// Address one past the last byte.
    fn end(&self) -> usize;
    /// Index of the interface the frame arrives on (XDP) or leaves through (TC egress): the
    /// interface whose program and maps see it.
    fn ifindex(&self) -> u32;
    /// Copies `len` bytes at `offset` to `to` with the hook's helper (which bounds-checks the
    /// frame side); 0 on success.
    ///
    /// # Safety
    /// `to` must be writable for `len` bytes.
    unsafe fn load_bytes(&self, offset: usize, to: *mut c_void, len: usize) -> c_long;
    /// After the destination MAC was rewritten to the interface's: make the stack take the
    /// frame as addressed to this host.
    fn accept_for_host(&self) -> Result<(), Malformed>;
}

impl Frame for XdpContext {
    #[inline(always)]
    fn start(&self) -> usize {
        self.data()
    }

    #[inline(always)]
    fn end(&self) -> usize {
        self.data_end()
    }

    #[inline(always)]
    fn ifindex(&self) -> u32 {
        self.ingress_ifindex() as u32
    }

    #[inline(always)]
    unsafe fn load_bytes(&self, offset: usize, to: *mut c_void, len: usize) -> c_long {
        // SAFETY: the caller guarantees `to`; the kernel checks the frame side.
        unsafe { bpf_xdp_load_bytes(self.ctx, offset as u32, to, len as u32) }
    }

    #[inline(always)]
    fn accept_for_host(&self) -> Result<(), Malformed> {
        // The skb does not exist yet (native) or is re-typed by the kernel after XDP changed
        // the destination (generic).
        Ok(())
    }
}

impl Frame for TcContext {
    #[inline(always)]
    fn start(&self) -> usize {
        self.data()
    }

    #[inline(always)]
    fn end(&self) -> usize {
        self.data_end()
    }

    #[inline(always)]
    fn ifindex(&self) -> u32 {
        // SAFETY: the context pointer is the kernel's; `ifindex` is a readable field.
        unsafe { (*self.skb.skb).ifindex }
    }

    #[inline(always)]
    unsafe fn load_bytes(&self, offset: usize, to: *mut c_void, len: usize) -> c_long {
        // SAFETY: the caller guarantees `to`; the kernel checks the frame side.
        unsafe { bpf_skb_load_bytes(self.skb.skb as *const c_void, offset as u32, to, len as u32) }
    }

    #[inline(always)]
    fn accept_for_host(&self) -> Result<(), Malformed> {
        // The skb was typed from the virtual MAC (another host's) before we ran.
        self.skb.change_type(PACKET_HOST).map_err(|_| Malformed)
    }
}

/// A pointer to a `T` at `offset` bytes into the frame, if the frame is long enough.
#[inline(always)]
pub(crate) fn ptr_at<T>(ctx: &impl Frame, offset: usize) -> Result<*mut T, Malformed> {
    let start = ctx.start();
    let end = ctx.end();
    if start + offset + size_of::<T>() > end {
        return Err(Malformed);
    }
    Ok((start + offset) as *mut T)
}

/// Copies the `T` (a wire header or byte array) at `offset` out of the frame.
#[inline(always)]
pub(crate) fn read<T: Copy>(ctx: &impl Frame, offset: usize) -> Result<T, Malformed> {
    let at = ptr_at::<T>(ctx, offset)?;
    // SAFETY: in bounds (checked by ptr_at); unaligned read of plain bytes.
    Ok(unsafe { at.read_unaligned() })
}

/// Writes `value` (a wire header or byte array) at `offset`.
#[inline(always)]
pub(crate) fn write<T>(ctx: &impl Frame, offset: usize, value: T) -> Result<(), Malformed> {
    let at = ptr_at::<T>(ctx, offset)?;
    // SAFETY: in bounds (checked by ptr_at); unaligned write of plain bytes.
    unsafe { at.write_unaligned(value) };
    Ok(())
}

/// Reads one byte at `offset`.
#[inline(always)]
pub(crate) fn read_u8(ctx: &impl Frame, offset: usize) -> Result<u8, Malformed> {
    read::<u8>(ctx, offset)
}
