//! A loaded private zone and its lookup.

use std::{borrow::Cow, path::Path};

use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::{
    answer::ZoneAnswer,
    error::{FaultKind, ReadProblem, ZoneFault, ZoneFileError},
    index::{self, Nodes, ZoneNode},
    key::{key_of, wildcard_buf, wildcard_of},
    parse::Loader,
    read::{Budget, Limits},
};
use crate::wire::WireName;

/// A name in uncompressed wire form, case kept.
fn wire(name: &Name) -> Vec<u8> {
    let mut out = Vec::with_capacity(name.len() + 1);
    for label in name.iter() {
        out.push(label.len() as u8);
        out.extend_from_slice(label);
    }
    out.push(0);
    out
}

/// An RFC 1035 zone file, loaded and indexed for answering.
///
/// Immutable once loaded: a changed file is loaded into a new `PrivateZone`
/// that replaces this one in the next snapshot.
#[derive(Debug)]
pub struct PrivateZone {
    origin: Name,
    origin_key: Box<[u8]>,
    origin_labels: usize,
    soa: Record,
    nodes: Nodes,
    #[cfg(test)]
    record_count: usize,
}

impl PrivateZone {
    /// Loads the zone file at `path` for the zone `origin` (the origin relative
    /// names start from; `$ORIGIN` may change it within the file), within
    /// the default [`Limits`].
    pub fn load(origin: &Name, path: &Path) -> Result<Self, ZoneFileError> {
        Self::load_with(origin, path, Limits::default())
    }

    /// Loads the zone file at `path` within `limits`.
    pub fn load_with(origin: &Name, path: &Path, limits: Limits) -> Result<Self, ZoneFileError> {
        let mut budget = Budget::new(limits);
        let text = match budget.read(path) {
            Ok(text) => text,
            Err(ReadProblem::Io(source)) => {
                return Err(ZoneFileError::Read {
                    path: path.to_path_buf(),
                    source,
                });
            }
            Err(problem) => {
                let mut loader = Loader::new(&[0], budget);
                loader.read_problem(path, problem);
                let (_, faults) = loader.finish();
                return Err(ZoneFileError::Invalid { faults });
            }
        };
        Self::parse(origin, &text, path, budget)
    }

    /// Loads a zone from `text`; `path` names it in errors, and relative
    /// `$INCLUDE`s are resolved against its directory.
    // Not `FromStr`: a zone needs its origin and path too.
    #[allow(clippy::should_implement_trait)]
    pub(crate) fn from_str(origin: &Name, text: &str, path: &Path) -> Result<Self, ZoneFileError> {
        let mut budget = Budget::new(Limits::default());
        if let Err(problem) = budget.count_text(text.len()) {
            let mut loader = Loader::new(&[0], budget);
            loader.read_problem(path, problem);
            let (_, faults) = loader.finish();
            return Err(ZoneFileError::Invalid { faults });
        }
        Self::parse(origin, text.as_bytes(), path, budget)
    }

    fn parse(
        origin: &Name,
        text: &[u8],
        path: &Path,
        budget: Budget,
    ) -> Result<Self, ZoneFileError> {
        let mut origin = origin.clone();
        origin.set_fqdn(true);
        let origin_wire = wire(&origin);
        let mut loader = Loader::new(&origin_wire, budget);
        loader.file(path, text, origin_wire.clone());
        let has_soa = loader.has_soa();
        let (sets, mut faults) = loader.finish();
        // Without other faults, a missing SOA is the fault; with them, it is
        // most likely one of them (a broken SOA line).
        if faults.is_empty() && !has_soa {
            faults.push(ZoneFault {
                path: path.to_path_buf(),
                line: None,
                column: None,
                kind: FaultKind::NoSoa {
                    origin: origin.clone(),
                },
                excerpt: None,
            });
        }
        if !faults.is_empty() {
            return Err(ZoneFileError::Invalid { faults });
        }
        #[cfg(test)]
        let record_count = sets.iter().map(|s| s.records.len()).sum();
        let nodes = index::build(&origin, sets);
        let origin_key = key_of(&origin);
        let soa = nodes
            .get(&origin_key)
            .and_then(|apex| apex.set(RecordType::SOA))
            .and_then(|soa| soa.first())
            .cloned()
            .ok_or_else(|| ZoneFileError::Invalid {
                faults: vec![ZoneFault {
                    path: path.to_path_buf(),
                    line: None,
                    column: None,
                    kind: FaultKind::NoSoa {
                        origin: origin.clone(),
                    },
                    excerpt: None,
                }],
            })?;
        Ok(Self {
            origin_labels: WireName::new(&origin).labels(),
            origin,
            origin_key,
            soa,
            nodes,
            #[cfg(test)]
            record_count,
        })
    }

