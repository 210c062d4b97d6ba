//! The adverts the XDP program hands to the daemon (everything it does not absorb), read from the
//! ring buffer with tokio's `AsyncFd`.

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    time::Duration,
};

use aya::maps::{MapData, RingBuf};
use aya_log::EbpfLogger;
use tokio::io::{Interest, unix::AsyncFd};
use vrrp_common::{
    event::{AdvertEvent, MESSAGE_CAPACITY},
    maps::{AddressFamily, EVENTS_MAP},
};

use super::{Dataplane, DataplaneError};

/// One advert as the kernel delivered it: validated (TTL, version, type, length, checksum,
/// VRID), not yet decoded. The daemon decodes `message` with the codec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveredAdvert {
    /// Interface it arrived on.
    pub ifindex: u32,
    /// Address family of the advert.
    pub family: AddressFamily,
    /// IP source address (the sender's primary address).
    pub source: IpAddr,
    /// IP destination address (224.0.0.18 or ff02::12), for the checksum pseudo-header.
    pub destination: IpAddr,
    /// CLOCK_MONOTONIC time the XDP program saw it.
    pub received: Duration,
    /// The VRRP message: header and addresses.
    pub message: Vec<u8>,
}

/// The reader of one interface's advert ring buffer. It also drains the program's log ring
/// (aya-log, rare paths only) into the `log` facade while it waits, so kernel-side warnings
/// reach the daemon's log without a task of their own.
pub struct AdvertEvents {
    ifname: String,
    ring: AsyncFd<RingBuf<MapData>>,
    logs: Option<AsyncFd<EbpfLogger<&'static dyn log::Log>>>,
    malformed_records: u64,
}

impl Dataplane {
    /// Takes the advert ring buffer out of the program (once); must be called inside a tokio
    /// runtime with IO enabled.
    pub fn take_events(&mut self) -> Result<AdvertEvents, DataplaneError> {
        let map = self.maps.take(EVENTS_MAP)?;
        let ring = RingBuf::try_from(map)
            .map_err(|source| DataplaneError::map(&self.ifname, "open", EVENTS_MAP, source))?;
        let logs = match self.logger.take() {
            // SAFETY: the logger owns its ring-buffer fd, open and unchanged until the AsyncFd
            // (which owns the logger) is dropped.
            Some(logger) => {
                match unsafe { AsyncFd::register_with_interest(logger, Interest::READABLE) } {
                    Ok(logs) => Some(logs),
                    Err(error) => {
                        let (logger, cause) = error.into_parts();
                        tracing::warn!(ifname = %self.ifname, error = %cause, "XDP logs not drained");
                        self.logger = Some(logger);
                        None
                    }
                }
            }
            None => None,
        };
        // SAFETY: the RingBuf owns its map fd, which stays open and unchanged until the AsyncFd
        // (which owns the RingBuf) is dropped.
        let ring = unsafe { AsyncFd::register_with_interest(ring, Interest::READABLE) }.map_err(
            |error| {
                DataplaneError::io(
                    &self.ifname,
                    "register the advert ring buffer",
                    error.into_parts().1,
                )
            },
        )?;
        Ok(AdvertEvents {
            ifname: self.ifname.clone(),
            ring,
            logs,
            malformed_records: 0,
        })
    }
}

