//! The answer rule: what epdns says to one question from one client, read from
//! a snapshot, without sockets. Answers are `Record`s: borrowed from the
//! tables where they are kept (SOA, NS, zone file data), built when asked
//! where only addresses are kept (endpoint, custom and zone domains, PTRs),
//! so this path allocates. The common question never gets here: the fast
//! path (`fast_answer.rs`, `dns/fast.rs`) answers it without allocating.
//!
//! A name is answered by the closest enclosing source the client can see: the
//! generated zone (everyone), a custom service domain or a private zone (the
//! VPC's own view). CNAMEs are followed across all of them (RFC 1034 §4.3.2).

use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::Arc;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, RData, Record, RecordType};
use smallvec::SmallVec;

use super::tables::{
    AllDownPolicy, CustomDomain, EndpointAnswers, FamilyAnswers, GeneratedNode, PrivateView,
    PtrAnswer, Tables,
};
use crate::wire::WireName;
use crate::zonefile::ZoneAnswer;

/// Most CNAME targets followed for one question. A longer chain is answered
/// as far as it got: the CNAME record at the last name followed is in the
/// answer, its target is not looked up (`cname_tests.rs`).
pub(crate) const MAX_CNAME_CHAIN: usize = 8;

/// The tables plus the health of every ENI address at one moment.
pub struct Snapshot {
    pub tables: Arc<Tables>,
    /// Indexed by slot: is that ENI address available?
    pub up: Box<[bool]>,
}

/// What the answer may depend on about the client.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Client {
    /// The address zone affinity looks at: the query's source address, or
    /// the ECS address (masked to its source prefix) when `dns/client.rs`
    /// accepted it.
    pub(crate) addr: IpAddr,
    /// The ECS source prefix length when `addr` came from ECS.
    pub(crate) source_prefix: Option<u8>,
    /// The VPC whose view applies (`dns/client.rs` decides which).
    pub(crate) vpc: Option<u32>,
    /// Whether names we do not serve may be forwarded for this client: only
    /// for a VPC known from the listener or the source address (an ECS
    /// option must not turn us into an open resolver).
    pub(crate) may_forward: bool,
}

pub(crate) type Records<'s> = SmallVec<[Cow<'s, Record>; 4]>;

/// What an answer depended on about the client.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Depends {
    /// Zone affinity looked at the client's address: `Some(scope)`, the
    /// prefix length that covers the decision (the matched vSwitch CIDR,
    /// capped by the ECS source prefix; the source prefix when no vSwitch
    /// matched). `None` when the answer is the same for every address.
    pub(crate) affinity: Option<u8>,
    /// The client's VPC view decided the answer: some name of the chain was
    /// answered by a custom domain, private zone or PTR of the view, or by
    /// nothing (refused or forwarded), or a view could shadow the generated
    /// zone. Another view might have answered differently.
    pub(crate) view: bool,
}

#[derive(Debug)]
pub(crate) struct Answer<'s> {
    pub(crate) rcode: ResponseCode,
    /// False for REFUSED, referrals and forwarded answers.
    pub(crate) authoritative: bool,
    pub(crate) answers: Records<'s>,
    pub(crate) authority: Records<'s>,
    pub(crate) additionals: Records<'s>,
    /// What the answer depended on about the client: the reply's ECS scope
    /// prefix (RFC 7871 §7.2.1) follows from it (`dns/client.rs`).
    pub(crate) depends: Depends,
    /// A name to resolve upstream and append: the question itself (nothing
    /// answered yet) or where a CNAME chain left what we serve.
    pub(crate) forward: Option<Name>,
}

impl<'s> Answer<'s> {
    fn new(rcode: ResponseCode) -> Self {
        Answer {
            rcode,
            authoritative: true,
            answers: SmallVec::new(),
            authority: SmallVec::new(),
            additionals: SmallVec::new(),
            depends: Depends::default(),
            forward: None,
        }
    }

    pub(crate) fn refused() -> Self {
        Answer {
            authoritative: false,
            ..Answer::new(ResponseCode::Refused)
        }
    }
}

