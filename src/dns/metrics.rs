//! Query counters by RCODE, snapshot and reload counters, kept as relaxed
//! atomics: the query path only adds.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use hickory_proto::op::ResponseCode;

/// RCODEs we can send, by name, in the order they are rendered.
const RCODES: [(ResponseCode, &str); 7] = [
    (ResponseCode::NoError, "NOERROR"),
    (ResponseCode::FormErr, "FORMERR"),
    (ResponseCode::ServFail, "SERVFAIL"),
    (ResponseCode::NXDomain, "NXDOMAIN"),
    (ResponseCode::NotImp, "NOTIMP"),
    (ResponseCode::Refused, "REFUSED"),
    (ResponseCode::BADVERS, "BADVERS"),
];

#[derive(Default)]
pub struct Metrics {
    by_rcode: [AtomicU64; RCODES.len()],
    snapshots: AtomicU64,
    last_build_us: AtomicU64,
    contained_panics: AtomicU64,
    reloads_ok: AtomicU64,
    reloads_rejected: AtomicU64,
    /// Whether the shared state store (etcd) answers; unset without one.
    pub(crate) state_store: std::sync::Arc<crate::store::StoreHealth>,
}

impl Metrics {
    pub(crate) fn count(&self, rcode: ResponseCode) {
        if let Some(i) = RCODES.iter().position(|(r, _)| *r == rcode) {
            self.by_rcode[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A snapshot was published; `build_us` is what building it took.
    pub(crate) fn snapshot_published(&self, build_us: u64) {
        self.snapshots.fetch_add(1, Ordering::Relaxed);
        self.last_build_us.store(build_us, Ordering::Relaxed);
    }

    /// A panic was caught while answering (`dns::contain`).
    pub(crate) fn panic_contained(&self) {
        self.contained_panics.fetch_add(1, Ordering::Relaxed);
    }

    #[cfg(test)]
    pub(crate) fn panics_contained(&self) -> u64 {
        self.contained_panics.load(Ordering::Relaxed)
    }

    /// A reload swapped in a new config (counted after its snapshot is
    /// published, so a reader that sees the count sees the new answers).
    pub(crate) fn reload_ok(&self) {
        self.reloads_ok.fetch_add(1, Ordering::Relaxed);
    }

    /// A reload was refused; the running config keeps serving.
    pub(crate) fn reload_rejected(&self) {
        self.reloads_rejected.fetch_add(1, Ordering::Relaxed);
    }

    /// Prometheus text format.
    pub(crate) fn render_prometheus(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "# HELP epdns_snapshots_total Answer snapshots published (start, health changes, reloads).\n\
             # TYPE epdns_snapshots_total counter\n\
             epdns_snapshots_total {}\n\
             # HELP epdns_snapshot_build_seconds Time to build the last snapshot.\n\
             # TYPE epdns_snapshot_build_seconds gauge\n\
             epdns_snapshot_build_seconds {}\n\
             # HELP epdns_contained_panics_total Panics caught while answering (a UDP batch or a TCP connection dropped; the listener goes on).\n\
             # TYPE epdns_contained_panics_total counter\n\
             epdns_contained_panics_total {}",
            self.snapshots.load(Ordering::Relaxed),
            self.last_build_us.load(Ordering::Relaxed) as f64 / 1e6,
            self.contained_panics.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP epdns_reloads_total Config reloads (SIGHUP), by result: ok (swapped in) or rejected (the running config kept serving).\n\
             # TYPE epdns_reloads_total counter\n\
             epdns_reloads_total{{result=\"ok\"}} {}\n\
             epdns_reloads_total{{result=\"rejected\"}} {}",
            self.reloads_ok.load(Ordering::Relaxed),
            self.reloads_rejected.load(Ordering::Relaxed)
        );
        if let Some(up) = self.state_store.get() {
            let _ = writeln!(
                out,
                "# HELP epdns_state_store_up Whether the shared state store (etcd) answers a quorum read: 1 yes, 0 no (the last state keeps serving, API writes fail).\n\
                 # TYPE epdns_state_store_up gauge\n\
                 epdns_state_store_up {}",
                u8::from(up)
            );
        }
        out.push_str("# HELP epdns_queries_total DNS responses sent, by RCODE.\n");
        out.push_str("# TYPE epdns_queries_total counter\n");
        for (i, (_, name)) in RCODES.iter().enumerate() {
            let n = self.by_rcode[i].load(Ordering::Relaxed);
            let _ = writeln!(out, "epdns_queries_total{{rcode=\"{name}\"}} {n}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reloads_are_counted_by_result() {
        let m = Metrics::default();
        m.reload_ok();
        m.reload_rejected();
        m.reload_rejected();
        let mut out = String::new();
        m.render_prometheus(&mut out);
        for line in [
            "# TYPE epdns_reloads_total counter\n",
            "epdns_reloads_total{result=\"ok\"} 1\n",
            "epdns_reloads_total{result=\"rejected\"} 2\n",
        ] {
            assert!(out.contains(line), "missing {line:?} in\n{out}");
        }
    }
}
