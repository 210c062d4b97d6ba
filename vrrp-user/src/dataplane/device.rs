//! What kind of device an interface is, for choosing the ingress hook (see
//! [`super::attach::choose_hook`]).

use std::{ffi::c_char, io};

/// `SIOCETHTOOL` of linux/sockios.h.
const SIOCETHTOOL: libc::c_ulong = 0x8946;
/// `ETHTOOL_GDRVINFO` of linux/ethtool.h.
const ETHTOOL_GDRVINFO: u32 = 0x0000_0003;

/// `struct ethtool_drvinfo` (linux/ethtool.h).
#[repr(C)]
struct DriverInfo {
    cmd: u32,
    driver: [c_char; 32],
    version: [c_char; 32],
    fw_version: [c_char; 32],
    bus_info: [c_char; 32],
    erom_version: [c_char; 32],
    reserved2: [c_char; 12],
    n_priv_flags: u32,
    n_stats: u32,
    testinfo_len: u32,
    eedump_len: u32,
    regdump_len: u32,
}

/// `struct ifreq` with the `ifr_data` member.
#[repr(C)]
struct InterfaceRequest {
    name: [c_char; libc::IFNAMSIZ],
    data: *mut DriverInfo,
}

/// The interface's driver and whether it sits on a bus (a NIC) or is a software device (veth,
/// tun, macvlan, bridge, ...), asked through ethtool in the caller's network namespace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceKind {
    /// The driver's name, e.g. `veth`, `virtio_net`, `mlx5_core`.
    pub driver: String,
    /// True when the device has no bus address: it is implemented in software.
    pub virtual_device: bool,
}

/// Looks up `ifname`'s driver.
pub(super) fn device_kind(ifname: &str) -> io::Result<DeviceKind> {
    let mut info = DriverInfo {
        cmd: ETHTOOL_GDRVINFO,
        driver: [0; 32],
        version: [0; 32],
        fw_version: [0; 32],
        bus_info: [0; 32],
        erom_version: [0; 32],
        reserved2: [0; 12],
        n_priv_flags: 0,
        n_stats: 0,
        testinfo_len: 0,
        eedump_len: 0,
        regdump_len: 0,
    };
    let mut request = InterfaceRequest {
        name: [0; libc::IFNAMSIZ],
        data: &raw mut info,
    };
    if ifname.len() >= libc::IFNAMSIZ {
        return Err(io::ErrorKind::InvalidInput.into());
    }
    for (slot, byte) in request.name.iter_mut().zip(ifname.bytes()) {
        *slot = byte as c_char;
    }
    // SAFETY: a datagram socket we close below; the ioctl writes only into `info`, which
    // outlives the call.
    unsafe {
        let socket = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if socket < 0 {
            return Err(io::Error::last_os_error());
        }
        let rc = libc::ioctl(socket, SIOCETHTOOL, &raw mut request);
        let error = io::Error::last_os_error();
        libc::close(socket);
        if rc < 0 {
            return Err(error);
        }
    }
    Ok(DeviceKind {
        driver: c_text(&info.driver),
        virtual_device: info.bus_info[0] == 0,
    })
}

fn c_text(bytes: &[c_char]) -> String {
    bytes
        .iter()
        .take_while(|byte| **byte != 0)
        .map(|byte| *byte as u8 as char)
        .collect()
}
