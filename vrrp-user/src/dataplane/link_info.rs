//! What a pinned link is attached to, read from the kernel. aya's `LinkInfo` keeps the
//! attachment's interface private, and it is what tells a live pin from a dead one: the kernel
//! detaches XDP and TCX links when their device goes away (its namespace was deleted, a veth
//! peer removed) and reports interface index 0 from then on, while the pin keeps the program
//! and its maps alive.

use std::{
    ffi::CString,
    io,
    os::fd::{FromRawFd as _, OwnedFd},
    path::Path,
};

/// `BPF_OBJ_GET` (linux/bpf.h `enum bpf_cmd`).
const BPF_OBJ_GET: libc::c_long = 7;
/// `BPF_OBJ_GET_INFO_BY_FD`.
const BPF_OBJ_GET_INFO_BY_FD: libc::c_long = 15;

/// The start of `struct bpf_link_info`: type, id, prog_id, then the union whose `xdp` and
/// `tcx` members both begin with the interface index (8-byte aligned, so at offset 16).
#[repr(C)]
#[derive(Default)]
struct LinkInfoHead {
    link_type: u32,
    id: u32,
    prog_id: u32,
    _pad: u32,
    ifindex: u32,
    _attach_type: u32,
}

/// A pinned link as the kernel sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct PinnedLinkInfo {
    /// The program it runs.
    pub(super) program_id: u32,
    /// The interface it is attached to; `None` once its device is gone.
    pub(super) ifindex: Option<u32>,
}

/// Reads the link pinned at `path`.
pub(super) fn pinned_link_info(path: &Path) -> io::Result<PinnedLinkInfo> {
    let fd = open_pin(path)?;
    let mut info = LinkInfoHead::default();
    // union bpf_attr, `info` member: bpf_fd, info_len, info (pointer); the rest zero.
    let mut attr = [0_u64; 8];
    let fd_raw = u32::try_from(std::os::fd::AsRawFd::as_raw_fd(&fd)).unwrap_or(u32::MAX);
    let len = u32::try_from(size_of::<LinkInfoHead>()).unwrap_or(0);
    attr[0] = u64::from(fd_raw) | (u64::from(len) << 32);
    attr[1] = std::ptr::addr_of_mut!(info) as u64;
    // SAFETY: the kernel writes at most `len` bytes into `info`, which we own; `attr` is a
    // zeroed bpf_attr large enough for the command.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_OBJ_GET_INFO_BY_FD,
            attr.as_mut_ptr(),
            size_of_val(&attr),
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(PinnedLinkInfo {
        program_id: info.prog_id,
        ifindex: (info.ifindex != 0).then_some(info.ifindex),
    })
}

/// Opens the bpffs object at `path` (a new reference; closing it leaves the pin).
fn open_pin(path: &Path) -> io::Result<OwnedFd> {
    let c_path = CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // union bpf_attr, `obj` member: pathname, bpf_fd, file_flags; the rest zero.
    let mut attr = [0_u64; 8];
    attr[0] = c_path.as_ptr() as u64;
    // SAFETY: `c_path` is NUL-terminated and outlives the call; `attr` is a zeroed bpf_attr.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_OBJ_GET,
            attr.as_mut_ptr(),
            size_of_val(&attr),
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let fd = i32::try_from(fd).map_err(|_| io::Error::from(io::ErrorKind::InvalidData))?;
    // SAFETY: the kernel just returned this descriptor; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}
