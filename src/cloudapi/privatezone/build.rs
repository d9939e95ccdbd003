//! A PrivateZone-API zone as DNS serves it: its enabled records as hickory
//! records, with the SOA and NS the zone synthesizes (the user manages
//! neither): the server's name server `ns.<suffix>` and contact
//! `hostmaster.<suffix>`, the `[server.soa]` timers, and a serial that is
//! the zone's last change in seconds.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use hickory_proto::rr::rdata::{A, AAAA, CNAME, MX, PTR, SOA, SRV, TXT};
use hickory_proto::rr::{Name, RData, Record};

use super::super::record::{PvtzRecord, PvtzZone};
use crate::config::file::ServerSection;
use crate::zonefile::{PrivateZone, synthesized_apex};

/// A record type the PrivateZone API accepts (as the cloud: A, AAAA, CNAME,
/// TXT, MX, PTR, SRV).
pub(crate) const TYPES: &[&str] = &["A", "AAAA", "CNAME", "TXT", "MX", "PTR", "SRV"];

pub(crate) fn zone_name(name: &str) -> Result<Name, String> {
    let mut n =
        Name::from_ascii(name).map_err(|e| format!("'{name}' is not a domain name: {e}"))?;
    if n.is_root() || n.num_labels() < 1 {
        return Err(format!("'{name}' is not a zone name"));
    }
    n.set_fqdn(true);
    Ok(n.to_lowercase())
}

/// The owner of host record `rr` in `origin`.
pub(crate) fn owner(rr: &str, origin: &Name) -> Result<Name, String> {
    if rr == "@" {
        return Ok(origin.clone());
    }
    let rel = Name::from_ascii(rr).map_err(|e| format!("'{rr}' is not a host record: {e}"))?;
    if rel.is_fqdn() || rr.is_empty() {
        return Err(format!(
            "'{rr}' is not a host record (write '@' for the apex)"
        ));
    }
    rel.append_domain(origin)
        .map_err(|e| format!("'{rr}.{origin}' is too long: {e}"))
}

fn target(value: &str) -> Result<Name, String> {
    let mut n =
        Name::from_ascii(value).map_err(|e| format!("'{value}' is not a domain name: {e}"))?;
    n.set_fqdn(true);
    Ok(n)
}

/// The RDATA of a record of `rtype` with `value` (and MX `priority`).
pub(crate) fn rdata(rtype: &str, value: &str, priority: Option<u16>) -> Result<RData, String> {
    Ok(match rtype {
        "A" => {
            RData::A(A(Ipv4Addr::from_str(value)
                .map_err(|_| format!("'{value}' is not an IPv4 address"))?))
        }
        "AAAA" => RData::AAAA(AAAA(
            Ipv6Addr::from_str(value).map_err(|_| format!("'{value}' is not an IPv6 address"))?,
        )),
        "CNAME" => RData::CNAME(CNAME(target(value)?)),
        "PTR" => RData::PTR(PTR(target(value)?)),
        "MX" => RData::MX(MX::new(priority.unwrap_or(10), target(value)?)),
        "TXT" => RData::TXT(TXT::new(vec![value.to_string()])),
        "SRV" => {
            let parts: Vec<&str> = value.split_whitespace().collect();
            let [p, w, port, t] = parts[..] else {
                return Err(format!(
                    "'{value}' is not an SRV value: priority weight port target"
                ));
            };
            let num = |s: &str| {
                s.parse::<u16>()
                    .map_err(|_| format!("'{s}' in '{value}' is not a number from 0 to 65535"))
            };
            RData::SRV(SRV::new(num(p)?, num(w)?, num(port)?, target(t)?))
        }
        other => {
            return Err(format!("'{other}' is not one of {}", TYPES.join(", ")));
        }
    })
}

fn record(r: &PvtzRecord, origin: &Name) -> Result<Record, String> {
    Ok(Record::from_rdata(
        owner(&r.rr, origin)?,
        r.ttl,
        rdata(&r.rtype, &r.value, r.priority)?,
    ))
}

/// The zone with its enabled records and the synthesized SOA and NS.
pub(crate) fn build(zone: &PvtzZone, server: &ServerSection) -> Result<PrivateZone, String> {
    let origin = zone_name(&zone.name)?;
    let suffix = zone_name(&server.suffix)?;
    let in_suffix = |label: &str| {
        Name::from_labels([label.as_bytes()])
            .and_then(|n| n.append_domain(&suffix))
            .map_err(|e| e.to_string())
    };
    let soa = SOA::new(
        in_suffix("ns")?,
        in_suffix("hostmaster")?,
        (zone.updated_ms / 1000) as u32,
        server.soa.refresh,
        server.soa.retry,
        server.soa.expire,
        server.soa.minimum,
    );
    let (soa, ns) = synthesized_apex(&origin, soa, server.soa.ttl);
    let records = zone
        .records
        .iter()
        .filter(|r| r.enabled)
        .map(|r| record(r, &origin))
        .collect::<Result<Vec<_>, _>>()?;
    PrivateZone::from_records(&origin, soa, vec![ns], records)
}
