//! UDP listeners: per listen address, one SO_REUSEPORT socket per core, each
//! served by a plain thread in a blocking receive loop. No task per datagram,
//! no async wake-ups: the kernel's send/receive is the cost that remains.

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;

use socket2::{Domain, Protocol, Socket, Type};
use tracing::warn;

use super::Shared;
use super::client::{Origin, Transport};
use super::log_limit::LogLimit;
use super::message::Outcome;
use super::mmsg::Batch;
use super::respond::respond;
use super::upstream::complete;

/// With the default 208 KB receive buffer, dnsperf at 500 outstanding
/// queries lost ~900 per 15 s run (`RcvbufErrors` in /proc/net/snmp); 4 MB
/// lost none.
const RECV_BUFFER: usize = 4 << 20;

/// Client traffic can make these fail (a reply to a spoofed address, a
/// burst the kernel cannot take): a few lines a second, never one a packet.
static RECV_FAILED: LogLimit = LogLimit::new("udp receive failed", 5);
static SEND_FAILED: LogLimit = LogLimit::new("udp send failed", 5);

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

/// Serves `socket` on a new thread until the process ends: batches of
/// queries in, batches of replies out (`mmsg`). Answers that need an
/// upstream (resolver mode) are completed on the tokio runtime so that they
/// never hold up the loop.
pub fn spawn(socket: UdpSocket, shared: Arc<Shared>) -> std::io::Result<()> {
    let listener = socket.local_addr()?;
    let socket = Arc::new(socket);
    std::thread::Builder::new()
        .name(format!("udp-{listener}"))
        .spawn(move || {
            let mut batch = Batch::default();
            loop {
                let n = match batch.recv(&socket) {
                    Ok(n) => n,
                    Err(e) => {
                        if RECV_FAILED.allow() {
                            warn!(error = %e, "udp receive failed");
                        }
                        continue;
                    }
                };
                let snapshot = shared.snapshot.load();
                for i in 0..n {
                    let mut out = batch.reply_buffer();
                    let (packet, src) = batch.query(i);
                    let Some(src) = src else {
                        batch.give_back(out);
                        continue;
                    };
                    let origin = Origin {
                        src: src.ip(),
                        listener,
                        transport: Transport::Udp,
                    };
                    match respond(&snapshot, &shared.metrics, packet, origin, &mut out) {
                        Outcome::Reply => batch.reply(i, out),
                        Outcome::Drop => batch.give_back(out),
                        Outcome::Forward(pending) => {
                            batch.give_back(out);
                            let (socket, shared2) = (socket.clone(), shared.clone());
                            shared.runtime.spawn(async move {
                                if let Some(reply) = complete(&shared2, pending).await {
                                    send(&socket, &reply, src);
                                }
                            });
                        }
                    }
                }
                drop(snapshot);
                if let Err(e) = batch.send(&socket)
                    && SEND_FAILED.allow()
                {
                    warn!(error = %e, "udp send failed");
                }
            }
        })?;
    Ok(())
}

fn send(socket: &UdpSocket, packet: &[u8], to: SocketAddr) {
    if let Err(e) = socket.send_to(packet, to)
        && SEND_FAILED.allow()
    {
        warn!(error = %e, client = %to, "udp send failed");
    }
}
