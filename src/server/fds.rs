//! File descriptors: raise the soft `RLIMIT_NOFILE` to the hard limit at
//! start, and split it so that client load can never take what probes, the
//! admin API and zone/config files need.
//!
//! The split, of the (raised) limit L, minus the descriptors already open:
//! - TCP clients: at most L/2 (Knot's `tcp-max-clients` default is also half
//!   the limit), and never more than [`TCP_MAX`];
//! - forwarded queries in flight: at most L/4, never more than
//!   [`FORWARD_MAX`] (each may hold an upstream socket);
//! - the rest, at least L/4 minus the listeners, is never handed to a client:
//!   probes (one socket per probe in flight), the admin API, reloads.
//!
//! A TCP flood therefore meets the TCP cap (and sheds its idlest
//! connections) long before a probe could fail with "Too many open files".

use tracing::{info, warn};

/// TCP connections never exceed this, whatever the fd limit: each costs a
/// task, buffers and kernel socket memory, and shedding scans them all.
pub(crate) const TCP_MAX: usize = 4096;
/// Forwarded queries in flight never exceed this.
pub(crate) const FORWARD_MAX: usize = 1024;
/// When the hard limit is "unlimited", the soft limit is raised to this.
const UNLIMITED_TARGET: u64 = 1 << 20;

/// How the descriptors are shared out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FdBudget {
    /// The soft limit in force.
    pub(crate) limit: u64,
    /// Open TCP client connections, all listeners together.
    pub(crate) tcp: usize,
    /// Forwarded queries in flight.
    pub(crate) forwards: usize,
}

/// Raises the soft limit to the hard one (logged), then shares it out with
/// the descriptors open now counted as used.
pub(crate) fn raise_and_share() -> FdBudget {
    let limit = raise_soft_limit();
    let budget = share(limit, open_now());
    info!(
        fd_limit = budget.limit,
        tcp_connections = budget.tcp,
        forwards_in_flight = budget.forwards,
        "file descriptor budget"
    );
    budget
}

/// The split described in the module comment; `open` descriptors are in
/// use already. Each share is at least 1.
pub(crate) fn share(limit: u64, open: usize) -> FdBudget {
    let l = usize::try_from(limit).unwrap_or(usize::MAX);
    FdBudget {
        limit,
        tcp: (l / 2).saturating_sub(open).clamp(1, TCP_MAX),
        forwards: (l / 4).clamp(1, FORWARD_MAX),
    }
}

/// Sets the soft `RLIMIT_NOFILE` to the hard limit; returns the soft limit
/// in force afterwards.
fn raise_soft_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we pass and nothing else.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        warn!(error = %std::io::Error::last_os_error(), "cannot read the file descriptor limit");
        return 1024;
    }
    let target = if lim.rlim_max == libc::RLIM_INFINITY {
        UNLIMITED_TARGET
    } else {
        lim.rlim_max
    };
    if lim.rlim_cur >= target {
        return lim.rlim_cur;
    }
    let raised = libc::rlimit {
        rlim_cur: target,
        rlim_max: lim.rlim_max,
    };
    // SAFETY: setrlimit reads the struct we pass.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } != 0 {
        warn!(
            error = %std::io::Error::last_os_error(),
            soft = lim.rlim_cur,
            hard = lim.rlim_max,
            "cannot raise the file descriptor limit; keeping the soft limit"
        );
        return lim.rlim_cur;
    }
    info!(
        from = lim.rlim_cur,
        to = target,
        "raised the file descriptor limit"
    );
    target
}

/// Descriptors open in this process now (0 when /proc is not there).
fn open_now() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcp_gets_half_the_limit_minus_what_is_open_and_forwards_a_quarter() {
        let b = share(1024, 20);
        assert_eq!(b.tcp, 512 - 20);
        assert_eq!(b.forwards, 256);
        // What neither share may take: probes, admin API, files.
        assert!(1024 - 20 - b.tcp - b.forwards >= 1024 / 4 - 20);
    }

    #[test]
    fn a_small_limit_keeps_a_reserve() {
        let b = share(256, 12);
        assert_eq!((b.tcp, b.forwards), (116, 64));
        assert_eq!(256 - 12 - b.tcp - b.forwards, 64);
    }

    #[test]
    fn large_limits_are_capped() {
        let b = share(1 << 20, 30);
        assert_eq!((b.tcp, b.forwards), (TCP_MAX, FORWARD_MAX));
    }

    #[test]
    fn a_tiny_limit_still_serves_one_of_each() {
        let b = share(8, 10);
        assert_eq!((b.tcp, b.forwards), (1, 2));
    }

    #[test]
    fn raising_reports_a_limit_no_lower_than_before() {
        let mut before = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: as in raise_soft_limit.
        assert_eq!(
            unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut before) },
            0
        );
        assert!(raise_soft_limit() >= before.rlim_cur);
    }
}
