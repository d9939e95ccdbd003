//! Test harness: the real `epdns` binary on ports the kernel chooses, with a
//! config built by the test (`lab`), real DNS messages (`dns`), stand-ins
//! for ENI services (`fake`), the cloud's SDKs (`sdk`), private network namespaces (`netns`),
//! an etcd cluster (`etcd`) and
//! requirements that fail under CI instead of
//! passing quietly (`skip`).
#![allow(dead_code, unused_imports)] // each test file uses its own part of the harness

pub mod dns;
pub mod etcd;
pub mod fake;
pub mod lab;
pub mod netns;
pub mod sdk;
pub mod server;
pub mod skip;

use std::time::{Duration, Instant};

pub use dns::*;
pub use etcd::*;
pub use fake::*;
pub use lab::*;
pub use netns::*;
pub use sdk::*;
pub use server::*;
pub use skip::*;

/// Polls `f` every 10 ms until it returns true; panics after `limit`.
/// Returns how long it took.
pub fn wait_until(limit: Duration, what: &str, mut f: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    loop {
        if f() {
            return start.elapsed();
        }
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}
