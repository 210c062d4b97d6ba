//! What happens to a punted advert before a state machine sees it: which instance it is for
//! (its checksum style and VRRP versions decide how it decodes), how refused adverts are
//! reported, and the `allowed_peers` check (`unicast_peers` are accepted sources too).
//!
//! The data plane discards adverts from sources not in `allowed_peers` or `unicast_peers`
//! and counts them
//! (`peer_not_allowed`); it hands the daemon a sample now and then, so the warning can name
//! the source. The check here is therefore not dead code: it keeps those samples (and anything
//! in flight across a reload that changed the list) away from the state machine. A reload
//! that changes the list updates the data plane's peers around the instance record
//! ([`Daemon::add_new_peers`] before it, [`Daemon::remove_old_peers`] after).

use std::{net::IpAddr, time::Instant};

use super::{events::DaemonEvent, interface::NotFed, runtime::Daemon, schedule::InstanceId};
use crate::{
    config::{ChecksumStyle, InstanceConfig, VersionMode},
    dataplane::DeliveredAdvert,
    proto::{AddressFamily, Warning},
};

impl Daemon {
    /// The running instance `punted` is for, by the VRID in its (not yet decoded) header.
    pub(super) fn punted_instance(&mut self, punted: &DeliveredAdvert) -> Option<usize> {
        let id = InstanceId {
            ifindex: punted.ifindex,
            family: AddressFamily::of(punted.source),
            vrid: *punted.message.get(1)?,
        };
        self.position(id)
    }

    /// The checksum style and VRRP versions instance `index` accepts (RFC 9568 VRRPv3 when
    /// there is none).
    pub(super) fn decode_settings(&self, index: Option<usize>) -> (ChecksumStyle, VersionMode) {
        index.map_or((ChecksumStyle::Rfc9568, VersionMode::V3), |index| {
            let config = &self.instances[index].config;
            (config.ipv4_checksum, config.version)
        })
    }

    /// Reports an advert received on `interface` that is not fed to instance `index`:
    /// rate-limited per instance and peer for a checksum in the other style (the warning names
    /// the setting that would interoperate), as before for the rest.
    pub(super) fn report_not_fed(
        &mut self,
        interface: &str,
        index: Option<usize>,
        problem: NotFed,
        source: IpAddr,
    ) {
        if let (NotFed::OtherChecksumStyle { sender, .. }, Some(index)) = (&problem, index) {
            let configured = self.instances[index].config.ipv4_checksum;
            let warning = Warning::ChecksumOtherStyle {
                source,
                sender: *sender,
                configured,
            };
            self.warn_about_peer(index, warning, source);
            return;
        }
        let (subject, kind) = problem.rate_limit_key(interface, source);
        let event = problem.to_event(interface);
        if self.first_in_interval(subject, kind, Instant::now()) {
            self.bus.publish(event);
        }
    }

    /// Whether instance `index` takes adverts from `source` (`allowed_peers` and
    /// `unicast_peers`, both empty: any). A refused one is a warning, rate-limited per
    /// instance and source.
    pub(super) fn peer_allowed(&mut self, index: usize, source: IpAddr) -> bool {
        if self.instances[index].config.accepts_source(source) {
            return true;
        }
        self.warn_about_peer(index, Warning::PeerNotAllowed { source }, source);
        false
    }

    fn warn_about_peer(&mut self, index: usize, warning: Warning, source: IpAddr) {
        let instance = self.instances[index].config.name.clone();
        let subject = format!("{instance} {source}");
        if self.first_in_interval(subject, warning.kind(), Instant::now()) {
            self.bus.publish(DaemonEvent::Warning { instance, warning });
        }
    }

    /// Before instance `index` is reconfigured to `new` (same interface, VRID, family): the
    /// data plane accepts the peers `new` adds, so none is refused once the record lists them.
    pub(super) fn add_new_peers(&mut self, index: usize, new: &InstanceConfig) {
        let old = &self.instances[index].config;
        let added = difference(&new.accepted_peers(), &old.accepted_peers());
        self.update_peers(new, &added, true);
    }

    /// After instance `index` was reconfigured from `old`: the data plane forgets the peers
    /// the new configuration dropped.
    pub(super) fn remove_old_peers(&mut self, index: usize, old: &InstanceConfig) {
        let new = self.instances[index].config.clone();
        let gone = difference(&old.accepted_peers(), &new.accepted_peers());
        self.update_peers(&new, &gone, false);
    }

    fn update_peers(&mut self, config: &InstanceConfig, peers: &[IpAddr], accept: bool) {
        if peers.is_empty() {
            return;
        }
        let Some(interface) = self.interfaces.get_mut(&config.interface) else {
            return;
        };
        if let Err(err) = interface.set_peers(config.family, config.vrid, peers, accept) {
            // A BPF map write on our own maps: fails only when a map is full.
            tracing::error!(
                instance = config.name,
                error = format!("{err:#}"),
                "updating the data plane's allowed peers failed"
            );
        }
    }
}

/// The addresses of `these` not in `those`.
fn difference(these: &[IpAddr], those: &[IpAddr]) -> Vec<IpAddr> {
    these
        .iter()
        .copied()
        .filter(|address| !those.contains(address))
        .collect()
}
