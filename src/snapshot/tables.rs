//! The immutable answer tables built from a validated model: every name epdns
//! owns, with its records ready to send. Health is kept apart (`Snapshot::up`),
//! so a probe transition swaps a small bit vector and shares these tables.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use hickory_proto::rr::rdata::{A, AAAA, NS, SOA};
use hickory_proto::rr::{Name, RData, Record};
use ipnet::IpNet;

pub(crate) use crate::model::AllDownPolicy;
use crate::model::{self, IpVersion, Model, ServerSettings};
use crate::wire::{NegativeSoa, WireName};
use crate::zonefile::PrivateZone;

/// Index of one ENI address in the health vector.
pub(crate) type Slot = u32;

/// Who a health slot stands for: one address of one ENI (the probe engine's
/// key, so health reads need no translation).
pub(crate) use crate::probe::TargetKey as Target;

pub struct Tables {
    pub(crate) zone: GeneratedZone,
    pub(crate) endpoints: Vec<EndpointAnswers>,
    pub(crate) zone_domains: Vec<ZoneDomainAnswers>,
    pub(crate) vpcs: Vec<VpcSubnets>,
    /// Slot → target, in slot order.
    pub targets: Vec<Target>,
    pub(crate) all_down: AllDownPolicy,
    pub(crate) ecs: bool,
    /// Sources whose ECS address chooses the VPC view (`dns/client.rs`).
    pub(crate) ecs_trusted: Vec<IpNet>,
    pub(crate) udp_payload: u16,
    /// Every VPC CIDR with its VPC, longest prefix first: which VPC a client
    /// address belongs to.
    pub(crate) vpc_nets: Vec<(IpNet, u32)>,
    /// What each VPC sees beyond the generated zone, by VPC index.
    pub(crate) views: Vec<View>,
    /// Inbound listeners: queries arriving on this address are from the VPC.
    pub(crate) inbound: Vec<(SocketAddr, u32)>,
    /// Resolver mode: forward what we do not serve, for clients of a VPC.
    pub(crate) forward: bool,
    /// Every name of the generated zone by its lowercase wire form (root
    /// octet included), so that both answer paths look names up without
    /// allocating.
    pub(crate) wire_names: HashMap<Box<[u8]>, GeneratedNode, rustc_hash::FxBuildHasher>,
    /// The apex in the same form.
    pub(crate) apex_wire: Box<[u8]>,
    /// False when some VPC sees a custom domain or private zone at or below
    /// the apex: such a view may answer names of the generated zone, which
    /// only the general path knows.
    pub(crate) fast_path: bool,
    /// Every endpoint's id and domain, in config order (for the admin API).
    pub(crate) endpoint_domains: Vec<(String, Name)>,
    /// The SOA serial: when these tables were built.
    pub(crate) serial: u32,
    /// TTL of endpoint and zone domain answers, and while degraded.
    pub(crate) ttl: u32,
    pub(crate) degraded_ttl: Option<u32>,
}

/// The names only one VPC sees: custom service domains and private zones.
#[derive(Default)]
pub(crate) struct View {
    pub(crate) custom: Vec<CustomDomain>,
    pub(crate) private: Vec<PrivateView>,
    /// Reverse names of the VPC's ENI addresses (by wire form), each a
    /// one-name zone answering PTR to its zone domain (or, cross-region,
    /// its endpoint domain).
    pub(crate) ptr: HashMap<Box<[u8]>, PtrAnswer, rustc_hash::FxBuildHasher>,
}

/// What an ENI's reverse name points to; the PTR record (and the SOA of a
/// negative answer) is built when asked, since there is one per ENI address
/// and PTR questions are rare.
#[derive(Clone, Copy)]
pub(crate) struct PtrAnswer {
    pub(crate) target: PtrTarget,
    pub(crate) ttl: u32,
}

