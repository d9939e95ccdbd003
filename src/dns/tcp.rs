//! DNS over TCP (RFC 7766): length-prefixed messages, several per connection
//! (pipelined; a reply that waits for an upstream goes out when it arrives,
//! so replies may leave out of order, as §6.2.1.1 allows), closed after an
//! idle timeout.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tracing::{debug, warn};

use super::Shared;
use super::client::{Origin, Transport};
use super::log_limit::LogLimit;
use super::message::Outcome;
use super::respond::respond;
use super::upstream::complete;

/// RFC 7766 §6.2.3 suggests seconds, not minutes, for idle connections.
const IDLE_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_CONNECTIONS: usize = 1024;

/// Clients decide how often these happen (a connection flood exhausting
/// file descriptors, connections reset mid-query): rate-limited.
static ACCEPT_FAILED: LogLimit = LogLimit::new("tcp accept failed", 5);
static CONNECTION_ENDED: LogLimit = LogLimit::new("tcp connection ended", 5);

pub fn bind(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
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

pub async fn serve(listener: std::net::TcpListener, shared: Arc<Shared>) {
    let listener = match TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            warn!(error = %e, "tcp listener cannot join the runtime");
            return;
        }
    };
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                if ACCEPT_FAILED.allow() {
                    warn!(error = %e, "tcp accept failed");
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(local) = stream.local_addr() else {
            continue;
        };
        // Over the limit, new connections wait in the backlog rather than
        // starve the ones being served.
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            if let Err(e) = connection(stream, peer, local, shared).await
                && CONNECTION_ENDED.allow()
            {
                debug!(error = %e, client = %peer, "tcp connection ended");
            }
            drop(permit);
        });
    }
}

/// One connection: queries are read in order; local answers are written at
/// once, answers that need an upstream when they arrive (RFC 7766 §6.2.1.1
/// allows out-of-order replies), so a slow upstream never holds up the
/// queries behind it. One writer task owns the write half.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    listener: SocketAddr,
    shared: Arc<Shared>,
) -> std::io::Result<()> {
    let origin = Origin {
        src: peer.ip(),
        listener,
        transport: Transport::Tcp,
    };
    stream.set_nodelay(true)?;
    let (mut reader, mut writer) = stream.into_split();
    let (replies, mut to_write) = mpsc::channel::<Vec<u8>>(64);
    let write_task = tokio::spawn(async move {
        while let Some(reply) = to_write.recv().await {
            writer.write_all(&framed(&reply)).await?;
        }
        Ok::<_, std::io::Error>(())
    });
    let mut buf = vec![0u8; 65535];
    let read_result = async {
        loop {
            let len = match tokio::time::timeout(IDLE_TIMEOUT, reader.read_u16()).await {
                Err(_) => return Ok(()),
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
                Ok(r) => r? as usize,
            };
            tokio::time::timeout(IDLE_TIMEOUT, reader.read_exact(&mut buf[..len]))
                .await
                .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
            let mut out = Vec::with_capacity(512);
            let outcome = {
                let snapshot = shared.snapshot.load();
                respond(&snapshot, &shared.metrics, &buf[..len], origin, &mut out)
            };
            match outcome {
                Outcome::Reply => {
                    if replies.send(out).await.is_err() {
                        return Ok(());
                    }
                }
                // Not a query we can answer at all: the stream cannot be trusted.
                Outcome::Drop => return Ok(()),
                Outcome::Forward(pending) => {
                    let (shared, replies) = (shared.clone(), replies.clone());
                    tokio::spawn(async move {
                        if let Some(reply) = complete(&shared, pending).await {
                            let _ = replies.send(reply).await;
                        }
                    });
                }
            }
        }
    }
    .await;
    // Replies still being forwarded hold their own sender: the writer ends
    // when the last of them is written.
    drop(replies);
    let write_result = write_task.await.unwrap_or(Ok(()));
    read_result.and(write_result)
}

fn framed(msg: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(msg.len() + 2);
    f.extend_from_slice(&(msg.len() as u16).to_be_bytes());
    f.extend_from_slice(msg);
    f
}
