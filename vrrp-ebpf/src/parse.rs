//! Bounds-checked access to the frame. Every packet read and write goes through [`ptr_at`], the
//! one place that proves `offset + size <= data_end` to the verifier.

use aya_ebpf::programs::XdpContext;

/// Our own parser could not handle the frame: the entry point passes it and counts it.
pub(crate) struct Malformed;

/// Ethernet header length.
pub(crate) const ETH_LEN: usize = 14;
/// Offset of the EtherType in the Ethernet header.
pub(crate) const ETH_TYPE: usize = 12;
/// Offset of the source MAC in the Ethernet header.
pub(crate) const ETH_SRC: usize = 6;
/// EtherType IPv4.
pub(crate) const ETHERTYPE_IPV4: u16 = 0x0800;
/// EtherType IPv6.
pub(crate) const ETHERTYPE_IPV6: u16 = 0x86dd;
/// EtherType ARP.
pub(crate) const ETHERTYPE_ARP: u16 = 0x0806;
/// Fixed IPv6 header length.
pub(crate) const IPV6_LEN: usize = 40;
/// IP protocol number of VRRP (RFC 5798 §5.1.1.4).
pub(crate) const IPPROTO_VRRP: u8 = 112;
/// IPv6 next header of ICMPv6.
pub(crate) const IPPROTO_ICMPV6: u8 = 58;

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

/// Reads `N` bytes at `offset`.
#[inline(always)]
pub(crate) fn read<const N: usize>(ctx: &XdpContext, offset: usize) -> Result<[u8; N], Malformed> {
    let at = ptr_at::<[u8; N]>(ctx, offset)?;
    // SAFETY: in bounds (checked by ptr_at); byte arrays have alignment 1.
    Ok(unsafe { *at })
}

/// Writes `bytes` at `offset`.
#[inline(always)]
pub(crate) fn write<const N: usize>(
    ctx: &XdpContext,
    offset: usize,
    bytes: [u8; N],
) -> Result<(), Malformed> {
    let at = ptr_at::<[u8; N]>(ctx, offset)?;
    // SAFETY: in bounds (checked by ptr_at); byte arrays have alignment 1.
    unsafe { *at = bytes };
    Ok(())
}

/// Reads one byte at `offset`.
#[inline(always)]
pub(crate) fn read_u8(ctx: &XdpContext, offset: usize) -> Result<u8, Malformed> {
    read::<1>(ctx, offset).map(|[byte]| byte)
}
