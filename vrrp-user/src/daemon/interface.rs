//! A VRRP interface at run time: its XDP data plane, its send socket, and the translation
//! between the state machine's view and the wire / BPF maps.

use std::{
    collections::HashMap,
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    path::Path,
    time::{Duration, Instant},
};

use anyhow::{Context as _, Result};
use tokio::sync::mpsc;
use vrrp_common::{
    advert::{Advert, AdvertParams, AdvertV2, ChecksumStyle, DecodeError, IpContext},
    consts::{VRRP_GROUP_MAC_V4, VRRP_GROUP_MAC_V6, VRRP_TTL},
    counters::Counter,
    frames::{
        build_gratuitous_arp, build_ipv4_advert_with, build_ipv6_advert, build_unsolicited_na,
    },
    maps::{self as contract, Role},
};

use super::{
    clock::instant_from_monotonic,
    events::DaemonEvent,
    instance::{Instance, heartbeat_timeout},
};
use crate::{
    dataplane::{
        AttachOptions, CounterValues, Dataplane, DataplaneError, DeliveredAdvert, IngressHook,
        InstanceSettings, XdpAttachMode, add_vmac_filter, remove_vmac_filter, virtual_mac,
    },
    net::{interface::InterfaceInfo, packet_socket::PacketSocket, sysctl},
    proto::{AddressFamily, Centiseconds, DataplaneRole, Event, ReceivedAdvert, VirtualRouter},
};

/// Largest frame we build: Ethernet + IPv6 + VRRP header + 255 IPv6 addresses fits in 4.2 KB;
/// configurations are validated to fit the MTU long before that.
const MAX_FRAME: usize = 14 + 40 + 8 + 255 * 16;

/// A decoded punted advert, ready for the state machine.
pub(crate) struct Received {
    pub(crate) advert: ReceivedAdvert,
}

/// Why a punted advert is not fed to a state machine.
pub(crate) enum NotFed {
    /// A VRRP version 2 peer: reported, not processed (we speak version 3).
    Version2 {
        source: IpAddr,
        vrid: u8,
        /// Its advert interval (RFC 3768 counts whole seconds; 0 is read as 1).
        interval: Centiseconds,
    },
    /// An IPv4 advert whose checksum verifies only in the style the instance does not accept
    /// (sampled by the data plane, which discards and counts them all).
    OtherChecksumStyle { sender: ChecksumStyle },
    /// The codec rejected it (the XDP program validated it, so this is a contract bug).
    Undecodable(String),
}

impl NotFed {
    /// What the driver rate-limits the report on: a v2 peer per interface and source, an
    /// undecodable advert per interface (a flood of them must not flood the log).
    pub(crate) fn rate_limit_key(&self, interface: &str, source: IpAddr) -> (String, &'static str) {
        match self {
            Self::Version2 { .. } => (format!("{interface} {source}"), "version2_peer"),
            Self::OtherChecksumStyle { .. } => {
                (format!("{interface} {source}"), "checksum_other_style")
            }
            Self::Undecodable(_) => (interface.to_owned(), "undecodable_advert"),
        }
    }

    /// The operator event for this.
    pub(crate) fn to_event(&self, interface: &str) -> DaemonEvent {
        match *self {
            Self::Version2 { source, vrid, .. } => DaemonEvent::Version2Peer {
                interface: interface.to_owned(),
                source,
                vrid,
            },
            Self::Undecodable(ref reason) => DaemonEvent::UndecodableAdvert {
                interface: interface.to_owned(),
                reason: reason.clone(),
            },
            // Reported per instance by the driver (it knows the instance); reaching this means
            // the VRID went away meanwhile, and the codec's words are all there is to say.
            Self::OtherChecksumStyle { sender, .. } => DaemonEvent::UndecodableAdvert {
                interface: interface.to_owned(),
                reason: DecodeError::ChecksumOtherStyle { sender }.to_string(),
            },
        }
    }
}

pub(crate) struct VrrpInterface {
    pub(crate) info: InterfaceInfo,
    socket: PacketSocket,
    /// Families whose VRRP multicast MAC the socket joined.
    joined: Vec<AddressFamily>,
    dataplane: Dataplane,
    /// The task forwarding the data plane's punted adverts; it holds the ring buffer, so it
    /// ends with the interface (an interface that comes and goes must not leak one per visit).
    reader: tokio::task::AbortHandle,
    /// A third of the shortest instance heartbeat timeout on the interface.
    heartbeat_period: Duration,
    last_heartbeat: Instant,
    /// The data plane's `orphan_yielded` count at the last heartbeat (see
    /// [`Self::refresh_heartbeat`]).
    yields_seen: u64,
    /// Last data-plane settings written per (family, vrid), to skip identical writes.
    written: HashMap<(AddressFamily, u8), InstanceSettings>,
    /// Whether the virtual MAC of (family, vrid) is in the NIC's unicast filter.
    vmac_filters: Vec<(AddressFamily, u8)>,
    /// When the Backups following a Master through the kernel's stamps are checked next
    /// (`stamps`).
    pub(crate) sweep_at: Option<Instant>,
}

