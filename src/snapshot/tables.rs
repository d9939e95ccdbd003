//! The immutable answer tables built from a validated model: every name epdns
//! owns, with its records ready to send. Health is kept apart (`Snapshot::up`),
//! so a probe transition swaps a small bit vector and shares these tables.
//! What grows with the endpoints is held in persistent structures (`Slab`,
//! `NameMap`): tables derived from others by a change (`update.rs`) share
//! everything the change did not touch, and one endpoint is added to or
//! removed from them in `place.rs`, the same code a full build runs.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use hickory_proto::rr::rdata::{A, AAAA, NS, SOA};
use hickory_proto::rr::{Name, RData, Record};
use ipnet::IpNet;

use super::slab::Slab;
pub(crate) use crate::model::AllDownPolicy;
use crate::model::{Model, ServerSettings};
use crate::wire::{NegativeSoa, WireName};
use crate::zonefile::PrivateZone;

/// A name in lowercase wire form (root octet included): the key of the
/// name maps. Shared, so a map chunk copied on write copies no bytes.
pub(crate) type NameKey = Arc<[u8]>;

/// A map by wire name that changed copies share (`CowMap`).
pub(crate) type NameMap<V> = crate::cow::CowMap<NameKey, V>;

pub(crate) fn name_map<V: Clone>() -> NameMap<V> {
    NameMap::default()
}

/// Index of one ENI address in the health vector.
pub(crate) type Slot = u32;

/// Who a health slot stands for: one address of one ENI (the probe engine's
/// key, so health reads need no translation).
pub use crate::probe::TargetKey as Target;

pub struct Tables {
    pub(crate) zone: GeneratedZone,
    pub(crate) endpoints: Slab<EndpointAnswers>,
    pub(crate) zone_domains: Slab<ZoneDomainAnswers>,
    pub(crate) vpcs: Arc<[VpcSubnets]>,
    /// Slot → target; a slot's index is its place in `Snapshot::up`.
    pub(crate) targets: Slab<Target>,
    pub(crate) all_down: AllDownPolicy,
    pub(crate) ecs: bool,
    /// Sources whose ECS address chooses the VPC view (`dns/client.rs`).
    pub(crate) ecs_trusted: Vec<IpNet>,
    pub(crate) udp_payload: u16,
    /// Every VPC CIDR with its VPC, longest prefix first: which VPC a client
    /// address belongs to.
    pub(crate) vpc_nets: Arc<[(IpNet, u32)]>,
    /// What each VPC sees beyond the generated zone, by VPC index.
    pub(crate) views: Vec<View>,
    /// Inbound listeners: queries arriving on this address are from the VPC.
    pub(crate) inbound: Vec<(SocketAddr, u32)>,
    /// Resolver mode: forward what we do not serve, for clients of a VPC.
    pub(crate) forward: bool,
    /// Every name of the generated zone by its lowercase wire form (root
    /// octet included), so that both answer paths look names up without
    /// allocating.
    pub(crate) wire_names: NameMap<GeneratedNode>,
    /// The apex in the same form.
    pub(crate) apex_wire: Box<[u8]>,
    /// False when some VPC sees a custom domain or private zone at or below
    /// the apex: such a view may answer names of the generated zone, which
    /// only the general path knows.
    pub(crate) fast_path: bool,
    /// Whether a private zone lies at or below the apex (which turns the
    /// fast path off whatever the endpoints do).
    pub(crate) private_shadows: bool,
    /// Every endpoint's id and domain (for the admin API and PTRs).
    pub(crate) endpoint_domains: Slab<(String, Name)>,
    /// Where each endpoint's entries are, by endpoint id: what removing it
    /// takes out.
    pub(crate) placed: crate::cow::CowMap<Arc<str>, Arc<super::place::Placed>>,
    /// The SOA serial: when these tables were built.
    pub(crate) serial: u32,
    /// TTL of endpoint and zone domain answers, and while degraded.
    pub(crate) ttl: u32,
    pub(crate) degraded_ttl: Option<u32>,
}

/// The names only one VPC sees: custom service domains and private zones.
#[derive(Clone)]
pub(crate) struct View {
    pub(crate) custom: Vec<CustomDomain>,
    pub(crate) private: Vec<PrivateView>,
    /// Reverse names of the VPC's ENI addresses (by wire form), each a
    /// one-name zone answering PTR to its zone domain (or, cross-region,
    /// its endpoint domain).
    pub(crate) ptr: NameMap<PtrAnswer>,
}

impl Default for View {
    fn default() -> Self {
        View {
            custom: Vec::new(),
            private: Vec::new(),
            ptr: name_map(),
        }
    }
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
    /// Every ENI address the tables answer with, in slot order.
    pub fn targets(&self) -> impl Iterator<Item = &Target> {
        self.targets.values()
    }

