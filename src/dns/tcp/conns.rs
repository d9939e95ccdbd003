//! The open TCP client connections of every listener, and the two caps on
//! them: all together (`max`, from the fd budget) and per source address
//! (`per_source`, a /32 for IPv4, a /64 for IPv6). Neither cap ever parks
//! `accept`: reaching one closes the idlest connection (the one longest
//! without a whole message read or written), of the same source for the
//! per-source cap, of anyone for the global one, so that a new client never
//! waits behind idle ones.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{Notify, oneshot};
use tokio::time::Instant;
use tracing::warn;

use crate::dns::log_gate::LogGate;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Open connections, all listeners and sources together.
    pub(crate) max: usize,
    /// Open connections from one source.
    pub(crate) per_source: usize,
}

/// Where connections are counted from: an IPv4 address, or the /64 of an
/// IPv6 one (one host commonly holds a whole /64).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Source {
    V4(u32),
    V6(u64),
}

impl Source {
    pub(crate) fn of(ip: IpAddr) -> Source {
        match ip.to_canonical() {
            IpAddr::V4(a) => Source::V4(a.to_bits()),
            IpAddr::V6(a) => Source::V6((a.to_bits() >> 64) as u64),
        }
    }
}

pub(crate) struct Conns {
    limits: Limits,
    epoch: Instant,
    /// Per slot: when its connection last read or wrote a whole message,
    /// in ms since `epoch`. Written by the connection without the lock.
    progress: Box<[AtomicU64]>,
    inner: Mutex<Inner>,
    /// Woken whenever a connection closes.
    closed: Notify,
}

struct Inner {
    slots: Vec<Slot>,
    free: Vec<usize>,
    /// Open connections per source, not counting those being closed.
    per_source: HashMap<Source, usize>,
    /// Connections told to close that have not closed yet.
    closing: usize,
}

enum Slot {
    Free,
    /// Held by a listener for the connection it will accept next.
    Reserved,
    /// `close` is taken when the connection is told to close.
    Open {
        source: Source,
        close: Option<oneshot::Sender<()>>,
    },
}

/// A slot held for the next accepted connection; [`Conns::open`] uses it.
#[must_use]
pub(crate) struct Reserved(usize);

/// An open connection's place in the table; dropping it (after the socket)
/// frees the slot.
pub(crate) struct Conn {
    conns: Arc<Conns>,
    slot: usize,
}

/// Resolves when the table tells the connection to close.
pub(crate) type CloseSignal = oneshot::Receiver<()>;

static SHED: LogGate = LogGate::new(Duration::from_secs(10));

impl Conns {
    pub(crate) fn new(limits: Limits) -> Arc<Conns> {
        let max = limits.max.max(1);
        Arc::new(Conns {
            limits: Limits { max, ..limits },
            epoch: Instant::now(),
            progress: (0..max).map(|_| AtomicU64::new(0)).collect(),
            inner: Mutex::new(Inner {
                slots: (0..max).map(|_| Slot::Free).collect(),
                free: (0..max).rev().collect(),
                per_source: HashMap::new(),
                closing: 0,
            }),
            closed: Notify::new(),
        })
    }

    /// Open connections (those being closed included).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        let inner = self.lock();
        inner
            .slots
            .iter()
            .filter(|s| matches!(s, Slot::Open { .. }))
            .count()
    }

    /// A slot for the next connection: a free one, or, when every slot is
    /// taken, the one of the idlest connection once it has closed (closing a
    /// connection takes one turn of its task).
    pub(crate) async fn reserve(&self) -> Reserved {
        loop {
            let closed = self.closed.notified();
            tokio::pin!(closed);
            closed.as_mut().enable();
            {
                let mut inner = self.lock();
                if let Some(i) = inner.free.pop() {
                    inner.slots[i] = Slot::Reserved;
                    return Reserved(i);
                }
                // One at a time: a connection already closing frees a slot.
                if inner.closing == 0 && self.close_idlest(&mut inner, None) {
                    log_shed("every TCP connection slot is taken", self.limits.max);
                }
            }
            // The timeout only guards against a close that never comes.
            let _ = tokio::time::timeout(Duration::from_secs(1), closed).await;
        }
    }

    /// Puts the connection accepted from `peer` in `slot`. When its source
    /// already has `per_source` connections, the idlest of them is told to
    /// close.
    pub(crate) fn open(self: &Arc<Self>, slot: Reserved, peer: IpAddr) -> (Conn, CloseSignal) {
        let source = Source::of(peer);
        let (tx, rx) = oneshot::channel();
        let mut inner = self.lock();
        let count = inner.per_source.entry(source).or_insert(0);
        *count += 1;
        if *count > self.limits.per_source && self.close_idlest(&mut inner, Some(source)) {
            log_shed(
                "a source is at its TCP connection cap",
                self.limits.per_source,
            );
        }
        inner.slots[slot.0] = Slot::Open {
            source,
            close: Some(tx),
        };
        self.progress[slot.0].store(self.now_ms(), Ordering::Relaxed);
        drop(inner);
        let conn = Conn {
            conns: self.clone(),
            slot: slot.0,
        };
        (conn, rx)
    }

    /// Tells the idlest connection to close (when `accept` itself runs out
    /// of descriptors, for example). False when none is left to tell.
    pub(crate) fn shed_idlest(&self) -> bool {
        let mut inner = self.lock();
        self.close_idlest(&mut inner, None)
    }

    fn close_idlest(&self, inner: &mut Inner, of: Option<Source>) -> bool {
        let idlest = inner
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| match s {
                Slot::Open {
                    source,
                    close: Some(_),
                } if of.is_none_or(|o| o == *source) => Some(i),
                _ => None,
            })
            .min_by_key(|&i| self.progress[i].load(Ordering::Relaxed));
        let Some(i) = idlest else {
            return false;
        };
        if let Slot::Open { source, close } = &mut inner.slots[i] {
            let source = *source;
            if let Some(tx) = close.take() {
                // The connection may be ending on its own: then it is gone.
                let _ = tx.send(());
            }
            inner.closing += 1;
            forget_one(&mut inner.per_source, source);
        }
        true
    }

    fn release(&self, slot: usize) {
        let mut inner = self.lock();
        if let Slot::Open { source, close } = std::mem::replace(&mut inner.slots[slot], Slot::Free)
        {
            if close.is_some() {
                forget_one(&mut inner.per_source, source);
            } else {
                inner.closing -= 1;
            }
        }
        inner.free.push(slot);
        drop(inner);
        self.closed.notify_waiters();
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The table stays consistent at every unlock: a panic elsewhere
        // while holding it cannot leave it half-changed.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Conn {
    /// A whole message was read or written: the connection is not idle.
    pub(crate) fn progressed(&self) {
        let now = self.conns.now_ms();
        self.conns.progress[self.slot].store(now, Ordering::Relaxed);
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.conns.release(self.slot);
    }
}

