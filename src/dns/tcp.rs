//! DNS over TCP (RFC 7766): length-prefixed messages, several per connection
//! (pipelined; answered in order, except that answers that wait for an
//! upstream go out when they arrive), held to the limits that keep one
//! client from denying TCP to the others:
//!
//! - connections: at most `Limits::max` in all and `Limits::per_source` per
//!   source; reaching either closes the idlest connection (`conns`);
//! - [`IDLE_TIMEOUT`] without the start of a message closes a connection;
//! - [`IO_TIMEOUT`] to finish reading a message once it has started, and to
//!   write one reply: a client that trickles its query (slowloris) or does
//!   not read its replies is cut;
//! - [`MAX_PENDING`] queries read and not yet answered per connection; past
//!   that the connection is not read until replies go out.

mod conns;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tracing::{debug, warn};

use conns::Conn;
pub(crate) use conns::{Conns, Limits};

use super::Shared;
use super::client::{Origin, Transport};
use super::contain::contained;
use super::log_gate::LogGate;
use super::message::Outcome;
use super::respond::{Secondary, respond, secondary};
use super::upstream;

/// Connections from one source (an IPv4 address, an IPv6 /64). Knot and
/// NSD have no such cap; PowerDNS (`max-tcp-connections-per-client`) and
/// dnsdist offer one, off by default. 32 is room for a resolver's
/// concurrent TCP fallbacks, and the global cap can then only be filled
/// from many sources.
pub(crate) const PER_SOURCE: usize = 32;
/// Without the start of a new message for this long, a connection is
/// closed. RFC 7766 §6.2.3 asks for seconds; Knot's `tcp-idle-timeout`
/// default is also 10 s (NSD's `tcp-timeout` 120 s, BIND's 30 s).
pub(crate) const IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// Once a message has started, the rest of it must arrive within this; and
/// each reply must be taken by the client within this. Knot's
/// `tcp-io-timeout` (the same two rules) defaults to 500 ms; twice that
/// leaves room for a lost segment's retransmission on a loaded host.
pub(crate) const IO_TIMEOUT: Duration = Duration::from_secs(1);
/// Queries read and not yet answered, per connection. Knot and NSD read
/// the next query only once the last is answered; 16 keeps pipelining (and
/// waiting on upstreams) useful while bounding what one connection queues.
pub(crate) const MAX_PENDING: usize = 16;
/// The kernel send buffer of a client connection (the kernel doubles it):
/// room for the largest DNS message, and a bound on what a client that
/// does not read makes the kernel hold for it.
const SEND_BUFFER: usize = 64 << 10;

static ACCEPT_FAILED: LogGate = LogGate::new(Duration::from_secs(10));

pub(crate) fn bind(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

/// Accepts connections on `listener` until the process ends, each in the
/// connection table `shared.tcp` (shared by every listener).
pub(crate) async fn serve(listener: std::net::TcpListener, shared: Arc<Shared>) {
    let listener = match TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            warn!(error = %e, "tcp listener cannot join the runtime");
            return;
        }
    };
    let conns = shared.tcp.clone();
    let mut held = None;
    loop {
        // A slot first, so that the accepted connection always has one.
        let slot = match held.take() {
            Some(slot) => slot,
            None => conns.reserve().await,
        };
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                held = Some(slot);
                accept_failed(&conns, e).await;
                continue;
            }
        };
        let Ok(local) = stream.local_addr() else {
            held = Some(slot);
            continue;
        };
        let (conn, close) = conns.open(slot, peer.ip());
        let shared = shared.clone();
        tokio::spawn(async move {
            // Clients cause these: one line a second at most, with a count.
            static MADE_ROOM: LogGate = LogGate::new(Duration::from_secs(1));
            static ENDED: LogGate = LogGate::new(Duration::from_secs(1));
            tokio::select! {
                _ = close => {
                    if let Some(left_out) = MADE_ROOM.pass() {
                        debug!(client = %peer, left_out, "tcp connection closed to make room");
                    }
                }
                r = connection(stream, peer, local, &shared, &conn) => {
                    if let Err(e) = r
                        && let Some(left_out) = ENDED.pass()
                    {
                        debug!(error = %e, client = %peer, left_out, "tcp connection ended");
                    }
                }
            }
            // The socket is closed by now; the slot goes last.
            drop(conn);
        });
    }
}

async fn accept_failed(conns: &Conns, e: std::io::Error) {
    let out_of_fds = matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE));
    if let Some(left_out) = ACCEPT_FAILED.pass() {
        warn!(error = %e, left_out, "tcp accept failed");
    }
    // Out of descriptors: TCP gives one back rather than wait for one.
    if out_of_fds {
        conns.shed_idlest();
    }
    tokio::time::sleep(Duration::from_millis(10)).await;
}

/// A reply ready to write, holding its query's place in `MAX_PENDING`.
struct Reply {
    framed: Vec<u8>,
    _pending: OwnedSemaphorePermit,
}

