//! The admin API's HTTP server: hyper's HTTP/1 connection handling with the
//! limits a small control API needs against a client that is slow, idle or
//! never reads, so that no client can hold the API (or its fds) for long.
//!
//! - at most `MAX_CONNECTIONS` at once: further connections wait in the
//!   kernel's backlog until one ends, and every connection ends within the
//!   bounds below;
//! - at most `PER_SOURCE` from one client address: more are closed at once,
//!   so one client cannot take the whole pool;
//! - a request's head must arrive within `HEAD_TIMEOUT` (hyper's header read
//!   timeout: slowloris and idle keep-alive connections are closed);
//! - a reply that cannot be written for `WRITE_STALL` (the client does not
//!   read) closes the connection.

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Semaphore;
use tokio::time::Sleep;
use tracing::debug;

/// Connections served at once.
pub(crate) const MAX_CONNECTIONS: usize = 64;
/// Connections one client address may hold.
pub(crate) const PER_SOURCE: usize = 8;
/// Time for a request's head to arrive, from connect or from the last reply.
pub(crate) const HEAD_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest a reply may wait for the client to read.
pub(crate) const WRITE_STALL: Duration = Duration::from_secs(10);

/// Serves `app` on `listener` until the listener fails.
pub(crate) async fn serve(listener: tokio::net::TcpListener, app: Router) -> io::Result<()> {
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let per_source: Arc<Mutex<HashMap<IpAddr, usize>>> = Arc::default();
    loop {
        let permit = permits
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                // Out of fds or similar: wait instead of spinning.
                debug!(error = %e, "admin API accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some(source) = SourceSlot::take(&per_source, peer.ip()) else {
            debug!(client = %peer, "admin API: too many connections from this client");
            continue;
        };
        let service = TowerToHyperService::new(app.clone());
        tokio::spawn(async move {
            let io = TokioIo::new(WriteStall::new(stream, WRITE_STALL));
            let served = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEAD_TIMEOUT)
                .serve_connection(io, service)
                .await;
            if let Err(e) = served {
                debug!(error = %e, client = %peer, "admin API connection ended");
            }
            drop((permit, source));
        });
    }
}

/// One connection's place in its client's count; given back on drop.
struct SourceSlot {
    counts: Arc<Mutex<HashMap<IpAddr, usize>>>,
    ip: IpAddr,
}

impl SourceSlot {
    fn take(counts: &Arc<Mutex<HashMap<IpAddr, usize>>>, ip: IpAddr) -> Option<SourceSlot> {
        let mut map = counts
            .lock()
            .expect("never poisoned: no panics under the lock");
        let n = map.entry(ip).or_insert(0);
        if *n >= PER_SOURCE {
            return None;
        }
        *n += 1;
        Some(SourceSlot {
            counts: counts.clone(),
            ip,
        })
    }
}

impl Drop for SourceSlot {
    fn drop(&mut self) {
        let mut map = self
            .counts
            .lock()
            .expect("never poisoned: no panics under the lock");
        if let Some(n) = map.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

/// A stream whose writes fail once one has been pending for `limit`: the
/// peer stopped reading.
struct WriteStall<S> {
    inner: S,
    limit: Duration,
    stalled: Option<Pin<Box<Sleep>>>,
}

impl<S> WriteStall<S> {
    fn new(inner: S, limit: Duration) -> Self {
        WriteStall {
            inner,
            limit,
            stalled: None,
        }
    }

    /// Called when a write is pending: arms the timer on the first pending
    /// poll, and fails once it has fired.
    fn check_stall(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let limit = self.limit;
        let timer = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client stopped reading",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for WriteStall<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for WriteStall<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write(cx, buf) {
            Poll::Pending => self.check_stall(cx),
            done => {
                self.stalled = None;
                done
            }
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[tokio::test(start_paused = true)]
    async fn a_write_the_peer_never_reads_fails_after_the_limit() {
        // The peer end of a 64-byte pipe that nobody reads.
        let (ours, _peer) = tokio::io::duplex(64);
        let mut stream = WriteStall::new(ours, Duration::from_secs(10));
        let started = tokio::time::Instant::now();
        let err = stream.write_all(&[0u8; 1024]).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert_eq!(started.elapsed(), Duration::from_secs(10));
    }

    #[tokio::test(start_paused = true)]
    async fn a_peer_that_reads_is_never_cut() {
        let (ours, mut peer) = tokio::io::duplex(64);
        let reader = tokio::spawn(async move {
            let mut sink = Vec::new();
            tokio::io::AsyncReadExt::read_to_end(&mut peer, &mut sink)
                .await
                .unwrap();
            sink.len()
        });
        let mut stream = WriteStall::new(ours, Duration::from_secs(10));
        for _ in 0..100 {
            stream.write_all(&[1u8; 1024]).await.unwrap();
        }
        stream.shutdown().await.unwrap();
        drop(stream);
        assert_eq!(reader.await.unwrap(), 100 * 1024);
    }

    #[test]
    fn one_source_holds_at_most_its_share() {
        let counts: Arc<Mutex<HashMap<IpAddr, usize>>> = Arc::default();
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        let held: Vec<_> = (0..PER_SOURCE)
            .map(|_| SourceSlot::take(&counts, a).unwrap())
            .collect();
        assert!(SourceSlot::take(&counts, a).is_none());
        assert!(SourceSlot::take(&counts, b).is_some());
        drop(held);
        assert!(SourceSlot::take(&counts, a).is_some());
    }
}