impl VrrpInterface {
    /// Attaches XDP to the interface `info` describes (maps pinned under `bpffs`), opens the
    /// send socket, joins the VRRP multicast groups of `families`, and starts forwarding
    /// punted adverts to `punted`.
    pub(crate) fn open(
        info: InterfaceInfo,
        families: &[AddressFamily],
        xdp_mode: XdpAttachMode,
        bpffs: &Path,
        heartbeat_timeout: Duration,
        punted: mpsc::Sender<DeliveredAdvert>,
    ) -> Result<Self> {
        let ifname = info.name.clone();
        let ifname = ifname.as_str();
        if let Err(err) = sysctl::announce_arp_from_primary_address(ifname) {
            tracing::warn!(
                interface = ifname,
                error = %err,
                "cannot set arp_announce=2: hosts may learn the physical MAC for a virtual address"
            );
        }
        let socket = PacketSocket::open(info.index)?;
        let mut dataplane = Dataplane::attach(
            ifname,
            &AttachOptions {
                mode: xdp_mode,
                pin_link: true,
                pin_root: bpffs.to_owned(),
            },
        )
        .context("attach XDP")?;
        let mut events = dataplane.take_events()?;
        let name = ifname.to_owned();
        let reader = tokio::spawn(async move {
            loop {
                match events.next().await {
                    Ok(advert) => {
                        if punted.send(advert).await.is_err() {
                            break;
                        }
                    }
                    Err(err) => {
                        tracing::warn!(interface = name, error = %err, "advert ring buffer")
                    }
                }
            }
        })
        .abort_handle();
        let mut interface = Self {
            info,
            socket,
            joined: Vec::new(),
            dataplane,
            reader,
            heartbeat_period: heartbeat_timeout / 3,
            last_heartbeat: Instant::now(),
            yields_seen: 0,
            written: HashMap::new(),
            sweep_at: None,
            vmac_filters: Vec::new(),
        };
        interface.join_families(families)?;
        Ok(interface)
    }

    /// Joins the VRRP multicast MAC of each of `families` not joined yet, so NICs that filter
    /// multicast deliver those adverts to the data plane (also when a reload adds the first
    /// instance of a family).
    pub(crate) fn join_families(&mut self, families: &[AddressFamily]) -> Result<()> {
        for &family in families {
            if self.joined.contains(&family) {
                continue;
            }
            self.socket.join_multicast(match family {
                AddressFamily::Ipv4 => VRRP_GROUP_MAC_V4,
                AddressFamily::Ipv6 => VRRP_GROUP_MAC_V6,
            })?;
            self.joined.push(family);
        }
        Ok(())
    }

    /// Applies a new shortest heartbeat timeout (the interface's advert intervals changed on
    /// reload): the heartbeat is refreshed three times within it.
    pub(crate) fn set_heartbeat_timeout(&mut self, timeout: Duration, now: Instant) {
        if timeout / 3 != self.heartbeat_period {
            self.heartbeat_period = timeout / 3;
            self.refresh_heartbeat(now);
        }
    }

    pub(crate) fn next_heartbeat(&self) -> Instant {
        self.last_heartbeat + self.heartbeat_period
    }

    /// Refreshes the heartbeat. Returns true when the program yielded some instance to
    /// another router's advert since the last refresh (`orphan_yielded` moved): after a loop
    /// stall longer than the heartbeat timeout the kernel may have decided what the router
    /// did not (see [`Self::forget_yield_behind`]).
    pub(crate) fn refresh_heartbeat(&mut self, now: Instant) -> bool {
        // Retry at the next period on failure rather than spinning.
        self.last_heartbeat = now;
        if let Err(err) = self.dataplane.refresh_heartbeat() {
            tracing::error!(interface = self.info.name, error = %err, "XDP heartbeat failed");
        }
        match self.dataplane.counter(Counter::OrphanYielded) {
            Ok(yields) if yields != self.yields_seen => {
                self.yields_seen = yields;
                true
            }
            Ok(_) => false,
            Err(err) => {
                tracing::warn!(interface = self.info.name, error = %err, "reading orphan_yielded");
                false
            }
        }
    }

