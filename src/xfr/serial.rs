//! SOA serial arithmetic (RFC 1982, SERIAL_BITS = 32).

/// Whether `a` is newer than `b`: RFC 1982 §3.2. The pair at exactly half
/// the space apart is undefined there; it counts as not newer.
pub(crate) fn newer(a: u32, b: u32) -> bool {
    a != b && (a.wrapping_sub(b) as i32) > 0
}

/// The serial after `last` for content whose source says `source` (the
/// tables' build serial, or a private zone's own SOA serial): the source's
/// when it is newer, so that an operator's bump in a zone file is kept,
/// else one more than `last` (wrapping, as RFC 1982 allows).
pub(crate) fn next(last: u32, source: u32) -> u32 {
    if newer(source, last) {
        source
    } else {
        last.wrapping_add(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparison_wraps() {
        assert!(newer(2, 1));
        assert!(!newer(1, 2));
        assert!(!newer(5, 5));
        assert!(newer(0, u32::MAX), "0 follows 2^32-1");
        assert!(newer(10, u32::MAX - 10));
        assert!(!newer(u32::MAX - 10, 10));
        // Exactly 2^31 apart: undefined, so neither is newer.
        assert!(!newer(1 << 31, 0) && !newer(0, 1 << 31));
        assert!(newer((1 << 31) - 1, 0));
    }

    #[test]
    fn next_always_moves_forward() {
        assert_eq!(next(100, 50), 101, "an older source does not go back");
        assert_eq!(next(100, 100), 101, "same source: still a new version");
        assert_eq!(next(100, 5000), 5000, "a newer source is kept");
        assert_eq!(next(u32::MAX, 3), 3, "3 is newer than 2^32-1");
        assert_eq!(next(u32::MAX, u32::MAX), 0, "wraps");
        for (last, source) in [(7, 1), (u32::MAX, 0), (1 << 31, 0)] {
            assert!(newer(next(last, source), last));
        }
    }
}
