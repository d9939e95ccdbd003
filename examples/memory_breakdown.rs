//! Where epdns's memory goes for one config: live heap bytes (a counting
//! global allocator) after each step a server takes at start, per endpoint.
//!
//! ```sh
//! python3 bench/gen.py -n 10000 --out /tmp/g10k
//! cargo run --release --example memory_breakdown -- /tmp/g10k/epdns.toml
//! ```
//!
//! Steps: the file read and validated into a model (the parse tree is
//! dropped by then), the answer tables built from it, their publisher (the
//! health slot map), a first snapshot (the health bits). Prints the bytes
//! each step keeps and the peak while it ran. No packets are sent.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicIsize, Ordering};

use epdns::probe::HealthTable;
use epdns::snapshot::{Publisher, Tables};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now =
            LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed) + layout.size() as isize;
        PEAK.fetch_max(now, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: `ptr` came from `alloc` above, i.e. from the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: memory_breakdown CONFIG.toml");
    let mut last = LIVE.load(Ordering::Relaxed);
    let mut step = |name: &str, endpoints: usize| {
        let live = LIVE.load(Ordering::Relaxed);
        let peak = PEAK.swap(live, Ordering::Relaxed);
        let per = |b: isize| b as f64 / endpoints.max(1) as f64;
        println!(
            "{name:28} keeps {:8.1} MB ({:6.0} B/endpoint), peak while running {:8.1} MB",
            (live - last) as f64 / 1e6,
            per(live - last),
            peak as f64 / 1e6
        );
        last = live;
    };
    let text = std::fs::read_to_string(&path).expect("readable config");
    let model = epdns::load::load_str(&text, Path::new(&path)).unwrap_or_else(|e| panic!("{e}"));
    drop(text);
    let n = model.endpoints.len();
    step("model (validated)", n);
    let tables = Arc::new(Tables::build(&model, 1));
    step("answer tables", n);
    let publisher = Publisher::new(tables.clone());
    step("publisher (slot map)", n);
    let health = HealthTable::default();
    let snapshot = publisher.first(&health);
    step("first snapshot", n);
    println!(
        "total {:.1} MB for {n} endpoints, {} ENI addresses",
        LIVE.load(Ordering::Relaxed) as f64 / 1e6,
        snapshot.tables.target_count()
    );
}
