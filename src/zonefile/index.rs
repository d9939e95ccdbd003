//! The answer index of a zone, built once at load.
//!
//! One node per name that exists in the zone: owners of records, and every
//! name between an owner and the apex (empty non-terminals, RFC 8020: they
//! exist and answer NODATA). Each node keeps its RRsets ready to hand out as
//! slices, all its records in one slice for ANY, and for a zone cut the glue.

use std::collections::{BTreeMap, HashMap};

use hickory_proto::rr::{Name, RData, Record, RecordSet, RecordType, RrKey};

use super::key::{WireName, key_of};

#[derive(Debug, Default)]
pub(crate) struct Node {
    sets: Vec<(RecordType, Box<[Record]>)>,
    all: Box<[Record]>,
    /// NS below the apex: this name and everything under it is delegated.
    pub cut: bool,
    /// Addresses of in-zone name servers of a cut, for the additional section.
    pub glue: Box<[Record]>,
}

impl Node {
    pub fn set(&self, rtype: RecordType) -> Option<&[Record]> {
        self.sets
            .iter()
            .find(|(t, _)| *t == rtype)
            .map(|(_, records)| &**records)
    }

    pub fn all(&self) -> &[Record] {
        &self.all
    }
}

pub(crate) type Nodes = HashMap<Box<[u8]>, Node>;

/// Builds the index of a zone whose records passed `rules::check`.
///
/// `owners` gives the file's spelling of owner names (see `Source::owners`).
pub(crate) fn build(
    origin: &Name,
    records: BTreeMap<RrKey, RecordSet>,
    owners: &HashMap<Box<[u8]>, Name>,
) -> Nodes {
    let mut nodes = Nodes::new();
    let origin_labels = WireName::new(origin).labels();
    for set in records.into_values() {
        let key = WireName::new(set.name());
        let owner = owners.get(key.bytes()).unwrap_or(set.name());
        // One TTL per RRset (RFC 2181 §5.2): the set's, which hickory takes from
        // the last record of the set in the file.
        let ttl = set.ttl();
        let records: Box<[Record]> = set
            .records_without_rrsigs()
            .map(|r| {
                let mut r = r.clone();
                r.ttl = ttl;
                r.name.clone_from(owner);
                r
            })
            .collect();
        // Ancestors up to (not including) the apex exist too.
        for skip in 1..key.labels().saturating_sub(origin_labels) {
            nodes.entry(key.ancestor(skip).into()).or_default();
        }
        let node = nodes.entry(key.bytes().into()).or_default();
        node.sets.push((set.record_type(), records));
    }
    let apex = key_of(origin);
    nodes.entry(apex.clone()).or_default();

    for (key, node) in nodes.iter_mut() {
        node.sets.sort_by_key(|(t, _)| u16::from(*t));
        node.all = node
            .sets
            .iter()
            .flat_map(|(_, r)| r.iter().cloned())
            .collect();
        node.cut = *key != apex && node.set(RecordType::NS).is_some();
    }
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

/// A and AAAA records held in this zone for the name servers of a cut.
fn glue_of(origin: &Name, nodes: &Nodes, cut: &Node) -> Box<[Record]> {
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
