//! The answer rule for the wire-level fast path: the same decisions as
//! `answer.rs` (through `Snapshot::choose`), returning precomputed records
//! on the wire instead of `Record`s. Only the generated zone's common
//! questions are answered here; everything else is `General`.

use std::net::IpAddr;

use hickory_proto::rr::RecordType;
use smallvec::SmallVec;

use super::answer::{Choice, Client, Snapshot};
use super::tables::{FamilyAnswers, GeneratedNode};

pub enum WireAnswer {
    /// A (or AAAA) records of these addresses, owned by the question's name;
    /// `scope_prefix` for ECS.
    Addresses {
        ips: SmallVec<[IpAddr; 8]>,
        ttl: u32,
        scope_prefix: u8,
    },
    NxDomain,
    NoData,
    ServFail,
    /// Not for the fast path: answer through the general one.
    General,
}

/// The generated zone's SOA for negative answers, in pieces: the owner and
/// the two names inside are written relative to the apex, which the encoder
/// points at inside the question.
pub struct NegativeSoa {
    pub ttl: u32,
    /// Labels of MNAME above the apex, on the wire (e.g. `\x02ns`).
    pub mname_labels: Box<[u8]>,
    /// Labels of RNAME above the apex (e.g. `\x0ahostmaster`).
    pub rname_labels: Box<[u8]>,
    /// SERIAL, REFRESH, RETRY, EXPIRE, MINIMUM.
    pub counters: [u8; 20],
}

impl Snapshot {
    /// Answers `qname` (lowercase wire form, root octet included) for
    /// `qtype`, or says to take the general path.
    pub fn wire_answer(&self, qname: &[u8], qtype: RecordType, client: &Client) -> WireAnswer {
        let t = &*self.tables;
        if !t.fast_path {
            return WireAnswer::General;
        }
        let Some(node) = t.wire_names.get(qname) else {
            return if under(qname, &t.apex_wire) {
                WireAnswer::NxDomain
            } else {
                WireAnswer::General
            };
        };
        match (*node, qtype) {
            (GeneratedNode::Endpoint(i), RecordType::A) => {
                let ep = &t.endpoints[i as usize];
                self.family(ep, &ep.a, client)
            }
            (GeneratedNode::Endpoint(i), RecordType::AAAA) => {
                let ep = &t.endpoints[i as usize];
                if ep.dual_stack {
                    self.family(ep, &ep.aaaa, client)
                } else {
                    WireAnswer::NoData
                }
            }
            (GeneratedNode::ZoneDomain(i), RecordType::A | RecordType::AAAA) => {
                let zd = &t.zone_domains[i as usize];
                let ip = match qtype {
                    RecordType::A => Some(IpAddr::V4(zd.a)),
                    _ => zd.aaaa.map(IpAddr::V6),
                };
                match ip {
                    Some(ip) => WireAnswer::Addresses {
                        ips: smallvec::smallvec![ip],
                        ttl: t.ttl,
                        scope_prefix: 0,
                    },
                    None => WireAnswer::NoData,
                }
            }
            _ => WireAnswer::General,
        }
    }

    fn family(
        &self,
        ep: &super::tables::EndpointAnswers,
        fam: &FamilyAnswers,
        client: &Client,
    ) -> WireAnswer {
        match self.choose(ep, fam, client) {
            Choice::Enis {
                picked,
                degraded,
                scope_prefix,
            } => WireAnswer::Addresses {
                ips: picked.iter().map(|&i| fam.ips[i as usize]).collect(),
                ttl: self.tables.answer_ttl(degraded),
                scope_prefix,
            },
            Choice::NoData => WireAnswer::NoData,
            Choice::ServFail => WireAnswer::ServFail,
        }
    }
}

/// Whether wire name `name` is at or below `apex`, at a label boundary.
pub fn under(name: &[u8], apex: &[u8]) -> bool {
    let mut pos = 0;
    while pos < name.len() {
        if name[pos..] == *apex {
            return true;
        }
        pos += 1 + name[pos] as usize;
    }
    apex.is_empty()
}
