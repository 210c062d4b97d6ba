//! Master election comparisons (RFC 9568 §6.4.3).

use std::cmp::Ordering;
use std::net::IpAddr;

/// Priority of the router that owns the virtual addresses (RFC 9568 §5.2.4), and the priority a
/// Master sends when it stops, telling Backups to take over after Skew_Time: the wire constants.
pub use vrrp_common::consts::{
    PRIORITY_OWNER as OWNER_PRIORITY, PRIORITY_RESIGN as RESIGN_PRIORITY,
};

/// Compares two primary addresses as unsigned integers in network byte order (RFC 9568
/// §6.4.3). Addresses of different families never meet in one virtual router; if they did, IPv6
/// orders above IPv4 so the result is still a total order.
pub fn compare_primary_addresses(left: IpAddr, right: IpAddr) -> Ordering {
    match (left, right) {
        (IpAddr::V4(left), IpAddr::V4(right)) => left.octets().cmp(&right.octets()),
        (IpAddr::V6(left), IpAddr::V6(right)) => left.octets().cmp(&right.octets()),
        (IpAddr::V4(_), IpAddr::V6(_)) => Ordering::Less,
        (IpAddr::V6(_), IpAddr::V4(_)) => Ordering::Greater,
    }
}

/// A contender in the election: an advertised priority and the sender's primary address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Contender {
    /// Priority as carried in the advert (1..=255; 0 means resignation, not a contender).
    pub priority: u8,
    /// Primary address, the source of its adverts.
    pub address: IpAddr,
}

impl Contender {
    /// True if `self` wins against `other`: a higher priority, or an equal priority from a
    /// greater primary address (RFC 9568 §6.4.3).
    pub fn beats(&self, other: &Self) -> bool {
        match self.priority.cmp(&other.priority) {
            Ordering::Greater => true,
            Ordering::Less => false,
            Ordering::Equal => {
                compare_primary_addresses(self.address, other.address) == Ordering::Greater
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contender(priority: u8, address: &str) -> Contender {
        Contender {
            priority,
            address: address.parse().expect("test address"),
        }
    }

    #[test]
    fn higher_priority_wins_regardless_of_address() {
        assert!(contender(200, "192.0.2.1").beats(&contender(100, "192.0.2.250")));
        assert!(!contender(100, "192.0.2.250").beats(&contender(200, "192.0.2.1")));
    }

    #[test]
    fn equal_priority_greater_address_wins() {
        assert!(contender(100, "192.0.2.250").beats(&contender(100, "192.0.2.3")));
        assert!(!contender(100, "192.0.2.3").beats(&contender(100, "192.0.2.250")));
        assert!(!contender(100, "192.0.2.3").beats(&contender(100, "192.0.2.3")));
    }

    #[test]
    fn ipv6_addresses_compare_unsigned_in_network_order() {
        // fe80::8000 has its high bit set in the last group: unsigned, not signed, order.
        assert!(contender(100, "fe80::8000").beats(&contender(100, "fe80::7fff")));
        assert!(contender(100, "2001:db8::1:0").beats(&contender(100, "2001:db8::ffff")));
    }
}
