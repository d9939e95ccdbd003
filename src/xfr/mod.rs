//! Zone transfers to standard secondaries: AXFR (RFC 5936) and IXFR
//! (RFC 1995) of the generated zone's static view and of every private
//! zone, NOTIFY (RFC 1996) on every change, TSIG (RFC 8945) on both, for
//! the configured `[[secondary]]` entries only.
//!
//! `content` reads what a snapshot transfers, `zones` keeps each zone's
//! serial and journal (`journal`, `serial`), `request` answers a
//! secondary's queries as `stream` messages signed by `tsig`, and `notify`
//! tells each secondary about changes.
//!
//! The engine (`Transfers::run`) wakes after every publish (`changed`),
//! reads the new snapshot's content on the blocking pool, and when a zone
//! changed gives it a new serial, a journal step and a NOTIFY. The query
//! path only takes a secondary's queries here (`is_secondary`), after
//! the fast path has declined them.

pub(crate) mod content;
pub(crate) mod journal;
pub(crate) mod notify;
pub(crate) mod request;
pub(crate) mod serial;
pub(crate) mod stream;
pub(crate) mod tsig;
pub(crate) mod zones;

use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use tokio::sync::{Notify, watch};
use tracing::{debug, warn};

pub(crate) use request::{General, Handling};

use crate::model::Transfer;
use crate::snapshot::Snapshot;
use notify::Serials;
use zones::Zones;

/// The transfer engine: who may transfer (the secondaries and keys it was
/// started with: they change only on restart), and what.
pub(crate) struct Transfers {
    access: Transfer,
    zones: Mutex<Zones>,
    /// What read the first snapshot's zones, until `run` takes it.
    reader: Mutex<Option<content::Reader>>,
    changed: Notify,
    serials: watch::Sender<Serials>,
}

impl Transfers {
    /// The engine for `access`, with the zones of `first` (so that the
    /// first transfer needs no wait); `None` without secondaries.
    pub(crate) fn new(access: &Transfer, first: &Snapshot) -> Option<Arc<Transfers>> {
        if access.secondaries.is_empty() {
            return None;
        }
        let mut reader = content::Reader::default();
        let mut zones = Zones::default();
        zones.update(reader.zones_of(first));
        let (serials, _) = watch::channel(serials_of(&zones));
        Some(Arc::new(Transfers {
            access: access.clone(),
            zones: Mutex::new(zones),
            reader: Mutex::new(Some(reader)),
            changed: Notify::new(),
            serials,
        }))
    }

    /// Whether `ip` is a configured secondary's.
    pub(crate) fn is_secondary(&self, ip: IpAddr) -> bool {
        self.access.secondaries.iter().any(|s| s.address.ip() == ip)
    }

    /// Handles a query from a configured secondary at `src` (else the
    /// general path's to answer).
    pub(crate) fn handle(&self, packet: &[u8], src: IpAddr, tcp: bool) -> Handling {
        match self
            .access
            .secondaries
            .iter()
            .find(|s| s.address.ip() == src)
        {
            Some(secondary) => request::handle(&self.access, secondary, &self.zones, packet, tcp),
            None => Handling::General(Box::new(General::plain())),
        }
    }

    /// Something was published: the engine reads the snapshot again. Many
    /// calls before it wakes count as one.
    pub(crate) fn changed(&self) {
        self.changed.notify_one();
    }

    /// The engine and one NOTIFY task per secondary, until the process
    /// ends. `current` loads the published snapshot.
    pub(crate) async fn run(
        self: Arc<Self>,
        current: impl Fn() -> Arc<Snapshot> + Send + Sync + 'static,
    ) {
        for s in &self.access.secondaries {
            let key = s.key.map(|k| self.access.keys[k].clone());
            tokio::spawn(notify::run(s.address, key, self.serials.subscribe()));
        }
        let taken = self.reader.lock().unwrap_or_else(|e| e.into_inner()).take();
        let mut reader = taken.unwrap_or_default();
        loop {
            self.changed.notified().await;
            let snapshot = current();
            let mut taken = std::mem::take(&mut reader);
            let read = tokio::task::spawn_blocking(move || {
                let contents = taken.zones_of(&snapshot);
                (taken, contents)
            })
            .await;
            let contents = match read {
                Ok((back, c)) => {
                    reader = back;
                    c
                }
                Err(e) => {
                    warn!(error = %e, "reading the zones to transfer failed");
                    continue;
                }
            };
            let serials = {
                let mut zones = self.zones.lock().unwrap_or_else(|e| e.into_inner());
                zones.update(contents);
                serials_of(&zones)
            };
            let moved = *self.serials.borrow() != serials;
            if moved {
                debug!(serials = ?serials.iter().map(|s| s.2).collect::<Vec<_>>(), "transferred zones changed");
                self.serials.send_replace(serials);
            }
        }
    }
}

fn serials_of(zones: &Zones) -> Serials {
    Arc::new(zones.serials())
}
