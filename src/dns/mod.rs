//! The DNS transports: packets in, `(question, client)` to the snapshot, answers
//! back out. What to answer is decided in `snapshot/`.

pub mod client;
pub mod contain;
pub mod fast;
pub mod log_gate;
pub mod message;
pub mod metrics;
pub mod mmsg;
pub mod respond;
pub mod tcp;
pub mod udp;
pub mod upstream;

use arc_swap::{ArcSwap, ArcSwapOption};

use crate::snapshot::Snapshot;

/// What every listener reads: the current snapshot, the upstream forwarder
/// (resolver mode), the counters, and the runtime for async work; and the
/// limits every listener shares: the open TCP connections and the forwarded
/// questions in flight.
pub struct Shared {
    pub snapshot: ArcSwap<Snapshot>,
    pub upstream: ArcSwapOption<Box<dyn upstream::Upstream>>,
    pub tcp: std::sync::Arc<tcp::Conns>,
    pub forwards: upstream::InFlight,
    pub metrics: metrics::Metrics,
    pub runtime: tokio::runtime::Handle,
}
