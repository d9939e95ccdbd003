//! Query counters by RCODE, kept as relaxed atomics: the query path only adds.

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
}

impl Metrics {
    pub fn count(&self, rcode: ResponseCode) {
        if let Some(i) = RCODES.iter().position(|(r, _)| *r == rcode) {
            self.by_rcode[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn get(&self, rcode: ResponseCode) -> u64 {
        RCODES
            .iter()
            .position(|(r, _)| *r == rcode)
            .map_or(0, |i| self.by_rcode[i].load(Ordering::Relaxed))
    }

    /// Prometheus text format.
    pub fn render_prometheus(&self, out: &mut String) {
        out.push_str("# HELP epdns_queries_total DNS responses sent, by RCODE.\n");
        out.push_str("# TYPE epdns_queries_total counter\n");
        for (i, (_, name)) in RCODES.iter().enumerate() {
            let n = self.by_rcode[i].load(Ordering::Relaxed);
            let _ = writeln!(out, "epdns_queries_total{{rcode=\"{name}\"}} {n}");
        }
    }
}
