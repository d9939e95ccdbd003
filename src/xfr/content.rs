//! What a zone transfer carries: each zone's records (its SOA apart), in
//! canonical order, read from a published snapshot.
//!
//! The generated zone is transferred as its static view: what a client
//! outside every VPC, with no zone affinity, is answered (endpoint domains
//! with the ENIs that are up, zone domains, the apex NS and the name
//! server's addresses). Private zones go whole, as loaded.

use std::cmp::Ordering;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, Record, RecordType};

use hickory_proto::serialize::binary::BinEncodable;

use crate::snapshot::{Client, Snapshot};
use crate::wire::WireName;
use crate::zonefile::PrivateZone;

/// One zone's content: its SOA as the source has it (the serial is the
/// transfer engine's to set) and every other record, sorted and unique.
#[derive(Debug, Clone)]
pub(crate) struct ZoneContent {
    pub(crate) apex: Name,
    pub(crate) soa: Record,
    pub(crate) records: Arc<RecordSet>,
}

impl ZoneContent {
    /// The serial the source gave the SOA.
    pub(crate) fn source_serial(&self) -> u32 {
        soa_serial(&self.soa)
    }
}

pub(crate) fn soa_serial(soa: &Record) -> u32 {
    match &soa.data {
        hickory_proto::rr::RData::SOA(s) => s.serial,
        _ => 0,
    }
}

/// Reads what a snapshot transfers. A private zone's sorted records are
/// kept while the same loaded zone is served, so that a health change (or
/// a change elsewhere) re-reads only the generated zone.
#[derive(Default)]
pub(crate) struct Reader {
    private: Vec<(Arc<PrivateZone>, Arc<RecordSet>)>,
}

impl Reader {
    /// Every zone a secondary may transfer, generated zone first.
    pub(crate) fn zones_of(&mut self, snapshot: &Snapshot) -> Vec<ZoneContent> {
        let mut out = vec![generated(snapshot)];
        let mut kept = Vec::new();
        for view in &snapshot.tables.views {
            for p in &view.private {
                let apex = p.zone.origin().to_lowercase();
                // The same private zone bound to several VPCs is one zone;
                // of two different zones of one name (bound to different
                // VPCs) only the one of the VPC listed first is transferred.
                if out.iter().any(|z| z.apex == apex) {
                    continue;
                }
                let known = self.private.iter().find(|(z, _)| Arc::ptr_eq(z, &p.zone));
                let records = match known {
                    Some((_, records)) => records.clone(),
                    None => {
                        let records = p
                            .zone
                            .records()
                            .filter(|r| r.record_type() != RecordType::SOA)
                            .cloned()
                            .collect();
                        Arc::new(RecordSet::new(records))
                    }
                };
                kept.push((p.zone.clone(), records.clone()));
                out.push(ZoneContent {
                    apex,
                    soa: p.zone.soa().clone(),
                    records,
                });
            }
        }
        self.private = kept;
        out
    }
}

/// The generated zone's static view.
fn generated(snapshot: &Snapshot) -> ZoneContent {
    let t = &snapshot.tables;
    let zone = &t.zone;
    let mut records: Vec<Record> = zone.ns.clone();
    if zone.apex.zone_of(&zone.ns_host) {
        records.extend(zone.ns_host_a.iter().cloned());
        records.extend(zone.ns_host_aaaa.iter().cloned());
    }
    // Outside every VPC and every vSwitch: no view, no affinity.
    let outside = Client {
        addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        source_prefix: None,
        vpc: None,
        may_forward: false,
    };
    let names = t
        .endpoint_domains
        .values()
        .map(|e| &e.1)
        .chain(t.zone_domains.values().map(|z| &z.name));
    for name in names {
        for qtype in [RecordType::A, RecordType::AAAA] {
            let answer = snapshot.answer(name, qtype, &outside);
            if answer.rcode != ResponseCode::NoError {
                continue;
            }
            records.extend(
                answer
                    .answers
                    .iter()
                    .filter(|r| r.record_type() == qtype && r.name == *name)
                    .map(|r| r.as_ref().clone()),
            );
        }
    }
    ZoneContent {
        apex: zone.apex.to_lowercase(),
        soa: zone.soa.clone(),
        records: Arc::new(RecordSet::new(records)),
    }
}

