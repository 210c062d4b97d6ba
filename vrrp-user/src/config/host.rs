//! What validation needs to know about the host's interfaces, behind a trait so that tests do not
//! depend on the machine they run on.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::CStr;
use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An address configured on an interface, with its prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InterfaceAddress {
    /// The address.
    pub address: IpAddr,
    /// The prefix length of its subnet.
    pub prefix_len: u8,
}

impl fmt::Display for InterfaceAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix_len)
    }
}

/// Looks up interfaces on the host.
pub trait HostInterfaces {
    /// The addresses configured on `name`, or `Ok(None)` when no such interface exists.
    fn addresses(&self, name: &str) -> io::Result<Option<Vec<InterfaceAddress>>>;

    /// The MTU of `name`, when known (adverts must fit it).
    fn mtu(&self, _name: &str) -> Option<u32> {
        None
    }
}

/// Tests and tools can pass a closure.
impl<F> HostInterfaces for F
where
    F: Fn(&str) -> io::Result<Option<Vec<InterfaceAddress>>>,
{
    fn addresses(&self, name: &str) -> io::Result<Option<Vec<InterfaceAddress>>> {
        self(name)
    }
}

/// Answers each question about an interface once per validation: 255 instances on one
/// interface would otherwise cost 255 `getifaddrs` netlink dumps, and a reload runs while
/// Masters wait to send their next advert.
pub(super) struct OncePerInterface<'a> {
    host: &'a dyn HostInterfaces,
    addresses: RefCell<HashMap<String, Option<Vec<InterfaceAddress>>>>,
    mtus: RefCell<HashMap<String, Option<u32>>>,
}

impl<'a> OncePerInterface<'a> {
    pub(super) fn new(host: &'a dyn HostInterfaces) -> Self {
        Self {
            host,
            addresses: RefCell::default(),
            mtus: RefCell::default(),
        }
    }
}

impl HostInterfaces for OncePerInterface<'_> {
    fn addresses(&self, name: &str) -> io::Result<Option<Vec<InterfaceAddress>>> {
        if let Some(known) = self.addresses.borrow().get(name) {
            return Ok(known.clone());
        }
        // Errors are not remembered: each instance reports its own.
        let found = self.host.addresses(name)?;
        self.addresses
            .borrow_mut()
            .insert(name.to_owned(), found.clone());
        Ok(found)
    }

    fn mtu(&self, name: &str) -> Option<u32> {
        *self
            .mtus
            .borrow_mut()
            .entry(name.to_owned())
            .or_insert_with(|| self.host.mtu(name))
    }
}

/// The interfaces of the network namespace the process runs in, read with `getifaddrs(3)`.
///
/// `getifaddrs` asks the kernel over netlink, so it sees the caller's network namespace even where
/// `/sys/class/net` still shows the namespace sysfs was mounted in (for example after
/// `unshare -n` without a remount). glibc lists every link with an `AF_PACKET` entry, so an
/// interface without addresses still exists.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemInterfaces;

impl HostInterfaces for SystemInterfaces {
    fn addresses(&self, name: &str) -> io::Result<Option<Vec<InterfaceAddress>>> {
        let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
        // SAFETY: `head` is a valid out-pointer; on success the list is freed below.
        if unsafe { libc::getifaddrs(&raw mut head) } != 0 {
            return Err(io::Error::last_os_error());
        }
        let mut exists = false;
        let mut found = Vec::new();
        let mut cursor = head;
        // The list is finite and NULL-terminated (getifaddrs(3)).
        while !cursor.is_null() {
            // SAFETY: `cursor` is a node of the list getifaddrs returned; it is freed only after
            // the loop.
            let entry = unsafe { &*cursor };
            cursor = entry.ifa_next;
            // SAFETY: `ifa_name` is a NUL-terminated string owned by the list.
            let entry_name = unsafe { CStr::from_ptr(entry.ifa_name) };
            if entry_name.to_bytes() != name.as_bytes() {
                continue;
            }
            exists = true;
            // SAFETY: both pointers come from the same list node and are NULL or valid sockaddrs.
            let (address, netmask) = unsafe {
                (
                    socket_address(entry.ifa_addr),
                    socket_address(entry.ifa_netmask),
                )
            };
            if let Some(address) = address {
                let prefix_len = netmask.map_or(0, prefix_len);
                found.push(InterfaceAddress {
                    address,
                    prefix_len,
                });
            }
        }
        // SAFETY: `head` came from a successful getifaddrs and is freed once.
        unsafe { libc::freeifaddrs(head) };
        Ok(exists.then_some(found))
    }

