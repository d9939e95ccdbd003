//! Containing panics in work a client can trigger (a UDP batch, a TCP
//! query): the panic is caught where the work was started, counted
//! (`epdns_contained_panics_total`) and logged at most once per 10 s, and
//! the listener goes on. Without this a panicking UDP worker would die
//! silently with its socket still bound, and every panic would write a
//! line to stderr: an unbounded log for a query that can be sent again and
//! again.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::fmt::Display;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Once;
use std::time::Duration;

use tracing::warn;

use super::log_gate::LogGate;
use super::metrics::Metrics;

static PANICKED: LogGate = LogGate::new(Duration::from_secs(10));

thread_local! {
    /// How many `contained` calls this thread is inside.
    static INSIDE: Cell<u32> = const { Cell::new(0) };
    /// Where the last contained panic on this thread happened, kept by the
    /// hook for the log line.
    static PANIC_AT: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Runs `work`; `None` when it panicked (counted and logged, naming `what`
/// and `listener`). Whatever `work` changed may be half-done: the caller
/// drops it (a batch's replies, a connection).
pub(crate) fn contained<R>(
    metrics: &Metrics,
    what: &'static str,
    listener: impl Display,
    work: impl FnOnce() -> R,
) -> Option<R> {
    quiet_contained_panics();
    INSIDE.with(|d| d.set(d.get() + 1));
    let result = catch_unwind(AssertUnwindSafe(work));
    INSIDE.with(|d| d.set(d.get() - 1));
    match result {
        Ok(r) => Some(r),
        Err(panic) => {
            metrics.panic_contained();
            report(what, listener, panic.as_ref());
            None
        }
    }
}

/// Replaces the panic hook once: inside `contained` it only keeps the
/// location for `report`; everywhere else the previous hook runs.
fn quiet_contained_panics() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if INSIDE.with(Cell::get) > 0 {
                let at = info.location().map(|l| l.to_string());
                PANIC_AT.with(|p| *p.borrow_mut() = at);
            } else {
                previous(info);
            }
        }));
    });
}

fn report(what: &str, listener: impl Display, panic: &(dyn Any + Send)) {
    let at = PANIC_AT.with(|p| p.borrow_mut().take()).unwrap_or_default();
    let Some(left_out) = PANICKED.pass() else {
        return;
    };
    let message = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(not a string)");
    warn!(
        %listener,
        panic = message,
        at,
        left_out,
        "panic while answering a {what}: that work is dropped, the listener goes on"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_is_caught_and_counted_and_the_caller_goes_on() {
        let metrics = Metrics::default();
        assert_eq!(contained(&metrics, "test", "here", || 7), Some(7));
        let none: Option<()> = contained(&metrics, "test", "here", || panic!("boom"));
        assert_eq!(none, None);
        assert_eq!(metrics.panics_contained(), 1);
        // Outside `contained`, a panic is still a panic.
        let outside = std::thread::spawn(|| panic!("not contained")).join();
        assert!(outside.is_err());
        assert_eq!(metrics.panics_contained(), 1);
    }
}
