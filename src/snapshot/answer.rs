//! The answer rule: what epdns says to one question from one client, read from
//! a snapshot. No sockets, no allocation for the common answer.

use std::net::IpAddr;
use std::sync::Arc;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, Record, RecordType};
use smallvec::SmallVec;

use super::tables::{AllDownPolicy, EndpointAnswers, FamilyAnswers, Node, Tables};

/// The tables plus the health of every ENI address at one moment.
pub struct Snapshot {
    pub tables: Arc<Tables>,
    /// Indexed by slot: is that ENI address available?
    pub up: Box<[bool]>,
}

/// What the answer may depend on about the client.
#[derive(Debug, Clone, Copy)]
pub struct Client {
    /// The query's source address, or the ECS address (masked) when trusted.
    pub addr: IpAddr,
    /// The ECS source prefix length when `addr` came from ECS.
    pub source_prefix: Option<u8>,
}

pub type Records<'s> = SmallVec<[&'s Record; 4]>;

#[derive(Debug)]
pub struct Answer<'s> {
    pub rcode: ResponseCode,
    /// False only for REFUSED: we are not authoritative for the name.
    pub authoritative: bool,
    pub answers: Records<'s>,
    pub authority: Records<'s>,
    pub additionals: Records<'s>,
    /// ECS scope prefix (RFC 7871 §7.2.1): how much of the client address the
    /// answer depended on; 0 when it did not.
    pub scope_prefix: u8,
}

impl<'s> Answer<'s> {
    fn new(rcode: ResponseCode) -> Self {
        Answer {
            rcode,
            authoritative: true,
            answers: SmallVec::new(),
            authority: SmallVec::new(),
            additionals: SmallVec::new(),
            scope_prefix: 0,
        }
    }

    pub fn refused() -> Self {
        Answer {
            authoritative: false,
            ..Answer::new(ResponseCode::Refused)
        }
    }
}

impl Snapshot {
    /// Answers `qname`/`qtype` (class IN) for `client`.
    pub fn answer(&self, qname: &Name, qtype: RecordType, client: &Client) -> Answer<'_> {
        let t = &*self.tables;
        let zone = &t.zone;
        if !zone.apex.zone_of(qname) {
            return Answer::refused();
        }
        let Some(node) = t.names.get(qname) else {
            return self.negative(ResponseCode::NXDomain);
        };
        let mut ans = Answer::new(ResponseCode::NoError);
        match *node {
            Node::Apex => {
                if matches!(qtype, RecordType::SOA | RecordType::ANY) {
                    ans.answers.push(&zone.soa);
                }
                if matches!(qtype, RecordType::NS | RecordType::ANY) {
                    ans.answers.extend(zone.ns.iter());
                    ans.additionals.extend(zone.ns_host_a.iter());
                    ans.additionals.extend(zone.ns_host_aaaa.iter());
                }
            }
            Node::NsHost => {
                if matches!(qtype, RecordType::A | RecordType::ANY) {
                    ans.answers.extend(zone.ns_host_a.iter());
                }
                if matches!(qtype, RecordType::AAAA | RecordType::ANY) {
                    ans.answers.extend(zone.ns_host_aaaa.iter());
                }
            }
            Node::Endpoint(i) => {
                let ep = &t.endpoints[i as usize];
                let mut outcome = Selected::Records;
                if matches!(qtype, RecordType::A | RecordType::ANY) {
                    outcome = self.select(ep, &ep.a, client, &mut ans);
                }
                if ep.dual_stack
                    && outcome == Selected::Records
                    && matches!(qtype, RecordType::AAAA | RecordType::ANY)
                {
                    outcome = self.select(ep, &ep.aaaa, client, &mut ans);
                }
                if outcome == Selected::ServFail {
                    return Answer::new(ResponseCode::ServFail);
                }
            }
            Node::ZoneDomain(i) => {
                let zd = &t.zone_domains[i as usize];
                if matches!(qtype, RecordType::A | RecordType::ANY) {
                    ans.answers.extend(zd.a.iter());
                }
                if matches!(qtype, RecordType::AAAA | RecordType::ANY) {
                    ans.answers.extend(zd.aaaa.iter());
                }
            }
            Node::EmptyNonTerminal => {}
        }
        if ans.answers.is_empty() {
            // NODATA: the name exists but not with this type (or every ENI is
            // down under the "none" policy).
            let scope = ans.scope_prefix;
            ans = self.negative(ResponseCode::NoError);
            ans.scope_prefix = scope;
        }
        ans
    }

    fn negative(&self, rcode: ResponseCode) -> Answer<'_> {
        let mut ans = Answer::new(rcode);
        ans.authority.push(&self.tables.zone.soa_negative);
        ans
    }

    /// Adds the records of one family of an endpoint domain: available ENIs
    /// only, narrowed to the client's zone under zone affinity.
    fn select<'s>(
        &'s self,
        ep: &EndpointAnswers,
        fam: &'s FamilyAnswers,
        client: &Client,
        ans: &mut Answer<'s>,
    ) -> Selected {
        let up = |i: usize| self.up[fam.slots[i] as usize];
        let any_up = (0..fam.records.len()).any(up);
        if !any_up && !fam.records.is_empty() {
            return match self.tables.all_down {
                AllDownPolicy::All => {
                    ans.answers.extend(fam.records.iter());
                    Selected::Records
                }
                AllDownPolicy::None => Selected::Records,
                AllDownPolicy::ServFail => Selected::ServFail,
            };
        }
        if ep.affinity {
            let vpc = &self.tables.vpcs[ep.vpc as usize];
            match vpc.zone_of(client.addr, client.source_prefix) {
                Some((zone, prefix_len)) => {
                    ans.scope_prefix = client
                        .source_prefix
                        .map_or(prefix_len, |p| p.min(prefix_len));
                    let before = ans.answers.len();
                    ans.answers.extend(
                        (0..fam.records.len())
                            .filter(|&i| fam.zones[i] == zone && up(i))
                            .map(|i| &fam.records[i]),
                    );
                    if ans.answers.len() > before {
                        return Selected::Records;
                    }
                }
                // The answer "every available ENI" holds for the client's
                // whole source prefix: it is in no vSwitch of this VPC.
                None => ans.scope_prefix = client.source_prefix.unwrap_or(0),
            }
        }
        ans.answers.extend(
            (0..fam.records.len())
                .filter(|&i| up(i))
                .map(|i| &fam.records[i]),
        );
        Selected::Records
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Selected {
    Records,
    ServFail,
}
