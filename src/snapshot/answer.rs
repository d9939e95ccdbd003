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
            // down under the "none" policy). Negative answers never depend on
            // the client: scope 0.
            ans = self.negative(ResponseCode::NoError);
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

#[cfg(test)]
mod tests {
    use std::net::IpAddr;
    use std::path::Path;
    use std::str::FromStr;

    use hickory_proto::rr::RData;

    use super::*;
    use crate::config::load::load_str;
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
# A narrower vSwitch inside sb's range? Not allowed to overlap in the cloud,
# but a longer prefix of another zone inside 127.0.0.0/16 tests longest match.
[[vswitch]]
id = "sc"
vpc = "v"
zone = "zc"
cidr = "127.0.3.128/25"
ipv6_cidr = "fd00:0:3::/64"
[[vswitch]]
id = "sc-wide"
vpc = "v"
zone = "zd"
cidr = "127.0.3.0/24"
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
        let tables = Arc::new(Tables::build(&model, policy, 1));
        let up = vec![true; tables.targets.len()].into_boxed_slice();
        Snapshot { tables, up }
    }

    fn name() -> Name {
        Name::from_str("e.s.r1.privatelink.aliyuncs.com.").unwrap()
    }

    fn client(addr: &str, source_prefix: Option<u8>) -> Client {
        Client {
            addr: IpAddr::from_str(addr).unwrap(),
            source_prefix,
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
        let slot = s.tables.targets.iter().position(|t| t.ip == ip).unwrap();
        s.up[slot] = false;
    }

    #[test]
    fn same_zone_client_gets_its_zones_eni_only() {
        let s = snapshot(CFG, AllDownPolicy::All);
        let a = s.answer(&name(), RecordType::A, &client("127.0.1.50", None));
        assert_eq!(ips(&a), ["127.0.1.10"]);
        assert_eq!(a.scope_prefix, 24);
        let a = s.answer(&name(), RecordType::AAAA, &client("fd00:0:2::5", None));
        assert_eq!(ips(&a), ["fd00:0:2::10"]);
        assert_eq!(a.scope_prefix, 64);
    }

    #[test]
    fn longest_prefix_wins() {
        let s = snapshot(CFG, AllDownPolicy::All);
        // 127.0.3.200 is in both sc (/25, zone zc) and sc-wide (/24, zone zd).
        let a = s.answer(&name(), RecordType::A, &client("127.0.3.201", None));
        assert_eq!(ips(&a), ["127.0.3.200"]);
        assert_eq!(a.scope_prefix, 25);
        // 127.0.3.5 is only in sc-wide (zone zd, no ENI there): all ENIs, and
        // the answer still depended on the /24.
        let a = s.answer(&name(), RecordType::A, &client("127.0.3.5", None));
        assert_eq!(ips(&a), ["127.0.1.10", "127.0.2.10", "127.0.3.200"]);
        assert_eq!(a.scope_prefix, 24);
    }

    #[test]
    fn client_in_no_vswitch_gets_every_eni() {
        let s = snapshot(CFG, AllDownPolicy::All);
        let a = s.answer(&name(), RecordType::A, &client("127.0.9.50", None));
        assert_eq!(ips(&a), ["127.0.1.10", "127.0.2.10", "127.0.3.200"]);
        let a = s.answer(&name(), RecordType::A, &client("127.0.9.0", Some(24)));
        assert_eq!(a.scope_prefix, 24, "valid for the whole source prefix");
    }

    #[test]
    fn ecs_prefix_shorter_than_the_vswitch_does_not_match() {
        let s = snapshot(CFG, AllDownPolicy::All);
        // A /16 says nothing about which /24 the client is in.
        let a = s.answer(&name(), RecordType::A, &client("127.0.0.0", Some(16)));
        assert_eq!(ips(&a).len(), 3);
        assert_eq!(a.scope_prefix, 16);
        // A /28 inside sa: matched, scope = the vSwitch's /24.
        let a = s.answer(&name(), RecordType::A, &client("127.0.1.48", Some(28)));
        assert_eq!(ips(&a), ["127.0.1.10"]);
        assert_eq!(a.scope_prefix, 24);
    }

    #[test]
    fn own_zone_eni_down_falls_back_to_every_available_eni() {
        let mut s = snapshot(CFG, AllDownPolicy::All);
        set_down(&mut s, "127.0.1.10");
        let a = s.answer(&name(), RecordType::A, &client("127.0.1.50", None));
        assert_eq!(ips(&a), ["127.0.2.10", "127.0.3.200"]);
        assert_eq!(a.scope_prefix, 24);
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
        assert_eq!(a.scope_prefix, 0);
    }

    #[test]
    fn zone_domains_ignore_affinity_and_health() {
        let mut s = snapshot(CFG, AllDownPolicy::All);
        set_down(&mut s, "127.0.2.10");
        let zd = Name::from_str("e-zb.s.r1.privatelink.aliyuncs.com.").unwrap();
        let a = s.answer(&zd, RecordType::A, &client("127.0.1.50", Some(24)));
        assert_eq!(ips(&a), ["127.0.2.10"]);
        assert_eq!(a.scope_prefix, 0);
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
    fn negative_answers_have_scope_zero() {
        let s = snapshot(CFG, AllDownPolicy::All);
        let nx = Name::from_str("x.privatelink.aliyuncs.com.").unwrap();
        let a = s.answer(&nx, RecordType::A, &client("127.0.1.50", Some(24)));
        assert_eq!(a.rcode, ResponseCode::NXDomain);
        assert_eq!(a.scope_prefix, 0);
        let a = s.answer(&name(), RecordType::MX, &client("127.0.1.50", Some(24)));
        assert_eq!(a.scope_prefix, 0);
    }
}