#[derive(Clone, Copy)]
pub(crate) enum PtrTarget {
    /// Index into `zone_domains`.
    ZoneDomain(u32),
    /// Index into `endpoint_domains` (cross-region endpoints).
    Endpoint(u32),
}

impl Tables {
    /// The TTL of an endpoint answer, shorter while it is degraded.
    pub(crate) fn answer_ttl(&self, degraded: bool) -> u32 {
        match self.degraded_ttl {
            Some(d) if degraded => d,
            _ => self.ttl,
        }
    }

    pub(crate) fn ptr_target(&self, t: PtrTarget) -> &Name {
        match t {
            PtrTarget::ZoneDomain(i) => &self.zone_domains[i as usize].name,
            PtrTarget::Endpoint(i) => &self.endpoint_domains[i as usize].1,
        }
    }
}

/// A custom service domain enabled by an endpoint of the VPC: answers like
/// the endpoint domain. It is a zone of its own in the VPC's view.
pub(crate) struct CustomDomain {
    pub(crate) name: Name,
    /// Index into `endpoints`: the endpoint's records owned by this name.
    pub(crate) endpoint: u32,
    pub(crate) soa_negative: Record,
}

pub(crate) struct PrivateView {
    pub(crate) zone: Arc<PrivateZone>,
    pub(crate) soa_negative: Record,
}

/// The zone at `suffix` that holds every endpoint and zone domain.
pub(crate) struct GeneratedZone {
    pub(crate) apex: Name,
    pub(crate) soa: Record,
    /// The SOA with the negative-caching TTL, for NXDOMAIN/NODATA authority.
    pub(crate) soa_negative: Record,
    pub(crate) ns: Vec<Record>,
    pub(crate) ns_host: Name,
    pub(crate) ns_host_a: Vec<Record>,
    pub(crate) ns_host_aaaa: Vec<Record>,
    /// `soa_negative` for the wire-level fast path to write.
    pub(crate) negative_soa: NegativeSoa,
}

impl GeneratedZone {
    fn new(s: &ServerSettings, serial: u32) -> GeneratedZone {
        let apex = s.suffix.clone();
        let ns_host = s.ns_host.clone();
        let soa_rdata = SOA::new(
            ns_host.clone(),
            s.hostmaster.clone(),
            serial,
            s.soa.refresh,
            s.soa.retry,
            s.soa.expire,
            s.soa.minimum,
        );
        let soa = Record::from_rdata(apex.clone(), s.soa.ttl, RData::SOA(soa_rdata.clone()));
        let negative_ttl = s.soa.ttl.min(s.soa.minimum);
        let negative_soa = NegativeSoa::new(&soa_rdata, &apex, negative_ttl);
        let soa_negative = Record::from_rdata(apex.clone(), negative_ttl, RData::SOA(soa_rdata));
        let ns = vec![Record::from_rdata(
            apex.clone(),
            s.soa.ttl,
            RData::NS(NS(ns_host.clone())),
        )];
        let (ns_host_a, ns_host_aaaa) = ns_host_addresses(&s.listen, &ns_host, s.soa.ttl);
        GeneratedZone {
            apex,
            soa,
            soa_negative,
            ns,
            ns_host,
            ns_host_a,
            ns_host_aaaa,
            negative_soa,
        }
    }
}

impl Tables {
    /// The name server's A/AAAA (the apex NS answer's addresses) become the
    /// addresses really served: `--listen` replaces the config's `listen`,
    /// and only the server knows what it bound. Called by the server after
    /// every build; tables built without it give the config's `listen`.
    pub(crate) fn serve_on(&mut self, served: &[SocketAddr]) {
        let zone = &mut self.zone;
        let ttl = zone.ns.first().map_or(zone.soa.ttl, |ns| ns.ttl);
        (zone.ns_host_a, zone.ns_host_aaaa) = ns_host_addresses(served, &zone.ns_host, ttl);
    }
}

