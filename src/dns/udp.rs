//! UDP listeners: per listen address, one SO_REUSEPORT socket per core, each
//! served by a plain thread in a blocking receive loop. No task per datagram,
//! no async wake-ups: the kernel's send/receive is the cost that remains.
//!
//! A worker outlives a panic: handling a batch is unwound on its own, so a
//! query that trips a bug loses that batch's replies (clients retry) but
//! never stops the socket from being served while it stays bound. Each
//! panic is counted (`epdns_worker_panics_total`) and logged, at most one
//! line per 10 s.

use std::any::Any;
use std::cell::RefCell;
use std::net::{SocketAddr, UdpSocket};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Once};
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use tracing::warn;

use super::Shared;
use super::log_gate::LogGate;
use super::message::{Origin, Outcome, Transport, respond};
use super::metrics::Metrics;
use super::mmsg::Batch;
use super::upstream;

/// The default 208 KB receive buffer drops queries under load (NOTES.md).
const RECV_BUFFER: usize = 4 << 20;
/// Worker threads are named `udp-<listen address>`; the panic hook knows
/// them by this prefix.
const WORKER_PREFIX: &str = "udp-";

static PANICKED: LogGate = LogGate::new(Duration::from_secs(10));

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
    quiet_worker_panics();
    std::thread::Builder::new()
        .name(format!("{WORKER_PREFIX}{listener}"))
        .spawn(move || {
            let sock = socket.clone();
            serve(&socket, &shared.metrics, |packet, src, out| {
                let origin = Origin {
                    src: src.ip(),
                    listener,
                    transport: Transport::Udp,
                };
                let snapshot = shared.snapshot.load();
                match respond(&snapshot, &shared.metrics, packet, origin, out) {
                    Outcome::Reply => true,
                    Outcome::Drop => false,
                    Outcome::Forward(pending) => {
                        let sock = sock.clone();
                        upstream::forward(&shared, pending, move |reply| send(&sock, &reply, src));
                        false
                    }
                }
            })
        })?;
    Ok(())
}

/// The receive loop: `answer(query, sender, reply)` writes the reply to a
/// query and says whether to send it. Never returns; a panic in a batch is
/// contained (module comment).
fn serve(
    socket: &UdpSocket,
    metrics: &Metrics,
    mut answer: impl FnMut(&[u8], SocketAddr, &mut Vec<u8>) -> bool,
) -> ! {
    let mut batch = Batch::default();
    loop {
        let handled = catch_unwind(AssertUnwindSafe(|| {
            one_batch(socket, &mut batch, &mut answer)
        }));
        if let Err(panic) = handled {
            metrics.worker_panicked();
            report(socket, panic.as_ref());
        }
    }
}

fn one_batch(
    socket: &UdpSocket,
    batch: &mut Batch,
    answer: &mut impl FnMut(&[u8], SocketAddr, &mut Vec<u8>) -> bool,
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
    for i in 0..n {
        let mut out = batch.reply_buffer();
        let (packet, src) = batch.query(i);
        match src {
            Some(src) if answer(packet, src, &mut out) => batch.reply(i, out),
            _ => batch.give_back(out),
        }
    }
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

thread_local! {
    /// Where the last panic on this worker happened, kept by the hook for
    /// `report`.
    static PANIC_AT: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// The default panic hook writes every panic to stderr: on a worker that a
/// client can make panic again and again, that is an unbounded log. This
/// hook keeps the location for `report` instead, on worker threads only;
/// every other thread keeps the previous hook.
fn quiet_worker_panics() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let on_worker = std::thread::current()
                .name()
                .is_some_and(|n| n.starts_with(WORKER_PREFIX));
            if on_worker {
                let at = info.location().map(|l| l.to_string());
                PANIC_AT.with(|p| *p.borrow_mut() = at);
            } else {
                previous(info);
            }
        }));
    });
}

fn report(socket: &UdpSocket, panic: &(dyn Any + Send)) {
    let Some(left_out) = PANICKED.pass() else {
        return;
    };
    let message = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(not a string)");
    let at = PANIC_AT.with(|p| p.borrow_mut().take()).unwrap_or_default();
    let listener = socket
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    warn!(
        %listener,
        panic = message,
        at,
        left_out,
        "UDP worker panicked; that batch's replies are lost, the worker goes on"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A worker whose answer panics on "boom" and echoes anything else.
    fn echo_worker(metrics: Arc<Metrics>) -> SocketAddr {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = socket.local_addr().unwrap();
        quiet_worker_panics();
        std::thread::Builder::new()
            .name(format!("{WORKER_PREFIX}test-{addr}"))
            .spawn(move || {
                serve(&socket, &metrics, |packet, _, out| {
                    assert!(packet != b"boom", "boom");
                    out.extend_from_slice(packet);
                    true
                })
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
            assert_eq!(metrics.worker_panics(), round);
            assert_eq!(
                exchange(&client, server, b"ping").as_deref(),
                Some(&b"ping"[..]),
                "answered after panic {round}"
            );
        }
    }
}
