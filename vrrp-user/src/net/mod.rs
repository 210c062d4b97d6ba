//! The daemon's IO with the kernel's network stack: interface facts and link events (netlink),
//! virtual addresses (netlink), raw frames out (AF_PACKET, batched where many are due at once), and adverts to unicast peers (raw
//! IP sockets, the kernel resolving the peer's MAC). Adverts come *in* through the XDP
//! ring buffer (see `dataplane`), not through a socket.

mod error;
pub mod frame_batch;
pub mod interface;
pub mod packet_socket;
pub mod raw_ip_socket;
pub mod solicitation_socket;
pub mod sysctl;
pub mod virtual_addresses;

pub use error::NetError;