/// Who answers a name for a client.
enum Answerer<'s> {
    Generated,
    Custom(&'s CustomDomain),
    Private(&'s PrivateView),
    Ptr(&'s PtrAnswer),
}

/// What one source said about one name.
enum Step<'s> {
    /// Records were added; done.
    Answered,
    /// The name owns a CNAME (added); continue with its target.
    Cname(Name),
    Negative(ResponseCode, Cow<'s, Record>),
    Referral(&'s [Record], &'s [Record]),
    ServFail,
}

impl Snapshot {
    /// Answers `qname`/`qtype` (class IN) for `client`.
    pub(crate) fn answer(&self, qname: &Name, qtype: RecordType, client: &Client) -> Answer<'_> {
        let t = &*self.tables;
        let mut ans = Answer::new(ResponseCode::NoError);
        let mut name = Cow::Borrowed(qname);
        let mut followed: SmallVec<[Name; 2]> = SmallVec::new();
        loop {
            let source = self.source_for(&name, qtype, client);
            // The generated zone answers every view alike, unless some view
            // has a zone at or below its apex (then the fast path is off).
            if !matches!(source, Some(Answerer::Generated)) || !t.fast_path {
                ans.depends.view = true;
            }
            let Some(source) = source else {
                let forward = t.forward && client.may_forward;
                if followed.is_empty() {
                    if !forward {
                        // Another view might have held the name.
                        return Answer {
                            depends: ans.depends,
                            ..Answer::refused()
                        };
                    }
                    ans.authoritative = false;
                }
                // A chain that leaves what we serve is answered as far as it
                // goes; in resolver mode the rest is resolved upstream.
                ans.forward = forward.then(|| name.into_owned());
                return ans;
            };
            let step = match source {
                Answerer::Generated => self.generated(&name, qtype, client, &mut ans),
                Answerer::Custom(c) => self.custom(c, &name, qtype, client, &mut ans),
                Answerer::Private(p) => private(p, &name, qtype, &mut ans),
                Answerer::Ptr(p) => self.ptr(*p, &name, qtype, &mut ans),
            };
            match step {
                Step::Answered => return ans,
                Step::Negative(rcode, soa) => {
                    // RFC 6604: the RCODE is that of the last name in a chain.
                    ans.rcode = rcode;
                    ans.authority.push(soa);
                    return ans;
                }
                Step::Referral(ns, glue) => {
                    ans.authoritative = !followed.is_empty();
                    ans.authority.extend(ns.iter().map(Cow::Borrowed));
                    ans.additionals.extend(glue.iter().map(Cow::Borrowed));
                    return ans;
                }
                Step::ServFail => {
                    return Answer {
                        authoritative: false,
                        depends: ans.depends,
                        ..Answer::new(ResponseCode::ServFail)
                    };
                }
                Step::Cname(target) => {
                    let looped = target == *qname || followed.contains(&target);
                    if looped || followed.len() >= MAX_CNAME_CHAIN {
                        return ans;
                    }
                    followed.push(target.clone());
                    name = Cow::Owned(target);
                }
            }
        }
    }

    /// The closest enclosing source of `name` that `client` can see. DS at
    /// the apex of a private zone belongs to the parent side of the cut
    /// (RFC 4035 §3.1.4.1): it is answered by the closest source above the
    /// zone when there is one (epdns serves parent and child), else by the
    /// zone itself.
    fn source_for(&self, name: &Name, qtype: RecordType, client: &Client) -> Option<Answerer<'_>> {
        let best = self.closest_source(name, client, None);
        if qtype == RecordType::DS
            && let Some(Answerer::Private(p)) = &best
            && p.zone.origin() == name
        {
            let parent = self.closest_source(name, client, Some(p));
            if parent.is_some() {
                return parent;
            }
        }
        best
    }

    /// `source_for` without the DS rule, leaving `except` out.
    fn closest_source(
        &self,
        name: &Name,
        client: &Client,
        except: Option<&PrivateView>,
    ) -> Option<Answerer<'_>> {
        let t = &*self.tables;
        let mut best = t
            .zone
            .apex
            .zone_of(name)
            .then_some((t.zone.apex.num_labels(), Answerer::Generated));
        let Some(vpc) = client.vpc else {
            return best.map(|(_, s)| s);
        };
        let view = &t.views[vpc as usize];
        for c in &view.custom {
            let labels = c.name.num_labels();
            if best.as_ref().is_none_or(|(l, _)| labels > *l) && c.name.zone_of(name) {
                best = Some((labels, Answerer::Custom(c)));
            }
        }
        for p in &view.private {
            if except.is_some_and(|e| std::ptr::eq(e, p)) {
                continue;
            }
            let origin = p.zone.origin();
            let labels = origin.num_labels();
            if best.as_ref().is_none_or(|(l, _)| labels > *l) && origin.zone_of(name) {
                best = Some((labels, Answerer::Private(p)));
            }
        }
        // An ENI's reverse name, unless the VPC has a private zone (a
        // reverse zone of its own) that holds it.
        if !matches!(best, Some((_, Answerer::Private(_))))
            && !view.ptr.is_empty()
            && let Some(p) = view.ptr.get(WireName::new(name).bytes())
        {
            return Some(Answerer::Ptr(p));
        }
        best.map(|(_, s)| s)
    }

    /// The generated zone: apex, name server, endpoint and zone domains.
    fn generated<'s>(
        &'s self,
        name: &Name,
        qtype: RecordType,
        client: &Client,
        ans: &mut Answer<'s>,
    ) -> Step<'s> {
        let t = &*self.tables;
        let zone = &t.zone;
        let Some(node) = t.wire_names.get(WireName::new(name).bytes()) else {
            return Step::Negative(ResponseCode::NXDomain, Cow::Borrowed(&zone.soa_negative));
        };
        let before = ans.answers.len();
        let add = |ans: &mut Answer<'s>, records: &'s [Record]| {
            ans.answers.extend(records.iter().map(Cow::Borrowed));
        };
        match *node {
            GeneratedNode::Apex => {
                if matches!(qtype, RecordType::SOA | RecordType::ANY) {
                    add(ans, std::slice::from_ref(&zone.soa));
                }
                if matches!(qtype, RecordType::NS | RecordType::ANY) {
                    add(ans, &zone.ns);
                    ans.additionals
                        .extend(zone.ns_host_a.iter().map(Cow::Borrowed));
                    ans.additionals
                        .extend(zone.ns_host_aaaa.iter().map(Cow::Borrowed));
                }
            }
            GeneratedNode::NsHost => {
                if matches!(qtype, RecordType::A | RecordType::ANY) {
                    add(ans, &zone.ns_host_a);
                }
                if matches!(qtype, RecordType::AAAA | RecordType::ANY) {
                    add(ans, &zone.ns_host_aaaa);
                }
            }
            GeneratedNode::Endpoint(i) => {
                let ep = &t.endpoints[i as usize];
                if self.endpoint(ep, qtype, client, ans) == Selected::ServFail {
                    return Step::ServFail;
                }
            }
            GeneratedNode::ZoneDomain(i) => {
                let zd = &t.zone_domains[i as usize];
                let record = |ip| Cow::Owned(address_record(&zd.name, t.ttl, ip));
                if matches!(qtype, RecordType::A | RecordType::ANY) {
                    ans.answers.push(record(IpAddr::V4(zd.a)));
                }
                if let (Some(v6), RecordType::AAAA | RecordType::ANY) = (zd.aaaa, qtype) {
                    ans.answers.push(record(IpAddr::V6(v6)));
                }
            }
            GeneratedNode::EmptyNonTerminal(_) => {}
        }
        if ans.answers.len() == before {
            // NODATA: the name exists but not with this type (or every ENI
            // is down under the "none" policy).
            return Step::Negative(ResponseCode::NoError, Cow::Borrowed(&zone.soa_negative));
        }
        Step::Answered
    }

    /// A custom service domain: the endpoint's answer under the custom name;
    /// names below it do not exist.
    fn custom<'s>(
        &'s self,
        c: &'s CustomDomain,
        name: &Name,
        qtype: RecordType,
        client: &Client,
        ans: &mut Answer<'s>,
    ) -> Step<'s> {
        if c.name != *name {
            return Step::Negative(ResponseCode::NXDomain, Cow::Borrowed(&c.soa_negative));
        }
        let before = ans.answers.len();
        let ep = &self.tables.endpoints[c.endpoint as usize];
        if self.endpoint(ep, qtype, client, ans) == Selected::ServFail {
            return Step::ServFail;
        }
        if ans.answers.len() == before {
            return Step::Negative(ResponseCode::NoError, Cow::Borrowed(&c.soa_negative));
        }
        Step::Answered
    }

    /// An ENI's reverse name: PTR to its zone domain (or endpoint domain),
    /// NODATA for other types; a one-name zone, so its SOA is at the name.
    fn ptr<'s>(
        &'s self,
        p: PtrAnswer,
        name: &Name,
        qtype: RecordType,
        ans: &mut Answer<'s>,
    ) -> Step<'s> {
        let t = &*self.tables;
        if matches!(qtype, RecordType::PTR | RecordType::ANY) {
            let target = t.ptr_target(p.target).clone();
            ans.answers.push(Cow::Owned(Record::from_rdata(
                name.clone(),
                p.ttl,
                RData::PTR(hickory_proto::rr::rdata::PTR(target)),
            )));
            Step::Answered
        } else {
            let mut soa = t.zone.soa_negative.clone();
            soa.name = name.clone();
            Step::Negative(ResponseCode::NoError, Cow::Owned(soa))
        }
    }

    /// An endpoint's A and/or AAAA for `qtype`.
    fn endpoint<'s>(
        &'s self,
        ep: &'s EndpointAnswers,
        qtype: RecordType,
        client: &Client,
        ans: &mut Answer<'s>,
    ) -> Selected {
        let mut outcome = Selected::Records;
        if matches!(qtype, RecordType::A | RecordType::ANY) {
            outcome = self.select(ep, &ep.a, client, ans);
        }
        if ep.dual_stack
            && outcome == Selected::Records
            && matches!(qtype, RecordType::AAAA | RecordType::ANY)
        {
            outcome = self.select(ep, &ep.aaaa, client, ans);
        }
        outcome
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
        match self.choose(ep, fam, client) {
            Choice::Enis {
                picked,
                degraded,
                affinity,
            } => {
                let ttl = self.tables.answer_ttl(degraded);
                ans.answers.extend(
                    picked
                        .iter()
                        .map(|&i| Cow::Owned(address_record(&ep.owner, ttl, fam.ips[i as usize]))),
                );
                ans.depends.affinity = affinity;
                Selected::Records
            }
            Choice::NoData => Selected::Records,
            Choice::ServFail => Selected::ServFail,
        }
    }

    /// Which ENIs of one family answer `client`: the available ones, only the
    /// client's zone's under zone affinity when it is available; the all-down
    /// policy when none is. The one rule for both answer paths.
    pub(crate) fn choose(
        &self,
        ep: &EndpointAnswers,
        fam: &FamilyAnswers,
        client: &Client,
    ) -> Choice {
        let up = |i: usize| self.up[fam.slots[i] as usize];
        let n = fam.ips.len();
        let up_count = (0..n).filter(|&i| up(i)).count();
        // While any ENI is down, the shorter TTL makes resolvers ask again
        // soon after it recovers (or after more fail).
        let degraded = up_count < n && self.tables.degraded_ttl.is_some();
        let all = |filter: &dyn Fn(usize) -> bool| -> Picked {
            (0..n).filter(|&i| filter(i)).map(|i| i as u16).collect()
        };
        if up_count == 0 {
            return match self.tables.all_down {
                AllDownPolicy::All => Choice::Enis {
                    picked: all(&|_| true),
                    degraded,
                    affinity: None,
                },
                AllDownPolicy::None => Choice::NoData,
                AllDownPolicy::ServFail => Choice::ServFail,
            };
        }
        let mut affinity = None;
        if ep.affinity {
            let vpc = &self.tables.vpcs[ep.vpc as usize];
            match vpc.zone_of(client.addr, client.source_prefix) {
                Some((zone, prefix_len)) => {
                    let scope = client
                        .source_prefix
                        .map_or(prefix_len, |p| p.min(prefix_len));
                    affinity = Some(scope);
                    let own = all(&|i| fam.zones[i] == zone && up(i));
                    if !own.is_empty() {
                        return Choice::Enis {
                            picked: own,
                            degraded,
                            affinity,
                        };
                    }
                }
                // The answer "every available ENI" holds for the client's
                // whole source prefix: it is in no vSwitch of this VPC.
                None => affinity = Some(client.source_prefix.unwrap_or(0)),
            }
        }
        Choice::Enis {
            picked: all(&up),
            degraded,
            affinity,
        }
    }
}

