//! Every rule a config (and, later, an API call) must pass. One function turns
//! the file's sections into a `Model` or into the full list of what is wrong,
//! each error naming the object and the field.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;

use hickory_proto::rr::Name;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use super::names;
use super::types::*;
use crate::config::file::*;
use crate::zonefile::{PrivateZone, ZoneFileError};

/// One broken rule: `object` says which (e.g. `endpoint 'ep-lab1'`), `field`
/// where (e.g. `zones[1].ip`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    pub object: String,
    pub field: String,
    pub message: String,
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.object, self.field, self.message)
    }
}

#[derive(Default)]
struct Errors(Vec<ValidationError>);

impl Errors {
    fn push(&mut self, object: &str, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(ValidationError {
            object: object.to_string(),
            field: field.into(),
            message: message.into(),
        });
    }
}

/// Validates `cfg`. `previous` is the model being replaced (on reload), for the
/// rules that depend on history: an endpoint keeps zone affinity it already had
/// even after its service stopped supporting it.
/// Loads a zone file named in the config (`origin`, the `file` field as
/// written): the config's source decides where relative paths lead.
pub type ZoneLoader<'a> = dyn Fn(&Name, &str) -> Result<(PathBuf, PrivateZone), ZoneFileError> + 'a;

/// Validates `cfg`; zone files are read through `load_zone`.
pub fn build(
    cfg: &ConfigFile,
    previous: Option<&Model>,
    load_zone: &ZoneLoader<'_>,
) -> Result<Model, Vec<ValidationError>> {
    let mut errs = Errors::default();
    let server = server(&cfg.server, &mut errs);
    let vpcs = vpcs(&cfg.vpc, &mut errs);
    let vswitches = vswitches(&cfg.vswitch, &vpcs, &mut errs);
    let services = services(&cfg.service, &mut errs);
    let endpoints = endpoints(cfg, &vpcs, &vswitches, &services, previous, &mut errs);
    custom_domains(&endpoints, &services, &mut errs);
    let inbound = inbound(&cfg.inbound, &vpcs, &server, &mut errs);
    let forward = cfg.forward.as_ref().map(|f| forward(f, &mut errs));
    let private_zones = private_zones(&cfg.private_zone, &vpcs, load_zone, &mut errs);
    let admin = cfg
        .admin
        .as_ref()
        .and_then(|a| match SocketAddr::from_str(&a.listen) {
            Ok(addr) => Some(addr),
            Err(_) => {
                errs.push(
                    "[admin]",
                    "listen",
                    format!(
                        "'{}' is not an address:port (e.g. 127.0.0.1:8053)",
                        a.listen
                    ),
                );
                None
            }
        });
    let model = Model {
        server,
        vpcs,
        vswitches,
        services,
        endpoints,
        inbound,
        forward,
        private_zones,
        admin,
    };
    name_collisions(&model, &mut errs);
    if errs.0.is_empty() {
        Ok(model)
    } else {
        Err(errs.0)
    }
}

fn server(s: &ServerSection, errs: &mut Errors) -> ServerSettings {
    const OBJ: &str = "[server]";
    let mut listen = Vec::new();
    for (i, l) in s.listen.iter().enumerate() {
        match SocketAddr::from_str(l) {
            Ok(a) => listen.push(a),
            Err(_) => errs.push(
                OBJ,
                format!("listen[{i}]"),
                format!("'{l}' is not an address:port (e.g. 127.0.0.1:5300 or [::1]:5300)"),
            ),
        }
    }
    let suffix = match dns_name(&s.suffix) {
        Ok(n) => n,
        Err(m) => {
            errs.push(OBJ, "suffix", m);
            Name::root()
        }
    };
    if s.ttl > 604_800 {
        errs.push(OBJ, "ttl", format!("{} is more than a week", s.ttl));
    }
    if s.udp_payload < 512 {
        errs.push(
            OBJ,
            "udp_payload",
            format!("{} is below the DNS minimum of 512", s.udp_payload),
        );
    }
    let soa = SoaSettings {
        ttl: s.soa.ttl,
        refresh: s.soa.refresh,
        retry: s.soa.retry,
        expire: s.soa.expire,
        minimum: s.soa.minimum,
    };
    for (field, v) in [
        ("soa.refresh", soa.refresh),
        ("soa.retry", soa.retry),
        ("soa.expire", soa.expire),
    ] {
        if v <= 0 {
            errs.push(OBJ, field, format!("{v} must be positive"));
        }
    }
    let all_down = match s.all_down.as_str() {
        "all" => AllDownPolicy::All,
        "none" => AllDownPolicy::None,
        "servfail" => AllDownPolicy::ServFail,
        other => {
            errs.push(
                OBJ,
                "all_down",
                format!("'{other}' is not one of \"all\", \"none\", \"servfail\""),
            );
            AllDownPolicy::All
        }
    };
    if let Some(t) = s.degraded_ttl
        && t > s.ttl
    {
        errs.push(
            OBJ,
            "degraded_ttl",
            format!(
                "{t} is longer than ttl {}: it exists to shorten caching",
                s.ttl
            ),
        );
    }
    ServerSettings {
        listen,
        suffix,
        ttl: s.ttl,
        ecs: s.ecs,
        ecs_trusted: ecs_trusted(&s.ecs_trusted, errs),
        udp_payload: s.udp_payload,
        soa,
        all_down,
        degraded_ttl: s.degraded_ttl,
    }
}

