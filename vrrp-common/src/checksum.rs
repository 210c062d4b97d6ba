//! The Internet checksum (RFC 1071) and the pseudo-header variants used by VRRPv3
//! (RFC 5798 §5.2.8, RFC 9568 §5.2.8) and ICMPv6 (RFC 4443 §2.3).
//!
//! A checksum field is filled with [`Checksum::finish`] computed while the field is zero. A
//! received message verifies when the sum over everything, checksum field included, finishes
//! as zero ([`Checksum::verifies`]).

use core::net::{Ipv4Addr, Ipv6Addr};

/// A running one's complement sum of 16-bit big-endian words.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Checksum {
    /// Unfolded sum: a `u64` cannot overflow for any input shorter than 2^48 bytes.
    sum: u64,
}

impl Checksum {
    /// An empty sum.
    pub const fn new() -> Self {
        Self { sum: 0 }
    }

    /// Adds `bytes` as big-endian 16-bit words. An odd trailing byte is padded with a zero
    /// (RFC 1071 §4.1), so only the last slice of a message may have odd length.
    pub fn add_bytes(&mut self, bytes: &[u8]) -> &mut Self {
        let mut words = bytes.chunks_exact(2);
        for word in &mut words {
            self.sum += u64::from(u16::from_be_bytes([word[0], word[1]]));
        }
        if let [last] = words.remainder() {
            self.sum += u64::from(u16::from_be_bytes([*last, 0]));
        }
        self
    }

    /// Adds one 16-bit word.
    pub fn add_u16(&mut self, word: u16) -> &mut Self {
        self.sum += u64::from(word);
        self
    }

    /// Adds the IPv4 pseudo-header: source, destination, zero, protocol, upper-layer length.
    /// RFC 9568 §5.2.8 states this layout explicitly for VRRP (RFC 768 uses the same).
    pub fn add_ipv4_pseudo_header(
        &mut self,
        source: Ipv4Addr,
        destination: Ipv4Addr,
        protocol: u8,
        length: u16,
    ) -> &mut Self {
        self.add_bytes(&source.octets())
            .add_bytes(&destination.octets())
            .add_u16(u16::from(protocol))
            .add_u16(length)
    }

    /// Adds the IPv6 pseudo-header (RFC 8200 §8.1): source, destination, 32-bit upper-layer
    /// length, three zero bytes and the next header.
    pub fn add_ipv6_pseudo_header(
        &mut self,
        source: &Ipv6Addr,
        destination: &Ipv6Addr,
        next_header: u8,
        length: u32,
    ) -> &mut Self {
        self.add_bytes(&source.octets())
            .add_bytes(&destination.octets())
            .add_bytes(&length.to_be_bytes())
            .add_u16(u16::from(next_header))
    }

    /// The sum folded to 16 bits (carries wrapped around), not complemented.
    pub fn folded(&self) -> u16 {
        let mut sum = self.sum;
        // At most four folds bring 64 bits down to 16; bounded for the verifier.
        for _ in 0..4 {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        // Truncation is exact: the loop leaves sum <= 0xffff.
        sum as u16
    }

    /// The one's complement of the folded sum: the value for a checksum field.
    pub fn finish(&self) -> u16 {
        !self.folded()
    }

    /// Whether a sum that included the checksum field verifies (finishes as zero).
    pub fn verifies(&self) -> bool {
        self.finish() == 0
    }
}

/// RFC 1071 checksum of `bytes`.
pub fn internet_checksum(bytes: &[u8]) -> u16 {
    Checksum::new().add_bytes(bytes).finish()
}

/// Checksum of an upper-layer message carried in IPv4 with `protocol` (112 for VRRP).
/// `message` is the whole upper-layer message; its checksum field should be zero when
/// computing and as received when verifying (then the result is zero).
pub fn ipv4_pseudo_header_checksum(
    source: Ipv4Addr,
    destination: Ipv4Addr,
    protocol: u8,
    message: &[u8],
) -> u16 {
    // Length saturates: no IPv4 payload exceeds u16 and a longer slice cannot verify anyway.
    let length = u16::try_from(message.len()).unwrap_or(u16::MAX);
    Checksum::new()
        .add_ipv4_pseudo_header(source, destination, protocol, length)
        .add_bytes(message)
        .finish()
}

/// Checksum of an upper-layer message carried in IPv6 with `next_header` (112 for VRRP, 58
/// for ICMPv6), as [`ipv4_pseudo_header_checksum`].
pub fn ipv6_pseudo_header_checksum(
    source: &Ipv6Addr,
    destination: &Ipv6Addr,
    next_header: u8,
    message: &[u8],
) -> u16 {
    let length = u32::try_from(message.len()).unwrap_or(u32::MAX);
    Checksum::new()
        .add_ipv6_pseudo_header(source, destination, next_header, length)
        .add_bytes(message)
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example_sums_to_ddf2() {
        // RFC 1071 §3 worked example: the folded sum of these bytes is 0xddf2.
        let bytes = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(internet_checksum(&bytes), !0xddf2);
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(internet_checksum(&[0x12, 0x34, 0x56]), !(0x1234 + 0x5600));
    }

    #[test]
    fn inserting_the_checksum_makes_the_message_verify() {
        let mut message = [
            0x31, 0x33, 0x96, 0x02, 0x00, 0x64, 0, 0, 0xc0, 0, 0x02, 0x64,
        ];
        let source = Ipv4Addr::new(192, 0, 2, 1);
        let destination = Ipv4Addr::new(224, 0, 0, 18);
        let checksum = ipv4_pseudo_header_checksum(source, destination, 112, &message);
        message[6..8].copy_from_slice(&checksum.to_be_bytes());
        assert_eq!(
            ipv4_pseudo_header_checksum(source, destination, 112, &message),
            0
        );
        message[9] ^= 1;
        assert_ne!(
            ipv4_pseudo_header_checksum(source, destination, 112, &message),
            0
        );
    }
}
