//! Typed writes to the data-plane maps. Every write replaces a whole value in one map update, so
//! the XDP program never sees a half-written record (see `vrrp_common::maps`).

use std::{net::IpAddr, time::Duration};

use aya::maps::{Array, HashMap, MapData, MapError, PerCpuArray, PerCpuValues};
use vrrp_common::{
    advert::{ChecksumStyle, VersionMode},
    consts::{virtual_mac_v4, virtual_mac_v6},
    counters::InstanceCounters,
    maps::{
        AddressFamily, CONTROL_MAP, Control, INSTANCE_STATS_MAP, INSTANCES_MAP, Instance,
        InstanceKey, PEERS_MAP, PeerEntry, PeerKey, ROLES_MAP, Role, RoleEntry, VIPS4_MAP,
        VIPS6_MAP, Vip4Key, Vip6Key, VipTarget,
    },
};

use super::{Dataplane, DataplaneError};

/// What the XDP program needs to know about one virtual router; written on every role change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InstanceSettings {
    /// Our role.
    pub role: Role,
    /// Accept packets addressed to the VIPs while Master: Accept_Mode, or priority 255 (the
    /// owner always accepts, RFC 5798 §6.4.3).
    pub accept: bool,
    /// The current Master's primary address, as routine adverts carry it (ours while Master).
    pub master_address: IpAddr,
    /// The current Master's priority.
    pub master_priority: u8,
    /// The current Master's Max Advertise Interval in centiseconds.
    pub master_interval_cs: u16,
    /// The address owner (priority 255): its VIPs' resolution is never dropped.
    pub owner: bool,
    /// Without a heartbeat for this long the instance stops acting as Master (rounded up to
    /// centiseconds; see `Instance::heartbeat_timeout_cs`).
    pub heartbeat_timeout: Duration,
    /// The checksum adverts must carry (IPv4).
    pub checksum_style: ChecksumStyle,
    /// Only the peers added with [`Dataplane::add_peer`] are accepted (`allowed_peers`).
    pub peers_listed: bool,
    /// The VRRP versions adverts may carry (IPv4; `version`).
    pub versions: VersionMode,
}

impl InstanceSettings {
    /// The [`INSTANCES_MAP`] value of virtual router (`family`, `vrid`) with these settings:
    /// what [`Dataplane::set_instance`] writes (and a restarted daemon compares a pinned record
    /// with).
    pub fn record(&self, family: AddressFamily, vrid: u8) -> Instance {
        Instance {
            master_addr_be: address_bytes(self.master_address),
            master_interval_cs: self.master_interval_cs,
            vmac: virtual_mac(family, vrid),
            role: self.role as u8,
            master_priority: self.master_priority,
            accept: u8::from(self.accept),
            owner: u8::from(self.owner),
            heartbeat_timeout_cs: u16::try_from(self.heartbeat_timeout.as_millis().div_ceil(10))
                .unwrap_or(u16::MAX),
            checksum_style: self.checksum_style as u8,
            peers_listed: u8::from(self.peers_listed),
            versions: self.versions as u8,
            _pad: 0,
        }
    }
}

/// The virtual MAC of (`family`, `vrid`) (RFC 5798 §7.3), from the codec's constants.
pub fn virtual_mac(family: AddressFamily, vrid: u8) -> [u8; 6] {
    match family {
        AddressFamily::Ipv4 => virtual_mac_v4(vrid),
        AddressFamily::Ipv6 => virtual_mac_v6(vrid),
    }
}

/// CLOCK_MONOTONIC now, the clock of `bpf_ktime_get_ns` (compare with
/// [`Dataplane::master_last_seen`] and [`DeliveredAdvert::received`](super::DeliveredAdvert)).
pub fn monotonic_now() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    Duration::new(
        u64::try_from(now.tv_sec).unwrap_or(0),
        u32::try_from(now.tv_nsec).unwrap_or(0),
    )
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