/// An A or AAAA record.
fn address_record(owner: &Name, ttl: u32, ip: IpAddr) -> Record {
    let rdata = match ip {
        IpAddr::V4(v4) => RData::A(v4.into()),
        IpAddr::V6(v6) => RData::AAAA(v6.into()),
    };
    Record::from_rdata(owner.clone(), ttl, rdata)
}

/// Indices of the chosen ENIs within a family.
pub(crate) type Picked = SmallVec<[u16; 8]>;

pub(crate) enum Choice {
    Enis {
        picked: Picked,
        /// Use the degraded-TTL records.
        degraded: bool,
        /// `Depends::affinity` of this choice.
        affinity: Option<u8>,
    },
    NoData,
    ServFail,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Selected {
    Records,
    ServFail,
}

/// A private zone's answer for one name.
fn private<'s>(
    p: &'s PrivateView,
    name: &Name,
    qtype: RecordType,
    ans: &mut Answer<'s>,
) -> Step<'s> {
    match p.zone.lookup(name, qtype) {
        ZoneAnswer::Records(Cow::Borrowed(records)) => {
            ans.answers.extend(records.iter().map(Cow::Borrowed));
            additional_addresses(p, records, ans);
            Step::Answered
        }
        ZoneAnswer::Records(Cow::Owned(records)) => {
            additional_addresses(p, &records, ans);
            ans.answers.extend(records.into_iter().map(Cow::Owned));
            Step::Answered
        }
        ZoneAnswer::Cname(cname) => {
            let target = match &cname.data {
                RData::CNAME(c) => c.0.clone(),
                _ => return Step::ServFail,
            };
            ans.answers.push(cname);
            Step::Cname(target)
        }
        ZoneAnswer::Delegation { ns, glue } => Step::Referral(ns, glue),
        ZoneAnswer::NoData => Step::Negative(ResponseCode::NoError, Cow::Borrowed(&p.soa_negative)),
        ZoneAnswer::NxDomain => {
            Step::Negative(ResponseCode::NXDomain, Cow::Borrowed(&p.soa_negative))
        }
    }
}

