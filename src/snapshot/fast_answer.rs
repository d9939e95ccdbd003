//! The answer rule for the wire-level fast path: the same decisions as
//! `answer.rs` (through `Snapshot::choose`), returning addresses for
//! `dns/fast.rs` to write instead of `Record`s. Only the generated zone's
//! common questions are answered here; everything else is `General`.

use std::net::IpAddr;

use hickory_proto::rr::RecordType;
use smallvec::SmallVec;

use super::answer::{Choice, Client, Snapshot};
use super::tables::{FamilyAnswers, GeneratedNode};
use crate::wire::name::under;

#[derive(Debug)]
pub(crate) enum FastAnswer {
    /// A (or AAAA) records of these addresses, owned by the question's name;
    /// `affinity` as `Depends::affinity` (the fast path's answers never
    /// depend on the view).
    Addresses {
        ips: SmallVec<[IpAddr; 8]>,
        ttl: u32,
        affinity: Option<u8>,
    },
    NxDomain,
    NoData,
    ServFail,
    /// Not for the fast path: answer through the general one.
    General,
}

impl Snapshot {
    /// Answers `qname` (lowercase wire form, root octet included) for
    /// `qtype`, or says to take the general path.
    pub(crate) fn fast_answer(
        &self,
        qname: &[u8],
        qtype: RecordType,
        client: &Client,
    ) -> FastAnswer {
        let t = &*self.tables;
        if !t.fast_path {
            return FastAnswer::General;
        }
        let Some(node) = t.wire_names.get(qname) else {
            return if under(qname, &t.apex_wire) {
                FastAnswer::NxDomain
            } else {
                FastAnswer::General
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
                    FastAnswer::NoData
                }
            }
            (GeneratedNode::ZoneDomain(i), RecordType::A | RecordType::AAAA) => {
                let zd = &t.zone_domains[i as usize];
                let ip = match qtype {
                    RecordType::A => Some(IpAddr::V4(zd.a)),
                    _ => zd.aaaa.map(IpAddr::V6),
                };
                match ip {
                    Some(ip) => FastAnswer::Addresses {
                        ips: smallvec::smallvec![ip],
                        ttl: t.ttl,
                        affinity: None,
                    },
                    None => FastAnswer::NoData,
                }
            }
            _ => FastAnswer::General,
        }
    }

    fn family(
        &self,
        ep: &super::tables::EndpointAnswers,
        fam: &FamilyAnswers,
        client: &Client,
    ) -> FastAnswer {
        match self.choose(ep, fam, client) {
            Choice::Enis {
                picked,
                degraded,
                affinity,
            } => FastAnswer::Addresses {
                ips: picked.iter().map(|&i| fam.ips[i as usize]).collect(),
                ttl: self.tables.answer_ttl(degraded),
                affinity,
            },
            Choice::NoData => FastAnswer::NoData,
            Choice::ServFail => FastAnswer::ServFail,
        }
    }
}
