//! The DNS transports: packets in, `(question, client)` to the snapshot, answers
//! back out. What to answer is decided in `snapshot/`.

pub mod message;
pub mod metrics;
pub mod tcp;
pub mod udp;

use arc_swap::ArcSwap;

use crate::snapshot::Snapshot;

/// What every listener reads: the current snapshot and the counters.
pub struct Shared {
    pub snapshot: ArcSwap<Snapshot>,
    pub metrics: metrics::Metrics,
}
