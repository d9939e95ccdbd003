//! Endpoints as the SDK's reply models show them.

use std::hash::{Hash, Hasher};

use serde_json::{Value, json};

use super::super::error::ApiError;
use super::super::plane::Ctx;
use super::super::record::{EndpointRecord, EndpointStatus, Tag};
use super::super::request::Params;
use crate::model::{Endpoint, EndpointType, IpVersion, names};

/// One endpoint, from whichever source, in the API's terms.
pub(crate) struct EndpointView {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) vpc: String,
    pub(crate) service: String,
    /// "Interface" or "Reverse".
    pub(crate) endpoint_type: &'static str,
    /// "IPv4" or "DualStack".
    pub(crate) ip_version: &'static str,
    pub(crate) zone_affinity: bool,
    pub(crate) cross_region: bool,
    /// "Creating" or "Active".
    pub(crate) status: &'static str,
    pub(crate) created_ms: u64,
    pub(crate) policy_document: Option<String>,
    pub(crate) tags: Vec<Tag>,
    pub(crate) zones: Vec<ZoneView>,
}

pub(crate) struct ZoneView {
    pub(crate) zone: String,
    pub(crate) vswitch: String,
    pub(crate) ip: String,
    pub(crate) ipv6: Option<String>,
    pub(crate) status: &'static str,
}

pub(crate) fn of_record(r: &EndpointRecord) -> EndpointView {
    EndpointView {
        id: r.id.clone(),
        name: r.name.clone(),
        description: r.description.clone(),
        vpc: r.vpc.clone(),
        service: r.service.clone(),
        endpoint_type: if r.reverse { "Reverse" } else { "Interface" },
        ip_version: if r.ip_version == "dual-stack" {
            "DualStack"
        } else {
            "IPv4"
        },
        zone_affinity: r.zone_affinity,
        cross_region: r.cross_region,
        status: r.status.as_str(),
        created_ms: r.created_ms,
        policy_document: r.policy_document.clone(),
        tags: r.tags.clone(),
        zones: r
            .zones
            .iter()
            .map(|z| ZoneView {
                zone: z.zone.clone(),
                vswitch: z.vswitch.clone(),
                ip: z.ip.clone(),
                ipv6: z.ipv6.clone(),
                status: z.status.as_str(),
            })
            .collect(),
    }
}

/// A config-declared endpoint: Active, every zone Connected, no security
/// groups (the config has none).
pub(crate) fn of_config(e: &Endpoint) -> EndpointView {
    EndpointView {
        id: e.id.clone(),
        name: e.id.clone(),
        description: "declared in the epdns config file".into(),
        vpc: e.vpc.clone(),
        service: e.service.clone(),
        endpoint_type: match e.endpoint_type {
            EndpointType::Interface => "Interface",
            EndpointType::Reverse => "Reverse",
        },
        ip_version: match e.ip_version {
            IpVersion::Ipv4 => "IPv4",
            IpVersion::DualStack => "DualStack",
        },
        zone_affinity: e.zone_affinity,
        cross_region: e.cross_region,
        status: EndpointStatus::Active.as_str(),
        created_ms: 0,
        policy_document: None,
        tags: Vec::new(),
        zones: e
            .zones
            .iter()
            .map(|z| ZoneView {
                zone: z.zone.clone(),
                vswitch: z.vswitch.clone(),
                ip: z.ip.to_string(),
                ipv6: z.ipv6.map(|v| v.to_string()),
                status: "Connected",
            })
            .collect(),
    }
}

/// A name as the API writes it: no final dot.
fn plain(name: &hickory_proto::rr::Name) -> String {
    name.to_string().trim_end_matches('.').to_string()
}

fn service<'a>(id: &str, ctx: &'a Ctx<'_>) -> Option<&'a crate::model::Service> {
    ctx.published.services.iter().find(|s| s.id == id)
}

/// The service's name as the cloud writes it:
/// `com.aliyuncs.privatelink.<region>.<service>`.
pub(crate) fn service_name(id: &str, ctx: &Ctx<'_>) -> String {
    match service(id, ctx) {
        Some(s) => format!("com.aliyuncs.privatelink.{}.{}", s.region, s.id),
        None => id.to_string(),
    }
}

