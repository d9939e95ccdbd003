//! The answer index of a zone, built once at load.
//!
//! One node per name that exists in the zone: owners of records, and every
//! name between an owner and the apex (empty non-terminals, RFC 8020: they
//! exist and answer NODATA). Each node keeps its RRsets ready to hand out as
//! slices, all its records in one slice for ANY, and for a zone cut the glue.

use std::{
    collections::{BTreeMap, HashMap},
    ops::Range,
};

use hickory_proto::rr::{Name, RData, Record, RecordSet, RecordSetParts, RecordType, RrKey};

use super::key::key_of;
use crate::wire::WireName;

#[derive(Debug, Default)]
pub(crate) struct ZoneNode {
    /// Every record of the name, grouped by type: ANY answers the whole slice.
    records: Box<[Record]>,
    /// Where each type's RRset lies in `records`.
    sets: Box<[(RecordType, Range<usize>)]>,
    /// NS below the apex: this name and everything under it is delegated.
    pub cut: bool,
    /// Addresses of in-zone name servers of a cut, for the additional section.
    pub glue: Box<[Record]>,
}

impl ZoneNode {
    pub fn set(&self, rtype: RecordType) -> Option<&[Record]> {
        self.sets
            .iter()
            .find(|(t, _)| *t == rtype)
            .map(|(_, range)| &self.records[range.clone()])
    }

    pub fn all(&self) -> &[Record] {
        &self.records
    }
}

pub(crate) type Nodes = HashMap<Box<[u8]>, ZoneNode>;

/// Builds the index of a zone whose records passed `rules::check`.
///
/// `owners` gives the file's spelling of owner names (see `ZoneText::owners`).
pub(crate) fn build(
    origin: &Name,
    records: BTreeMap<RrKey, RecordSet>,
    owners: &HashMap<Box<[u8]>, Name>,
) -> Nodes {
    let origin_labels = WireName::new(origin).labels();
    let apex = key_of(origin);
    // RRsets per name first; a node's slices are laid out once all are known.
    let mut pending: HashMap<Box<[u8]>, Vec<RecordSetParts>> = HashMap::new();
    pending.entry(apex.clone()).or_default();
    for set in records.into_values() {
        let key = WireName::new(set.name());
        // Ancestors up to (not including) the apex exist too.
        for skip in 1..key.labels().saturating_sub(origin_labels) {
            pending.entry(key.ancestor(skip).into()).or_default();
        }
        let mut parts = set.into_parts();
        if let Some(owner) = owners.get(key.bytes()) {
            parts.name.clone_from(owner);
        }
        pending.entry(key.bytes().into()).or_default().push(parts);
    }

    let mut nodes: Nodes = pending
        .into_iter()
        .map(|(key, sets)| {
            let cut = key != apex && sets.iter().any(|s| s.record_type == RecordType::NS);
            (key, node_of(sets, cut))
        })
        .collect();
    let cuts: Vec<Box<[u8]>> = nodes
        .iter()
        .filter(|(_, node)| node.cut)
        .map(|(key, _)| key.clone())
        .collect();
    for key in cuts {
        let glue = glue_of(origin, &nodes, &nodes[&key]);
        if let Some(node) = nodes.get_mut(&key) {
            node.glue = glue;
        }
    }
    nodes
}

fn node_of(mut sets: Vec<RecordSetParts>, cut: bool) -> ZoneNode {
    sets.sort_by_key(|s| u16::from(s.record_type));
    let mut records = Vec::with_capacity(sets.iter().map(|s| s.records.len()).sum());
    let mut ranges = Vec::with_capacity(sets.len());
    for set in sets {
        let start = records.len();
        records.extend(set.records.into_iter().map(|mut r| {
            // One TTL per RRset (RFC 2181 §5.2): the set's, which hickory
            // takes from the last record of the set in the file.
            r.ttl = set.ttl;
            r.name.clone_from(&set.name);
            r
        }));
        ranges.push((set.record_type, start..records.len()));
    }
    ZoneNode {
        records: records.into(),
        sets: ranges.into(),
        cut,
        glue: Box::default(),
    }
}

/// A and AAAA records held in this zone for the name servers of a cut.
fn glue_of(origin: &Name, nodes: &Nodes, cut: &ZoneNode) -> Box<[Record]> {
    let mut glue = Vec::new();
    for ns in cut.set(RecordType::NS).unwrap_or_default() {
        let RData::NS(target) = &ns.data else {
            continue;
        };
        if !origin.zone_of(&target.0) {
            continue;
        }
        if let Some(node) = nodes.get(WireName::new(&target.0).bytes()) {
            for rtype in [RecordType::A, RecordType::AAAA] {
                glue.extend(node.set(rtype).unwrap_or_default().iter().cloned());
            }
        }
    }
    glue.into()
}