/// The name server's address records: where we listen, when that is a
/// concrete address.
fn ns_host_addresses(
    listen: &[SocketAddr],
    ns_host: &Name,
    ttl: u32,
) -> (Vec<Record>, Vec<Record>) {
    let mut a = Vec::new();
    let mut aaaa = Vec::new();
    for l in listen {
        match l.ip() {
            IpAddr::V4(ip) if !ip.is_unspecified() => {
                a.push(Record::from_rdata(ns_host.clone(), ttl, RData::A(A(ip))))
            }
            IpAddr::V6(ip) if !ip.is_unspecified() => aaaa.push(Record::from_rdata(
                ns_host.clone(),
                ttl,
                RData::AAAA(AAAA(ip)),
            )),
            _ => {}
        }
    }
    a.dedup();
    aaaa.dedup();
    (a, aaaa)
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum GeneratedNode {
    Apex,
    NsHost,
    Endpoint(u32),
    ZoneDomain(u32),
    /// A name that exists only because names below it do (RFC 8020: NODATA,
    /// never NXDOMAIN).
    EmptyNonTerminal,
}

/// One address family of an endpoint's ENIs. Only addresses are kept: each
/// answer path writes its records from them (the general path as `Record`s,
/// the fast path straight onto the wire), which keeps a 10,000-endpoint
/// table small.
#[derive(Default, Clone)]
pub(crate) struct FamilyAnswers {
    pub(crate) ips: Vec<IpAddr>,
    pub(crate) slots: Vec<Slot>,
    /// Index into the VPC's zone list, per address.
    pub(crate) zones: Vec<u32>,
}

#[derive(Clone)]
pub(crate) struct EndpointAnswers {
    /// The name the records are owned by: the endpoint domain, or a custom
    /// domain answering like it.
    pub(crate) owner: Name,
    pub(crate) vpc: u32,
    pub(crate) affinity: bool,
    pub(crate) a: FamilyAnswers,
    pub(crate) aaaa: FamilyAnswers,
    pub(crate) dual_stack: bool,
}

pub(crate) struct ZoneDomainAnswers {
    pub(crate) name: Name,
    pub(crate) a: std::net::Ipv4Addr,
    pub(crate) aaaa: Option<std::net::Ipv6Addr>,
}

/// Per VPC: vSwitch CIDRs with their zone, longest prefix first, so the first
/// match is the longest-prefix match.
#[derive(Debug)]
pub(crate) struct VpcSubnets {
    pub(crate) subnets: Vec<(IpNet, u32)>,
}

impl VpcSubnets {
    /// The zone of the vSwitch holding `addr`, and that CIDR's prefix length.
    /// With `source_prefix` (from ECS) the client is only known to that
    /// precision, so a CIDR longer than it cannot be said to hold the client.
    pub(crate) fn zone_of(&self, addr: IpAddr, source_prefix: Option<u8>) -> Option<(u32, u8)> {
        self.subnets.iter().find_map(|(net, zone)| {
            let fits = source_prefix.is_none_or(|p| net.prefix_len() <= p);
            (fits && net.contains(&addr)).then_some((*zone, net.prefix_len()))
        })
    }
}

impl Tables {
    /// Builds the tables. The model carries every name and resolved
    /// reference they need, so building cannot fail.
    pub fn build(model: &Model, serial: u32) -> Tables {
        let s = &model.server;
        let zone = GeneratedZone::new(s, serial);
        let apex = zone.apex.clone();
        let ns_host = zone.ns_host.clone();
        let mut t = Tables {
            apex_wire: wire_name(&apex),
            zone,
            endpoints: Vec::new(),
            zone_domains: Vec::new(),
            vpcs: vpc_subnets(model),
            targets: Vec::new(),
            all_down: s.all_down,
            ecs: s.ecs,
            ecs_trusted: s.ecs_trusted.clone(),
            udp_payload: s.udp_payload,
            vpc_nets: vpc_nets(model),
            views: model.vpcs.iter().map(|_| View::default()).collect(),
            inbound: model
                .inbound
                .iter()
                .map(|i| (i.listen, i.vpc_index))
                .collect(),
            forward: model.forward.is_some(),
            wire_names: HashMap::default(),
            fast_path: true,
            endpoint_domains: Vec::new(),
            serial,
            ttl: s.ttl,
            degraded_ttl: s.degraded_ttl,
        };
        t.wire_names.insert(wire_name(&apex), GeneratedNode::Apex);
        t.insert_with_parents(ns_host, GeneratedNode::NsHost);
        for ep in &model.endpoints {
            t.add_endpoint(ep);
        }
        t.add_private_zones(model);
        t.fast_path = !t.views_shadow_generated_zone(model);
        t
    }

    /// The VPC a client belongs to: the inbound listener's, else the one
    /// whose CIDR holds its address (longest prefix).
    pub(crate) fn vpc_of(&self, addr: IpAddr, listener: SocketAddr) -> Option<u32> {
        if let Some((_, vpc)) = self.inbound.iter().find(|(l, _)| *l == listener) {
            return Some(*vpc);
        }
        self.vpc_nets
            .iter()
            .find(|(net, _)| net.contains(&addr))
            .map(|(_, vpc)| *vpc)
    }

    /// The endpoint domain's answers, with its ENIs, zone domains and
    /// custom domain.
    fn add_endpoint(&mut self, ep: &model::Endpoint) {
        let mut answers = EndpointAnswers {
            owner: ep.domain.clone(),
            vpc: ep.vpc_index,
            affinity: ep.zone_affinity,
            dual_stack: ep.ip_version == IpVersion::DualStack,
            a: FamilyAnswers::default(),
            aaaa: FamilyAnswers::default(),
        };
        for z in &ep.zones {
            self.add_eni(ep, z, &mut answers);
        }
        self.endpoint_domains
            .push((ep.id.clone(), ep.domain.clone()));
        if let Some(domain) = &ep.custom_domain {
            self.add_custom_domain(domain, &answers);
        }
        self.endpoints.push(answers);
        let idx = (self.endpoints.len() - 1) as u32;
        self.insert_with_parents(ep.domain.clone(), GeneratedNode::Endpoint(idx));
    }

    /// The ENI of one zone of `ep`: a health slot per address (shared by
    /// every name that answers with it), its reverse names, and its zone
    /// domain.
    fn add_eni(
        &mut self,
        ep: &model::Endpoint,
        z: &model::EndpointZone,
        answers: &mut EndpointAnswers,
    ) {
        let v6 = z.ipv6.filter(|_| answers.dual_stack);
        let addrs = std::iter::once(IpAddr::V4(z.ip)).chain(v6.map(IpAddr::V6));
        // Its reverse names point at the zone domain, or, for a
        // cross-region endpoint (no zone domains), at the endpoint domain.
        let target = match z.domain {
            Some(_) => PtrTarget::ZoneDomain(self.zone_domains.len() as u32),
            None => PtrTarget::Endpoint(self.endpoint_domains.len() as u32),
        };
        for ip in addrs {
            let fam = if ip.is_ipv4() {
                &mut answers.a
            } else {
                &mut answers.aaaa
            };
            fam.ips.push(ip);
            fam.slots.push(self.slot(ep, &z.zone, ip));
            fam.zones.push(z.zone_index);
            self.views[answers.vpc as usize].ptr.insert(
                wire_name(&crate::zonefile::ptr_name(ip)),
                PtrAnswer {
                    target,
                    ttl: self.ttl,
                },
            );
        }
        if let Some(name) = &z.domain {
            self.zone_domains.push(ZoneDomainAnswers {
                name: name.clone(),
                a: z.ip,
                aaaa: v6,
            });
            let idx = (self.zone_domains.len() - 1) as u32;
            self.insert_with_parents(name.clone(), GeneratedNode::ZoneDomain(idx));
        }
    }

    /// A custom service domain: a zone of its own in the VPC's view, owning
    /// a copy of the endpoint's answers.
    fn add_custom_domain(&mut self, domain: &Name, answers: &EndpointAnswers) {
        self.endpoints.push(EndpointAnswers {
            owner: domain.clone(),
            ..answers.clone()
        });
        let mut soa_negative = self.zone.soa_negative.clone();
        soa_negative.name = domain.clone();
        self.views[answers.vpc as usize].custom.push(CustomDomain {
            name: domain.clone(),
            endpoint: (self.endpoints.len() - 1) as u32,
            soa_negative,
        });
    }

    /// Each private zone in the view of every VPC it is bound to.
    fn add_private_zones(&mut self, model: &Model) {
        for pz in &model.private_zones {
            let mut soa_negative = pz.zone.soa().clone();
            soa_negative.ttl = pz.zone.negative_ttl();
            for vpc in &pz.vpc_indexes {
                self.views[*vpc as usize].private.push(PrivateView {
                    zone: pz.zone.clone(),
                    soa_negative: soa_negative.clone(),
                });
            }
        }
    }

    /// A view zone at or below the apex may shadow generated names for its
    /// VPC; then every query takes the general path.
    fn views_shadow_generated_zone(&self, model: &Model) -> bool {
        let apex = &self.zone.apex;
        self.views
            .iter()
            .any(|v| v.custom.iter().any(|c| apex.zone_of(&c.name)))
            || model.private_zones.iter().any(|pz| apex.zone_of(&pz.name))
    }

    fn slot(&mut self, ep: &model::Endpoint, zone: &str, ip: IpAddr) -> Slot {
        self.targets.push(Target::new(ep.id.clone(), zone, ip));
        (self.targets.len() - 1) as Slot
    }

    /// Adds `name` and marks the names between it and the apex as empty
    /// non-terminals unless they already hold data.
    fn insert_with_parents(&mut self, name: Name, node: GeneratedNode) {
        let apex_labels = self.zone.apex.num_labels();
        let mut parent = name.base_name();
        self.wire_names.insert(wire_name(&name), node);
        while parent.num_labels() > apex_labels {
            let next = parent.base_name();
            self.wire_names
                .entry(wire_name(&parent))
                .or_insert(GeneratedNode::EmptyNonTerminal);
            parent = next;
        }
    }
}

/// A name's lowercase wire form (the zone file index's key form): the key
/// of `Tables::wire_names` and of the PTR views.
pub(crate) fn wire_name(name: &Name) -> Box<[u8]> {
    WireName::new(name).bytes().into()
}

fn vpc_nets(model: &Model) -> Vec<(IpNet, u32)> {
    let mut nets: Vec<(IpNet, u32)> = model
        .vpcs
        .iter()
        .enumerate()
        .flat_map(|(i, v)| v.cidrs.iter().map(move |c| (*c, i as u32)))
        .collect();
    // Stable: among equal prefixes, the VPC first in the config wins.
    nets.sort_by_key(|(net, _)| std::cmp::Reverse(net.prefix_len()));
    nets
}

/// Per VPC, the zones of its vSwitches and their CIDRs.
fn vpc_subnets(model: &Model) -> Vec<VpcSubnets> {
    let mut out: Vec<VpcSubnets> = model
        .vpcs
        .iter()
        .map(|_| VpcSubnets {
            subnets: Vec::new(),
        })
        .collect();
    for vsw in &model.vswitches {
        let subnets = &mut out[vsw.vpc_index as usize].subnets;
        subnets.push((IpNet::V4(vsw.cidr), vsw.zone_index));
        if let Some(v6) = vsw.ipv6_cidr {
            subnets.push((IpNet::V6(v6), vsw.zone_index));
        }
    }
    for v in &mut out {
        v.subnets
            .sort_by_key(|(net, _)| std::cmp::Reverse(net.prefix_len()));
    }
    out
}
