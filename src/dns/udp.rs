//! UDP listeners: per listen address, one SO_REUSEPORT socket per core, each
//! served by a plain thread in a blocking receive loop. No task per datagram,
//! no async wake-ups: the kernel's send/receive is the cost that remains.

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;

use socket2::{Domain, Protocol, Socket, Type};
use tracing::warn;

use super::Shared;
use super::message::{Transport, respond};

/// The default 208 KB receive buffer drops queries under load (NOTES.md).
const RECV_BUFFER: usize = 4 << 20;

pub fn bind(addr: SocketAddr) -> std::io::Result<UdpSocket> {
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_reuse_port(true)?;
    socket.set_recv_buffer_size(RECV_BUFFER)?;
    socket.set_send_buffer_size(RECV_BUFFER)?;
    socket.bind(&addr.into())?;
    Ok(socket.into())
}

/// Serves `socket` on a new thread until the process ends.
pub fn spawn(socket: UdpSocket, shared: Arc<Shared>) -> std::io::Result<()> {
    let name = format!("udp-{}", socket.local_addr()?);
    std::thread::Builder::new().name(name).spawn(move || {
        let mut buf = vec![0u8; 65535];
        let mut out = Vec::with_capacity(4096);
        loop {
            let (len, src) = match socket.recv_from(&mut buf) {
                Ok(r) => r,
                Err(e) => {
                    // ICMP errors from earlier sends surface here; keep serving.
                    warn!(error = %e, "udp receive failed");
                    continue;
                }
            };
            let snapshot = shared.snapshot.load();
            if respond(
                &snapshot,
                &shared.metrics,
                &buf[..len],
                src.ip(),
                Transport::Udp,
                &mut out,
            ) && let Err(e) = socket.send_to(&out, src)
            {
                warn!(error = %e, client = %src, "udp send failed");
            }
        }
    })?;
    Ok(())
}