/// `[server] ecs_trusted`: resolver addresses or networks, exact (no host
/// bits) and never everyone, since a trusted ECS address chooses which VPC's
/// private data the answer holds.
fn ecs_trusted(entries: &[String], errs: &mut Errors) -> Vec<IpNet> {
    let mut nets = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let field = format!("ecs_trusted[{i}]");
        let net = match (IpNet::from_str(e), IpAddr::from_str(e)) {
            (Ok(net), _) => net,
            (_, Ok(ip)) => IpNet::from(ip),
            _ => {
                errs.push(
                    "[server]",
                    field,
                    format!("'{e}' is not an address or CIDR (e.g. 127.0.0.53 or 10.0.0.0/24)"),
                );
                continue;
            }
        };
        if net.prefix_len() == 0 {
            errs.push(
                "[server]",
                field,
                format!("'{e}' trusts every address: any client could choose any VPC's view"),
            );
        } else if net.trunc() != net {
            errs.push(
                "[server]",
                field,
                format!("'{e}' has host bits set: did you mean {}?", net.trunc()),
            );
        } else {
            nets.push(net);
        }
    }
    nets
}

fn vpcs(sections: &[VpcSection], errs: &mut Errors) -> Vec<Vpc> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (i, v) in sections.iter().enumerate() {
        let obj = format!("vpc '{}' (vpc[{i}])", v.id);
        id_rules(&v.id, &mut seen, &obj, errs);
        if let Err(m) = label(&v.region) {
            errs.push(&obj, "region", m);
        }
        let mut cidrs = Vec::new();
        for (j, c) in v.cidrs.iter().enumerate() {
            match IpNet::from_str(c) {
                Ok(n) => cidrs.push(n.trunc()),
                Err(_) => errs.push(&obj, format!("cidrs[{j}]"), format!("'{c}' is not a CIDR")),
            }
        }
        if v.cidrs.is_empty() {
            errs.push(&obj, "cidrs", "a VPC needs at least one CIDR");
        }
        out.push(Vpc {
            id: v.id.clone(),
            region: v.region.clone(),
            cidrs,
        });
    }
    out
}