/// One connection: a reader of queries and a writer of replies, joined by
/// a queue that `MAX_PENDING` bounds. The connection ends when reading has
/// ended and every reply owed is written, or at once when a write fails.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    listener: SocketAddr,
    shared: &Arc<Shared>,
    conn: &Conn,
) -> std::io::Result<()> {
    let origin = Origin {
        src: peer.ip(),
        listener,
        transport: Transport::Tcp,
    };
    stream.set_nodelay(true)?;
    socket2::SockRef::from(&stream).set_send_buffer_size(SEND_BUFFER)?;
    let (reader, writer) = stream.into_split();
    let (replies, queue) = mpsc::unbounded_channel();
    let read = read_queries(reader, origin, shared, conn, replies);
    let write = write_replies(writer, queue, conn);
    tokio::pin!(read, write);
    tokio::select! {
        r = &mut read => {
            r?;
            // Replies still being forwarded hold a sender: the writer ends
            // when the last of them is written.
            write.await
        }
        w = &mut write => w,
    }
}

async fn read_queries(
    mut reader: OwnedReadHalf,
    origin: Origin,
    shared: &Arc<Shared>,
    conn: &Conn,
    replies: mpsc::UnboundedSender<Reply>,
) -> std::io::Result<()> {
    let pending = Arc::new(Semaphore::new(MAX_PENDING));
    let mut query = Vec::new();
    loop {
        let Ok(permit) = pending.clone().acquire_owned().await else {
            return Ok(());
        };
        if !read_message(&mut reader, &mut query).await? {
            return Ok(());
        }
        conn.progressed();
        let mut out = Vec::with_capacity(512);
        let outcome = contained(&shared.metrics, "TCP query", origin.listener, || {
            let snapshot = shared.snapshot.load();
            // A secondary's queries (transfers: several messages) go to `xfr`.
            match &shared.xfr {
                Some(x) if x.is_secondary(origin.src) => {
                    secondary(x, &snapshot, &shared.metrics, &query, origin, &mut out)
                }
                _ => Secondary::Outcome(respond(
                    &snapshot,
                    &shared.metrics,
                    &query,
                    origin,
                    &mut out,
                )),
            }
        });
        // A query that made the answer path panic ends its connection.
        let Some(outcome) = outcome else {
            return Ok(());
        };
        // A large query does not keep its buffer.
        if query.capacity() > 4096 {
            query = Vec::new();
        }
        let outcome = match outcome {
            Secondary::Outcome(o) => o,
            Secondary::Messages(messages) => {
                let mut framed_all = Vec::with_capacity(messages.iter().map(|m| m.len() + 2).sum());
                for m in &messages {
                    framed_all.extend_from_slice(&framed(m));
                }
                let reply = Reply {
                    framed: framed_all,
                    _pending: permit,
                };
                if replies.send(reply).is_err() {
                    return Ok(());
                }
                continue;
            }
        };
        match outcome {
            Outcome::Reply => {
                let reply = Reply {
                    framed: framed(&out),
                    _pending: permit,
                };
                if replies.send(reply).is_err() {
                    return Ok(());
                }
            }
            // Not a query we can answer at all: the stream cannot be trusted.
            Outcome::Drop => return Ok(()),
            Outcome::Forward(forward) => {
                let replies = replies.clone();
                upstream::forward(shared, forward, move |reply| {
                    let _ = replies.send(Reply {
                        framed: framed(&reply),
                        _pending: permit,
                    });
                });
            }
        }
    }
}

/// Reads the next message into `buf`; false at the end of the stream or
/// when none starts within `IDLE_TIMEOUT`. Once its first byte is in, the
/// rest must arrive within `IO_TIMEOUT`.
async fn read_message(reader: &mut OwnedReadHalf, buf: &mut Vec<u8>) -> std::io::Result<bool> {
    let mut len = [0u8; 2];
    let first = match tokio::time::timeout(IDLE_TIMEOUT, reader.read(&mut len)).await {
        Err(_) => return Ok(false),
        Ok(n) => n?,
    };
    if first == 0 {
        return Ok(false);
    }
    let rest = async {
        if first == 1 {
            reader.read_exact(&mut len[1..]).await?;
        }
        let len = u16::from_be_bytes(len) as usize;
        buf.clear();
        // Grows with what arrives, not with what the prefix claims.
        buf.reserve(len.min(512));
        (&mut *reader).take(len as u64).read_to_end(buf).await?;
        if buf.len() < len {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        Ok(true)
    };
    tokio::time::timeout(IO_TIMEOUT, rest)
        .await
        .map_err(|_| timed_out("a query did not arrive whole within the I/O timeout"))?
}

async fn write_replies(
    mut writer: OwnedWriteHalf,
    mut queue: mpsc::UnboundedReceiver<Reply>,
    conn: &Conn,
) -> std::io::Result<()> {
    while let Some(reply) = queue.recv().await {
        tokio::time::timeout(IO_TIMEOUT, writer.write_all(&reply.framed))
            .await
            .map_err(|_| timed_out("the client did not take a reply within the I/O timeout"))??;
        conn.progressed();
    }
    Ok(())
}

fn timed_out(what: &'static str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::TimedOut, what)
}

fn framed(msg: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(msg.len() + 2);
    f.extend_from_slice(&(msg.len() as u16).to_be_bytes());
    f.extend_from_slice(msg);
    f
}
