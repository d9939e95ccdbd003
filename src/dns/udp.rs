//! UDP listeners: per listen address, one SO_REUSEPORT socket per core, each
//! served by a plain thread in a blocking receive loop. No task per datagram,
//! no async wake-ups: the kernel's send/receive is the cost that remains.
//!
//! A worker outlives a panic (`contain`): a query that trips a bug loses
//! its batch's replies (clients retry) but never stops the socket from being
//! served while it stays bound.

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use tracing::warn;

use super::Shared;
use super::client::{Origin, Transport};
use super::contain::contained;
use super::log_gate::LogGate;
use super::message::Outcome;
use super::metrics::Metrics;
use super::mmsg::Batch;
use super::respond::respond_or_transfer;
use super::upstream;

/// The default 208 KB receive buffer drops queries under load: dnsperf at
/// 500 outstanding queries lost ~900 per 15 s run with it, none with 4 MB.
const RECV_BUFFER: usize = 4 << 20;

pub(crate) fn bind(addr: SocketAddr) -> std::io::Result<UdpSocket> {
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
pub(crate) fn spawn(socket: UdpSocket, shared: Arc<Shared>) -> std::io::Result<()> {
    let listener = socket.local_addr()?;
    let socket = Arc::new(socket);
    std::thread::Builder::new()
        .name(format!("udp-{listener}"))
        .spawn(move || {
            let sock = socket.clone();
            let batch_start = || shared.snapshot.load();
            serve(
                &socket,
                &shared.metrics,
                batch_start,
                |snapshot, packet, src, out| {
                    let origin = Origin {
                        src: src.ip(),
                        listener,
                        transport: Transport::Udp,
                    };
                    let xfr = shared.xfr.as_deref();
                    match respond_or_transfer(snapshot, &shared.metrics, packet, origin, out, xfr) {
                        Outcome::Reply => true,
                        Outcome::Drop => false,
                        Outcome::Forward(pending) => {
                            let sock = sock.clone();
                            upstream::forward(&shared, pending, move |reply| {
                                send(&sock, &reply, src)
                            });
                            false
                        }
                    }
                },
            )
        })?;
    Ok(())
}

/// The receive loop: `batch_start()` gives what a batch is answered from
/// (the snapshot: one load per batch, not per query), and
/// `answer(that, query, sender, reply)` writes the reply to a query and says
/// whether to send it. Never returns; a panic in a batch is contained
/// (module comment).
fn serve<S>(
    socket: &UdpSocket,
    metrics: &Metrics,
    mut batch_start: impl FnMut() -> S,
    mut answer: impl FnMut(&S, &[u8], SocketAddr, &mut Vec<u8>) -> bool,
) -> ! {
    let listener = socket
        .local_addr()
        .map_or_else(|e| e.to_string(), |a| a.to_string());
    let mut batch = Batch::default();
    loop {
        // A panic loses the batch's replies; `recv` starts the next one afresh.
        let _ = contained(metrics, "UDP batch", &listener, || {
            one_batch(socket, &mut batch, &mut batch_start, &mut answer)
        });
    }
}

fn one_batch<S>(
    socket: &UdpSocket,
    batch: &mut Batch,
    batch_start: &mut impl FnMut() -> S,
    answer: &mut impl FnMut(&S, &[u8], SocketAddr, &mut Vec<u8>) -> bool,
) {
    static RECV_FAILED: LogGate = LogGate::new(Duration::from_secs(10));
    static SEND_FAILED: LogGate = LogGate::new(Duration::from_secs(10));
    let n = match batch.recv(socket) {
        Ok(n) => n,
        Err(e) => {
            if let Some(left_out) = RECV_FAILED.pass() {
                warn!(error = %e, left_out, "udp receive failed");
            }
            return;
        }
    };
    let state = batch_start();
    for i in 0..n {
        let mut out = batch.reply_buffer();
        let (packet, src) = batch.query(i);
        match src {
            Some(src) if answer(&state, packet, src, &mut out) => batch.reply(i, out),
            _ => batch.give_back(out),
        }
    }
    drop(state);
    if let Err(e) = batch.send(socket)
        && let Some(left_out) = SEND_FAILED.pass()
    {
        warn!(error = %e, left_out, "udp send failed");
    }
}

fn send(socket: &UdpSocket, packet: &[u8], to: SocketAddr) {
    static FAILED: LogGate = LogGate::new(Duration::from_secs(10));
    if let Err(e) = socket.send_to(packet, to)
        && let Some(left_out) = FAILED.pass()
    {
        warn!(error = %e, client = %to, left_out, "udp send failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A worker whose answer panics on "boom" and echoes anything else.
    fn echo_worker(metrics: Arc<Metrics>) -> SocketAddr {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = socket.local_addr().unwrap();
        std::thread::Builder::new()
            .name(format!("udp-test-{addr}"))
            .spawn(move || {
                serve(
                    &socket,
                    &metrics,
                    || (),
                    |_, packet, _, out| {
                        assert!(packet != b"boom", "boom");
                        out.extend_from_slice(packet);
                        true
                    },
                )
            })
            .unwrap();
        addr
    }

    fn exchange(client: &UdpSocket, server: SocketAddr, msg: &[u8]) -> Option<Vec<u8>> {
        client.send_to(msg, server).unwrap();
        let mut buf = [0u8; 64];
        client.recv(&mut buf).ok().map(|n| buf[..n].to_vec())
    }

    #[test]
    fn a_panicking_batch_is_counted_and_the_worker_goes_on() {
        let metrics = Arc::new(Metrics::default());
        let server = echo_worker(metrics.clone());
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        client
            .set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        assert_eq!(
            exchange(&client, server, b"ping").as_deref(),
            Some(&b"ping"[..])
        );
        for round in 1..=3 {
            assert_eq!(exchange(&client, server, b"boom"), None, "no reply to boom");
            assert_eq!(metrics.panics_contained(), round);
            assert_eq!(
                exchange(&client, server, b"ping").as_deref(),
                Some(&b"ping"[..]),
                "answered after panic {round}"
            );
        }
    }
}