    /// How many ENI addresses the tables answer with.
    pub fn target_count(&self) -> usize {
        self.targets.live()
    }

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
#[derive(Clone)]
pub(crate) struct CustomDomain {
    pub(crate) name: Name,
    /// Index into `endpoints`: the endpoint's records owned by this name.
    pub(crate) endpoint: u32,
    pub(crate) soa_negative: Record,
}

#[derive(Clone)]
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
    pub(crate) fn new(s: &ServerSettings, serial: u32) -> GeneratedZone {
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
    /// never NXDOMAIN): how many names below it hold data, so that it goes
    /// when the last one does.
    EmptyNonTerminal(u32),
}

/// One address family of an endpoint's ENIs. Only addresses are kept: each
/// answer path writes its records from them (the general path as `Record`s,
/// the fast path straight onto the wire), which keeps a 10,000-endpoint
/// table small.
#[derive(Default, Clone, PartialEq)]
pub(crate) struct FamilyAnswers {
    pub(crate) ips: Vec<IpAddr>,
    pub(crate) slots: Vec<Slot>,
    /// Index into the VPC's zone list, per address.
    pub(crate) zones: Vec<u32>,
}

#[derive(Clone, PartialEq)]
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

#[derive(Clone, PartialEq)]
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
        let mut t = Tables::without_endpoints(model, serial);
        for ep in &model.endpoints {
            t.add_endpoint(ep);
        }
        t.fast_path = !t.shadows_generated_zone();
        t
    }

    /// Everything but the endpoints: the generated zone's apex and name
    /// server, the VPCs and their private zones.
    fn without_endpoints(model: &Model, serial: u32) -> Tables {
        let s = &model.server;
        let zone = GeneratedZone::new(s, serial);
        let apex = zone.apex.clone();
        let ns_host = zone.ns_host.clone();
        let mut t = Tables {
            apex_wire: wire_name(&apex).to_vec().into_boxed_slice(),
            zone,
            endpoints: Slab::default(),
            zone_domains: Slab::default(),
            vpcs: vpc_subnets(model).into(),
            targets: Slab::default(),
            all_down: s.all_down,
            ecs: s.ecs,
            ecs_trusted: s.ecs_trusted.clone(),
            udp_payload: s.udp_payload,
            vpc_nets: vpc_nets(model).into(),
            views: model.vpcs.iter().map(|_| View::default()).collect(),
            inbound: model
                .inbound
                .iter()
                .map(|i| (i.listen, i.vpc_index))
                .collect(),
            forward: model.forward.is_some(),
            wire_names: name_map(),
            fast_path: true,
            private_shadows: model.private_zones.iter().any(|pz| apex.zone_of(&pz.name)),
            endpoint_domains: Slab::default(),
            placed: Default::default(),
            serial,
            ttl: s.ttl,
            degraded_ttl: s.degraded_ttl,
        };
        t.wire_names.insert(wire_name(&apex), GeneratedNode::Apex);
        t.insert_with_parents(&ns_host, GeneratedNode::NsHost);
        t.add_private_zones(model);
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
    pub(crate) fn shadows_generated_zone(&self) -> bool {
        let apex = &self.zone.apex;
        self.private_shadows
            || self
                .views
                .iter()
                .any(|v| v.custom.iter().any(|c| apex.zone_of(&c.name)))
    }

    /// Adds `name` and counts it in the names between it and the apex,
    /// which are empty non-terminals unless they already hold data.
    pub(crate) fn insert_with_parents(&mut self, name: &Name, node: GeneratedNode) {
        self.wire_names.insert(wire_name(name), node);
        self.for_parents(name, |names, key| match names.get_mut(&key) {
            Some(GeneratedNode::EmptyNonTerminal(below)) => *below += 1,
            Some(_) => {}
            None => {
                names.insert(key, GeneratedNode::EmptyNonTerminal(1));
            }
        });
    }

    /// Takes `name` out, and the empty non-terminals above it that no
    /// other name needs any more.
    pub(crate) fn remove_with_parents(&mut self, name: &Name) {
        self.wire_names.remove(&*wire_name(name));
        self.for_parents(name, |names, key| {
            if let Some(GeneratedNode::EmptyNonTerminal(below)) = names.get_mut(&key) {
                *below -= 1;
                if *below == 0 {
                    names.remove(&key);
                }
            }
        });
    }

    /// Runs `f` on the wire name of each name strictly between `name` and
    /// the apex.
    fn for_parents(
        &mut self,
        name: &Name,
        mut f: impl FnMut(&mut NameMap<GeneratedNode>, NameKey),
    ) {
        let apex_labels = self.zone.apex.num_labels();
        let mut parent = name.base_name();
        while parent.num_labels() > apex_labels {
            let next = parent.base_name();
            f(&mut self.wire_names, wire_name(&parent));
            parent = next;
        }
    }
}

/// A name's lowercase wire form (the zone file index's key form): the key
/// of `Tables::wire_names` and of the PTR views.
pub(crate) fn wire_name(name: &Name) -> NameKey {
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