fn vswitches(sections: &[VswitchSection], vpcs: &[Vpc], errs: &mut Errors) -> Vec<VSwitch> {
    let mut seen = HashSet::new();
    // (VPC, CIDR, vSwitch) of every valid vSwitch CIDR so far.
    let mut nets_seen: Vec<(String, IpNet, String)> = Vec::new();
    let mut out = Vec::new();
    for (i, s) in sections.iter().enumerate() {
        let obj = format!("vswitch '{}' (vswitch[{i}])", s.id);
        id_rules(&s.id, &mut seen, &obj, errs);
        if let Err(m) = label(&s.zone) {
            errs.push(&obj, "zone", m);
        }
        let vpc = vpcs.iter().find(|v| v.id == s.vpc);
        if vpc.is_none() {
            errs.push(&obj, "vpc", format!("no VPC with id '{}'", s.vpc));
        }
        let cidr_ok = Ipv4Net::from_str(&s.cidr).is_ok();
        let cidr = match Ipv4Net::from_str(&s.cidr) {
            Ok(n) => {
                let n = n.trunc();
                if let Some(vpc) = vpc
                    && !vpc.cidrs.iter().any(|c| c.contains(&IpNet::V4(n)))
                {
                    errs.push(
                        &obj,
                        "cidr",
                        format!("{n} is outside the CIDRs of VPC '{}'", vpc.id),
                    );
                }
                n
            }
            Err(_) => {
                errs.push(&obj, "cidr", format!("'{}' is not an IPv4 CIDR", s.cidr));
                Ipv4Net::default()
            }
        };
        let ipv6_cidr = s
            .ipv6_cidr
            .as_ref()
            .and_then(|c| match Ipv6Net::from_str(c) {
                Ok(n) => {
                    let n = n.trunc();
                    // A VPC that lists no IPv6 CIDR lets its vSwitches pick any
                    // (the cloud assigns the VPC's /56 itself).
                    if let Some(vpc) = vpc {
                        let v6: Vec<_> = vpc.cidrs.iter().filter(|c| c.addr().is_ipv6()).collect();
                        if !v6.is_empty() && !v6.iter().any(|c| c.contains(&IpNet::V6(n))) {
                            errs.push(
                                &obj,
                                "ipv6_cidr",
                                format!("{n} is outside the IPv6 CIDRs of VPC '{}'", vpc.id),
                            );
                        }
                    }
                    Some(n)
                }
                Err(_) => {
                    errs.push(&obj, "ipv6_cidr", format!("'{c}' is not an IPv6 CIDR"));
                    None
                }
            });
        // The client's zone is the zone of the vSwitch holding its address:
        // vSwitch CIDRs of one VPC must not overlap (as in the cloud).
        let nets = [
            (cidr_ok.then_some(IpNet::V4(cidr)), "cidr"),
            (ipv6_cidr.map(IpNet::V6), "ipv6_cidr"),
        ];
        for (net, field) in nets {
            let Some(net) = net else { continue };
            let overlap = nets_seen.iter().find(|(vpc, p, _)| {
                *vpc == s.vpc && (p.contains(&net.network()) || net.contains(&p.network()))
            });
            if let Some((_, p, other)) = overlap {
                errs.push(
                    &obj,
                    field,
                    format!("{net} overlaps {p} of vSwitch '{other}' in VPC '{}'", s.vpc),
                );
            }
            nets_seen.push((s.vpc.clone(), net, s.id.clone()));
        }
        out.push(VSwitch {
            id: s.id.clone(),
            vpc: s.vpc.clone(),
            zone: s.zone.clone(),
            cidr,
            ipv6_cidr,
        });
    }
    out
}

fn services(sections: &[ServiceSection], errs: &mut Errors) -> Vec<Service> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (i, s) in sections.iter().enumerate() {
        let obj = format!("service '{}' (service[{i}])", s.id);
        id_rules(&s.id, &mut seen, &obj, errs);
        if let Err(m) = label(&s.region) {
            errs.push(&obj, "region", m);
        }
        let custom_domain = s.custom_domain.as_ref().and_then(|d| match dns_name(d) {
            Ok(n) => Some(n),
            Err(m) => {
                errs.push(&obj, "custom_domain", m);
                None
            }
        });
        out.push(Service {
            id: s.id.clone(),
            region: s.region.clone(),
            zone_affinity: s.zone_affinity,
            dual_stack: s.dual_stack,
            custom_domain,
        });
    }
    out
}

