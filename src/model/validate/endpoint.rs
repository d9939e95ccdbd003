//! Interface endpoints: what they refer to, the rules between an endpoint and
//! its service, its zones and their ENI addresses, and its probe settings.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use hickory_proto::rr::Name;
use ipnet::IpNet;

use super::claims::{Claims, Owner};
use super::names::GeneratedNames;
use super::{Errors, Obj, find, id_checks, vpc};
use crate::config::ConfigPath;
use crate::config::file::{ConfigFile, EndpointSection, EndpointZoneSection};
use crate::model::names;
use crate::model::probe::{Level, resolve};
use crate::model::types::*;
use crate::probe::ProbeSettings;

/// What endpoints refer to, each already validated.
pub(super) struct Refs<'a> {
    pub(crate) cfg: &'a ConfigFile,
    pub(crate) server: &'a ServerSettings,
    pub(crate) vpcs: &'a [Vpc],
    pub(crate) vswitches: &'a [VSwitch],
    pub(crate) services: &'a [Service],
    /// The model being replaced, on reload.
    pub(crate) previous: Option<&'a Model>,
}

/// Every endpoint of the config, in order, and what they claim.
pub(super) fn endpoints(refs: &Refs<'_>, errs: &mut Errors) -> (Vec<Endpoint>, Claims) {
    let name_of = Owner::name;
    let mut check = EndpointCheck {
        refs,
        claims: Claims::default(),
        name_of: &name_of,
    };
    let endpoints = refs
        .cfg
        .endpoint
        .iter()
        .enumerate()
        .map(|(i, e)| check.endpoint(i, e, errs))
        .collect();
    (endpoints, check.claims)
}

/// What the rules between endpoints remember from the endpoints before.
pub(super) struct EndpointCheck<'a> {
    pub(super) refs: &'a Refs<'a>,
    /// Among them: an ENI address belongs to one ENI within a VPC.
    pub(super) claims: Claims,
    /// How an error names an endpoint that claimed something first.
    pub(super) name_of: &'a dyn Fn(&Owner) -> String,
}

impl<'a> EndpointCheck<'a> {
    /// Checks endpoint `i` of the config against the endpoints before it.
    pub(super) fn endpoint(
        &mut self,
        i: usize,
        e: &EndpointSection,
        errs: &mut Errors,
    ) -> Endpoint {
        let obj = Obj::item("endpoint", i, &e.id);
        let owner = Owner {
            id: Arc::from(e.id.as_str()),
            index: i as u32,
        };
        let probe = probe(self.refs.cfg, e, &obj, errs);
        id_checks(
            &e.id,
            self.claims.ids.insert(e.id.clone(), ()).is_none(),
            &obj,
            errs,
        );
        let vpc = vpc(self.refs.vpcs, &e.vpc);
        if vpc.is_none() {
            errs.push(&obj, "vpc", format!("no VPC with id '{}'", e.vpc));
        }
        let svc = find(self.refs.services, &e.service, |s| &s.id).map(|(_, s)| s);
        if svc.is_none() {
            errs.push(
                &obj,
                "service",
                format!("no service with id '{}'", e.service),
            );
        }
        let ip_version = ip_version(&e.ip_version, &obj, errs);
        let endpoint_type = endpoint_type(&e.endpoint_type, ip_version, &obj, errs);
        if let Some(svc) = svc {
            let vpc = vpc.map(|(_, v)| v);
            service_rules(e, ip_version, svc, vpc, self.refs.previous, &obj, errs);
        }
        let zones = self.zones(e, ip_version, &owner, &obj, errs);
        let mut ep = Endpoint {
            id: e.id.clone(),
            vpc: e.vpc.clone(),
            vpc_index: vpc.map_or(0, |(index, _)| index),
            service: e.service.clone(),
            endpoint_type,
            ip_version,
            zone_affinity: e.zone_affinity,
            custom_domain: svc
                .and_then(|s| s.custom_domain.clone())
                .filter(|_| e.custom_domain),
            cross_region: e.cross_region,
            domain: Name::root(),
            zones,
            probe,
        };
        if let Some(svc) = svc {
            GeneratedNames::new(self.refs.server, &mut self.claims.names, self.name_of)
                .endpoint(&mut ep, svc, &owner, &obj, errs);
        }
        ep
    }