pub(crate) fn endpoint_domain(e: &EndpointView, ctx: &Ctx<'_>) -> String {
    service(&e.service, ctx)
        .and_then(|s| names::endpoint_domain(&ctx.published.server.suffix, &e.id, s).ok())
        .map(|n| plain(&n))
        .unwrap_or_default()
}

/// Cross-region endpoints have no zone domains.
pub(crate) fn zone_domain(e: &EndpointView, zone: &str, ctx: &Ctx<'_>) -> String {
    if e.cross_region {
        return String::new();
    }
    service(&e.service, ctx)
        .and_then(|s| names::zone_domain(&ctx.published.server.suffix, &e.id, s, zone).ok())
        .map(|n| plain(&n))
        .unwrap_or_default()
}

/// ISO 8601 UTC, as the cloud writes times.
pub(crate) fn time(ms: u64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp((ms / 1000) as i64)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

pub(crate) fn region(e: &EndpointView, ctx: &Ctx<'_>) -> String {
    ctx.published
        .vpcs
        .iter()
        .find(|v| v.id == e.vpc)
        .map(|v| v.region.clone())
        .unwrap_or_default()
}

/// The fields Create, Get and List share.
pub(crate) fn endpoint(e: &EndpointView, ctx: &Ctx<'_>) -> Value {
    let service_region = service(&e.service, ctx)
        .map(|s| s.region.clone())
        .unwrap_or_default();
    json!({
        "EndpointId": e.id,
        "EndpointName": e.name,
        "EndpointDescription": e.description,
        "EndpointDomain": endpoint_domain(e, ctx),
        "EndpointStatus": e.status,
        "EndpointBusinessStatus": "Normal",
        "EndpointType": e.endpoint_type,
        "ConnectionStatus": if e.status == "Active" { "Connected" } else { "Connecting" },
        "AddressIpVersion": e.ip_version,
        "ZoneAffinityEnabled": e.zone_affinity,
        "ServiceId": e.service,
        "ServiceName": service_name(&e.service, ctx),
        "ServiceRegionId": service_region,
        "RegionId": region(e, ctx),
        "VpcId": e.vpc,
        "CreateTime": time(e.created_ms),
        "Bandwidth": 3072,
        "ResourceOwner": true,
        "PolicyDocument": e.policy_document,
        "Tags": e
            .tags
            .iter()
            .map(|t| json!({"Key": t.key, "Value": t.value}))
            .collect::<Vec<_>>(),
    })
}

/// A stable ENI id for an endpoint's zone.
pub(crate) fn eni_id(endpoint: &str, zone: &str) -> String {
    let mut h = rustc_hash::FxHasher::default();
    (endpoint, zone).hash(&mut h);
    format!("eni-{:016x}", h.finish())
}

pub(crate) fn zone(e: &EndpointView, z: &ZoneView, ctx: &Ctx<'_>) -> Value {
    json!({
        "ZoneId": z.zone,
        "VSwitchId": z.vswitch,
        "EniId": eni_id(&e.id, &z.zone),
        "EniIp": z.ip,
        "ZoneIpv6Address": z.ipv6,
        "ZoneDomain": zone_domain(e, &z.zone, ctx),
        "ZoneStatus": z.status,
        "RegionId": region(e, ctx),
    })
}

/// One page of `items` by `MaxResults` (default 50, at most 1000) and
/// `NextToken` (the index of the next item, as the previous page said):
/// the page, the next token ("" on the last page) and the page size.
pub(crate) fn page<'a, T>(
    items: &'a [T],
    params: &Params,
) -> Result<(&'a [T], String, u64), ApiError> {
    let max = params.number("MaxResults", 1..=1000)?.unwrap_or(50);
    let start = match params.get("NextToken").filter(|t| !t.is_empty()) {
        None => 0,
        Some(t) => t
            .parse::<usize>()
            .ok()
            .filter(|n| *n <= items.len())
            .ok_or_else(|| {
                ApiError::illegal("NextToken", format!("'{t}' is not a token this API gave"))
            })?,
    };
    let end = (start + max as usize).min(items.len());
    let next = if end < items.len() {
        end.to_string()
    } else {
        String::new()
    };
    Ok((&items[start..end], next, max))
}
