//! Durable desired state: what the control API was told, kept so that an
//! acknowledged call survives a crash and a restart. One small interface,
//! `Store`, so that a distributed backend (etcd) can stand in for the
//! embedded one (`redb`) without the control plane changing.
//!
//! Objects are opaque bytes (the control plane serializes them), filed by
//! kind (e.g. `"endpoint"`) and id. Every committed change increments one
//! revision counter, as etcd's does, so that replicas can tell what they
//! have seen.

mod embedded;

pub(crate) use embedded::RedbStore;

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreError {
    #[error("state store {path}: {message}")]
    Backend { path: String, message: String },
}

/// Desired state by kind and id. Every write is durable when it returns:
/// the caller acknowledges a change only after `put` or `delete` came back
/// `Ok`.
pub(crate) trait Store: Send {
    // The control plane reads everything at open (`list`); a replica that
    // watches etcd for one object will read it alone.
    #[cfg_attr(
        not(test),
        expect(dead_code, reason = "the etcd backend's watchers read single objects")
    )]
    fn get(&self, kind: &str, id: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Creates or replaces; returns the new revision.
    fn put(&mut self, kind: &str, id: &str, value: &[u8]) -> Result<u64, StoreError>;
    /// Removes (nothing when absent); returns the new revision.
    fn delete(&mut self, kind: &str, id: &str) -> Result<u64, StoreError>;
    /// Every object of `kind`, by id in byte order.
    fn list(&self, kind: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError>;
    /// The revision of the last committed change (0 for an empty store).
    fn revision(&self) -> Result<u64, StoreError>;
}
