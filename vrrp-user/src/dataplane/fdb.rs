//! The virtual MAC in the NIC's unicast filter while Master, so frames to it reach the XDP hook
//! on NICs that filter unicast by address: what `bridge fdb add VMAC dev IF self` does
//! (RTM_NEWNEIGH, family AF_BRIDGE, flag NTF_SELF, state NUD_PERMANENT).

use rtnetlink::packet_route::{
    AddressFamily,
    neighbour::{NeighbourAttribute, NeighbourFlags, NeighbourMessage, NeighbourState},
};

use super::DataplaneError;

fn handle(ifname: &str, op: &'static str) -> Result<rtnetlink::Handle, DataplaneError> {
    let (connection, handle, _) =
        rtnetlink::new_connection().map_err(|source| DataplaneError::io(ifname, op, source))?;
    tokio::spawn(connection);
    Ok(handle)
}

/// Adds `vmac` to the unicast filter of interface `ifindex` (named `ifname` in errors).
/// Idempotent: an existing entry is replaced.
pub async fn add_vmac_filter(
    ifname: &str,
    ifindex: u32,
    vmac: [u8; 6],
) -> Result<(), DataplaneError> {
    let op = "add the virtual MAC to the unicast filter";
    handle(ifname, op)?
        .neighbours()
        .add_bridge(ifindex, &vmac)
        .flags(NeighbourFlags::Own)
        .replace()
        .execute()
        .await
        .map_err(|source| DataplaneError::Netlink {
            op,
            ifname: ifname.to_owned(),
            source: Box::new(source),
        })
}

/// Removes `vmac` from the unicast filter of interface `ifindex`; absent is not an error.
pub async fn remove_vmac_filter(
    ifname: &str,
    ifindex: u32,
    vmac: [u8; 6],
) -> Result<(), DataplaneError> {
    let op = "remove the virtual MAC from the unicast filter";
    let mut message = NeighbourMessage::default();
    message.header.family = AddressFamily::Bridge;
    message.header.ifindex = ifindex;
    message.header.state = NeighbourState::Permanent;
    message.header.flags = NeighbourFlags::Own;
    message
        .attributes
        .push(NeighbourAttribute::LinkLayerAddress(vmac.to_vec()));
    match handle(ifname, op)?
        .neighbours()
        .del(message)
        .execute()
        .await
    {
        Err(rtnetlink::Error::NetlinkError(err)) if err.raw_code() == -libc::ENOENT => Ok(()),
        result => result.map_err(|source| DataplaneError::Netlink {
            op,
            ifname: ifname.to_owned(),
            source: Box::new(source),
        }),
    }
}
