//! Signature nonces seen recently: a signed request may be sent once. A
//! nonce is remembered for twice the allowed clock skew: a request older
//! than the skew is refused for its timestamp anyway, so no replay can
//! outlive the memory.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// Most nonces kept: a flood of signed calls cannot grow memory without
/// bound (past this, the oldest are forgotten early).
const MAX_NONCES: usize = 1 << 20;

pub(crate) struct NonceCache {
    keep: Duration,
    seen: HashMap<(String, String), Instant>,
    order: VecDeque<(Instant, (String, String))>,
}

impl NonceCache {
    pub(crate) fn new(keep: Duration) -> NonceCache {
        NonceCache {
            keep,
            seen: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// Records `nonce` of `key`; false when it was seen within the window.
    pub(crate) fn first_use(&mut self, key: &str, nonce: &str, now: Instant) -> bool {
        while let Some((at, _)) = self.order.front() {
            if now.duration_since(*at) < self.keep && self.order.len() < MAX_NONCES {
                break;
            }
            let (_, k) = self.order.pop_front().expect("front exists");
            self.seen.remove(&k);
        }
        let k = (key.to_string(), nonce.to_string());
        if self.seen.contains_key(&k) {
            return false;
        }
        self.seen.insert(k.clone(), now);
        self.order.push_back((now, k));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_is_refused_within_the_window_and_forgotten_after() {
        let mut c = NonceCache::new(Duration::from_secs(60));
        let t0 = Instant::now();
        assert!(c.first_use("k", "n1", t0));
        assert!(!c.first_use("k", "n1", t0 + Duration::from_secs(59)));
        // Another key's nonce is its own.
        assert!(c.first_use("k2", "n1", t0));
        assert!(c.first_use("k", "n1", t0 + Duration::from_secs(61)));
    }
}