fn address_bytes(address: IpAddr) -> [u8; 16] {
    let mut bytes = [0; 16];
    match address {
        IpAddr::V4(v4) => bytes[..4].copy_from_slice(&v4.octets()),
        IpAddr::V6(v6) => bytes = v6.octets(),
    }
    bytes
}

/// The MAC of `ifname` in the caller's network namespace (SIOCGIFHWADDR).
pub(super) fn interface_mac(ifname: &str) -> Result<[u8; 6], DataplaneError> {
    let op = "read the interface MAC";
    let name = ifname.as_bytes();
    // SAFETY: ifreq is plain data; zero is a valid initial value.
    let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
    if name.len() >= request.ifr_name.len() {
        return Err(DataplaneError::io(
            ifname,
            op,
            std::io::ErrorKind::InvalidInput.into(),
        ));
    }
    for (slot, byte) in request.ifr_name.iter_mut().zip(name) {
        *slot = *byte as libc::c_char;
    }
    // SAFETY: a plain socket call; the fd is closed below.
    let socket = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if socket < 0 {
        return Err(DataplaneError::io(
            ifname,
            op,
            std::io::Error::last_os_error(),
        ));
    }
    // SAFETY: SIOCGIFHWADDR reads the NUL-terminated name and writes the address into the ifreq
    // we own.
    let rc = unsafe { libc::ioctl(socket, libc::SIOCGIFHWADDR, &mut request) };
    let error = std::io::Error::last_os_error();
    // SAFETY: closing the socket we opened.
    unsafe { libc::close(socket) };
    if rc != 0 {
        return Err(DataplaneError::io(ifname, op, error));
    }
    // SAFETY: after a successful SIOCGIFHWADDR the union holds the hardware address.
    let data = unsafe { request.ifr_ifru.ifru_hwaddr.sa_data };
    Ok(std::array::from_fn(|index| data[index] as u8))
}

impl Dataplane {
    fn hash_map<K: aya::Pod, V: aya::Pod>(
        &mut self,
        name: &'static str,
    ) -> Result<HashMap<&mut MapData, K, V>, DataplaneError> {
        let map = self.maps.get_mut(name)?;
        HashMap::try_from(map)
            .map_err(|source| DataplaneError::map(&self.ifname, "open", name, source))
    }

    /// The key of virtual router `vrid` of `family` on this interface.
    pub fn instance_key(&self, family: AddressFamily, vrid: u8) -> InstanceKey {
        InstanceKey::new(self.ifindex, family, vrid)
    }

    /// Adds or replaces virtual router (`family`, `vrid`). Call it on every role change and
    /// whenever the Master (address, priority, interval) changes: routine adverts are absorbed
    /// in the kernel only while they match these settings. The last-seen stamp is reset to 0
    /// (none absorbed yet), so a stamp always means an advert matching these settings.
    pub fn set_instance(
        &mut self,
        family: AddressFamily,
        vrid: u8,
        settings: &InstanceSettings,
    ) -> Result<(), DataplaneError> {
        let key = self.instance_key(family, vrid);
        self.pinned.remove(&(family, vrid));
        let value = settings.record(family, vrid);
        let ifname = self.ifname.clone();
        self.hash_map::<InstanceKey, Instance>(INSTANCES_MAP)?
            .insert(key, value, 0)
            .map_err(|source| DataplaneError::map(&ifname, "write", INSTANCES_MAP, source))?;
        // After the record: stamps from here on are of adverts matching it.
        self.last_seen.clear(key.slot());
        // After the instance: the fast path never sees a role the instance does not have yet.
        self.set_role(&key, settings.role)
    }

