//! What must hold once a fault settled, per connected part of the LAN: exactly one Master in
//! each virtual router and it is the highest-priority live router there; the virtual
//! addresses and the data plane's Master role only on it; the hosts reach every virtual
//! address; no daemon died that the soak did not kill; no pin but the daemon's own.

use std::{
    fs,
    path::Path,
    time::{Duration, Instant},
};

use aya::maps::{Array, Map, MapData};
use vrrp_common::maps::{ALL_MAPS, ROLES_MAP, Role, RoleEntry, slot};
use vrrp_user::dataplane::LINK_PINS;

use super::lab::{Condition, SoakLab};
use crate::{
    daemon::instance_status,
    lab::LAN_IF,
    vrrp::{VRID, VRID6},
};

/// The virtual routers every soak router runs: (status name, IPv6, VRID).
const INSTANCES: [(&str, bool, u8); 2] = [("lan", false, VRID), ("lan6", true, VRID6)];

/// What a router must be now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expected {
    /// Master of both virtual routers of its part of the LAN.
    Master,
    /// Not Master of either, holding no virtual address.
    NotMaster,
    /// Its daemon runs; nothing else is known (its interface is down).
    Running,
    /// Nothing: killed or stopped by the soak.
    Unknown,
}

/// Polls every check until all hold or `bound` passed; returns what was still wrong then.
pub(super) fn until_consistent(soak: &mut SoakLab, bound: Duration) -> Result<(), Vec<String>> {
    let deadline = Instant::now() + bound;
    loop {
        let problems = problems(soak);
        if problems.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(problems);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Everything wrong now, empty if nothing.
fn problems(soak: &mut SoakLab) -> Vec<String> {
    let expected = expectations(soak);
    let mut problems = Vec::new();
    for (index, expected) in expected.iter().copied().enumerate() {
        if expected == Expected::Unknown {
            continue;
        }
        let name = soak.routers[index].name.clone();
        if !soak.routers[index].daemon.is_running() {
            problems.push(format!("{name}: daemon exited ({expected:?} expected)"));
            continue;
        }
        if expected == Expected::Running {
            continue;
        }
        let master = expected == Expected::Master;
        problems.extend(
            role_problems(soak, index, master)
                .into_iter()
                .map(|p| format!("{name}: {p}")),
        );
    }
    // Only look at what the hosts see once the routers agree: pings are the slow part.
    if problems.is_empty() && expected.contains(&Expected::Master) {
        problems.extend(reachability_problems(soak));
    }
    problems
}

/// Per router: the hosts' part of the LAN holds the routers that are up, and its Master is
/// the highest priority among them; an isolated router is Master of its island.
fn expectations(soak: &SoakLab) -> Vec<Expected> {
    let best = soak
        .routers
        .iter()
        .filter(|router| router.condition == Condition::Up)
        .map(|router| router.priority)
        .max();
    soak.routers
        .iter()
        .map(|router| match router.condition {
            Condition::Up if Some(router.priority) == best => Expected::Master,
            Condition::Up => Expected::NotMaster,
            Condition::Isolated => Expected::Master,
            Condition::LinkDown => Expected::Running,
            Condition::Killed | Condition::Stopped => Expected::Unknown,
        })
        .collect()
}

/// What is wrong with router `index`'s daemon state, addresses, data-plane roles and pins,
/// given whether it must be Master.
fn role_problems(soak: &SoakLab, index: usize, master: bool) -> Vec<String> {
    let mut problems = Vec::new();
    let router = &soak.routers[index];
    let socket = router.daemon.control_socket();
    for (instance, ipv6, vrid) in INSTANCES {
        let state = instance_status(&socket, instance)
            .map(|status| status["state"].as_str().unwrap_or_default().to_owned());
        match state {
            None => problems.push(format!("{instance}: no status")),
            Some(state) if (state == "Master") != master => {
                problems.push(format!("{instance}: {state}, expected Master = {master}"));
            }
            Some(_) => {}
        }
        match pinned_role(&soak.pin_dir(index), ipv6, vrid) {
            Err(error) => problems.push(format!("{instance}: data-plane role: {error}")),
            Ok(role) if (role == Role::Master as u8) != master => problems.push(format!(
                "{instance}: data-plane role {role}, expected Master = {master}"
            )),
            Ok(_) => {}
        }
    }
    let held = soak.lab.nodes[router.node].addresses();
    let wanted = soak.vips();
    for vip in SoakLab::every_vip() {
        let should_hold = master && wanted.contains(&vip);
        if held.iter().any(|address| address == vip) != should_hold {
            problems.push(format!("virtual address {vip}: held = {}", !should_hold));
        }
    }
    problems.extend(stale_pins(&router.bpffs));
    problems
}

/// The data-plane role of VRID `vrid` (`ipv6` or not) in the pinned roles array.
fn pinned_role(pin_dir: &Path, ipv6: bool, vrid: u8) -> Result<u8, String> {
    let path = pin_dir.join(ROLES_MAP);
    let data = MapData::from_pin(&path).map_err(|err| format!("open {}: {err}", path.display()))?;
    let map = Map::from_map_data(data).map_err(|err| err.to_string())?;
    let roles = Array::<_, RoleEntry>::try_from(map).map_err(|err| err.to_string())?;
    roles
        .get(&slot(ipv6, vrid), 0)
        .map(|entry| entry.role)
        .map_err(|err| err.to_string())
}

/// Pins under a live daemon's root that it does not own: another directory than its
/// interface's, or an entry there that is neither a map nor a link of the data plane.
fn stale_pins(bpffs: &Path) -> Vec<String> {
    let names = |dir: &Path| -> Vec<String> {
        fs::read_dir(dir)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|entry| entry.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut problems: Vec<String> = names(bpffs)
        .into_iter()
        .filter(|name| name != LAN_IF)
        .map(|name| format!("stale pin directory {}", bpffs.join(name).display()))
        .collect();
    problems.extend(
        names(&bpffs.join(LAN_IF))
            .into_iter()
            .filter(|name| {
                !ALL_MAPS.contains(&name.as_str()) && !LINK_PINS.contains(&name.as_str())
            })
            .map(|name| format!("stale pin {}", bpffs.join(LAN_IF).join(name).display())),
    );
    problems
}

/// Every virtual address the hosts cannot ping (one echo each, 1 s timeout).
fn reachability_problems(soak: &SoakLab) -> Vec<String> {
    let mut problems = Vec::new();
    for host in soak.hosts {
        let node = &soak.lab.nodes[host];
        for vip in soak.vips() {
            // A link-local address needs its interface.
            let target = if vip.starts_with("fe80:") {
                format!("{vip}%{LAN_IF}")
            } else {
                vip.to_owned()
            };
            let answered = node
                .ns
                .command(&["ping", "-c", "1", "-W", "1", "-q", &target])
                .output()
                .is_ok_and(|out| out.status.success());
            if !answered {
                problems.push(format!("host {} gets no reply from {target}", node.ipv4));
            }
        }
    }
    problems
}