    /// The endpoint's zones whose vSwitch and IPv4 address are usable.
    fn zones(
        &mut self,
        e: &EndpointSection,
        ip_version: IpVersion,
        owner: &Owner,
        obj: &Obj,
        errs: &mut Errors,
    ) -> Vec<EndpointZone> {
        if e.zones.is_empty() {
            errs.push(obj, "zones", "an endpoint needs at least one zone");
        }
        // Zone → the zones[] index that has an ENI in it.
        let mut zones_seen: HashMap<String, usize> = HashMap::new();
        let mut out = Vec::new();
        for (j, z) in e.zones.iter().enumerate() {
            let at = |f| ConfigPath::from("zones").index(j).key(f);
            let Some(vsw) = self.zone_vswitch(e, z, &zones_seen, at("vswitch"), obj, errs) else {
                continue;
            };
            zones_seen.insert(vsw.zone.clone(), j);
            let Some(ip) = eni_ipv4(z, vsw, at("ip"), obj, errs) else {
                continue;
            };
            let ipv6 = eni_ipv6(z, vsw, ip_version, at("ipv6"), obj, errs);
            for (f, addr) in [("ip", Some(IpAddr::V4(ip))), ("ipv6", ipv6.map(IpAddr::V6))] {
                if let Some(addr) = addr {
                    self.claim_eni_address(&e.vpc, addr, at(f), owner, obj, errs);
                }
            }
            out.push(EndpointZone {
                vswitch: vsw.id.clone(),
                zone: vsw.zone.clone(),
                zone_index: vsw.zone_index,
                ip,
                ipv6,
                domain: None,
            });
        }
        out
    }

    /// The vSwitch of one zone of the endpoint: it exists, is in the
    /// endpoint's VPC, is the endpoint's only one in its zone, and its zone
    /// makes a zone domain label that fits.
    fn zone_vswitch(
        &self,
        e: &EndpointSection,
        z: &EndpointZoneSection,
        zones_seen: &HashMap<String, usize>,
        field: ConfigPath,
        obj: &Obj,
        errs: &mut Errors,
    ) -> Option<&'a VSwitch> {
        let Some((_, vsw)) = find(self.refs.vswitches, &z.vswitch, |s| &s.id) else {
            errs.push(obj, field, format!("no vSwitch with id '{}'", z.vswitch));
            return None;
        };
        if vsw.vpc != e.vpc {
            errs.push(
                obj,
                field.clone(),
                format!(
                    "vSwitch '{}' is in VPC '{}', not in the endpoint's VPC '{}'",
                    vsw.id, vsw.vpc, e.vpc
                ),
            );
        }
        if let Some(first) = zones_seen.get(&vsw.zone) {
            errs.push(
                obj,
                field.clone(),
                format!(
                    "zone {} already has an ENI at zones[{first}]: one ENI per zone",
                    vsw.zone
                ),
            );
        }
        if names::zone_label_len(&e.id, &vsw.zone) > 63 {
            errs.push(
                obj,
                field,
                format!(
                    "the zone domain label '{}-{}' is longer than 63 characters",
                    e.id, vsw.zone
                ),
            );
        }
        Some(vsw)
    }

    /// An address belongs to one ENI of a VPC.
    fn claim_eni_address(
        &mut self,
        vpc: &str,
        addr: IpAddr,
        field: ConfigPath,
        owner: &Owner,
        obj: &Obj,
        errs: &mut Errors,
    ) {
        if let Some(first) = self
            .claims
            .addresses
            .insert((vpc.to_string(), addr), owner.clone())
        {
            errs.push(
                obj,
                field,
                format!(
                    "{addr} is already an ENI address of {} in this VPC",
                    (self.name_of)(&first)
                ),
            );
        }
    }
}

fn ip_version(text: &str, obj: &Obj, errs: &mut Errors) -> IpVersion {
    match text {
        "ipv4" => IpVersion::Ipv4,
        "dual-stack" => IpVersion::DualStack,
        other => {
            errs.push(
                obj,
                "ip_version",
                format!("'{other}' is not one of \"ipv4\", \"dual-stack\""),
            );
            IpVersion::Ipv4
        }
    }
}