impl AdvertEvents {
    /// Waits for the next advert (flushing kernel log records meanwhile). Malformed records
    /// are skipped and counted ([`Self::malformed_records`]).
    pub async fn next(&mut self) -> Result<DeliveredAdvert, DataplaneError> {
        let Self {
            ifname,
            ring,
            logs,
            malformed_records,
        } = self;
        loop {
            let logs_readable = async {
                match logs {
                    Some(logs) => logs.readable_mut().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                guard = ring.readable_mut() => {
                    let mut guard = guard.map_err(|source| {
                        DataplaneError::io(ifname, "wait on the advert ring buffer", source)
                    })?;
                    if let Some(advert) = next_valid(ifname, guard.get_inner_mut(), malformed_records) {
                        return Ok(advert);
                    }
                    // Drained: wait for the next wakeup.
                    guard.clear_ready();
                }
                guard = logs_readable => {
                    let mut guard = guard.map_err(|source| {
                        DataplaneError::io(ifname, "wait on the XDP log ring buffer", source)
                    })?;
                    guard.get_inner_mut().flush();
                    guard.clear_ready();
                }
            }
        }
    }

    /// The next advert if one is queued, without waiting.
    pub fn try_next(&mut self) -> Option<DeliveredAdvert> {
        next_valid(
            &self.ifname,
            self.ring.get_mut(),
            &mut self.malformed_records,
        )
    }

    /// Records skipped because they did not parse (a kernel/user contract bug).
    pub fn malformed_records(&self) -> u64 {
        self.malformed_records
    }
}

/// The next record that parses; the others are counted in `malformed`, and logged when the
/// count reaches a power of two (a broken contract shows at once without flooding the log).
fn next_valid(
    ifname: &str,
    ring: &mut RingBuf<MapData>,
    malformed: &mut u64,
) -> Option<DeliveredAdvert> {
    loop {
        let record = ring.next()?;
        match parse(&record) {
            Ok(advert) => return Some(advert),
            Err(reason) => {
                *malformed += 1;
                if malformed.is_power_of_two() {
                    tracing::warn!(
                        ifname,
                        reason,
                        malformed = *malformed,
                        "malformed advert record skipped"
                    );
                }
            }
        }
    }
}

/// A record: an [`AdvertEvent`] and exactly `message_len` message bytes.
fn parse(record: &[u8]) -> Result<DeliveredAdvert, &'static str> {
    let (fixed, message) = record
        .split_at_checked(size_of::<AdvertEvent>())
        .ok_or("record shorter than AdvertEvent")?;
    // SAFETY: `fixed` holds size_of::<AdvertEvent>() bytes, and AdvertEvent is plain data valid
    // for any bit pattern; read_unaligned copies without alignment demands.
    let event = unsafe { fixed.as_ptr().cast::<AdvertEvent>().read_unaligned() };
    let family = AddressFamily::from_u8(event.family).ok_or("unknown family")?;
    if usize::from(event.message_len) != message.len() {
        return Err("message length does not match the record length");
    }
    if message.len() > MESSAGE_CAPACITY {
        return Err("message longer than any advert");
    }
    let address = |bytes: [u8; 16]| match family {
        AddressFamily::Ipv4 => IpAddr::V4(Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3])),
        AddressFamily::Ipv6 => IpAddr::V6(Ipv6Addr::from(bytes)),
    };
    Ok(DeliveredAdvert {
        ifindex: event.ifindex,
        family,
        source: address(event.source_be),
        destination: address(event.destination_be),
        received: Duration::from_nanos(event.received_ns),
        message: message.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use vrrp_common::event::record_len;

    use super::*;

    fn record(family: u8, message_len: u16, message: &[u8]) -> Vec<u8> {
        let event = AdvertEvent {
            received_ns: 42,
            ifindex: 3,
            family,
            _pad: 0,
            message_len,
            source_be: [192, 0, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            destination_be: [224, 0, 0, 18, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        };
        // SAFETY: AdvertEvent is repr(C) plain data without implicit padding.
        let fixed = unsafe {
            std::slice::from_raw_parts(
                std::ptr::from_ref(&event).cast::<u8>(),
                size_of::<AdvertEvent>(),
            )
        };
        [fixed, message].concat()
    }

    #[test]
    fn a_record_carries_exactly_its_message() {
        let message = [0x31, 7, 100, 1, 0, 100, 0, 0, 192, 0, 2, 100];
        let bytes = record(4, 12, &message);
        assert_eq!(bytes.len(), record_len(message.len()));
        let advert = parse(&bytes).unwrap();
        assert_eq!(advert.message, message);
        assert_eq!(advert.source, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)));
        assert_eq!(advert.received, Duration::from_nanos(42));
    }

    #[test]
    fn malformed_records_are_rejected() {
        let message = [0u8; 12];
        assert_eq!(
            parse(&record(4, 12, &message)[..40]).unwrap_err(),
            "record shorter than AdvertEvent"
        );
        assert_eq!(
            parse(&record(4, 16, &message)).unwrap_err(),
            "message length does not match the record length"
        );
        assert_eq!(
            parse(&record(4, 8, &message)).unwrap_err(),
            "message length does not match the record length"
        );
        assert_eq!(
            parse(&record(5, 12, &message)).unwrap_err(),
            "unknown family"
        );
    }

    proptest! {
        #[test]
        fn any_bytes_parse_or_fail_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            if let Ok(advert) = parse(&bytes) {
                prop_assert_eq!(record_len(advert.message.len()), bytes.len());
            }
        }
    }
}