    fn mtu(&self, name: &str) -> Option<u32> {
        let mut request: libc::ifreq = unsafe_zeroed_ifreq();
        if name.len() >= request.ifr_name.len() {
            return None;
        }
        for (slot, byte) in request.ifr_name.iter_mut().zip(name.bytes()) {
            *slot = byte as libc::c_char;
        }
        // SAFETY: a datagram socket closed below; SIOCGIFMTU writes only into `request`.
        unsafe {
            let socket = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
            if socket < 0 {
                return None;
            }
            let rc = libc::ioctl(socket, libc::SIOCGIFMTU, &raw mut request);
            libc::close(socket);
            (rc == 0)
                .then(|| u32::try_from(request.ifr_ifru.ifru_mtu).ok())
                .flatten()
        }
    }
}

fn unsafe_zeroed_ifreq() -> libc::ifreq {
    // SAFETY: ifreq is plain old data; all zeros is a valid (empty) request.
    unsafe { std::mem::zeroed() }
}

/// Reads an IPv4 or IPv6 address out of a `sockaddr`; `None` for other families and NULL.
///
/// # Safety
/// `sockaddr` must be NULL or point to a socket address of the size its family implies.
unsafe fn socket_address(sockaddr: *const libc::sockaddr) -> Option<IpAddr> {
    if sockaddr.is_null() {
        return None;
    }
    // SAFETY: non-NULL and valid per the caller; every sockaddr starts with the family.
    let family = i32::from(unsafe { (*sockaddr).sa_family });
    match family {
        libc::AF_INET => {
            // SAFETY: the family says this is a sockaddr_in; read_unaligned tolerates any
            // alignment.
            let v4 = unsafe { sockaddr.cast::<libc::sockaddr_in>().read_unaligned() };
            // s_addr is in network byte order, so its in-memory bytes are the address octets.
            Some(IpAddr::V4(Ipv4Addr::from(v4.sin_addr.s_addr.to_ne_bytes())))
        }
        libc::AF_INET6 => {
            // SAFETY: as above, for sockaddr_in6.
            let v6 = unsafe { sockaddr.cast::<libc::sockaddr_in6>().read_unaligned() };
            Some(IpAddr::V6(Ipv6Addr::from(v6.sin6_addr.s6_addr)))
        }
        _ => None,
    }
}

/// The prefix length of a contiguous netmask.
fn prefix_len(netmask: IpAddr) -> u8 {
    let ones = match netmask {
        IpAddr::V4(mask) => u32::from(mask).count_ones(),
        IpAddr::V6(mask) => u128::from(mask).count_ones(),
    };
    // At most 128 ones fit in an IPv6 mask.
    u8::try_from(ones).unwrap_or(u8::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_exists_with_loopback_addresses_and_a_missing_interface_is_none() {
        let lo = SystemInterfaces.addresses("lo").expect("getifaddrs");
        // lo exists in every network namespace; it has addresses only once it is up.
        let lo = lo.expect("lo exists");
        for InterfaceAddress {
            address,
            prefix_len,
        } in lo
        {
            assert!(address.is_loopback(), "{address} on lo");
            assert!(matches!(
                (address, prefix_len),
                (IpAddr::V4(_), 8) | (IpAddr::V6(_), 128)
            ));
        }
        let missing = SystemInterfaces
            .addresses("xvrrp-absent0")
            .expect("getifaddrs");
        assert_eq!(missing, None);
    }

    #[test]
    fn prefix_len_counts_mask_bits() {
        assert_eq!(prefix_len("255.255.255.0".parse().unwrap()), 24);
        assert_eq!(prefix_len("ffff:ffff:ffff:ffff::".parse().unwrap()), 64);
    }

    #[test]
    fn each_interface_is_looked_up_once_per_validation() {
        let calls = std::cell::Cell::new(0);
        let host = |name: &str| {
            calls.set(calls.get() + 1);
            Ok((name == "eth0").then(Vec::new))
        };
        let once = OncePerInterface::new(&host);
        for _ in 0..3 {
            assert_eq!(once.addresses("eth0").unwrap(), Some(Vec::new()));
            assert_eq!(once.addresses("nope").unwrap(), None);
        }
        assert_eq!(calls.get(), 2);
    }
}
