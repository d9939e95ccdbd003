//! What serves names beyond the generated zone: private zones, inbound
//! listeners and forwarding.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::str::FromStr;

use hickory_proto::rr::Name;
use hickory_proto::rr::rdata::SOA;

use super::{Errors, Obj, ZoneLoader, dns_name, vpc};
use crate::config::ConfigPath;
use crate::config::file::{ForwardSection, InboundSection, PrivateZoneSection};
use crate::model::types::*;
use crate::zonefile::ZoneStyle;

pub(super) fn inbound(
    sections: &[InboundSection],
    vpcs: &[Vpc],
    server: &ServerSettings,
    errs: &mut Errors,
) -> Vec<Inbound> {
    let mut out: Vec<Inbound> = Vec::new();
    for (i, s) in sections.iter().enumerate() {
        let obj = Obj {
            name: format!("inbound listener {i} (inbound[{i}])"),
            path: ConfigPath::from("inbound").index(i),
        };
        let vpc = vpc(vpcs, &s.vpc);
        if vpc.is_none() {
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
            vpc_index: vpc.map_or(0, |(index, _)| index),
        });
    }
    out
}

pub(super) fn private_zones(
    sections: &[PrivateZoneSection],
    vpcs: &[Vpc],
    server: &ServerSettings,
    load_zone: &ZoneLoader<'_>,
    errs: &mut Errors,
) -> Vec<PrivateZoneDef> {
    // Which private zone first bound each (VPC, name).
    let mut bound: HashMap<(String, Name), usize> = HashMap::new();
    let mut out = Vec::new();
    for (i, z) in sections.iter().enumerate() {
        let obj = Obj::item("private_zone", i, &z.name);
        let name = match dns_name(&z.name) {
            Ok(n) => n,
            Err(m) => {
                errs.push(&obj, "name", m);
                continue;
            }
        };
        let vpc_indexes = bindings(i, z, &name, vpcs, &mut bound, &obj, errs);
        let Some(style) = style(&z.style, &name, server, &obj, errs) else {
            continue;
        };
        match load_zone(&name, &z.file, &style) {
            Ok((file, zone)) => out.push(PrivateZoneDef {
                name,
                file,
                vpc_indexes,
                zone,
            }),
            // The zone file's own errors, each naming its file, line and
            // column: one error per fault, as for the config's own.
            Err(e) if !e.faults().is_empty() => {
                for fault in e.faults() {
                    errs.push(&obj, "file", fault.to_string());
                }
            }
            Err(e) => errs.push(&obj, "file", e.to_string()),
        }
    }
    out
}

/// How the zone's file is read. A PrivateZone-style zone's SOA and NS are
/// the server's, as for the PrivateZone API's zones (`ns.<suffix>`,
/// `hostmaster.<suffix>`, `[server.soa]`), with the load time in seconds as
/// the serial, so that every reload of the file gives a newer one.
fn style(
    text: &str,
    origin: &Name,
    server: &ServerSettings,
    obj: &Obj,
    errs: &mut Errors,
) -> Option<ZoneStyle> {
    match text {
        "rfc1035" => Some(ZoneStyle::Rfc1035),
        "privatezone" => {
            let serial = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as u32);
            Some(privatezone_style(origin, server, serial))
        }
        other => {
            errs.push(
                obj,
                "style",
                format!("'{other}' is not one of \"rfc1035\", \"privatezone\""),
            );
            None
        }
    }
}

/// The PrivateZone style of `origin` with the server's name server,
/// contact and SOA timers, and `serial`.
pub(crate) fn privatezone_style(origin: &Name, server: &ServerSettings, serial: u32) -> ZoneStyle {
    let soa = SOA::new(
        server.ns_host.clone(),
        server.hostmaster.clone(),
        serial,
        server.soa.refresh,
        server.soa.retry,
        server.soa.expire,
        server.soa.minimum,
    );
    ZoneStyle::private_zone(origin, soa, server.soa.ttl)
}

/// The VPCs private zone `i` is bound to, as indexes: each known, and bound
/// to one zone of a name.
fn bindings(
    i: usize,
    z: &PrivateZoneSection,
    name: &Name,
    vpcs: &[Vpc],
    bound: &mut HashMap<(String, Name), usize>,
    obj: &Obj,
    errs: &mut Errors,
) -> Vec<u32> {
    if z.vpcs.is_empty() {
        errs.push(obj, "vpcs", "bind the zone to at least one VPC");
    }
    let mut indexes = Vec::new();
    for (j, v) in z.vpcs.iter().enumerate() {
        let field = ConfigPath::from("vpcs").index(j);
        let Some((index, _)) = vpc(vpcs, v) else {
            errs.push(obj, field, format!("no VPC with id '{v}'"));
            continue;
        };
        if let Some(first) = bound.insert((v.clone(), name.clone()), i) {
            errs.push(
                obj,
                field,
                format!("VPC '{v}' is already bound to a zone {name} (private_zone[{first}])"),
            );
        }
        indexes.push(index);
    }
    indexes
}

pub(super) fn forward(f: &ForwardSection, errs: &mut Errors) -> Forward {
    let obj = Obj::section("forward");
    let mut upstreams = Vec::new();
    for (i, u) in f.upstreams.iter().enumerate() {
        match SocketAddr::from_str(u) {
            Ok(a) => upstreams.push(a),
            Err(_) => errs.push(
                &obj,
                ConfigPath::from("upstreams").index(i),
                format!("'{u}' is not an address:port (e.g. 127.0.0.53:53)"),
            ),
        }
    }
    if f.upstreams.is_empty() {
        errs.push(
            &obj,
            "upstreams",
            "at least one upstream resolver is needed",
        );
    }
    if f.timeout_ms == 0 || f.timeout_ms > 30_000 {
        errs.push(
            &obj,
            "timeout_ms",
            format!("{} must be between 1 and 30000", f.timeout_ms),
        );
    }
    Forward {
        upstreams,
        timeout: std::time::Duration::from_millis(f.timeout_ms),
    }
}
