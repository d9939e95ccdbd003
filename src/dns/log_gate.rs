//! Rate-limited logging for events a client can cause (sheds, timeouts, a
//! full forwarding queue, a panicking worker): at most one line per period
//! per call site, saying how many were left out since the last one.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// One call site's gate. `const`, so it can be a `static`.
pub(crate) struct LogGate {
    period_ms: u64,
    /// Milliseconds since `epoch()` before which nothing passes (0: open).
    closed_until: AtomicU64,
    suppressed: AtomicU64,
}

impl LogGate {
    pub(crate) const fn new(period: Duration) -> Self {
        LogGate {
            period_ms: period.as_millis() as u64,
            closed_until: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
        }
    }

    /// `Some(n)` when this event may be logged, `n` being how many were
    /// left out since the last logged one; `None` when it must not be.
    pub(crate) fn pass(&self) -> Option<u64> {
        let now = now_ms();
        let until = self.closed_until.load(Ordering::Relaxed);
        if now >= until
            && self
                .closed_until
                .compare_exchange(
                    until,
                    now + self.period_ms,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
        {
            return Some(self.suppressed.swap(0, Ordering::Relaxed));
        }
        self.suppressed.fetch_add(1, Ordering::Relaxed);
        None
    }
}

fn now_ms() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    // +1: 0 means "never logged", so the first event always passes.
    EPOCH.get_or_init(Instant::now).elapsed().as_millis() as u64 + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_period_with_the_count_left_out() {
        let gate = LogGate::new(Duration::from_millis(50));
        assert_eq!(gate.pass(), Some(0));
        for _ in 0..1000 {
            assert_eq!(gate.pass(), None);
        }
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(gate.pass(), Some(1000));
        assert_eq!(gate.pass(), None);
    }
}
