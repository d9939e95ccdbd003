//! Rate-limited log lines for events that clients can cause (a failed send
//! to a spoofed address, a refused connection...): at most `per_second`
//! lines a second for each kind, then, with the next line let through, one
//! line saying how many were suppressed. A flood costs a few lines a second,
//! never a line per packet.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use tracing::warn;

/// The limit for one kind of line; a `static` beside the code that logs.
pub struct LogLimit {
    what: &'static str,
    per_second: u32,
    window: Mutex<Window>,
}

struct Window {
    start: Option<Instant>,
    written: u32,
    suppressed: u64,
}

impl LogLimit {
    /// `what` names the kind of line in the "suppressed" summary.
    pub const fn new(what: &'static str, per_second: u32) -> Self {
        LogLimit {
            what,
            per_second,
            window: Mutex::new(Window {
                start: None,
                written: 0,
                suppressed: 0,
            }),
        }
    }

    /// Whether one more line may be written now (then write it).
    pub fn allow(&self) -> bool {
        let (allowed, suppressed) = self.allow_at(Instant::now());
        if let Some(n) = suppressed {
            warn!(what = self.what, suppressed = n, "log lines suppressed");
        }
        allowed
    }

    /// `allow` at `now`: whether the line may be written, and the count of
    /// lines suppressed in the window that just closed, if any, to report.
    fn allow_at(&self, now: Instant) -> (bool, Option<u64>) {
        let mut w = self.window.lock().unwrap_or_else(|e| e.into_inner());
        let mut report = None;
        let expired = w
            .start
            .is_none_or(|s| now.duration_since(s) >= Duration::from_secs(1));
        if expired {
            if w.suppressed > 0 {
                report = Some(w.suppressed);
            }
            *w = Window {
                start: Some(now),
                written: 0,
                suppressed: 0,
            };
        }
        if w.written < self.per_second {
            w.written += 1;
            (true, report)
        } else {
            w.suppressed += 1;
            (false, report)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_most_n_a_second_then_one_summary() {
        let limit = LogLimit::new("test", 3);
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        let first: Vec<_> = (0..10).map(|i| limit.allow_at(at(i * 10))).collect();
        let allowed = first.iter().filter(|(a, _)| *a).count();
        assert_eq!(allowed, 3);
        assert!(first.iter().all(|(_, r)| r.is_none()));
        // The next window reports the 7 suppressed lines once.
        assert_eq!(limit.allow_at(at(1000)), (true, Some(7)));
        assert_eq!(limit.allow_at(at(1001)), (true, None));
        // A quiet window has nothing to report.
        assert_eq!(limit.allow_at(at(5000)), (true, None));
    }
}