    /// Whether the program turned `router`'s record to Backup by itself (it yielded to another
    /// router's advert) while the router stays Master; if so the written settings are
    /// forgotten, so the next sync writes the record again. Only such records: rewriting
    /// others would clear Backups' stamps for nothing, and a resigning router ends Resigning
    /// itself on the same advert.
    pub(crate) fn forget_yield_behind(&mut self, router: &VirtualRouter) -> bool {
        let config = router.config();
        let family = config.family;
        let recorded = self
            .dataplane
            .recorded_role(contract_family(family), config.vrid);
        let behind = router.dataplane_role() == DataplaneRole::Master
            && matches!(recorded, Ok(Some(Role::Backup)));
        if behind {
            self.written.remove(&(family, config.vrid));
        }
        behind
    }

    /// When the XDP program last absorbed a routine advert for `router` (CLOCK_MONOTONIC), if it
    /// did since the instance record was last written.
    pub(crate) fn last_routine_advert(&self, router: &VirtualRouter) -> Option<Duration> {
        let config = router.config();
        let seen = self
            .dataplane
            .master_last_seen(contract_family(config.family), config.vrid);
        (!seen.is_zero()).then_some(seen)
    }

    /// Answers the state machine's `ReadAbsorbedStamp`: feeds the kernel's newest absorbed
    /// routine advert, then lets the due Master_Down_Timer fire or not (the `proto` call
    /// order). The clock is read after the stamp, so the stamp is never in the future.
    pub(crate) fn report_absorbed_stamp(&self, router: &mut VirtualRouter) {
        match self.last_routine_advert(router) {
            Some(seen) => router.handle_event(Event::AbsorbedAdvert, instant_from_monotonic(seen)),
            None => router.handle_event(Event::NoAbsorbedAdvert, Instant::now()),
        }
        router.handle_timeout(Instant::now());
    }

    /// The data plane's counters of virtual router (`family`, `vrid`), for status and metrics.
    pub(crate) fn instance_counters(
        &self,
        family: AddressFamily,
        vrid: u8,
    ) -> Result<CounterValues, DataplaneError> {
        self.dataplane
            .instance_counters(contract_family(family), vrid)
    }

    /// The data plane's interface-wide counters, for status and metrics.
    pub(crate) fn counters(&self) -> Result<CounterValues, DataplaneError> {
        self.dataplane.counters()
    }

    /// Where the ingress data plane runs.
    pub(crate) fn ingress_hook(&self) -> IngressHook {
        self.dataplane.ingress_hook()
    }

    /// Decodes a punted advert with the codec, accepting checksums in `style` (the instance's).
    pub(crate) fn decode(
        &self,
        punted: &DeliveredAdvert,
        style: ChecksumStyle,
    ) -> Result<Received, NotFed> {
        let version = punted.message.first().map_or(0, |byte| byte >> 4);
        if version == 2 {
            let v2 = AdvertV2::decode_message(&punted.message, VRRP_TTL)
                .map_err(|err| NotFed::Undecodable(err.to_string()))?;
            let seconds = u16::from(v2.advert_interval_seconds().max(1));
            return Err(NotFed::Version2 {
                source: punted.source,
                vrid: v2.vrid(),
                interval: Centiseconds::new(seconds * 100).unwrap_or(Centiseconds::MAX),
            });
        }
        let context = match (punted.source, punted.destination) {
            (IpAddr::V4(source), IpAddr::V4(destination)) => IpContext::V4 {
                source,
                destination,
                ttl: VRRP_TTL,
            },
            (IpAddr::V6(source), IpAddr::V6(destination)) => IpContext::V6 {
                source,
                destination,
                hop_limit: VRRP_TTL,
            },
            _ => return Err(NotFed::Undecodable("mixed address families".to_owned())),
        };
        let advert = Advert::decode_message_with(&punted.message, context, style).map_err(
            |err| match err {
                DecodeError::ChecksumOtherStyle { sender } => NotFed::OtherChecksumStyle { sender },
                err => NotFed::Undecodable(err.to_string()),
            },
        )?;
        let max_advert_interval = Centiseconds::new(advert.max_advert_interval_cs())
            .map_err(|err| NotFed::Undecodable(err.to_string()))?;
        Ok(Received {
            advert: ReceivedAdvert {
                source: punted.source,
                priority: advert.priority(),
                max_advert_interval,
                addresses: advert.addresses().collect(),
            },
        })
    }

