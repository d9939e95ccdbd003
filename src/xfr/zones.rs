//! The transferred zones as secondaries see them: each zone's current
//! content under the transfer serial, and its journal. Fed with the content
//! of every published snapshot; a zone whose content changed gets a new
//! serial and a journal step.

use std::sync::Arc;

use hickory_proto::rr::rdata::SOA;
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::content::{RecordSet, ZoneContent, soa_serial};
use super::journal::{Delta, Journal};
use super::serial;

pub(crate) struct Zone {
    pub(crate) apex: Name,
    /// The SOA with the transfer serial.
    pub(crate) soa: Record,
    pub(crate) records: Arc<RecordSet>,
    journal: Journal,
}

impl Zone {
    pub(crate) fn serial(&self) -> u32 {
        soa_serial(&self.soa)
    }

    /// The record sequence of an AXFR (RFC 5936 §2.2): SOA, the rest, SOA.
    pub(crate) fn axfr(&self) -> Vec<Record> {
        let mut out = Vec::with_capacity(self.records.len() + 2);
        out.push(self.soa.clone());
        out.extend(self.records.iter().cloned());
        out.push(self.soa.clone());
        out
    }

    /// The record sequence of an IXFR from `client` (RFC 1995 §4): the
    /// current SOA alone when the client is up to date (or ahead), the
    /// differences when the journal reaches back to its serial, else the
    /// whole zone (AXFR-style, which §4 allows).
    pub(crate) fn ixfr(&self, client: u32) -> Vec<Record> {
        if !serial::newer(self.serial(), client) {
            return vec![self.soa.clone()];
        }
        let Some(steps) = self.journal.since(client) else {
            return self.axfr();
        };
        let mut out = vec![self.soa.clone()];
        for Delta {
            from_soa,
            to_soa,
            removed,
            added,
            ..
        } in steps
        {
            out.push(from_soa.clone());
            out.extend(removed.iter().cloned());
            out.push(to_soa.clone());
            out.extend(added.iter().cloned());
        }
        out.push(self.soa.clone());
        out
    }
}

#[derive(Default)]
pub(crate) struct Zones {
    zones: Vec<Zone>,
}

impl Zones {
    pub(crate) fn get(&self, apex: &Name) -> Option<&Zone> {
        self.zones.iter().find(|z| z.apex == *apex)
    }

    /// Each zone's apex, SOA and serial, for NOTIFY.
    pub(crate) fn serials(&self) -> Vec<(Name, Record, u32)> {
        self.zones
            .iter()
            .map(|z| (z.apex.clone(), z.soa.clone(), z.serial()))
            .collect()
    }

    /// Takes the content of a new snapshot. A zone whose records or SOA
    /// (serial aside) changed, or whose source serial moved ahead of ours,
    /// gets the next serial (`serial::next`) and a journal step; a new zone
    /// starts at its source's serial; a zone no longer served is dropped.
    pub(crate) fn update(&mut self, contents: Vec<ZoneContent>) {
        let mut old = std::mem::take(&mut self.zones);
        for c in contents {
            let at = old.iter().position(|z| z.apex == c.apex);
            let zone = match at.map(|i| old.swap_remove(i)) {
                None => Zone {
                    soa: c.soa.clone(),
                    apex: c.apex,
                    records: c.records,
                    journal: Journal::default(),
                },
                // The same records (a private zone while its file is
                // unchanged): nothing to compare.
                Some(z)
                    if Arc::ptr_eq(&z.records, &c.records)
                        && same_soa(&z.soa, &c.soa)
                        && !serial::newer(c.source_serial(), z.serial()) =>
                {
                    z
                }
                Some(mut z) => {
                    let soa_changed = !same_soa(&z.soa, &c.soa);
                    let (removed, added) = z.records.diff(&c.records);
                    let records_changed = !removed.is_empty() || !added.is_empty();
                    let source_ahead = serial::newer(c.source_serial(), z.serial());
                    if soa_changed || records_changed || source_ahead {
                        let next = serial::next(z.serial(), c.source_serial());
                        let new_soa = with_serial(&c.soa, next);
                        z.journal
                            .push(z.soa.clone(), new_soa.clone(), removed, added);
                        z.soa = new_soa;
                        z.records = c.records;
                    }
                    z
                }
            };
            self.zones.push(zone);
        }
    }
}

/// Equal SOA records, serial aside.
fn same_soa(a: &Record, b: &Record) -> bool {
    a.ttl == b.ttl && with_serial(a, 0).data == with_serial(b, 0).data
}

fn with_serial(soa: &Record, serial: u32) -> Record {
    let mut r = soa.clone();
    if let RData::SOA(s) = &soa.data {
        r.data = RData::SOA(SOA::new(
            s.mname.clone(),
            s.rname.clone(),
            serial,
            s.refresh,
            s.retry,
            s.expire,
            s.minimum,
        ));
    }
    debug_assert_eq!(r.record_type(), RecordType::SOA);
    r
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use hickory_proto::rr::rdata::A;

    use super::*;

    fn apex() -> Name {
        Name::from_str("lab.").unwrap()
    }

    fn content(serial: u32, ips: &[u8]) -> ZoneContent {
        let soa = Record::from_rdata(
            apex(),
            60,
            RData::SOA(SOA::new(apex(), apex(), serial, 1, 1, 1, 1)),
        );
        let records = ips
            .iter()
            .map(|i| {
                Record::from_rdata(
                    apex(),
                    60,
                    RData::A(A::from(std::net::Ipv4Addr::from([10, 0, 0, *i]))),
                )
            })
            .collect();
        ZoneContent {
            apex: apex(),
            soa,
            records: Arc::new(RecordSet::new(records)),
        }
    }

    fn serials(rs: &[Record]) -> Vec<u32> {
        rs.iter()
            .filter(|r| r.record_type() == RecordType::SOA)
            .map(soa_serial)
            .collect()
    }

    #[test]
    fn every_change_bumps_the_serial_and_ixfr_carries_the_steps() {
        let mut zs = Zones::default();
        zs.update(vec![content(100, &[1, 2])]);
        assert_eq!(zs.get(&apex()).unwrap().serial(), 100);
        // Health: the same source serial, other records.
        zs.update(vec![content(100, &[1])]);
        zs.update(vec![content(100, &[1])]);
        zs.update(vec![content(100, &[1, 2])]);
        let z = zs.get(&apex()).unwrap();
        assert_eq!(z.serial(), 102, "two changes, one no-op");
        assert_eq!(serials(&z.ixfr(100)), [102, 100, 101, 101, 102, 102]);
        let ixfr = z.ixfr(101);
        assert_eq!(ixfr.len(), 5, "SOA, SOA 101, SOA 102, +A 2, SOA");
        assert_eq!(serials(&z.ixfr(102)), [102], "up to date: the SOA alone");
        assert_eq!(z.ixfr(7).len(), 4, "unknown serial: the whole zone");
        // A reload with a newer source serial takes it.
        zs.update(vec![content(5000, &[1, 2])]);
        assert_eq!(zs.get(&apex()).unwrap().serial(), 5000);
    }
}