    /// A PrivateZone-style zone, as the cloud's PrivateZone keeps them: the
    /// user's `records` and, at the apex, the given `soa` and `ns` (the zone
    /// synthesizes them: the user manages neither). A CNAME is allowed at
    /// the apex beside them, and is then the answer for every type but SOA
    /// and NS; elsewhere a CNAME stands alone. Refused, with the reason: a
    /// record outside the zone, a user SOA or apex NS, a CNAME beside other
    /// data.
    pub(crate) fn from_records(
        origin: &Name,
        soa: Record,
        ns: Vec<Record>,
        records: Vec<Record>,
    ) -> Result<Self, String> {
        let mut origin = origin.clone();
        origin.set_fqdn(true);
        let origin_key = key_of(&origin);
        // Per owner (lowercase wire): (has a CNAME, has other user data).
        let mut kinds: std::collections::HashMap<Box<[u8]>, (bool, bool)> =
            std::collections::HashMap::new();
        for r in &records {
            if !origin.zone_of(&r.name) {
                return Err(format!("{} is not in zone {origin}", r.name));
            }
            let key = key_of(&r.name);
            let rtype = r.record_type();
            if key == origin_key && matches!(rtype, RecordType::SOA | RecordType::NS) {
                return Err(format!(
                    "{rtype} at the apex of {origin}: the zone synthesizes its SOA and NS"
                ));
            }
            let kind = kinds.entry(key).or_default();
            if rtype == RecordType::CNAME {
                kind.0 = true;
            } else {
                kind.1 = true;
            }
            if kind.0 && kind.1 {
                return Err(format!("{} has a CNAME and other data", r.name));
            }
        }
        let mut sets = super::records::RrSets::default();
        for r in std::iter::once(&soa).chain(&ns).chain(&records) {
            sets.add(
                &wire(&r.name),
                r.ttl,
                u16::from(r.record_type()),
                r.data.clone(),
            );
        }
        let sets = sets.finish();
        #[cfg(test)]
        let record_count = sets.iter().map(|s| s.records.len()).sum();
        let nodes = index::build(&origin, sets);
        Ok(Self {
            origin_labels: WireName::new(&origin).labels(),
            origin,
            origin_key,
            soa,
            nodes,
            #[cfg(test)]
            record_count,
        })
    }

    /// The apex of the zone.
    pub fn origin(&self) -> &Name {
        &self.origin
    }

    /// The SOA record, for the authority section of negative answers.
    pub(crate) fn soa(&self) -> &Record {
        &self.soa
    }

    /// TTL of negative answers: the lesser of the SOA's own TTL and its
    /// MINIMUM field (RFC 2308 §5).
    pub fn negative_ttl(&self) -> u32 {
        match &self.soa.data {
            RData::SOA(soa) => self.soa.ttl.min(soa.minimum),
            _ => self.soa.ttl,
        }
    }

    /// Whether `qname` is at or below the apex (case-insensitive).
    pub(crate) fn contains(&self, qname: &Name) -> bool {
        self.origin.zone_of(qname)
    }

    /// Number of records in the zone.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.record_count
    }

    /// Every record of the zone, in no particular order (for AXFR or dumps).
    pub(crate) fn records(&self) -> impl Iterator<Item = &Record> {
        self.nodes.values().flat_map(|node| node.all().iter())
    }

    /// The authoritative answer for `qname`/`qtype`.
    ///
    /// A name outside the zone gets `NxDomain`: check `contains` first.
    /// ANY returns every record of the name (not RFC 8482's minimal answer).
    /// Allocates only when a wildcard answer is synthesized.
    pub fn lookup<'a>(&'a self, qname: &Name, qtype: RecordType) -> ZoneAnswer<'a> {
        let key = WireName::new(qname);
        let below = match key.labels().checked_sub(self.origin_labels) {
            Some(below) if key.ancestor(below) == &*self.origin_key => below,
            _ => return ZoneAnswer::NxDomain,
        };

        // Walk down from the apex: the first cut on the way wins, and the last
        // name that exists is the closest encloser (RFC 4592 §3.3.1).
        let mut encloser = (below, self.nodes.get(&self.origin_key));
        for skip in (0..below).rev() {
            let Some(node) = self.nodes.get(key.ancestor(skip)) else {
                break;
            };
            // DS lives on the parent side of a cut (RFC 4035 §3.1.4.1).
            if node.cut && !(skip == 0 && qtype == RecordType::DS) {
                return ZoneAnswer::Delegation {
                    ns: node.set(RecordType::NS).unwrap_or_default(),
                    glue: &node.glue,
                };
            }
            encloser = (skip, Some(node));
        }

        match encloser {
            (0, Some(node)) => answer(node, qtype, None),
            (skip, _) => {
                // The name does not exist: only `*.<closest encloser>` may
                // synthesize it (RFC 4592 §3.3.1).
                let mut buf = wildcard_buf();
                let wildcard = wildcard_of(key.ancestor(skip), &mut buf);
                match self.nodes.get(wildcard) {
                    Some(node) => answer(node, qtype, Some(qname)),
                    None => ZoneAnswer::NxDomain,
                }
            }
        }
    }
}