fn endpoints(
    cfg: &ConfigFile,
    vpcs: &[Vpc],
    vswitches: &[VSwitch],
    services: &[Service],
    previous: Option<&Model>,
    errs: &mut Errors,
) -> Vec<Endpoint> {
    let mut seen = HashSet::new();
    // An ENI address belongs to one ENI within a VPC.
    let mut eni_owner: HashMap<(String, IpAddr), String> = HashMap::new();
    let mut out = Vec::new();
    for (i, e) in cfg.endpoint.iter().enumerate() {
        let obj = format!("endpoint '{}' (endpoint[{i}])", e.id);
        let service_probe = cfg
            .service
            .iter()
            .find(|s| s.id == e.service)
            .and_then(|s| s.probe.as_ref());
        let probe = super::probe::resolve(&[
            super::probe::Level {
                section: cfg.probe.as_ref(),
                name: "[probe]".to_string(),
            },
            super::probe::Level {
                section: service_probe,
                name: format!("service '{}'", e.service),
            },
            super::probe::Level {
                section: e.probe.as_ref(),
                name: "this endpoint".to_string(),
            },
        ])
        .unwrap_or_else(|(field, message)| {
            errs.push(&obj, field, message);
            None
        });
        id_rules(&e.id, &mut seen, &obj, errs);
        let vpc = vpcs.iter().find(|v| v.id == e.vpc);
        if vpc.is_none() {
            errs.push(&obj, "vpc", format!("no VPC with id '{}'", e.vpc));
        }
        let svc = services.iter().find(|s| s.id == e.service);
        if svc.is_none() {
            errs.push(
                &obj,
                "service",
                format!("no service with id '{}'", e.service),
            );
        }
        let ip_version = match e.ip_version.as_str() {
            "ipv4" => IpVersion::Ipv4,
            "dual-stack" => IpVersion::DualStack,
            other => {
                errs.push(
                    &obj,
                    "ip_version",
                    format!("'{other}' is not one of \"ipv4\", \"dual-stack\""),
                );
                IpVersion::Ipv4
            }
        };
        if let Some(svc) = svc {
            service_rules(e, ip_version, svc, vpc, previous, &obj, errs);
        }
        if e.zones.is_empty() {
            errs.push(&obj, "zones", "an endpoint needs at least one zone");
        }
        let mut zones = Vec::new();
        let mut zones_seen: HashMap<String, usize> = HashMap::new();
        for (j, z) in e.zones.iter().enumerate() {
            let zf = |f: &str| format!("zones[{j}].{f}");
            let Some(vsw) = vswitches.iter().find(|s| s.id == z.vswitch) else {
                errs.push(
                    &obj,
                    zf("vswitch"),
                    format!("no vSwitch with id '{}'", z.vswitch),
                );
                continue;
            };
            if vsw.vpc != e.vpc {
                errs.push(
                    &obj,
                    zf("vswitch"),
                    format!(
                        "vSwitch '{}' is in VPC '{}', not in the endpoint's VPC '{}'",
                        vsw.id, vsw.vpc, e.vpc
                    ),
                );
            }
            if let Some(first) = zones_seen.insert(vsw.zone.clone(), j) {
                errs.push(
                    &obj,
                    zf("vswitch"),
                    format!(
                        "zone {} already has an ENI at zones[{first}]: one ENI per zone",
                        vsw.zone
                    ),
                );
            }
            if names::zone_label_len(&e.id, &vsw.zone) > 63 {
                errs.push(
                    &obj,
                    zf("vswitch"),
                    format!(
                        "the zone domain label '{}-{}' is longer than 63 characters",
                        e.id, vsw.zone
                    ),
                );
            }
            let ip = match z.ip.parse() {
                Ok(ip) => {
                    if let Err(m) = eni_address(IpNet::V4(vsw.cidr), IpAddr::V4(ip), &vsw.id) {
                        errs.push(&obj, zf("ip"), m);
                    }
                    ip
                }
                Err(_) => {
                    errs.push(&obj, zf("ip"), format!("'{}' is not an IPv4 address", z.ip));
                    continue;
                }
            };
            let ipv6 = match &z.ipv6 {
                None => {
                    if ip_version == IpVersion::DualStack {
                        errs.push(
                            &obj,
                            zf("ipv6"),
                            "a dual-stack endpoint needs an IPv6 address in every zone",
                        );
                    }
                    None
                }
                Some(text) => match text.parse() {
                    Ok(v6) => {
                        if ip_version == IpVersion::Ipv4 {
                            errs.push(
                                &obj,
                                zf("ipv6"),
                                "set, but the endpoint's ip_version is \"ipv4\"",
                            );
                        }
                        match vsw.ipv6_cidr {
                            Some(c) => {
                                if let Err(m) = eni_address(IpNet::V6(c), IpAddr::V6(v6), &vsw.id) {
                                    errs.push(&obj, zf("ipv6"), m);
                                }
                            }
                            None => errs.push(
                                &obj,
                                zf("ipv6"),
                                format!("vSwitch '{}' has no ipv6_cidr", vsw.id),
                            ),
                        }
                        Some(v6)
                    }
                    Err(_) => {
                        errs.push(&obj, zf("ipv6"), format!("'{text}' is not an IPv6 address"));
                        None
                    }
                },
            };
            for (f, addr) in [("ip", Some(IpAddr::V4(ip))), ("ipv6", ipv6.map(IpAddr::V6))] {
                let Some(addr) = addr else { continue };
                if let Some(owner) = eni_owner.insert((e.vpc.clone(), addr), obj.clone()) {
                    errs.push(
                        &obj,
                        zf(f),
                        format!("{addr} is already an ENI address of {owner} in this VPC"),
                    );
                }
            }
            zones.push(EndpointZone {
                vswitch: vsw.id.clone(),
                zone: vsw.zone.clone(),
                ip,
                ipv6,
            });
        }
        out.push(Endpoint {
            id: e.id.clone(),
            vpc: e.vpc.clone(),
            service: e.service.clone(),
            ip_version,
            zone_affinity: e.zone_affinity,
            custom_domain: e.custom_domain,
            cross_region: e.cross_region,
            zones,
            probe,
        });
    }
    out
}

