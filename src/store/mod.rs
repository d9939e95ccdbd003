//! Durable desired state: what the control API was told, kept so that an
//! acknowledged call survives a crash and a restart. One small interface,
//! `Store`, so that a distributed backend (etcd, `EtcdStore`) can stand in
//! for the embedded one (`redb`) without the control plane changing.
//!
//! Objects are opaque bytes (the control plane serializes them), filed by
//! kind (e.g. `"endpoint"`) and id. Every committed change increments one
//! revision counter, as etcd's does, so that replicas can tell what they
//! have seen.
//!
//! A shared store (etcd) also reports what other replicas write
//! (`Store::watch`): the plane applies those changes and tells the store
//! which version of each object it now holds (`Store::seen`), so that a
//! write based on an older state is refused (`StoreError::Conflict`)
//! instead of overwriting a change it never saw.

mod embedded;
mod etcd;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

pub(crate) use embedded::RedbStore;
pub(crate) use etcd::EtcdStore;
pub use etcd::EtcdTarget;

/// Where the desired state lives: `--state` or `[state]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateLocation {
    /// The embedded store in this folder (the default).
    Dir(PathBuf),
    /// etcd, shared by replicas.
    Etcd(EtcdTarget),
}

impl StateLocation {
    /// `etcd://HOST:PORT[,HOST:PORT…]/PREFIX`, else a folder.
    pub fn parse(s: &str) -> Result<StateLocation, String> {
        match EtcdTarget::parse(s) {
            Some(target) => target.map(StateLocation::Etcd),
            None => Ok(StateLocation::Dir(PathBuf::from(s))),
        }
    }

    pub(crate) fn open(&self) -> Result<Box<dyn Store>, StoreError> {
        Ok(match self {
            StateLocation::Dir(dir) => Box::new(RedbStore::open(dir)?),
            StateLocation::Etcd(target) => Box::new(EtcdStore::open(target)?),
        })
    }
}

impl std::fmt::Display for StateLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StateLocation::Dir(dir) => write!(f, "{}", dir.display()),
            StateLocation::Etcd(target) => write!(f, "etcd {}", target.name()),
        }
    }
}

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreError {
    #[error("state store {path}: {message}")]
    Backend { path: String, message: String },
    /// The shared store cannot be reached (or has no quorum): nothing was
    /// written.
    #[error("state store {endpoints} is unreachable: {message}")]
    Unavailable { endpoints: String, message: String },
    /// Another replica changed the object since this one read it: nothing
    /// was written; the other change arrives through the watch.
    #[error("state store: {kind} '{id}' was changed by another replica; read it again")]
    Conflict { kind: String, id: String },
}

/// One change another writer (or this one) committed to a shared store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StoreEvent {
    /// An object created or replaced at `revision`.
    Put {
        kind: String,
        id: String,
        value: Vec<u8>,
        revision: u64,
    },
    /// An object removed at `revision`.
    Delete {
        kind: String,
        id: String,
        revision: u64,
    },
    /// The whole state at `revision`, read again after the watch broke
    /// (etcd unreachable, or its history compacted past what was seen):
    /// replaces everything held.
    Reset {
        objects: Vec<(String, String, Vec<u8>, u64)>,
        revision: u64,
    },
}

/// An admin override (`state` "up"/"down", `None`: cleared) that the admin
/// API asks the control loop to keep in the store; the reply comes once it
/// is stored (`Err`: why not, and the override was not kept).
#[derive(Debug)]
pub(crate) struct OverrideWrite {
    pub(crate) endpoint: String,
    pub(crate) zone: String,
    pub(crate) state: Option<String>,
    pub(crate) reply: tokio::sync::oneshot::Sender<Result<(), String>>,
}

/// Whether the shared store answers, for `/v1/status` and the metrics:
/// set by the store's watcher, read by the admin API.
#[derive(Debug, Default)]
pub(crate) struct StoreHealth(AtomicU8);

const NONE: u8 = 0;
const UP: u8 = 1;
const DOWN: u8 = 2;

impl StoreHealth {
    pub(crate) fn set(&self, up: bool) {
        self.0.store(if up { UP } else { DOWN }, Ordering::Relaxed);
    }

    /// `None` without a shared store.
    pub(crate) fn get(&self) -> Option<bool> {
        match self.0.load(Ordering::Relaxed) {
            NONE => None,
            v => Some(v == UP),
        }
    }
}

/// Desired state by kind and id. Every write is durable when it returns:
/// the caller acknowledges a change only after `put` or `delete` came back
/// `Ok`.
pub(crate) trait Store: Send {
    // The plane reads everything at open (`list`) and follows changes
    // through `watch`; single reads are for the tests.
    #[cfg_attr(
        not(test),
        expect(dead_code, reason = "the plane lists at open and then watches")
    )]
    fn get(&self, kind: &str, id: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Creates or replaces; returns the new revision. A shared store
    /// refuses it (`Conflict`) when the object changed since this replica
    /// last read or wrote it.
    fn put(&mut self, kind: &str, id: &str, value: &[u8]) -> Result<u64, StoreError>;
    /// Removes (nothing when absent); returns the new revision.
    fn delete(&mut self, kind: &str, id: &str) -> Result<u64, StoreError>;
    /// Every object of `kind`, by id in byte order.
    fn list(&self, kind: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError>;
    /// The revision of the last committed change (0 for an empty store).
    fn revision(&self) -> Result<u64, StoreError>;

    /// Whether other replicas write to this store too: then lifecycle
    /// steps are derived from stored timestamps, not written.
    fn shared(&self) -> bool {
        false
    }

    /// Starts reporting every change committed after `revision`; `None`
    /// for a store nobody else writes.
    fn watch(
        &mut self,
        _revision: u64,
        _health: Arc<StoreHealth>,
    ) -> Option<tokio::sync::mpsc::UnboundedReceiver<StoreEvent>> {
        None
    }

    /// The plane now holds the version of `kind`/`id` written at
    /// `revision` (`exists` false: removed). Returns false when it held
    /// that version or a later one already (e.g. its own write coming back
    /// through the watch), so the event can be skipped.
    fn seen(&mut self, _kind: &str, _id: &str, _revision: u64, _exists: bool) -> bool {
        true
    }

    /// Forgets every version seen: a `Reset` read at `revision` follows.
    fn forget(&mut self, _revision: u64) {}
}
