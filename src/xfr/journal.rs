//! Each zone's recent differences (RFC 1995 §2): what changed between
//! consecutive serials, oldest first, bounded in count and in bytes. An
//! IXFR from a serial still in it gets the differences since; anything
//! older gets the whole zone.

use std::collections::VecDeque;

use hickory_proto::rr::Record;

use super::content::soa_serial;

/// The differences kept per zone at most.
pub(crate) const MAX_DELTAS: usize = 256;
/// Their records' size at most (the wire size of their RDATA and owner
/// names, roughly what an IXFR carries).
pub(crate) const MAX_BYTES: usize = 8 << 20;

/// One version step, with the SOA records that bracket it in an IXFR.
#[derive(Debug, Clone)]
pub(crate) struct Delta {
    pub(crate) from: u32,
    pub(crate) to: u32,
    pub(crate) from_soa: Record,
    pub(crate) to_soa: Record,
    pub(crate) removed: Vec<Record>,
    pub(crate) added: Vec<Record>,
    bytes: usize,
}

#[derive(Debug)]
pub(crate) struct Journal {
    deltas: VecDeque<Delta>,
    bytes: usize,
    max_deltas: usize,
    max_bytes: usize,
}

impl Default for Journal {
    fn default() -> Self {
        Journal::with_bounds(MAX_DELTAS, MAX_BYTES)
    }
}

impl Journal {
    pub(crate) fn with_bounds(max_deltas: usize, max_bytes: usize) -> Self {
        Journal {
            deltas: VecDeque::new(),
            bytes: 0,
            max_deltas,
            max_bytes,
        }
    }

    /// Records the step `from` → `to`, dropping the oldest steps beyond the
    /// bounds. A step larger than the byte bound alone empties the journal:
    /// the next IXFR is answered with the whole zone.
    pub(crate) fn push(
        &mut self,
        from_soa: Record,
        to_soa: Record,
        removed: Vec<Record>,
        added: Vec<Record>,
    ) {
        let (from, to) = (soa_serial(&from_soa), soa_serial(&to_soa));
        let bytes = removed.iter().chain(&added).map(size).sum();
        if self.deltas.back().is_some_and(|d| d.to != from) {
            // Not a continuation (cannot happen through the engine): the
            // chain would be broken, so start over.
            self.clear();
        }
        self.deltas.push_back(Delta {
            from,
            to,
            from_soa,
            to_soa,
            removed,
            added,
            bytes,
        });
        self.bytes += bytes;
        while self.deltas.len() > self.max_deltas || self.bytes > self.max_bytes {
            let Some(old) = self.deltas.pop_front() else {
                break;
            };
            self.bytes -= old.bytes;
        }
    }

    pub(crate) fn clear(&mut self) {
        self.deltas.clear();
        self.bytes = 0;
    }

    /// The steps from `serial` to the newest, when `serial` is where one
    /// of them starts.
    pub(crate) fn since(&self, serial: u32) -> Option<impl Iterator<Item = &Delta>> {
        let at = self.deltas.iter().position(|d| d.from == serial)?;
        Some(self.deltas.iter().skip(at))
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.deltas.len()
    }
}

/// A record's share of the byte bound.
fn size(r: &Record) -> usize {
    // Owner, type, class, TTL, RDLENGTH, and the RDATA as encoded.
    let rdata =
        hickory_proto::serialize::binary::BinEncodable::to_bytes(&r.data).map_or(0, |b| b.len());
    r.name.len() + 10 + rdata
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use hickory_proto::rr::rdata::{A, SOA};
    use hickory_proto::rr::{Name, RData};

    use super::*;

    fn soa(serial: u32) -> Record {
        let n = Name::from_str("lab.").unwrap();
        let rdata = SOA::new(n.clone(), n.clone(), serial, 1, 1, 1, 1);
        Record::from_rdata(n, 60, RData::SOA(rdata))
    }

    /// A step from `from` to `to` that removes `removed` and adds `added`.
    fn push(j: &mut Journal, from: u32, to: u32, removed: Vec<Record>, added: Vec<Record>) {
        j.push(soa(from), soa(to), removed, added);
    }

    fn a(i: u8) -> Record {
        Record::from_rdata(
            Name::from_str("x.lab.").unwrap(),
            60,
            RData::A(A::from(std::net::Ipv4Addr::from([10, 0, 0, i]))),
        )
    }

    #[test]
    fn steps_chain_from_any_serial_in_the_journal() {
        let mut j = Journal::default();
        push(&mut j, 1, 2, vec![a(1)], vec![a(2)]);
        push(&mut j, 2, 3, vec![a(2)], vec![a(3)]);
        let from_1: Vec<(u32, u32)> = j.since(1).unwrap().map(|d| (d.from, d.to)).collect();
        assert_eq!(from_1, [(1, 2), (2, 3)]);
        let from_2: Vec<(u32, u32)> = j.since(2).unwrap().map(|d| (d.from, d.to)).collect();
        assert_eq!(from_2, [(2, 3)]);
        assert!(j.since(3).is_none(), "the newest serial: nothing to send");
        assert!(j.since(0).is_none(), "older than the journal");
    }

    #[test]
    fn the_count_bound_drops_the_oldest() {
        let mut j = Journal::with_bounds(3, usize::MAX);
        for s in 0..10u32 {
            push(&mut j, s, s + 1, vec![a(s as u8)], vec![a(s as u8 + 1)]);
        }
        assert_eq!(j.len(), 3);
        assert!(j.since(6).is_none());
        assert_eq!(j.since(7).unwrap().count(), 3);
    }

    #[test]
    fn the_byte_bound_drops_the_oldest_and_a_huge_step_empties_it() {
        let one = 2 * size(&a(0));
        let mut j = Journal::with_bounds(100, one * 2);
        for s in 0..5u32 {
            push(&mut j, s, s + 1, vec![a(0)], vec![a(1)]);
        }
        assert_eq!(j.len(), 2, "two steps fit the bytes");
        assert!(j.since(3).is_some() && j.since(2).is_none());
        let big: Vec<Record> = (0..10).map(a).collect();
        push(&mut j, 5, 6, big, vec![]);
        assert_eq!(j.len(), 0, "a step over the bound alone keeps nothing");
        push(&mut j, 6, 7, vec![a(1)], vec![a(2)]);
        assert_eq!(j.since(6).unwrap().count(), 1, "and the journal goes on");
    }

    #[test]
    fn a_broken_chain_starts_over() {
        let mut j = Journal::default();
        push(&mut j, 1, 2, vec![], vec![a(1)]);
        push(&mut j, 5, 6, vec![], vec![a(2)]);
        assert!(j.since(1).is_none());
        assert_eq!(j.since(5).unwrap().count(), 1);
    }
}