/// The in-zone A and AAAA records of the names that NS, MX and SRV records
/// of an answer point at, for the additional section (RFC 1034 §4.3.2 step
/// 6; RFC 2782 for SRV), as NSD, Knot and BIND add them: each target once,
/// its A before its AAAA, none that the answer section holds already. A
/// target outside the zone, below a zone cut or owning a CNAME adds
/// nothing: those addresses are not this zone's to vouch for.
fn additional_addresses<'s>(p: &'s PrivateView, records: &[Record], ans: &mut Answer<'s>) {
    for record in records {
        let target = match &record.data {
            RData::NS(ns) => &ns.0,
            RData::MX(mx) => &mx.exchange,
            RData::SRV(srv) => &srv.target,
            _ => continue,
        };
        if !p.zone.contains(target) || ans.additionals.iter().any(|r| r.name == *target) {
            continue;
        }
        for rtype in [RecordType::A, RecordType::AAAA] {
            let found = match p.zone.lookup(target, rtype) {
                ZoneAnswer::Records(found) => found,
                _ => continue,
            };
            let fresh = |r: &Record| !ans.answers.iter().any(|a| **a == *r);
            let add: SmallVec<[Cow<'s, Record>; 4]> = match found {
                Cow::Borrowed(found) => found
                    .iter()
                    .filter(|r| fresh(r))
                    .map(Cow::Borrowed)
                    .collect(),
                Cow::Owned(found) => found
                    .into_iter()
                    .filter(|r| fresh(r))
                    .map(Cow::Owned)
                    .collect(),
            };
            ans.additionals.extend(add);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;
    use std::path::Path;
    use std::str::FromStr;

    use hickory_proto::rr::RData;

    use super::*;
    use crate::load::load_str;
    use crate::snapshot::tables::Tables;

    const CFG: &str = r#"
[server]
[[vpc]]
id = "v"
region = "r1"
cidrs = ["127.0.0.0/16", "fd00::/32"]
[[vswitch]]
id = "sa"
vpc = "v"
zone = "za"
cidr = "127.0.1.0/24"
ipv6_cidr = "fd00:0:1::/64"
[[vswitch]]
id = "sb"
vpc = "v"
zone = "zb"
cidr = "127.0.2.0/24"
ipv6_cidr = "fd00:0:2::/64"
[[vswitch]]
id = "sc"
vpc = "v"
zone = "zc"
cidr = "127.0.3.128/25"
ipv6_cidr = "fd00:0:3::/64"
[[vswitch]]
id = "sd"
vpc = "v"
zone = "zd"
cidr = "127.0.4.0/24"
[[service]]
id = "s"
region = "r1"
zone_affinity = true
dual_stack = true
[[endpoint]]
id = "e"
vpc = "v"
service = "s"
ip_version = "dual-stack"
zone_affinity = true
zones = [ { vswitch = "sa", ip = "127.0.1.10", ipv6 = "fd00:0:1::10" },
          { vswitch = "sb", ip = "127.0.2.10", ipv6 = "fd00:0:2::10" },
          { vswitch = "sc", ip = "127.0.3.200", ipv6 = "fd00:0:3::10" } ]
"#;

    fn snapshot(cfg: &str, policy: AllDownPolicy) -> Snapshot {
        let model = load_str(cfg, Path::new("test.toml")).unwrap_or_else(|e| panic!("{e}"));
        let mut tables = Tables::build(&model, 1);
        tables.all_down = policy;
        let tables = Arc::new(tables);
        let up = vec![true; tables.targets.capacity()].into_boxed_slice();
        Snapshot { tables, up }
    }

    fn name() -> Name {
        Name::from_str("e.s.r1.privatelink.aliyuncs.com.").unwrap()
    }

    fn client(addr: &str, source_prefix: Option<u8>) -> Client {
        Client {
            addr: IpAddr::from_str(addr).unwrap(),
            source_prefix,
            vpc: Some(0),
            may_forward: false,
        }
    }

    fn ips(a: &Answer<'_>) -> Vec<String> {
        a.answers
            .iter()
            .map(|r| match &r.data {
                RData::A(a) => a.0.to_string(),
                RData::AAAA(a) => a.0.to_string(),
                other => panic!("unexpected {other:?}"),
            })
            .collect()
    }

    fn set_down(s: &mut Snapshot, ip: &str) {
        let ip = IpAddr::from_str(ip).unwrap();
        let slot = s.tables.targets.values().position(|t| t.ip == ip).unwrap();
        s.up[slot] = false;
    }

    #[test]
    fn same_zone_client_gets_its_zones_eni_only() {
        let s = snapshot(CFG, AllDownPolicy::All);
        let a = s.answer(&name(), RecordType::A, &client("127.0.1.50", None));
        assert_eq!(ips(&a), ["127.0.1.10"]);
        assert_eq!(a.depends.affinity, Some(24));
        let a = s.answer(&name(), RecordType::AAAA, &client("fd00:0:2::5", None));
        assert_eq!(ips(&a), ["fd00:0:2::10"]);
        assert_eq!(a.depends.affinity, Some(64));
    }

    #[test]
    fn longest_prefix_wins() {
        // vSwitches of one VPC may not overlap (validation), but the matcher
        // must not depend on that: nested CIDRs pick the longest.
        let subnets = crate::snapshot::tables::VpcSubnets {
            subnets: vec![
                ("127.0.3.128/25".parse().unwrap(), 1),
                ("127.0.3.0/24".parse().unwrap(), 0),
                ("fd00::/64".parse().unwrap(), 2),
            ],
        };
        let ip = |s: &str| IpAddr::from_str(s).unwrap();
        assert_eq!(subnets.zone_of(ip("127.0.3.200"), None), Some((1, 25)));
        assert_eq!(subnets.zone_of(ip("127.0.3.5"), None), Some((0, 24)));
        assert_eq!(subnets.zone_of(ip("127.0.4.5"), None), None);
        assert_eq!(subnets.zone_of(ip("fd00::1"), None), Some((2, 64)));
        assert_eq!(subnets.zone_of(ip("fd00:0:0:1::1"), None), None);
        // Known only to /24: the /25 cannot be said to hold the client.
        assert_eq!(subnets.zone_of(ip("127.0.3.128"), Some(24)), Some((0, 24)));
    }

    #[test]
    fn client_in_a_zone_without_an_eni_gets_every_eni() {
        let s = snapshot(CFG, AllDownPolicy::All);
        // 127.0.4.5 is in vSwitch sd (zone zd), where the endpoint has no ENI.
        let a = s.answer(&name(), RecordType::A, &client("127.0.4.5", None));
        assert_eq!(ips(&a), ["127.0.1.10", "127.0.2.10", "127.0.3.200"]);
        assert_eq!(a.depends.affinity, Some(24), "the answer held for sd's /24");
    }

    #[test]
    fn client_in_no_vswitch_gets_every_eni() {
        let s = snapshot(CFG, AllDownPolicy::All);
        let a = s.answer(&name(), RecordType::A, &client("127.0.9.50", None));
        assert_eq!(ips(&a), ["127.0.1.10", "127.0.2.10", "127.0.3.200"]);
        let a = s.answer(&name(), RecordType::A, &client("127.0.9.0", Some(24)));
        assert_eq!(
            a.depends.affinity,
            Some(24),
            "valid for the whole source prefix"
        );
    }

    #[test]
    fn ecs_prefix_shorter_than_the_vswitch_does_not_match() {
        let s = snapshot(CFG, AllDownPolicy::All);
        // A /16 says nothing about which /24 the client is in.
        let a = s.answer(&name(), RecordType::A, &client("127.0.0.0", Some(16)));
        assert_eq!(ips(&a).len(), 3);
        assert_eq!(a.depends.affinity, Some(16));
        // A /28 inside sa: matched, scope = the vSwitch's /24.
        let a = s.answer(&name(), RecordType::A, &client("127.0.1.48", Some(28)));
        assert_eq!(ips(&a), ["127.0.1.10"]);
        assert_eq!(a.depends.affinity, Some(24));
    }

    #[test]
    fn own_zone_eni_down_falls_back_to_every_available_eni() {
        let mut s = snapshot(CFG, AllDownPolicy::All);
        set_down(&mut s, "127.0.1.10");
        let a = s.answer(&name(), RecordType::A, &client("127.0.1.50", None));
        assert_eq!(ips(&a), ["127.0.2.10", "127.0.3.200"]);
        assert_eq!(a.depends.affinity, Some(24));
    }

    #[test]
    fn affinity_off_ignores_the_client() {
        let cfg = CFG.replace(
            "ip_version = \"dual-stack\"\nzone_affinity = true",
            "ip_version = \"dual-stack\"",
        );
        let s = snapshot(&cfg, AllDownPolicy::All);
        let a = s.answer(&name(), RecordType::A, &client("127.0.1.50", Some(32)));
        assert_eq!(ips(&a).len(), 3);
        assert_eq!(a.depends.affinity, None);
    }

    #[test]
    fn zone_domains_ignore_affinity_and_health() {
        let mut s = snapshot(CFG, AllDownPolicy::All);
        set_down(&mut s, "127.0.2.10");
        let zd = Name::from_str("e-zb.s.r1.privatelink.aliyuncs.com.").unwrap();
        let a = s.answer(&zd, RecordType::A, &client("127.0.1.50", Some(24)));
        assert_eq!(ips(&a), ["127.0.2.10"]);
        assert_eq!(a.depends.affinity, None);
    }

    #[test]
    fn all_down_policies() {
        for (policy, rcode, n) in [
            (AllDownPolicy::All, ResponseCode::NoError, 3),
            (AllDownPolicy::None, ResponseCode::NoError, 0),
            (AllDownPolicy::ServFail, ResponseCode::ServFail, 0),
        ] {
            let mut s = snapshot(CFG, policy);
            for ip in ["127.0.1.10", "127.0.2.10", "127.0.3.200"] {
                set_down(&mut s, ip);
            }
            let a = s.answer(&name(), RecordType::A, &client("127.0.1.50", None));
            assert_eq!(a.rcode, rcode, "{policy:?}");
            assert_eq!(a.answers.len(), n, "{policy:?}");
            if policy == AllDownPolicy::None {
                assert_eq!(a.authority.len(), 1, "NODATA carries the SOA");
            }
            // IPv6 is still up: unaffected.
            let a = s.answer(&name(), RecordType::AAAA, &client("127.0.9.1", None));
            assert_eq!(a.answers.len(), 3, "{policy:?}");
        }
    }

    #[test]
    fn negative_answers_do_not_depend_on_the_client() {
        let s = snapshot(CFG, AllDownPolicy::All);
        let nx = Name::from_str("x.privatelink.aliyuncs.com.").unwrap();
        let a = s.answer(&nx, RecordType::A, &client("127.0.1.50", Some(24)));
        assert_eq!(a.rcode, ResponseCode::NXDomain);
        assert_eq!(a.depends.affinity, None);
        let a = s.answer(&name(), RecordType::MX, &client("127.0.1.50", Some(24)));
        assert_eq!(a.depends.affinity, None);
    }
}
