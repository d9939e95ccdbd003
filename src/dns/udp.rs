//! UDP listeners: per listen address, one SO_REUSEPORT socket per core, each
//! served by a plain thread in a blocking receive loop. No task per datagram,
//! no async wake-ups: the kernel's send/receive is the cost that remains.

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;

use socket2::{Domain, Protocol, Socket, Type};
use tracing::warn;

use super::Shared;
use super::forwarding::complete;
use super::message::{Origin, Outcome, Transport, respond};

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

/// Serves `socket` on a new thread until the process ends. Answers that need
/// an upstream (resolver mode) are completed on the tokio runtime so that
/// they never hold up the loop.
pub fn spawn(socket: UdpSocket, shared: Arc<Shared>) -> std::io::Result<()> {
    let listener = socket.local_addr()?;
    let socket = Arc::new(socket);
    std::thread::Builder::new()
        .name(format!("udp-{listener}"))
        .spawn(move || {
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
                let origin = Origin {
                    src: src.ip(),
                    listener,
                    transport: Transport::Udp,
                };
                let snapshot = shared.snapshot.load();
                match respond(&snapshot, &shared.metrics, &buf[..len], origin, &mut out) {
                    Outcome::Reply => send(&socket, &out, src),
                    Outcome::Drop => {}
                    Outcome::Forward(pending) => {
                        let (socket, shared2) = (socket.clone(), shared.clone());
                        shared.runtime.spawn(async move {
                            if let Some(reply) = complete(&shared2, pending).await {
                                send(&socket, &reply, src);
                            }
                        });
                    }
                }
            }
        })?;
    Ok(())
}

fn send(socket: &UdpSocket, packet: &[u8], to: SocketAddr) {
    if let Err(e) = socket.send_to(packet, to) {
        warn!(error = %e, client = %to, "udp send failed");
    }
}