/// The answer a node gives; `synthesize` is the query name when the node is a
/// wildcard, whose records then take that name as owner.
fn answer<'a>(node: &'a ZoneNode, qtype: RecordType, synthesize: Option<&Name>) -> ZoneAnswer<'a> {
    let records = if qtype == RecordType::ANY {
        Some(node.all()).filter(|all| !all.is_empty())
    } else {
        node.set(qtype)
    };
    if let Some(records) = records {
        return ZoneAnswer::Records(rename(records, synthesize));
    }
    if qtype != RecordType::CNAME
        && let Some(cname) = node.set(RecordType::CNAME).and_then(|set| set.first())
    {
        return ZoneAnswer::Cname(match synthesize {
            None => Cow::Borrowed(cname),
            Some(qname) => Cow::Owned(renamed(cname, qname)),
        });
    }
    ZoneAnswer::NoData
}

fn rename<'a>(records: &'a [Record], synthesize: Option<&Name>) -> Cow<'a, [Record]> {
    match synthesize {
        None => Cow::Borrowed(records),
        Some(qname) => Cow::Owned(records.iter().map(|r| renamed(r, qname)).collect()),
    }
}

fn renamed(record: &Record, owner: &Name) -> Record {
    let mut record = record.clone();
    record.name = owner.clone();
    record
}

#[cfg(test)]
mod private_zone_style {
    use std::str::FromStr;

    use hickory_proto::rr::rdata::{A, CNAME, NS, SOA};

    use super::*;

    fn name(s: &str) -> Name {
        Name::from_str(s).unwrap()
    }

    fn zone(records: Vec<Record>) -> Result<PrivateZone, String> {
        let origin = name("oss-cn-hangzhou-internal.aliyuncs.com.");
        let soa = Record::from_rdata(
            origin.clone(),
            300,
            RData::SOA(SOA::new(
                name("ns.privatelink.aliyuncs.com."),
                name("hostmaster.privatelink.aliyuncs.com."),
                1,
                3600,
                600,
                86400,
                30,
            )),
        );
        let ns = Record::from_rdata(
            origin.clone(),
            300,
            RData::NS(NS(name("ns.privatelink.aliyuncs.com."))),
        );
        PrivateZone::from_records(&origin, soa, vec![ns], records)
    }

    #[test]
    fn a_cname_at_the_apex_answers_every_type_but_soa_and_ns() {
        let apex = name("oss-cn-hangzhou-internal.aliyuncs.com.");
        let target = name("ep-1.epsrv-oss.cn-hangzhou.privatelink.aliyuncs.com.");
        let z = zone(vec![
            Record::from_rdata(apex.clone(), 60, RData::CNAME(CNAME(target.clone()))),
            Record::from_rdata(
                name("www.oss-cn-hangzhou-internal.aliyuncs.com."),
                60,
                RData::A(A::new(127, 0, 1, 5)),
            ),
        ])
        .unwrap();
        for rtype in [
            RecordType::A,
            RecordType::AAAA,
            RecordType::TXT,
            RecordType::MX,
        ] {
            match z.lookup(&apex, rtype) {
                ZoneAnswer::Cname(c) => assert_eq!(c.data, RData::CNAME(CNAME(target.clone()))),
                other => panic!("{rtype}: {other:?}"),
            }
        }
        assert!(
            matches!(z.lookup(&apex, RecordType::SOA), ZoneAnswer::Records(r) if r[0].record_type() == RecordType::SOA)
        );
        assert!(matches!(z.lookup(&apex, RecordType::NS), ZoneAnswer::Records(r) if r.len() == 1));
        assert_eq!(z.negative_ttl(), 30);
        assert_eq!(z.len(), 4);
    }

    #[test]
    fn user_soa_and_ns_and_a_cname_beside_data_are_refused() {
        let www = name("www.oss-cn-hangzhou-internal.aliyuncs.com.");
        let err = zone(vec![
            Record::from_rdata(www.clone(), 60, RData::A(A::new(127, 0, 1, 5))),
            Record::from_rdata(www.clone(), 60, RData::CNAME(CNAME(name("x.example.")))),
        ])
        .unwrap_err();
        assert_eq!(
            err,
            "www.oss-cn-hangzhou-internal.aliyuncs.com. has a CNAME and other data"
        );
        let apex = name("oss-cn-hangzhou-internal.aliyuncs.com.");
        let err = zone(vec![Record::from_rdata(
            apex,
            60,
            RData::NS(NS(name("ns.example."))),
        )])
        .unwrap_err();
        assert!(err.contains("synthesizes its SOA and NS"), "{err}");
        let err = zone(vec![Record::from_rdata(
            name("www.example."),
            60,
            RData::A(A::new(127, 0, 1, 5)),
        )])
        .unwrap_err();
        assert!(err.contains("is not in zone"), "{err}");
    }
}