/// The endpoint's type; a reverse endpoint has no dual-stack (as in the
/// cloud).
fn endpoint_type(text: &str, ip_version: IpVersion, obj: &Obj, errs: &mut Errors) -> EndpointType {
    let t = match text {
        "interface" => EndpointType::Interface,
        "reverse" => EndpointType::Reverse,
        other => {
            errs.push(
                obj,
                "endpoint_type",
                format!("'{other}' is not one of \"interface\", \"reverse\""),
            );
            EndpointType::Interface
        }
    };
    if t == EndpointType::Reverse && ip_version == IpVersion::DualStack {
        errs.push(
            obj,
            "ip_version",
            "dual-stack, but a reverse endpoint is IPv4 only",
        );
    }
    t
}

/// The ENI's IPv4 address, when it is one; it must be usable in the vSwitch.
fn eni_ipv4(
    z: &EndpointZoneSection,
    vsw: &VSwitch,
    field: ConfigPath,
    obj: &Obj,
    errs: &mut Errors,
) -> Option<Ipv4Addr> {
    let Ok(ip) = z.ip.parse() else {
        errs.push(obj, field, format!("'{}' is not an IPv4 address", z.ip));
        return None;
    };
    if let Err(m) = eni_address(IpNet::V4(vsw.cidr), IpAddr::V4(ip), &vsw.id) {
        errs.push(obj, field, m);
    }
    Some(ip)
}

/// The ENI's IPv6 address: required on a dual-stack endpoint, refused on an
/// IPv4 one, and usable in the vSwitch's IPv6 CIDR.
fn eni_ipv6(
    z: &EndpointZoneSection,
    vsw: &VSwitch,
    ip_version: IpVersion,
    field: ConfigPath,
    obj: &Obj,
    errs: &mut Errors,
) -> Option<Ipv6Addr> {
    let Some(text) = &z.ipv6 else {
        if ip_version == IpVersion::DualStack {
            errs.push(
                obj,
                field,
                "a dual-stack endpoint needs an IPv6 address in every zone",
            );
        }
        return None;
    };
    let Ok(v6) = text.parse() else {
        errs.push(obj, field, format!("'{text}' is not an IPv6 address"));
        return None;
    };
    if ip_version == IpVersion::Ipv4 {
        errs.push(
            obj,
            field.clone(),
            "set, but the endpoint's ip_version is \"ipv4\"",
        );
    }
    match vsw.ipv6_cidr {
        Some(c) => {
            if let Err(m) = eni_address(IpNet::V6(c), IpAddr::V6(v6), &vsw.id) {
                errs.push(obj, field, m);
            }
        }
        None => errs.push(obj, field, format!("vSwitch '{}' has no ipv6_cidr", vsw.id)),
    }
    Some(v6)
}

/// The endpoint's probe settings, layered from `[probe]`, its service's
/// `probe` and its own; `None` when it is not probed or they do not work.
fn probe(
    cfg: &ConfigFile,
    e: &EndpointSection,
    obj: &Obj,
    errs: &mut Errors,
) -> Option<ProbeSettings> {
    let service = cfg
        .service
        .iter()
        .enumerate()
        .find(|(_, s)| s.id == e.service);
    let levels = [
        Level {
            section: cfg.probe.as_ref(),
            name: "[probe]".to_string(),
            path: ConfigPath::from("probe"),
        },
        Level {
            section: service.and_then(|(_, s)| s.probe.as_ref()),
            name: format!("service '{}'", e.service),
            path: ConfigPath::from("service")
                .index(service.map_or(0, |(i, _)| i))
                .key("probe"),
        },
        Level {
            section: e.probe.as_ref(),
            name: "this endpoint".to_string(),
            path: obj.path.clone().key("probe"),
        },
    ];
    match resolve(&levels) {
        Ok(settings) => settings,
        Err(problems) => {
            for p in problems {
                let field = ConfigPath::from("probe").key(p.key);
                // Not set at any level: the endpoint's own `probe`.
                let at = p.at.unwrap_or_else(|| obj.path.join(&field));
                errs.push_at(obj, field, at, p.message);
            }
            None
        }
    }
}