    /// Removes the instance records (with their counters), VIPs and peers the keep functions
    /// refuse: what an adopted data plane holds that the configuration no longer has. Returns
    /// how many entries went.
    pub fn retain(
        &mut self,
        keep_instance: impl Fn(AddressFamily, u8) -> bool,
        keep_vip: impl Fn(IpAddr, u8) -> bool,
        keep_peer: impl Fn(AddressFamily, u8, IpAddr) -> bool,
    ) -> Result<usize, DataplaneError> {
        let ifname = self.ifname.clone();
        let read = |map: &'static str| {
            let ifname = ifname.clone();
            move |source| DataplaneError::map(&ifname, "read", map, source)
        };
        let instances: Vec<InstanceKey> = self
            .hash_map::<InstanceKey, Instance>(INSTANCES_MAP)?
            .keys()
            .collect::<Result<_, _>>()
            .map_err(read(INSTANCES_MAP))?;
        let mut vips: Vec<(IpAddr, u8)> = self
            .hash_map::<Vip4Key, VipTarget>(VIPS4_MAP)?
            .iter()
            .map(|entry| entry.map(|(key, target)| (IpAddr::from(key.addr_be), target.vrid)))
            .collect::<Result<_, _>>()
            .map_err(read(VIPS4_MAP))?;
        vips.extend(
            self.hash_map::<Vip6Key, VipTarget>(VIPS6_MAP)?
                .iter()
                .map(|entry| entry.map(|(key, target)| (IpAddr::from(key.addr_be), target.vrid)))
                .collect::<Result<Vec<_>, _>>()
                .map_err(read(VIPS6_MAP))?,
        );
        let peers: Vec<PeerKey> = self
            .hash_map::<PeerKey, PeerEntry>(PEERS_MAP)?
            .keys()
            .collect::<Result<_, _>>()
            .map_err(read(PEERS_MAP))?;
        let mut removed = 0;
        for key in instances {
            let Some(family) = AddressFamily::from_u8(key.family) else {
                continue;
            };
            if !keep_instance(family, key.vrid) {
                self.remove_instance(family, key.vrid)?;
                removed += 1;
            }
        }
        for (address, vrid) in vips {
            if !keep_vip(address, vrid) {
                self.remove_vip(address)?;
                removed += 1;
            }
        }
        for key in peers {
            let Some(family) = AddressFamily::from_u8(key.instance.family) else {
                continue;
            };
            let peer = match family {
                AddressFamily::Ipv4 => {
                    IpAddr::from(<[u8; 4]>::try_from(&key.addr_be[..4]).unwrap_or_default())
                }
                AddressFamily::Ipv6 => IpAddr::from(key.addr_be),
            };
            if !keep_peer(family, key.instance.vrid, peer) {
                self.remove_peer(family, key.instance.vrid, peer)?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// The role the record of virtual router (`family`, `vrid`) holds now: the last one
    /// written, or Backup where the program yielded to another router's advert (an orphaned
    /// or resigning Master). `None` when no such record exists.
    pub fn recorded_role(
        &mut self,
        family: AddressFamily,
        vrid: u8,
    ) -> Result<Option<Role>, DataplaneError> {
        let key = self.instance_key(family, vrid);
        let ifname = self.ifname.clone();
        match self
            .hash_map::<InstanceKey, Instance>(INSTANCES_MAP)?
            .get(&key, 0)
        {
            Ok(instance) => Ok(Role::from_u8(instance.role)),
            Err(MapError::KeyNotFound) => Ok(None),
            Err(source) => Err(DataplaneError::map(&ifname, "read", INSTANCES_MAP, source)),
        }
    }

    /// Removes virtual router (`family`, `vrid`) and zeroes its counters.
    pub fn remove_instance(
        &mut self,
        family: AddressFamily,
        vrid: u8,
    ) -> Result<(), DataplaneError> {
        let key = self.instance_key(family, vrid);
        self.pinned.remove(&(family, vrid));
        // Role first: the fast path stops treating it as Master before the instance goes.
        self.set_role(&key, Role::Initialize)?;
        let ifname = self.ifname.clone();
        ignore_missing(
            self.hash_map::<InstanceKey, Instance>(INSTANCES_MAP)?
                .remove(&key),
        )
        .map_err(|source| DataplaneError::map(&ifname, "remove from", INSTANCES_MAP, source))?;
        let map = self.maps.get_mut(INSTANCE_STATS_MAP)?;
        let mut stats = PerCpuArray::<_, InstanceCounters>::try_from(map)
            .map_err(|source| DataplaneError::map(&ifname, "open", INSTANCE_STATS_MAP, source))?;
        let cpus = aya::util::nr_cpus()
            .map_err(|(_, source)| DataplaneError::io(&ifname, "count possible CPUs", source))?;
        let zeros = PerCpuValues::try_from(vec![InstanceCounters::ZERO; cpus])
            .map_err(|source| DataplaneError::io(&ifname, "size per-CPU counters", source))?;
        stats
            .set(key.slot(), zeros, 0)
            .map_err(|source| DataplaneError::map(&ifname, "reset", INSTANCE_STATS_MAP, source))
    }

    fn set_role(&mut self, key: &InstanceKey, role: Role) -> Result<(), DataplaneError> {
        let ifname = self.ifname.clone();
        let map = self.maps.get_mut(ROLES_MAP)?;
        let mut roles = Array::<_, RoleEntry>::try_from(map)
            .map_err(|source| DataplaneError::map(&ifname, "open", ROLES_MAP, source))?;
        let entry = RoleEntry {
            role: role as u8,
            _pad: [0; 3],
        };
        roles
            .set(key.slot(), entry, 0)
            .map_err(|source| DataplaneError::map(&ifname, "write", ROLES_MAP, source))
    }

    /// When the XDP program last absorbed a routine advert of the current Master of
    /// (`family`, `vrid`), as CLOCK_MONOTONIC time; zero if none since [`Self::set_instance`]
    /// last wrote it. A Backup restarts its Master_Down_Timer from this (RFC 5798 §6.4.2).
    pub fn master_last_seen(&self, family: AddressFamily, vrid: u8) -> Duration {
        self.last_seen.get(self.instance_key(family, vrid).slot())
    }

    /// Accepts adverts from `peer` for virtual router (`family`, `vrid`) once its settings list
    /// peers ([`InstanceSettings::peers_listed`]); add them before setting that.
    pub fn add_peer(
        &mut self,
        family: AddressFamily,
        vrid: u8,
        peer: IpAddr,
    ) -> Result<(), DataplaneError> {
        let key = self.peer_key(family, vrid, peer);
        let ifname = self.ifname.clone();
        self.hash_map::<PeerKey, PeerEntry>(PEERS_MAP)?
            .insert(key, PeerEntry { _reserved: [0; 4] }, 0)
            .map_err(|source| DataplaneError::map(&ifname, "write", PEERS_MAP, source))
    }

    /// Stops accepting `peer` for (`family`, `vrid`) (no error if it was not there).
    pub fn remove_peer(
        &mut self,
        family: AddressFamily,
        vrid: u8,
        peer: IpAddr,
    ) -> Result<(), DataplaneError> {
        let key = self.peer_key(family, vrid, peer);
        let ifname = self.ifname.clone();
        ignore_missing(self.hash_map::<PeerKey, PeerEntry>(PEERS_MAP)?.remove(&key))
            .map_err(|source| DataplaneError::map(&ifname, "remove from", PEERS_MAP, source))
    }

    fn peer_key(&self, family: AddressFamily, vrid: u8, peer: IpAddr) -> PeerKey {
        PeerKey {
            instance: self.instance_key(family, vrid),
            addr_be: address_bytes(peer),
        }
    }

    /// Makes `address` a VIP of virtual router `vrid` (of the address's family): the program
    /// answers ARP/NS for it while that router is Master and drops them otherwise.
    pub fn add_vip(&mut self, address: IpAddr, vrid: u8) -> Result<(), DataplaneError> {
        let ifname = self.ifname.clone();
        let target = VipTarget { vrid, _pad: [0; 3] };
        let written = match address {
            IpAddr::V4(v4) => self
                .hash_map::<Vip4Key, VipTarget>(VIPS4_MAP)?
                .insert(
                    Vip4Key {
                        addr_be: v4.octets(),
                    },
                    target,
                    0,
                )
                .map_err(|source| DataplaneError::map(&ifname, "write", VIPS4_MAP, source)),
            IpAddr::V6(v6) => self
                .hash_map::<Vip6Key, VipTarget>(VIPS6_MAP)?
                .insert(
                    Vip6Key {
                        addr_be: v6.octets(),
                    },
                    target,
                    0,
                )
                .map_err(|source| DataplaneError::map(&ifname, "write", VIPS6_MAP, source)),
        };
        written.and_then(|()| self.refresh_vip_filter())
    }

    /// Removes a VIP (no error if it was not there).
    pub fn remove_vip(&mut self, address: IpAddr) -> Result<(), DataplaneError> {
        let ifname = self.ifname.clone();
        let removed = match address {
            IpAddr::V4(v4) => ignore_missing(
                self.hash_map::<Vip4Key, VipTarget>(VIPS4_MAP)?
                    .remove(&Vip4Key {
                        addr_be: v4.octets(),
                    }),
            )
            .map_err(|source| DataplaneError::map(&ifname, "remove from", VIPS4_MAP, source)),
            IpAddr::V6(v6) => ignore_missing(
                self.hash_map::<Vip6Key, VipTarget>(VIPS6_MAP)?
                    .remove(&Vip6Key {
                        addr_be: v6.octets(),
                    }),
            )
            .map_err(|source| DataplaneError::map(&ifname, "remove from", VIPS6_MAP, source)),
        };
        removed.and_then(|()| self.refresh_vip_filter())
    }

    /// Recomputes the control record's VIP filter from the VIP maps (at most a few thousand
    /// keys, only when VIPs change) and writes it.
    fn refresh_vip_filter(&mut self) -> Result<(), DataplaneError> {
        let ifname = self.ifname.clone();
        let mut last_bytes = Vec::new();
        for key in self.hash_map::<Vip4Key, VipTarget>(VIPS4_MAP)?.keys() {
            let key =
                key.map_err(|source| DataplaneError::map(&ifname, "read", VIPS4_MAP, source))?;
            last_bytes.push(key.addr_be[3]);
        }
        for key in self.hash_map::<Vip6Key, VipTarget>(VIPS6_MAP)?.keys() {
            let key =
                key.map_err(|source| DataplaneError::map(&ifname, "read", VIPS6_MAP, source))?;
            last_bytes.push(key.addr_be[15]);
        }
        self.control.vip_last_bytes = Control::vip_filter(last_bytes);
        self.put_control()
    }

    /// Tells the program the daemon is alive. Call it at least every third of the shortest
    /// instance heartbeat timeout; without it instances stop acting as Master (fail-safe for a
    /// daemon that died while the pinned program kept running).
    pub fn refresh_heartbeat(&mut self) -> Result<(), DataplaneError> {
        self.control.heartbeat_ns = nanos(monotonic_now());
        self.put_control()
    }

    /// Sets the heartbeat to `age` in the past: lets tests show the fail-safe without waiting
    /// for the timeout.
    #[cfg(feature = "test-hooks")]
    pub fn backdate_heartbeat(&mut self, age: Duration) -> Result<(), DataplaneError> {
        self.control.heartbeat_ns = nanos(monotonic_now().saturating_sub(age));
        self.put_control()
    }

    fn control_array(&mut self) -> Result<Array<&mut MapData, Control>, DataplaneError> {
        let map = self.maps.get_mut(CONTROL_MAP)?;
        Array::try_from(map)
            .map_err(|source| DataplaneError::map(&self.ifname, "open", CONTROL_MAP, source))
    }

    /// Writes the cached control record (one map update).
    pub(super) fn put_control(&mut self) -> Result<(), DataplaneError> {
        let ifname = self.ifname.clone();
        let control = self.control;
        self.control_array()?
            .set(0, control, 0)
            .map_err(|source| DataplaneError::map(&ifname, "write", CONTROL_MAP, source))
    }
}

/// Removing an absent key is not an error for us.
fn ignore_missing(result: Result<(), MapError>) -> Result<(), MapError> {
    match result {
        Err(MapError::KeyNotFound) => Ok(()),
        Err(MapError::SyscallError(err)) if err.io_error.raw_os_error() == Some(libc::ENOENT) => {
            Ok(())
        }
        other => other,
    }
}