/// A zone's records (its SOA aside) in one fixed order, each with the
/// bytes that order and compare it: owner (lowercase wire form), type,
/// class, TTL and RDATA as encoded. Equal bytes are the same record, TTL
/// included (`Record`'s own `==` leaves the TTL out, and its canonical
/// order encodes RDATA again at every comparison).
#[derive(Debug, Default)]
pub(crate) struct RecordSet {
    keyed: Vec<(Box<[u8]>, Record)>,
}

impl RecordSet {
    pub(crate) fn new(records: Vec<Record>) -> Self {
        let mut keyed: Vec<(Box<[u8]>, Record)> =
            records.into_iter().map(|r| (key(&r), r)).collect();
        keyed.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        keyed.dedup_by(|a, b| a.0 == b.0);
        RecordSet { keyed }
    }

    pub(crate) fn len(&self) -> usize {
        self.keyed.len()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Record> {
        self.keyed.iter().map(|(_, r)| r)
    }

    /// What changed from `self` to `new`: (removed, added).
    pub(crate) fn diff(&self, new: &RecordSet) -> (Vec<Record>, Vec<Record>) {
        let (old, new) = (&self.keyed, &new.keyed);
        let (mut removed, mut added) = (Vec::new(), Vec::new());
        let (mut i, mut j) = (0, 0);
        while i < old.len() && j < new.len() {
            match old[i].0.cmp(&new[j].0) {
                Ordering::Equal => {
                    i += 1;
                    j += 1;
                }
                Ordering::Less => {
                    removed.push(old[i].1.clone());
                    i += 1;
                }
                Ordering::Greater => {
                    added.push(new[j].1.clone());
                    j += 1;
                }
            }
        }
        removed.extend(old[i..].iter().map(|(_, r)| r.clone()));
        added.extend(new[j..].iter().map(|(_, r)| r.clone()));
        (removed, added)
    }
}

fn key(r: &Record) -> Box<[u8]> {
    let rdata = r.data.to_bytes().unwrap_or_default();
    let owner = WireName::new(&r.name);
    let mut k = Vec::with_capacity(owner.bytes().len() + 8 + rdata.len());
    k.extend_from_slice(owner.bytes());
    k.extend_from_slice(&u16::from(r.record_type()).to_be_bytes());
    k.extend_from_slice(&u16::from(r.dns_class).to_be_bytes());
    k.extend_from_slice(&r.ttl.to_be_bytes());
    k.extend_from_slice(&rdata);
    k.into_boxed_slice()
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use hickory_proto::rr::RData;
    use hickory_proto::rr::rdata::A;

    use super::*;

    fn a(name: &str, ip: [u8; 4], ttl: u32) -> Record {
        Record::from_rdata(
            Name::from_str(name).unwrap(),
            ttl,
            RData::A(A::from(std::net::Ipv4Addr::from(ip))),
        )
    }

    #[test]
    fn diff_finds_removed_added_and_ttl_changes() {
        let old = RecordSet::new(vec![
            a("x.lab.", [1, 1, 1, 1], 60),
            a("x.lab.", [1, 1, 1, 2], 60),
            a("y.lab.", [2, 2, 2, 2], 60),
        ]);
        let new = RecordSet::new(vec![
            a("x.lab.", [1, 1, 1, 1], 60),
            a("y.lab.", [2, 2, 2, 2], 5),
            a("z.lab.", [3, 3, 3, 3], 60),
        ]);
        let (removed, added) = old.diff(&new);
        assert_eq!(
            removed,
            [a("x.lab.", [1, 1, 1, 2], 60), a("y.lab.", [2, 2, 2, 2], 60)]
        );
        assert_eq!(
            added,
            [a("y.lab.", [2, 2, 2, 2], 5), a("z.lab.", [3, 3, 3, 3], 60)]
        );
        assert_eq!(added[0].ttl, 5, "a TTL change is a removal and an addition");
        assert_eq!(new.diff(&new), (vec![], vec![]));
        let twice = RecordSet::new(vec![a("x.lab.", [1, 1, 1, 1], 60); 2]);
        assert_eq!(twice.len(), 1, "duplicates are one record");
    }
}