    /// Sends one advert for `instance` with `priority`.
    pub(crate) fn send_advert(&self, instance: &Instance, priority: u8) -> Result<()> {
        let config = instance.router.config();
        let params = AdvertParams {
            vrid: config.vrid,
            priority,
            max_advert_interval_cs: config.advert_interval.get(),
        };
        let mut frame = [0_u8; MAX_FRAME];
        let len = match config.primary_address {
            IpAddr::V4(source) => {
                let addresses: Vec<Ipv4Addr> = v4_addresses(&config.virtual_addresses);
                let style = instance.config.ipv4_checksum;
                build_ipv4_advert_with(&mut frame, &params, source, &addresses, style)
            }
            IpAddr::V6(source) => {
                let addresses: Vec<Ipv6Addr> = v6_addresses(&config.virtual_addresses);
                build_ipv6_advert(&mut frame, &params, &source, &addresses)
            }
        }
        .map_err(|err| anyhow::anyhow!("build advert: {err}"))?;
        self.socket.send(&frame[..len])?;
        Ok(())
    }

    /// Announces every virtual address with the virtual MAC: gratuitous ARP (RFC 9568 §6.4.2,
    /// sender and target hardware address = vMAC, erratum 7949) or unsolicited NA (§8.2).
    pub(crate) fn send_gratuitous(&self, instance: &Instance) -> Result<()> {
        let config = instance.router.config();
        let mut frame = [0_u8; 128];
        for address in &config.virtual_addresses {
            let len = match (address, config.primary_address) {
                (IpAddr::V4(vip), _) => build_gratuitous_arp(&mut frame, config.vrid, *vip),
                (IpAddr::V6(vip), IpAddr::V6(source)) => {
                    build_unsolicited_na(&mut frame, config.vrid, &source, vip)
                }
                (IpAddr::V6(_), IpAddr::V4(_)) => continue,
            }
            .map_err(|err| anyhow::anyhow!("build announcement for {address}: {err}"))?;
            self.socket.send(&frame[..len])?;
        }
        Ok(())
    }

    /// Registers `instance`'s virtual addresses and allowed peers with the XDP program.
    pub(crate) fn register_instance(&mut self, instance: &Instance) -> Result<()> {
        for address in &instance.config.virtual_addresses {
            self.dataplane.add_vip(*address, instance.config.vrid)?;
        }
        self.set_peers(
            instance.family(),
            instance.config.vrid,
            &instance.config.allowed_peers,
            true,
        )
    }

    /// Makes the data plane accept (`accept`) or stop accepting adverts from `peers` for
    /// (`family`, `vrid`). Peers are added before the instance record lists them and removed
    /// after, so no listed peer is ever refused.
    pub(crate) fn set_peers(
        &mut self,
        family: AddressFamily,
        vrid: u8,
        peers: &[IpAddr],
        accept: bool,
    ) -> Result<()> {
        let family = contract_family(family);
        for &peer in peers {
            if accept {
                self.dataplane.add_peer(family, vrid, peer)?;
            } else {
                self.dataplane.remove_peer(family, vrid, peer)?;
            }
        }
        Ok(())
    }

    /// Brings the data plane's VIP map in line after a reload changed the addresses of
    /// virtual router `vrid` from `old` to `new` in place.
    pub(crate) fn change_virtual_addresses(
        &mut self,
        vrid: u8,
        old: &[IpAddr],
        new: &[IpAddr],
    ) -> Result<()> {
        for gone in old.iter().filter(|address| !new.contains(address)) {
            self.dataplane.remove_vip(*gone)?;
        }
        for added in new.iter().filter(|address| !old.contains(address)) {
            self.dataplane.add_vip(*added, vrid)?;
        }
        Ok(())
    }

    /// Removes `instance` from the XDP program's maps.
    pub(crate) async fn forget_instance(&mut self, instance: &Instance) {
        let family = instance.family();
        let vrid = instance.config.vrid;
        for address in &instance.config.virtual_addresses {
            if let Err(err) = self.dataplane.remove_vip(*address) {
                tracing::warn!(interface = self.info.name, error = %err, "removing VIP from XDP");
            }
        }
        if let Err(err) = self
            .dataplane
            .remove_instance(contract_family(family), vrid)
        {
            tracing::warn!(interface = self.info.name, error = %err, "removing instance from XDP");
        }
        if let Err(err) = self.set_peers(family, vrid, &instance.config.allowed_peers, false) {
            tracing::warn!(interface = self.info.name, error = %err, "removing peers from XDP");
        }
        self.written.remove(&(family, vrid));
        self.set_vmac_filter(family, vrid, false).await;
    }

