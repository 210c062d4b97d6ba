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
    advert::{Advert, AdvertParams, ChecksumStyle, DecodeError, IpContext, VersionMode},
    consts::{VRRP_GROUP_MAC_V4, VRRP_GROUP_MAC_V6, VRRP_TTL, VRRP_VERSION_2},
    counters::Counter,
    frames::{
        build_gratuitous_arp, build_ipv4_advert_packet, build_ipv4_advert_v2,
        build_ipv4_advert_v2_packet, build_ipv4_advert_with, build_ipv6_advert,
        build_ipv6_advert_packet, build_unsolicited_na,
    },
    maps::{self as contract, Role},
};

use super::{
    clock::instant_from_monotonic,
    events::DaemonEvent,
    instance::{Instance, heartbeat_timeout},
};
use crate::{
    config::InstanceConfig,
    dataplane::{
        AttachOptions, CounterValues, Dataplane, DataplaneError, DeliveredAdvert, IngressHook,
        InstanceSettings, PinnedInstance, XdpAttachMode, add_vmac_filter, remove_vmac_filter,
        virtual_mac,
    },
    net::{
        frame_batch::FrameBatch, interface::InterfaceInfo, packet_socket::PacketSocket,
        raw_ip_socket::RawIpSocket, sysctl,
    },
    proto::{
        AddressFamily, AdvertVersion, Centiseconds, DataplaneRole, Event, ReceivedAdvert,
        RoutineAdvert, VirtualRouter,
    },
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
    /// A VRRP version 2 peer of an instance that speaks version 3 only: reported, not
    /// processed.
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
    /// Families whose VRRP multicast MAC the socket joined, each with its raw IP socket for
    /// adverts to unicast peers.
    joined: Vec<(AddressFamily, RawIpSocket)>,
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
    /// How many of `written` are Master or Resigning: the heartbeat is needed while any is,
    /// checked every loop turn without a scan.
    forwarding_written: usize,
    /// Whether the virtual MAC of (family, vrid) is in the NIC's unicast filter.
    vmac_filters: Vec<(AddressFamily, u8)>,
    /// When the Backups following a Master through the kernel's stamps are checked next
    /// (`stamps`).
    pub(crate) sweep_at: Option<Instant>,
    /// Multicast adverts and announcements held while `holding` (see [`Self::hold_frames`]).
    held: FrameBatch,
    holding: bool,
    /// The data plane's `ringbuf_full` count when last reported (see
    /// [`Self::report_ring_losses`]).
    ring_losses_seen: u64,
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
                load_in_helper: true,
            },
        )
        .context("attach XDP")?;
        let mut events = dataplane.take_events()?;
        // An adopted data plane's earlier losses were the previous run's to report.
        let ring_losses_seen = dataplane.counter(Counter::RingBufFull).unwrap_or_default();
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
            forwarding_written: 0,
            sweep_at: None,
            vmac_filters: Vec::new(),
            held: FrameBatch::default(),
            holding: false,
            ring_losses_seen,
        };
        interface.join_families(families)?;
        Ok(interface)
    }

    /// Joins the VRRP multicast MAC of each of `families` not joined yet, so NICs that filter
    /// multicast deliver those adverts to the data plane (also when a reload adds the first
    /// instance of a family), and opens the family's raw IP socket for `unicast_peers`.
    pub(crate) fn join_families(&mut self, families: &[AddressFamily]) -> Result<()> {
        for &family in families {
            if self.joined.iter().any(|(joined, _)| *joined == family) {
                continue;
            }
            self.socket.join_multicast(match family {
                AddressFamily::Ipv4 => VRRP_GROUP_MAC_V4,
                AddressFamily::Ipv6 => VRRP_GROUP_MAC_V6,
            })?;
            let unicast = RawIpSocket::open(family, self.info.index, &self.info.name)?;
            self.joined.push((family, unicast));
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

    /// When the heartbeat is next due, while the program needs one: only a Master record can be
    /// orphaned, and only a Master or resigning one yields (`orphan_yielded`). A previous run's
    /// records not rewritten yet may be Master too. An interface of Backups is not woken for it
    /// (at 10 ms adverts that would be a hundred wake-ups and two syscalls each per second).
    pub(crate) fn next_heartbeat(&self) -> Option<Instant> {
        self.heartbeat_needed()
            .then(|| self.last_heartbeat + self.heartbeat_period)
    }

    /// Whether a loop turn awake at `now` refreshes the heartbeat: from half a period on, so
    /// a Master's heartbeat rides on the wake-ups for its adverts rather than waking the loop
    /// once more in between ([`Self::next_heartbeat`] stays the latest).
    pub(crate) fn heartbeat_due(&self, now: Instant) -> bool {
        self.heartbeat_needed() && now >= self.last_heartbeat + self.heartbeat_period / 2
    }

    fn heartbeat_needed(&self) -> bool {
        self.forwarding_written > 0 || self.dataplane.holds_pinned()
    }

    /// Records `settings` (or none) as written for `key`, keeping `forwarding_written`.
    fn set_written(&mut self, key: (AddressFamily, u8), settings: Option<InstanceSettings>) {
        let forwarding =
            |settings: &InstanceSettings| matches!(settings.role, Role::Master | Role::Resigning);
        let previous = match settings {
            Some(settings) => self.written.insert(key, settings),
            None => self.written.remove(&key),
        };
        if previous.as_ref().is_some_and(forwarding) {
            self.forwarding_written -= 1;
        }
        if settings.as_ref().is_some_and(forwarding) {
            self.forwarding_written += 1;
        }
    }

    /// Refreshes the heartbeat. Returns true when the program yielded some instance to
    /// another router's advert since the last refresh (`orphan_yielded` moved): after a loop
    /// stall longer than the heartbeat timeout the kernel may have decided what the router
    /// did not (see [`Self::forget_yield_behind`]).
    pub(crate) fn refresh_heartbeat(&mut self, now: Instant) -> bool {
        self.write_heartbeat(now);
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

    /// Writes the heartbeat without looking for yields (the next [`Self::refresh_heartbeat`]
    /// finds them: the count only grows).
    fn write_heartbeat(&mut self, now: Instant) {
        // Retry at the next period on failure rather than spinning.
        self.last_heartbeat = now;
        if let Err(err) = self.dataplane.refresh_heartbeat() {
            tracing::error!(interface = self.info.name, error = %err, "XDP heartbeat failed");
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
            self.set_written((family, config.vrid), None);
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

    /// Decodes a punted advert with the codec, accepting checksums in `style` and the VRRP
    /// `versions` (the instance's).
    pub(crate) fn decode(
        &self,
        punted: &DeliveredAdvert,
        style: ChecksumStyle,
        versions: VersionMode,
    ) -> Result<Received, NotFed> {
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
        let advert = Advert::decode_message_accepting(&punted.message, context, style, versions)
            .map_err(|err| match err {
                DecodeError::ChecksumOtherStyle { sender } => NotFed::OtherChecksumStyle { sender },
                DecodeError::Version2 {
                    vrid,
                    advert_interval_seconds,
                    ..
                } => NotFed::Version2 {
                    source: punted.source,
                    vrid,
                    interval: Centiseconds::new(u16::from(advert_interval_seconds.max(1)) * 100)
                        .unwrap_or(Centiseconds::MAX),
                },
                err => NotFed::Undecodable(err.to_string()),
            })?;
        // A VRRPv2 Adver Int above 40 s has no VRRPv3 equivalent (RFC 9568 §8.4 converts to
        // centiseconds, at most 4095): xvrrp's own VRRPv2 intervals stop at 40 s.
        let max_advert_interval = Centiseconds::new(advert.max_advert_interval_cs())
            .map_err(|err| NotFed::Undecodable(err.to_string()))?;
        let version = if advert.version() == VRRP_VERSION_2 {
            AdvertVersion::V2
        } else {
            AdvertVersion::V3
        };
        Ok(Received {
            advert: ReceivedAdvert {
                source: punted.source,
                priority: advert.priority(),
                max_advert_interval,
                addresses: advert.addresses().collect(),
                version,
            },
        })
    }

    /// Sends one advert for `instance` with `priority` in each version it speaks (VRRPv3,
    /// VRRPv2, or with `"2+3"`, RFC 9568 §8.4, a VRRPv2 and then a VRRPv3 one): to the VRRP
    /// multicast group, or as unicast IP to each of its `unicast_peers` (every peer is tried;
    /// the first failure is returned).
    pub(crate) fn send_advert(&mut self, instance: &Instance, priority: u8) -> Result<()> {
        let config = instance.router.config();
        let params = AdvertParams {
            vrid: config.vrid,
            priority,
            max_advert_interval_cs: config.advert_interval.get(),
        };
        let mut frame = [0_u8; MAX_FRAME];
        let versions = [AdvertVersion::V2, AdvertVersion::V3]
            .into_iter()
            .filter(|version| match version {
                AdvertVersion::V2 => config.version.speaks_v2(),
                AdvertVersion::V3 => config.version.speaks_v3(),
            });
        let peers = &instance.config.unicast_peers;
        if peers.is_empty() {
            for version in versions {
                let len = build_advert_frame(&mut frame, instance, &params, version)?;
                self.emit(&frame[..len])?;
            }
            return Ok(());
        }
        let socket = self
            .joined
            .iter()
            .find(|(family, _)| *family == config.family)
            .map(|(_, socket)| socket)
            .context("no raw IP socket for the family")?;
        let mut first_error = None;
        for version in versions {
            for &peer in peers {
                let sent = build_advert_packet(&mut frame, instance, &params, peer, version)
                    .and_then(|len| Ok(socket.send_to(&frame[..len], peer)?))
                    .with_context(|| format!("to unicast peer {peer}"));
                if let Err(err) = sent {
                    first_error.get_or_insert(err);
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Announces every virtual address with the virtual MAC: gratuitous ARP (RFC 9568 §6.4.2,
    /// sender and target hardware address = vMAC, erratum 7949) or unsolicited NA (§8.2).
    /// Nothing with `lan_announcements = false` (a hook moves the addresses instead).
    pub(crate) fn send_gratuitous(&mut self, instance: &Instance) -> Result<()> {
        if !instance.config.lan_announcements {
            return Ok(());
        }
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
            self.emit(&frame[..len])?;
        }
        Ok(())
    }

    /// Warns when the data plane lost adverts because the ring buffer was full since the last
    /// call (the loop calls it with the status refresh, once a second): a lost advert is never
    /// silent, whichever process loaded the program (the kernel's own rate-limited line
    /// reaches the log only through the loader's log ring). The count is also in `status`.
    pub(crate) fn report_ring_losses(&mut self) {
        let Ok(total) = self.dataplane.counter(Counter::RingBufFull) else {
            return;
        };
        if total > self.ring_losses_seen {
            tracing::warn!(
                interface = self.info.name,
                lost = total - self.ring_losses_seen,
                total,
                "advert ring buffer full: adverts lost (the daemon did not read them in time)"
            );
        }
        self.ring_losses_seen = total;
    }

    /// From now on, multicast adverts and announcements are held until [`Self::release_frames`]
    /// sends them in one `sendmmsg`, in the order they were made: the Masters whose adverts
    /// fall due together (a loop turn's worth) cost one system call, not one each.
    pub(crate) fn hold_frames(&mut self) {
        self.holding = true;
    }

    /// Sends the frames held since [`Self::hold_frames`] and stops holding. A frame the kernel
    /// refuses does not stop the others.
    pub(crate) fn release_frames(&mut self) -> Result<()> {
        self.holding = false;
        if self.held.is_empty() {
            return Ok(());
        }
        let sent = self.socket.send_batch(&self.held);
        let count = self.held.len();
        self.held.clear();
        sent.with_context(|| format!("send {count} held adverts/announcements"))
    }

    /// Sends `frame` now, or holds it while holding.
    fn emit(&mut self, frame: &[u8]) -> Result<()> {
        if self.holding {
            self.held.push(frame);
            return Ok(());
        }
        Ok(self.socket.send(frame)?)
    }

    /// Sends one complete Ethernet frame built elsewhere (Router Advertisements, never held).
    pub(crate) fn send_frame(&self, frame: &[u8]) -> Result<()> {
        Ok(self.socket.send(frame)?)
    }

    /// Registers `instance`'s virtual addresses and allowed peers with the XDP program.
    pub(crate) fn register_instance(&mut self, instance: &Instance) -> Result<()> {
        for address in &instance.config.virtual_addresses {
            self.dataplane.add_vip(*address, instance.config.vrid)?;
        }
        self.set_peers(
            instance.family(),
            instance.config.vrid,
            &instance.config.accepted_peers(),
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
        if let Err(err) = self.set_peers(family, vrid, &instance.config.accepted_peers(), false) {
            tracing::warn!(interface = self.info.name, error = %err, "removing peers from XDP");
        }
        self.set_written((family, vrid), None);
        self.set_vmac_filter(family, vrid, false).await;
    }

    /// Writes `instance`'s role and routine signature to the XDP program when they changed,
    /// and keeps the virtual MAC in the NIC's unicast filter while the instance has a record
    /// ([`Self::forget_instance`] removes it).
    pub(crate) async fn sync_instance(&mut self, instance: &Instance) -> Result<()> {
        let dataplane_role = instance.router.dataplane_role();
        let settings =
            dataplane_settings(instance, dataplane_role, instance.router.routine_advert());
        let family = instance.family();
        let vrid = instance.config.vrid;
        if self.written.get(&(family, vrid)) == Some(&settings) {
            return Ok(());
        }
        let forwarding = matches!(
            dataplane_role,
            DataplaneRole::Master | DataplaneRole::Resigning
        );
        // A record must not start orphaned: the heartbeat pauses while no record needs it, and
        // a burst of records (hundreds of instances changing role at once, each awaiting
        // netlink) outlasts a heartbeat period within one loop turn.
        let now = Instant::now();
        if forwarding && !self.heartbeat_needed() || self.heartbeat_due(now) {
            self.write_heartbeat(now);
        }
        self.dataplane
            .set_instance(contract_family(family), vrid, &settings)?;
        self.set_written((family, vrid), Some(settings));
        // In the filter from the first record on, whatever the role: a netlink round trip
        // (~0.1 ms) at each transition to Master delayed its first advert. While Backup the
        // program drops what the filter lets through.
        self.set_vmac_filter(family, vrid, true).await;
        Ok(())
    }

    /// What the previous run's data plane recorded for `instance` (adopted data planes only),
    /// once: the first write of its record replaces it.
    pub(crate) fn take_pinned(&mut self, instance: &Instance) -> Option<PinnedInstance> {
        self.dataplane
            .take_pinned(contract_family(instance.family()), instance.config.vrid)
    }

    /// Removes from an adopted data plane what the previous run registered and `configured`
    /// (the instances on this interface now) no longer has: instance records, VIPs, peers.
    pub(crate) fn forget_unconfigured(&mut self, configured: &[&InstanceConfig]) -> Result<()> {
        let wanted = |family: contract::AddressFamily, vrid: u8| {
            configured
                .iter()
                .any(|config| contract_family(config.family) == family && config.vrid == vrid)
        };
        let removed = self.dataplane.retain(
            wanted,
            |address, vrid| {
                configured.iter().any(|config| {
                    config.vrid == vrid && config.virtual_addresses.contains(&address)
                })
            },
            |family, vrid, peer| {
                configured.iter().any(|config| {
                    contract_family(config.family) == family
                        && config.vrid == vrid
                        && config.allowed_peers.contains(&peer)
                })
            },
        )?;
        if removed > 0 {
            tracing::info!(
                interface = self.info.name,
                removed,
                "removed what the previous run registered and this configuration does not have"
            );
        }
        Ok(())
    }

    /// Leaves the data plane running and pinned for the next daemon (a handover).
    pub(crate) fn leave_pinned(&mut self) {
        self.dataplane.leave_pinned();
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

/// The record `instance` has in the data plane in `state`, publishing `routine`.
pub(crate) fn dataplane_settings(
    instance: &Instance,
    dataplane_role: DataplaneRole,
    routine: Option<RoutineAdvert>,
) -> InstanceSettings {
    let status = instance.router.status();
    let config = instance.router.config();
    // Only the routine signature makes XDP absorb adverts; without one, priority 0 matches
    // no advert a Master sends (a resigning one is never routine). A Master's and a resigning
    // Master's record carries its own address: the program yields only to adverts from
    // another source.
    let (master_address, master_priority, master_interval) = match (dataplane_role, routine) {
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
    InstanceSettings {
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
        peers_listed: !instance.config.accepted_peers().is_empty(),
        versions: instance.config.version,
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

/// Builds into `buf` the IP packet of an advert of `instance` with `params` to unicast `peer`
/// (same family as the instance; validated), its checksum over the peer's address.
fn build_advert_packet(
    buf: &mut [u8],
    instance: &Instance,
    params: &AdvertParams,
    peer: IpAddr,
    version: AdvertVersion,
) -> Result<usize> {
    let config = instance.router.config();
    match (config.primary_address, peer, version) {
        (IpAddr::V4(source), IpAddr::V4(peer), AdvertVersion::V2) => {
            let addresses = v4_addresses(&config.virtual_addresses);
            build_ipv4_advert_v2_packet(buf, params, source, peer, &addresses)
        }
        (IpAddr::V4(source), IpAddr::V4(peer), AdvertVersion::V3) => {
            let addresses = v4_addresses(&config.virtual_addresses);
            let style = instance.config.ipv4_checksum;
            build_ipv4_advert_packet(buf, params, source, peer, &addresses, style)
        }
        (IpAddr::V6(source), IpAddr::V6(peer), AdvertVersion::V3) => {
            let addresses = v6_addresses(&config.virtual_addresses);
            build_ipv6_advert_packet(buf, params, &source, &peer, &addresses)
        }
        _ => anyhow::bail!("peer {peer} is not of the instance's family and version"),
    }
    .map_err(|err| anyhow::anyhow!("build advert: {err}"))
}

/// The multicast advert frame of `instance` in `version` (VRRPv2 is IPv4 only: validation
/// refuses it on IPv6 instances).
fn build_advert_frame(
    buf: &mut [u8],
    instance: &Instance,
    params: &AdvertParams,
    version: AdvertVersion,
) -> Result<usize> {
    let config = instance.router.config();
    match (config.primary_address, version) {
        (IpAddr::V4(source), AdvertVersion::V2) => {
            let addresses = v4_addresses(&config.virtual_addresses);
            build_ipv4_advert_v2(buf, params, source, &addresses)
        }
        (IpAddr::V4(source), AdvertVersion::V3) => {
            let addresses = v4_addresses(&config.virtual_addresses);
            let style = instance.config.ipv4_checksum;
            build_ipv4_advert_with(buf, params, source, &addresses, style)
        }
        (IpAddr::V6(source), AdvertVersion::V3) => {
            let addresses = v6_addresses(&config.virtual_addresses);
            build_ipv6_advert(buf, params, &source, &addresses)
        }
        (IpAddr::V6(_), AdvertVersion::V2) => anyhow::bail!("VRRPv2 has no IPv6 adverts"),
    }
    .map_err(|err| anyhow::anyhow!("build advert: {err}"))
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
