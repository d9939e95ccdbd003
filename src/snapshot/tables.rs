//! The immutable answer tables built from a validated model: every name epdns
//! owns, with its records ready to send. Health is kept apart (`Snapshot::up`),
//! so a probe transition swaps a small bit vector and shares these tables.

use std::collections::HashMap;
use std::net::IpAddr;

use hickory_proto::rr::rdata::{A, AAAA, NS, SOA};
use hickory_proto::rr::{Name, RData, Record};
use ipnet::IpNet;

use crate::model::{self, IpVersion, Model, names};

/// Index of one ENI address in the health vector.
pub type Slot = u32;

/// Who a health slot stands for: one address of one ENI.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    pub endpoint: String,
    pub zone: String,
    pub ip: IpAddr,
}

/// What to answer when every ENI of an endpoint domain is down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AllDownPolicy {
    /// Fail open: answer every ENI, as large providers do.
    #[default]
    All,
    /// NODATA with the SOA.
    None,
    ServFail,
}

pub struct Tables {
    pub zone: GeneratedZone,
    pub(crate) names: HashMap<Name, Node>,
    pub(crate) endpoints: Vec<EndpointAnswers>,
    pub(crate) zone_domains: Vec<ZoneDomainAnswers>,
    pub(crate) vpcs: Vec<VpcSubnets>,
    /// Slot → target, in slot order.
    pub targets: Vec<Target>,
    pub all_down: AllDownPolicy,
    pub ecs: bool,
    pub udp_payload: u16,
}

/// The zone at `suffix` that holds every endpoint and zone domain.
pub struct GeneratedZone {
    pub apex: Name,
    pub soa: Record,
    /// The SOA with the negative-caching TTL, for NXDOMAIN/NODATA authority.
    pub soa_negative: Record,
    pub ns: Vec<Record>,
    pub ns_host: Name,
    pub ns_host_a: Vec<Record>,
    pub ns_host_aaaa: Vec<Record>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Node {
    Apex,
    NsHost,
    Endpoint(u32),
    ZoneDomain(u32),
    /// A name that exists only because names below it do (RFC 8020: NODATA,
    /// never NXDOMAIN).
    EmptyNonTerminal,
}

/// One address family's records of an endpoint domain.
#[derive(Default)]
pub(crate) struct FamilyAnswers {
    pub records: Vec<Record>,
    pub slots: Vec<Slot>,
    /// Index into the VPC's zone list, per record.
    pub zones: Vec<u32>,
}

pub(crate) struct EndpointAnswers {
    pub vpc: u32,
    pub affinity: bool,
    pub a: FamilyAnswers,
    pub aaaa: FamilyAnswers,
    pub dual_stack: bool,
}

pub(crate) struct ZoneDomainAnswers {
    pub a: Vec<Record>,
    pub aaaa: Vec<Record>,
}

/// Per VPC: vSwitch CIDRs with their zone, longest prefix first, so the first
/// match is the longest-prefix match.
pub(crate) struct VpcSubnets {
    pub zone_names: Vec<String>,
    pub subnets: Vec<(IpNet, u32)>,
}

impl VpcSubnets {
    /// The zone of the vSwitch holding `addr`, and that CIDR's prefix length.
    /// With `source_prefix` (from ECS) the client is only known to that
    /// precision, so a CIDR longer than it cannot be said to hold the client.
    pub fn zone_of(&self, addr: IpAddr, source_prefix: Option<u8>) -> Option<(u32, u8)> {
        self.subnets.iter().find_map(|(net, zone)| {
            let fits = source_prefix.is_none_or(|p| net.prefix_len() <= p);
            (fits && net.contains(&addr)).then_some((*zone, net.prefix_len()))
        })
    }
}

impl Tables {
    /// Builds the tables. The model is validated, so names build.
    pub fn build(model: &Model, all_down: AllDownPolicy, serial: u32) -> Tables {
        let s = &model.server;
        let apex = s.suffix.clone();
        let ns_host = names::ns_host(&apex).expect("validated");
        let soa_rdata = SOA::new(
            ns_host.clone(),
            names::hostmaster(&apex).expect("validated"),
            serial,
            s.soa.refresh,
            s.soa.retry,
            s.soa.expire,
            s.soa.minimum,
        );
        let soa = Record::from_rdata(apex.clone(), s.soa.ttl, RData::SOA(soa_rdata.clone()));
        let negative_ttl = s.soa.ttl.min(s.soa.minimum);
        let soa_negative = Record::from_rdata(apex.clone(), negative_ttl, RData::SOA(soa_rdata));
        let ns = vec![Record::from_rdata(
            apex.clone(),
            s.soa.ttl,
            RData::NS(NS(ns_host.clone())),
        )];
        // The name server's address is where we listen, when that is a
        // concrete address.
        let mut ns_host_a = Vec::new();
        let mut ns_host_aaaa = Vec::new();
        for l in &s.listen {
            match l.ip() {
                IpAddr::V4(ip) if !ip.is_unspecified() => ns_host_a.push(Record::from_rdata(
                    ns_host.clone(),
                    s.soa.ttl,
                    RData::A(A(ip)),
                )),
                IpAddr::V6(ip) if !ip.is_unspecified() => ns_host_aaaa.push(Record::from_rdata(
                    ns_host.clone(),
                    s.soa.ttl,
                    RData::AAAA(AAAA(ip)),
                )),
                _ => {}
            }
        }
        ns_host_a.dedup();
        ns_host_aaaa.dedup();

        let mut t = Tables {
            zone: GeneratedZone {
                apex: apex.clone(),
                soa,
                soa_negative,
                ns,
                ns_host: ns_host.clone(),
                ns_host_a,
                ns_host_aaaa,
            },
            names: HashMap::new(),
            endpoints: Vec::new(),
            zone_domains: Vec::new(),
            vpcs: model.vpcs.iter().map(|v| vpc_subnets(model, v)).collect(),
            targets: Vec::new(),
            all_down,
            ecs: s.ecs,
            udp_payload: s.udp_payload,
        };
        t.names.insert(apex.clone(), Node::Apex);
        t.insert_with_parents(ns_host, Node::NsHost);
        for ep in &model.endpoints {
            t.add_endpoint(model, ep);
        }
        t
    }