    /// Writes `instance`'s role and routine signature to the XDP program when they changed,
    /// and keeps the virtual MAC in the NIC's unicast filter exactly while Master.
    pub(crate) async fn sync_instance(&mut self, instance: &Instance) -> Result<()> {
        let status = instance.router.status();
        let config = instance.router.config();
        // Only the routine signature makes XDP absorb adverts; without one, priority 0 matches
        // no advert a Master sends (a resigning one is never routine).
        let dataplane_role = instance.router.dataplane_role();
        // A Master's and a resigning Master's record carries its own address: the program
        // yields only to adverts from another source.
        let (master_address, master_priority, master_interval) =
            match (dataplane_role, instance.router.routine_advert()) {
                (DataplaneRole::Master | DataplaneRole::Resigning, _) => (
                    config.primary_address,
                    status.priority,
                    config.advert_interval,
                ),
                (_, Some(routine)) => (
                    routine.source,
                    routine.priority,
                    routine.max_advert_interval,
                ),
                (_, None) => (
                    status.master_address.unwrap_or(config.primary_address),
                    0,
                    status.master_adver_interval,
                ),
            };
        let settings = InstanceSettings {
            role: match dataplane_role {
                DataplaneRole::Initialize => Role::Initialize,
                DataplaneRole::Backup => Role::Backup,
                DataplaneRole::Master => Role::Master,
                DataplaneRole::Resigning => Role::Resigning,
            },
            accept: status.accepts_virtual_traffic,
            master_address,
            master_priority,
            master_interval_cs: master_interval.get(),
            owner: instance.config.is_owner(),
            heartbeat_timeout: heartbeat_timeout(&instance.config),
            checksum_style: instance.config.ipv4_checksum,
            peers_listed: !instance.config.allowed_peers.is_empty(),
        };
        let family = instance.family();
        let vrid = config.vrid;
        if self.written.get(&(family, vrid)) == Some(&settings) {
            return Ok(());
        }
        self.dataplane
            .set_instance(contract_family(family), vrid, &settings)?;
        self.written.insert((family, vrid), settings);
        let forwarding = matches!(
            dataplane_role,
            DataplaneRole::Master | DataplaneRole::Resigning
        );
        self.set_vmac_filter(family, vrid, forwarding).await;
        Ok(())
    }

    async fn set_vmac_filter(&mut self, family: AddressFamily, vrid: u8, wanted: bool) {
        let present = self.vmac_filters.contains(&(family, vrid));
        if present == wanted {
            return;
        }
        let vmac = virtual_mac(contract_family(family), vrid);
        let result = if wanted {
            add_vmac_filter(&self.info.name, self.info.index, vmac).await
        } else {
            remove_vmac_filter(&self.info.name, self.info.index, vmac).await
        };
        match result {
            Ok(()) if wanted => self.vmac_filters.push((family, vrid)),
            Ok(()) => self.vmac_filters.retain(|entry| *entry != (family, vrid)),
            Err(err) => tracing::warn!(
                interface = self.info.name,
                error = %err,
                "updating the NIC unicast filter for the virtual MAC failed"
            ),
        }
    }
}

impl Drop for VrrpInterface {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

pub(crate) fn contract_family(family: AddressFamily) -> contract::AddressFamily {
    match family {
        AddressFamily::Ipv4 => contract::AddressFamily::Ipv4,
        AddressFamily::Ipv6 => contract::AddressFamily::Ipv6,
    }
}

fn v4_addresses(addresses: &[IpAddr]) -> Vec<Ipv4Addr> {
    addresses
        .iter()
        .filter_map(|address| match address {
            IpAddr::V4(v4) => Some(*v4),
            IpAddr::V6(_) => None,
        })
        .collect()
}

fn v6_addresses(addresses: &[IpAddr]) -> Vec<Ipv6Addr> {
    addresses
        .iter()
        .filter_map(|address| match address {
            IpAddr::V6(v6) => Some(*v6),
            IpAddr::V4(_) => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undecodable_adverts_are_rate_limited_per_interface_v2_peers_per_source() {
        let one: IpAddr = Ipv4Addr::new(192, 0, 2, 2).into();
        let other: IpAddr = Ipv4Addr::new(192, 0, 2, 3).into();
        let undecodable = NotFed::Undecodable("bad checksum".to_owned());
        assert_eq!(
            undecodable.rate_limit_key("eth0", one),
            undecodable.rate_limit_key("eth0", other)
        );
        let v2 = NotFed::Version2 {
            source: one,
            vrid: 1,
            interval: Centiseconds::DEFAULT,
        };
        assert_ne!(
            v2.rate_limit_key("eth0", one),
            v2.rate_limit_key("eth0", other)
        );
        assert_ne!(
            v2.rate_limit_key("eth0", one),
            undecodable.rate_limit_key("eth0", one)
        );
    }
}