/// Rules between an endpoint and the service it connects to.
fn service_rules(
    e: &EndpointSection,
    ip_version: IpVersion,
    svc: &Service,
    vpc: Option<&Vpc>,
    previous: Option<&Model>,
    obj: &Obj,
    errs: &mut Errors,
) {
    if ip_version == IpVersion::DualStack && !svc.dual_stack {
        errs.push(
            obj,
            "ip_version",
            format!("dual-stack, but service '{}' does not support IPv6", svc.id),
        );
    }
    if e.zone_affinity && !svc.zone_affinity && !kept_affinity(previous, &e.id) {
        errs.push(
            obj,
            "zone_affinity",
            format!(
                "enabled, but service '{}' does not support zone affinity \
                 (an endpoint that already had it may keep it, none may enable it)",
                svc.id
            ),
        );
    }
    if e.custom_domain && svc.custom_domain.is_none() {
        errs.push(
            obj,
            "custom_domain",
            format!("enabled, but service '{}' has no custom domain", svc.id),
        );
    }
    if let Some(vpc) = vpc {
        region_rules(e, svc, vpc, obj, errs);
    }
}

/// `cross_region` says whether the service is in another region than the
/// endpoint's VPC.
fn region_rules(e: &EndpointSection, svc: &Service, vpc: &Vpc, obj: &Obj, errs: &mut Errors) {
    let other_region = vpc.region != svc.region;
    if other_region && !e.cross_region {
        errs.push(
            obj,
            "cross_region",
            format!(
                "false, but service '{}' is in {} and VPC '{}' in {}",
                svc.id, svc.region, vpc.id, vpc.region
            ),
        );
    } else if !other_region && e.cross_region {
        errs.push(
            obj,
            "cross_region",
            format!(
                "true, but service '{}' and VPC '{}' are both in {}",
                svc.id, vpc.id, vpc.region
            ),
        );
    }
}

/// Seed rule of zone affinity: when a service stops supporting it, endpoints
/// that had it enabled keep it (they may still disable it).
fn kept_affinity(previous: Option<&Model>, endpoint: &str) -> bool {
    previous
        .and_then(|m| m.endpoint(endpoint))
        .is_some_and(|e| e.zone_affinity)
}

/// One VPC, one endpoint per custom domain: the first that enables it (in file
/// order, or the first API call) keeps it.
pub(super) fn custom_domains(endpoints: &[Endpoint], claims: &mut Claims, errs: &mut Errors) {
    for (i, e) in endpoints.iter().enumerate() {
        custom_domain(i, e, claims, errs);
    }
}

/// Endpoint `i` of the config enables its custom domain in its VPC, unless
/// an endpoint before it did.
pub(super) fn custom_domain(i: usize, e: &Endpoint, claims: &mut Claims, errs: &mut Errors) {
    let Some(domain) = &e.custom_domain else {
        return;
    };
    let key = (e.vpc.clone(), domain.clone());
    if let Some(first) = claims.custom.get(&key) {
        errs.push(
            &Obj::item("endpoint", i, &e.id),
            "custom_domain",
            format!(
                "{domain} is already enabled in VPC '{}' by endpoint '{first}': one endpoint per custom domain in a VPC",
                e.vpc
            ),
        );
        return;
    }
    claims.custom.insert(key, Arc::from(e.id.as_str()));
}

/// An ENI address lies inside its vSwitch CIDR and is not one the cloud
/// reserves: the first address and the last three of the CIDR.
fn eni_address(cidr: IpNet, ip: IpAddr, vswitch: &str) -> Result<(), String> {
    if !cidr.contains(&ip) {
        return Err(format!("{ip} is outside vSwitch '{vswitch}' CIDR {cidr}"));
    }
    let offset_from_start = ip_offset(cidr.network(), ip);
    let offset_to_end = ip_offset(ip, cidr.broadcast());
    if offset_from_start == 0 || offset_to_end < 3 {
        return Err(format!(
            "{ip} is reserved in vSwitch '{vswitch}' CIDR {cidr} \
             (the first address and the last three are reserved)"
        ));
    }
    Ok(())
}

fn ip_offset(from: IpAddr, to: IpAddr) -> u128 {
    let n = |a: IpAddr| match a {
        IpAddr::V4(v) => u128::from(u32::from(v)),
        IpAddr::V6(v) => u128::from(v),
    };
    n(to) - n(from)
}