/// One VPC, one endpoint per custom domain: the first that enables it (in file
/// order, or the first API call) keeps it.
fn custom_domains(endpoints: &[Endpoint], services: &[Service], errs: &mut Errors) {
    let mut owner: HashMap<(&str, &Name), &str> = HashMap::new();
    for (i, e) in endpoints.iter().enumerate() {
        if !e.custom_domain {
            continue;
        }
        let Some(domain) = services
            .iter()
            .find(|s| s.id == e.service)
            .and_then(|s| s.custom_domain.as_ref())
        else {
            continue;
        };
        if let Some(first) = owner.insert((&e.vpc, domain), &e.id) {
            owner.insert((&e.vpc, domain), first);
            errs.push(
                &format!("endpoint '{}' (endpoint[{i}])", e.id),
                "custom_domain",
                format!(
                    "{domain} is already enabled in VPC '{}' by endpoint '{first}': one endpoint per custom domain in a VPC",
                    e.vpc
                ),
            );
        }
    }
}

fn inbound(
    sections: &[InboundSection],
    vpcs: &[Vpc],
    server: &ServerSettings,
    errs: &mut Errors,
) -> Vec<Inbound> {
    let mut out: Vec<Inbound> = Vec::new();
    for (i, s) in sections.iter().enumerate() {
        let obj = format!("inbound listener {i} (inbound[{i}])");
        if !vpcs.iter().any(|v| v.id == s.vpc) {
            errs.push(&obj, "vpc", format!("no VPC with id '{}'", s.vpc));
        }
        let Ok(listen) = SocketAddr::from_str(&s.listen) else {
            errs.push(
                &obj,
                "listen",
                format!("'{}' is not an address:port", s.listen),
            );
            continue;
        };
        if server.listen.contains(&listen) || out.iter().any(|o| o.listen == listen) {
            errs.push(
                &obj,
                "listen",
                format!("{listen} is already a listen address: an inbound listener needs its own"),
            );
        }
        out.push(Inbound {
            listen,
            vpc: s.vpc.clone(),
        });
    }
    out
}

fn private_zones(
    sections: &[PrivateZoneSection],
    vpcs: &[Vpc],
    load_zone: &ZoneLoader<'_>,
    errs: &mut Errors,
) -> Vec<PrivateZoneDef> {
    let mut bound: HashMap<(String, Name), usize> = HashMap::new();
    let mut out = Vec::new();
    for (i, z) in sections.iter().enumerate() {
        let obj = format!("private_zone '{}' (private_zone[{i}])", z.name);
        let name = match dns_name(&z.name) {
            Ok(n) => n,
            Err(m) => {
                errs.push(&obj, "name", m);
                continue;
            }
        };
        if z.vpcs.is_empty() {
            errs.push(&obj, "vpcs", "bind the zone to at least one VPC");
        }
        for (j, v) in z.vpcs.iter().enumerate() {
            if !vpcs.iter().any(|vpc| vpc.id == *v) {
                errs.push(&obj, format!("vpcs[{j}]"), format!("no VPC with id '{v}'"));
            } else if let Some(first) = bound.insert((v.clone(), name.clone()), i) {
                errs.push(
                    &obj,
                    format!("vpcs[{j}]"),
                    format!("VPC '{v}' is already bound to a zone {name} (private_zone[{first}])"),
                );
            }
        }
        match load_zone(&name, &z.file) {
            Ok((file, zone)) => out.push(PrivateZoneDef {
                name,
                file,
                vpcs: z.vpcs.clone(),
                zone: std::sync::Arc::new(zone),
            }),
            Err(e) => errs.push(&obj, "file", e.to_string()),
        }
    }
    out
}

