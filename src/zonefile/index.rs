//! The answer index of a zone, built once at load.
//!
//! One node per name that exists in the zone: owners of records, and every
//! name between an owner and the apex (empty non-terminals, RFC 8020: they
//! exist and answer NODATA). Each node keeps its RRsets ready to hand out as
//! slices, all its records in one slice for ANY, and for a zone cut the glue.

use std::{collections::HashMap, ops::Range};

use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::{key::key_of, records::RrSet};
use crate::wire::WireName;

#[derive(Debug, Default)]
pub(crate) struct ZoneNode {
    /// Every record of the name, grouped by type: ANY answers the whole slice.
    records: Box<[Record]>,
    /// Where each type's RRset lies in `records`.
    sets: Box<[(RecordType, Range<usize>)]>,
    /// NS below the apex: this name and everything under it is delegated.
    pub(crate) cut: bool,
    /// Addresses of in-zone name servers of a cut, for the additional section.
    pub(crate) glue: Box<[Record]>,
}

impl ZoneNode {
    pub(crate) fn set(&self, rtype: RecordType) -> Option<&[Record]> {
        self.sets
            .iter()
            .find(|(t, _)| *t == rtype)
            .map(|(_, range)| &self.records[range.clone()])
    }

    pub(crate) fn all(&self) -> &[Record] {
        &self.records
    }
}

pub(crate) type Nodes = HashMap<Box<[u8]>, ZoneNode>;

/// Builds the index of a zone whose records passed the rules.
pub(crate) fn build(origin: &Name, sets: Vec<RrSet>) -> Nodes {
    let origin_labels = WireName::new(origin).labels();
    let apex = key_of(origin);
    // RRsets per name first; a node's slices are laid out once all are known.
    let mut pending: HashMap<Box<[u8]>, Vec<RrSet>> = HashMap::new();
    pending.entry(apex.clone()).or_default();
    for mut set in sets {
        let Some(first) = set.records.first() else {
            continue;
        };
        let key = WireName::new(&first.name);
        // Ancestors up to (not including) the apex exist too.
        for skip in 1..key.labels().saturating_sub(origin_labels) {
            let ancestor = key.ancestor(skip);
            if !pending.contains_key(ancestor) {
                pending.insert(ancestor.into(), Vec::new());
            }
        }
        pending
            .entry(std::mem::take(&mut set.key))
            .or_default()
            .push(set);
    }

    let mut nodes: Nodes = pending
        .into_iter()
        .map(|(key, sets)| {
            let cut = key != apex && sets.iter().any(|s| s.rtype == RecordType::NS);
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

fn node_of(mut sets: Vec<RrSet>, cut: bool) -> ZoneNode {
    sets.sort_by_key(|s| u16::from(s.rtype));
    let mut records = Vec::with_capacity(sets.iter().map(|s| s.records.len()).sum());
    let mut ranges = Vec::with_capacity(sets.len());
    for set in sets {
        let start = records.len();
        records.extend(set.records);
        ranges.push((set.rtype, start..records.len()));
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