fn forget_one(per_source: &mut HashMap<Source, usize>, source: Source) {
    if let Some(n) = per_source.get_mut(&source) {
        *n -= 1;
        if *n == 0 {
            per_source.remove(&source);
        }
    }
}

fn log_shed(why: &str, cap: usize) {
    if let Some(left_out) = SHED.pass() {
        warn!(
            cap,
            left_out, "{why}: closing the idlest connection to admit a new one"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn closed(signal: &mut CloseSignal) -> bool {
        signal.try_recv().is_ok()
    }

    #[test]
    fn sources_are_v4_addresses_and_v6_slash_64s() {
        assert_eq!(
            Source::of(ip("127.0.0.1")),
            Source::of(ip("::ffff:127.0.0.1"))
        );
        assert_ne!(Source::of(ip("127.0.0.1")), Source::of(ip("127.0.0.2")));
        assert_eq!(Source::of(ip("fd00::1")), Source::of(ip("fd00::ffff:1")));
        assert_ne!(Source::of(ip("fd00::1")), Source::of(ip("fd00:0:0:1::1")));
    }

    #[tokio::test(start_paused = true)]
    async fn a_source_over_its_cap_loses_its_own_idlest_connection() {
        let conns = Conns::new(Limits {
            max: 10,
            per_source: 2,
        });
        let (a1, mut s1) = conns.open(conns.reserve().await, ip("127.0.0.5"));
        tokio::time::advance(Duration::from_millis(10)).await;
        let (_a2, mut s2) = conns.open(conns.reserve().await, ip("127.0.0.5"));
        let (_b, mut sb) = conns.open(conns.reserve().await, ip("127.0.0.6"));
        tokio::time::advance(Duration::from_millis(10)).await;
        a1.progressed(); // a1 is now the most recent of source a
        let (_a3, mut s3) = conns.open(conns.reserve().await, ip("127.0.0.5"));
        assert!(
            !closed(&mut s1) && closed(&mut s2),
            "a2 was the idlest of a"
        );
        assert!(!closed(&mut sb) && !closed(&mut s3));
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_table_closes_the_idlest_and_reuses_its_slot() {
        let conns = Conns::new(Limits {
            max: 2,
            per_source: 10,
        });
        let (old, mut s_old) = conns.open(conns.reserve().await, ip("127.0.0.5"));
        tokio::time::advance(Duration::from_millis(10)).await;
        let (_new, mut s_new) = conns.open(conns.reserve().await, ip("127.0.0.6"));
        // Full: the reservation closes the idlest (old) and waits for it.
        let conns2 = conns.clone();
        let next = tokio::spawn(async move { conns2.reserve().await });
        tokio::task::yield_now().await;
        assert!(closed(&mut s_old) && !closed(&mut s_new));
        assert!(
            !next.is_finished(),
            "no slot until the old connection closes"
        );
        drop(old);
        let slot = tokio::time::timeout(Duration::from_millis(100), next)
            .await
            .expect("a slot once the idlest closed")
            .unwrap();
        let (_c, _) = conns.open(slot, ip("127.0.0.7"));
        assert_eq!(conns.len(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn counts_follow_closes() {
        let conns = Conns::new(Limits {
            max: 4,
            per_source: 1,
        });
        let (a1, _) = conns.open(conns.reserve().await, ip("127.0.0.5"));
        drop(a1);
        // a1 closed by itself: a2 is within the cap and nothing is shed.
        let (_a2, mut s2) = conns.open(conns.reserve().await, ip("127.0.0.5"));
        assert!(!closed(&mut s2));
        assert_eq!(conns.len(), 1);
        assert!(conns.shed_idlest());
        assert!(closed(&mut s2));
        assert!(!conns.shed_idlest(), "a2 is closing already");
    }
}