fn forward(f: &ForwardSection, errs: &mut Errors) -> Forward {
    const OBJ: &str = "[forward]";
    let mut upstreams = Vec::new();
    for (i, u) in f.upstreams.iter().enumerate() {
        match SocketAddr::from_str(u) {
            Ok(a) => upstreams.push(a),
            Err(_) => errs.push(
                OBJ,
                format!("upstreams[{i}]"),
                format!("'{u}' is not an address:port (e.g. 127.0.0.53:53)"),
            ),
        }
    }
    if f.upstreams.is_empty() {
        errs.push(OBJ, "upstreams", "at least one upstream resolver is needed");
    }
    if f.timeout_ms == 0 || f.timeout_ms > 30_000 {
        errs.push(
            OBJ,
            "timeout_ms",
            format!("{} must be between 1 and 30000", f.timeout_ms),
        );
    }
    Forward {
        upstreams,
        timeout: std::time::Duration::from_millis(f.timeout_ms),
    }
}

/// Rules between an endpoint and the service it connects to.
fn service_rules(
    e: &EndpointSection,
    ip_version: IpVersion,
    svc: &Service,
    vpc: Option<&Vpc>,
    previous: Option<&Model>,
    obj: &str,
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
}

/// Seed rule of zone affinity: when a service stops supporting it, endpoints
/// that had it enabled keep it (they may still disable it).
fn kept_affinity(previous: Option<&Model>, endpoint: &str) -> bool {
    previous
        .and_then(|m| m.endpoint(endpoint))
        .is_some_and(|e| e.zone_affinity)
}

/// An ENI address lies inside its vSwitch CIDR and is not one the cloud
/// reserves: the first address and the last three of the CIDR.
pub fn eni_address(cidr: IpNet, ip: IpAddr, vswitch: &str) -> Result<(), String> {
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

fn id_rules(id: &str, seen: &mut HashSet<String>, obj: &str, errs: &mut Errors) {
    if let Err(m) = label(id) {
        errs.push(obj, "id", m);
    }
    if !seen.insert(id.to_string()) {
        errs.push(obj, "id", format!("duplicate id '{id}'"));
    }
}

/// Ids, zones and regions become DNS labels, so they must be hostname labels.
fn label(s: &str) -> Result<(), String> {
    let ok_chars = s
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if s.is_empty() || s.len() > 63 || !ok_chars || s.starts_with('-') || s.ends_with('-') {
        return Err(format!(
            "'{s}' must be 1-63 lowercase letters, digits or '-', not starting or ending with '-'"
        ));
    }
    Ok(())
}

fn dns_name(s: &str) -> Result<Name, String> {
    let mut n = Name::from_ascii(s).map_err(|e| format!("'{s}' is not a domain name: {e}"))?;
    if n.is_root() {
        return Err("the root cannot be used here".to_string());
    }
    n.set_fqdn(true);
    Ok(n.to_lowercase())
}

/// Two objects must never generate the same name (e.g. endpoint `a-b` and
/// endpoint `a` in zone `b` of the same service).
fn name_collisions(model: &Model, errs: &mut Errors) {
    let mut owners: HashMap<Name, String> = HashMap::new();
    let mut apex_names = vec![model.server.suffix.clone()];
    // The SOA names `ns.<suffix>` and `hostmaster.<suffix>`: both must fit
    // (the longer, hostmaster, fails first when the suffix is long).
    match names::ns_host(&model.server.suffix) {
        Ok(ns) => {
            apex_names.push(ns);
            if let Err(m) = names::hostmaster(&model.server.suffix) {
                errs.push("[server]", "suffix", m);
            }
        }
        Err(m) => errs.push("[server]", "suffix", m),
    }
    for (name, who) in names::generated(model) {
        let name = match name {
            Ok(n) => n,
            Err(m) => {
                errs.push(&who, "id", m);
                continue;
            }
        };
        if apex_names.contains(&name) {
            errs.push(
                &who,
                "id",
                format!("generates {name}, a name of the zone apex"),
            );
        } else if let Some(first) = owners.insert(name.clone(), who.clone()) {
            // The same zone twice in one endpoint is already reported as
            // "one ENI per zone"; it is not a collision with another object.
            if first == who {
                continue;
            }
            errs.push(
                &who,
                "id",
                format!("generates {name}, already generated by {first}"),
            );
        }
    }
}
