//! The DNS transports: packets in, `(question, client)` to the snapshot, answers
//! back out. What to answer is decided in `snapshot/`; a configured
//! secondary's queries are answered by `xfr/`.

pub mod client;
pub(crate) mod contain;
pub mod fast;
pub(crate) mod log_gate;
pub mod message;
pub mod metrics;
pub(crate) mod mmsg;
pub mod respond;
pub(crate) mod tcp;
pub(crate) mod udp;
pub(crate) mod upstream;

use arc_swap::{ArcSwap, ArcSwapOption};

use crate::snapshot::Snapshot;

/// What every listener reads: the current snapshot, the upstream forwarder
/// (resolver mode), the counters, and the runtime for async work; and the
/// limits every listener shares: the open TCP connections and the forwarded
/// questions in flight.
pub(crate) struct Shared {
    pub(crate) snapshot: ArcSwap<Snapshot>,
    pub(crate) upstream: ArcSwapOption<Box<dyn upstream::Upstream>>,
    pub(crate) tcp: std::sync::Arc<tcp::Conns>,
    pub(crate) forwards: upstream::InFlight,
    pub(crate) metrics: metrics::Metrics,
    pub(crate) runtime: tokio::runtime::Handle,
    /// Where the admin API sends overrides to keep, when a state store is
    /// configured.
    pub(crate) override_writes: Option<tokio::sync::mpsc::Sender<crate::store::OverrideWrite>>,
    /// Zone transfers, when `[[secondary]]` is configured: the queries of
    /// secondaries go there.
    pub(crate) xfr: Option<std::sync::Arc<crate::xfr::Transfers>>,
}