    fn add_endpoint(&mut self, model: &Model, ep: &model::Endpoint) {
        let svc = model.service(&ep.service).expect("validated");
        let vpc = model
            .vpcs
            .iter()
            .position(|v| v.id == ep.vpc)
            .expect("validated");
        let ttl = model.server.ttl;
        let name = names::endpoint_domain(&model.server.suffix, ep, svc).expect("validated");
        let dual_stack = ep.ip_version == IpVersion::DualStack;
        let mut answers = EndpointAnswers {
            vpc: vpc as u32,
            affinity: ep.zone_affinity,
            a: FamilyAnswers::default(),
            aaaa: FamilyAnswers::default(),
            dual_stack,
        };
        for z in &ep.zones {
            let zone_idx = self.vpcs[vpc]
                .zone_names
                .iter()
                .position(|n| *n == z.zone)
                .expect("the vSwitch's zone is in its VPC") as u32;
            let a_slot = self.slot(ep, &z.zone, IpAddr::V4(z.ip));
            answers
                .a
                .records
                .push(Record::from_rdata(name.clone(), ttl, RData::A(A(z.ip))));
            answers.a.slots.push(a_slot);
            answers.a.zones.push(zone_idx);
            let v6 = z.ipv6.filter(|_| dual_stack);
            if let Some(v6) = v6 {
                let slot = self.slot(ep, &z.zone, IpAddr::V6(v6));
                answers.aaaa.records.push(Record::from_rdata(
                    name.clone(),
                    ttl,
                    RData::AAAA(AAAA(v6)),
                ));
                answers.aaaa.slots.push(slot);
                answers.aaaa.zones.push(zone_idx);
            }
            if !ep.cross_region {
                let zname =
                    names::zone_domain(&model.server.suffix, ep, svc, &z.zone).expect("validated");
                let zd = ZoneDomainAnswers {
                    a: vec![Record::from_rdata(zname.clone(), ttl, RData::A(A(z.ip)))],
                    aaaa: v6
                        .map(|v6| Record::from_rdata(zname.clone(), ttl, RData::AAAA(AAAA(v6))))
                        .into_iter()
                        .collect(),
                };
                self.zone_domains.push(zd);
                let idx = (self.zone_domains.len() - 1) as u32;
                self.insert_with_parents(zname, Node::ZoneDomain(idx));
            }
        }
        self.endpoints.push(answers);
        let idx = (self.endpoints.len() - 1) as u32;
        self.insert_with_parents(name, Node::Endpoint(idx));
    }

    fn slot(&mut self, ep: &model::Endpoint, zone: &str, ip: IpAddr) -> Slot {
        self.targets.push(Target {
            endpoint: ep.id.clone(),
            zone: zone.to_string(),
            ip,
        });
        (self.targets.len() - 1) as Slot
    }

    /// Adds `name` and marks the names between it and the apex as empty
    /// non-terminals unless they already hold data.
    fn insert_with_parents(&mut self, name: Name, node: Node) {
        let apex_labels = self.zone.apex.num_labels();
        let mut parent = name.base_name();
        self.names.insert(name, node);
        while parent.num_labels() > apex_labels {
            let next = parent.base_name();
            self.names.entry(parent).or_insert(Node::EmptyNonTerminal);
            parent = next;
        }
    }
}

fn vpc_subnets(model: &Model, vpc: &model::Vpc) -> VpcSubnets {
    let mut zone_names: Vec<String> = Vec::new();
    let mut subnets = Vec::new();
    for vsw in model.vswitches.iter().filter(|s| s.vpc == vpc.id) {
        let zone = match zone_names.iter().position(|z| *z == vsw.zone) {
            Some(i) => i,
            None => {
                zone_names.push(vsw.zone.clone());
                zone_names.len() - 1
            }
        } as u32;
        subnets.push((IpNet::V4(vsw.cidr), zone));
        if let Some(v6) = vsw.ipv6_cidr {
            subnets.push((IpNet::V6(v6), zone));
        }
    }
    subnets.sort_by_key(|(net, _)| std::cmp::Reverse(net.prefix_len()));
    VpcSubnets {
        zone_names,
        subnets,
    }
}
