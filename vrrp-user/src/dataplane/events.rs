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
    event::AdvertEvent,
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
}

impl Dataplane {
    /// Takes the advert ring buffer out of the program (once); must be called inside a tokio
    /// runtime with IO enabled.
    pub fn take_events(&mut self) -> Result<AdvertEvents, DataplaneError> {
        let map = self
            .ebpf
            .take_map(EVENTS_MAP)
            .ok_or(DataplaneError::MapMissing { map: EVENTS_MAP })?;
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
        })
    }
}

impl AdvertEvents {
    /// Waits for the next advert (flushing kernel log records meanwhile).
    pub async fn next(&mut self) -> Result<DeliveredAdvert, DataplaneError> {
        let Self { ifname, ring, logs } = self;
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
                    if let Some(record) = guard.get_inner_mut().next() {
                        return parse(ifname, &record);
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
    pub fn try_next(&mut self) -> Result<Option<DeliveredAdvert>, DataplaneError> {
        let ifname = self.ifname.clone();
        self.ring
            .get_mut()
            .next()
            .map(|record| parse(&ifname, &record))
            .transpose()
    }
}

fn parse(ifname: &str, record: &[u8]) -> Result<DeliveredAdvert, DataplaneError> {
    let bad = |reason| DataplaneError::BadEvent {
        ifname: ifname.to_owned(),
        reason,
    };
    if record.len() < size_of::<AdvertEvent>() {
        return Err(bad("record shorter than AdvertEvent"));
    }
    // SAFETY: the record holds at least size_of::<AdvertEvent>() bytes, and AdvertEvent is
    // plain data valid for any bit pattern; read_unaligned copies without alignment demands.
    let event = unsafe { record.as_ptr().cast::<AdvertEvent>().read_unaligned() };
    let family = AddressFamily::from_u8(event.family).ok_or_else(|| bad("unknown family"))?;
    let address = |bytes: [u8; 16]| match family {
        AddressFamily::Ipv4 => IpAddr::V4(Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3])),
        AddressFamily::Ipv6 => IpAddr::V6(Ipv6Addr::from(bytes)),
    };
    if usize::from(event.message_len) > event.message.len() {
        return Err(bad("message length beyond capacity"));
    }
    Ok(DeliveredAdvert {
        ifindex: event.ifindex,
        family,
        source: address(event.source_be),
        destination: address(event.destination_be),
        received: Duration::from_nanos(event.received_ns),
        message: event.message().to_vec(),
    })
}
