//! Probe metrics: counters updated by the health table, rendered as Prometheus
//! text for the integrator's metrics endpoint.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

/// Monotonic counters. Atomics so that counting a probe never waits for a
/// metrics scrape.
#[derive(Default)]
pub(super) struct Counters {
    pub(super) probes_ok: AtomicU64,
    pub(super) probes_fail: AtomicU64,
    pub(super) transitions: AtomicU64,
}

impl Counters {
    pub(super) fn probe(&self, ok: bool) {
        let counter = if ok {
            &self.probes_ok
        } else {
            &self.probes_fail
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn transition(&self) {
        self.transitions.fetch_add(1, Ordering::Relaxed);
    }
}

/// ENI addresses by effective state at one moment. Counted from the table at
/// scrape time rather than kept as gauges, so they cannot drift from it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct StateCounts {
    pub(super) up: u64,
    pub(super) down: u64,
    pub(super) unknown: u64,
    pub(super) overridden: u64,
}

pub(super) fn render(counters: &Counters, states: StateCounts, out: &mut String) {
    let ok = counters.probes_ok.load(Ordering::Relaxed);
    let fail = counters.probes_fail.load(Ordering::Relaxed);
    let transitions = counters.transitions.load(Ordering::Relaxed);
    let StateCounts {
        up,
        down,
        unknown,
        overridden,
    } = states;
    // Writing to a String cannot fail.
    let _ = write!(
        out,
        "# HELP epdns_probes_total Health probes run, by result.\n\
         # TYPE epdns_probes_total counter\n\
         epdns_probes_total{{result=\"ok\"}} {ok}\n\
         epdns_probes_total{{result=\"fail\"}} {fail}\n\
         # HELP epdns_transitions_total Changes of an ENI address's effective state.\n\
         # TYPE epdns_transitions_total counter\n\
         epdns_transitions_total {transitions}\n\
         # HELP epdns_enis ENI addresses by effective state.\n\
         # TYPE epdns_enis gauge\n\
         epdns_enis{{state=\"up\"}} {up}\n\
         epdns_enis{{state=\"down\"}} {down}\n\
         epdns_enis{{state=\"unknown\"}} {unknown}\n\
         # HELP epdns_enis_overridden ENI addresses under an admin override.\n\
         # TYPE epdns_enis_overridden gauge\n\
         epdns_enis_overridden {overridden}\n"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_format() {
        let counters = Counters::default();
        counters.probe(true);
        counters.probe(true);
        counters.probe(false);
        counters.transition();
        let states = StateCounts {
            up: 4,
            down: 1,
            unknown: 0,
            overridden: 2,
        };
        let mut out = String::from("# earlier metrics\n");
        render(&counters, states, &mut out);
        assert!(out.starts_with("# earlier metrics\n"), "appends");
        for line in [
            "epdns_probes_total{result=\"ok\"} 2",
            "epdns_probes_total{result=\"fail\"} 1",
            "epdns_transitions_total 1",
            "epdns_enis{state=\"up\"} 4",
            "epdns_enis{state=\"down\"} 1",
            "epdns_enis{state=\"unknown\"} 0",
            "epdns_enis_overridden 2",
        ] {
            assert!(out.lines().any(|l| l == line), "missing {line:?} in\n{out}");
        }
        // Every sample belongs to a declared family.
        for sample in out.lines().filter(|l| !l.starts_with('#')) {
            let family = sample.split(['{', ' ']).next().unwrap();
            assert!(out.contains(&format!("# TYPE {family} ")), "{sample}");
        }
    }
}
