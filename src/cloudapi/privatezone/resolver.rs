//! AddResolverEndpoint, DescribeResolverEndpoints, DescribeResolverEndpoint,
//! DeleteResolverEndpoint: inbound endpoints of the on-premises setup. Each
//! address (`IpConfig.N.Ip`, or a free one of `IpConfig.N.VSwitchId`) is an
//! inbound listener for the endpoint's VPC on `[api] inbound_port`, as the
//! config's `[[inbound]]` listeners are: queries arriving on it are answered
//! as for that VPC. It is open from the call's reply on.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;
use serde_json::{Value, json};

use super::super::alloc::{Used, free_address};
use super::super::error::ApiError;
use super::super::plane::{Ctx, Plane, now_ms};
use super::super::privatelink::{Outcome, view::time};
use super::super::record::{IpConfig, ResolverEndpointRecord};
use super::super::request::Params;
use super::{page, read};

/// The cloud's status of an endpoint that is serving.
const SERVING: &str = "SUCCESS";

pub(crate) fn add(plane: &mut Plane, ctx: &Ctx<'_>, params: &Params) -> Outcome {
    let record = match new_record(plane, ctx, params) {
        Ok(r) => r,
        Err(e) => return read(Err(e)),
    };
    let id = record.id.clone();
    let result = plane
        .check_resolver(ctx, &id, Some(&record), "IpConfig.Ip")
        .and_then(|desired| plane.commit_resolver(ctx, &id, Some(record), desired));
    match result {
        Ok(publish) => Outcome {
            reply: Ok(json!({ "EndpointId": id })),
            publish,
        },
        Err(e) => read(Err(e)),
    }
}

fn new_record(
    plane: &Plane,
    ctx: &Ctx<'_>,
    params: &Params,
) -> Result<ResolverEndpointRecord, ApiError> {
    let name = params.required("Name")?.to_string();
    let vpc_id = params.required("VpcId")?;
    let Some(vpc) = ctx.base.vpc.iter().find(|v| v.id == vpc_id) else {
        return Err(ApiError::illegal(
            "VpcId",
            format!("no VPC with id '{vpc_id}'"),
        ));
    };
    let region = params.required("VpcRegionId")?;
    if region != vpc.region {
        return Err(ApiError::illegal(
            "VpcRegionId",
            format!("VPC '{vpc_id}' is in {}, not {region}", vpc.region),
        ));
    }
    let security_group = params.required("SecurityGroupId")?.to_string();
    let configs = params.structs("IpConfig");
    if configs.is_empty() {
        return Err(ApiError::missing("IpConfig.1.VSwitchId"));
    }
    let index = plane.used(ctx);
    let mut used = index.of(vpc_id);
    let mut ip_configs = Vec::new();
    for (n, c) in configs {
        let config = ip_config(ctx, vpc_id, n, &c, &used)?;
        if let Ok(ip) = config.ip.parse() {
            used.insert(ip);
        }
        ip_configs.push(config);
    }
    let port = ctx.base.api.as_ref().map_or(53, |a| a.inbound_port);
    Ok(ResolverEndpointRecord {
        id: new_id(),
        name,
        vpc: vpc_id.to_string(),
        region: vpc.region.clone(),
        security_group,
        ip_configs,
        port,
        created_ms: now_ms(),
    })
}

/// One `IpConfig.N`: its vSwitch (of the endpoint's VPC), its zone and CIDR
/// (the vSwitch's, when given), and its address: usable in the vSwitch and
/// nobody's, or the lowest free one.
fn ip_config(
    ctx: &Ctx<'_>,
    vpc: &str,
    n: u32,
    c: &BTreeMap<&str, &str>,
    used: &Used<'_>,
) -> Result<IpConfig, ApiError> {
    let param = |f: &str| format!("IpConfig.{n}.{f}");
    let Some(vswitch) = c.get("VSwitchId").filter(|v| !v.is_empty()) else {
        return Err(ApiError::missing(&param("VSwitchId")));
    };
    let Some(vsw) = ctx
        .base
        .vswitch
        .iter()
        .find(|s| s.id == *vswitch && s.vpc == vpc)
    else {
        return Err(ApiError::illegal(
            &param("VSwitchId"),
            format!("no vSwitch '{vswitch}' in VPC '{vpc}'"),
        ));
    };
    if let Some(az) = c.get("AzId").filter(|z| **z != vsw.zone) {
        return Err(ApiError::illegal(
            &param("AzId"),
            format!("vSwitch '{vswitch}' is in zone {}, not {az}", vsw.zone),
        ));
    }
    if let Some(cidr) = c.get("CidrBlock").filter(|b| **b != vsw.cidr) {
        return Err(ApiError::illegal(
            &param("CidrBlock"),
            format!("vSwitch '{vswitch}' has CIDR {}, not {cidr}", vsw.cidr),
        ));
    }
    let net: IpNet = vsw.cidr.parse().map_err(|_| {
        ApiError::internal(format!("vSwitch '{vswitch}' CIDR {} unreadable", vsw.cidr))
    })?;
    let ip = match c.get("Ip").filter(|v| !v.is_empty()) {
        Some(text) => {
            let ip: IpAddr = text.parse().map_err(|_| {
                ApiError::illegal(&param("Ip"), format!("'{text}' is not an IP address"))
            })?;
            usable(net, ip, used).map_err(|m| ApiError::illegal(&param("Ip"), m))?;
            ip
        }
        None => free_address(net, used).ok_or_else(|| {
            ApiError::bad(
                "QuotaExceeded.PrivateIpAddress",
                format!(
                    "{}: vSwitch '{vswitch}' has no free address left",
                    param("Ip")
                ),
            )
        })?,
    };
    Ok(IpConfig {
        zone: vsw.zone.clone(),
        vswitch: vswitch.to_string(),
        cidr: vsw.cidr.clone(),
        ip: ip.to_string(),
    })
}

/// The rule of `free_address` for an address given: inside the CIDR, not
/// reserved (the first and the last three), not in use.
fn usable(net: IpNet, ip: IpAddr, used: &Used<'_>) -> Result<(), String> {
    if !net.contains(&ip) {
        return Err(format!("{ip} is outside the vSwitch's CIDR {net}"));
    }
    let reserved = ip == net.network()
        || match (ip, net.broadcast()) {
            (IpAddr::V4(a), IpAddr::V4(b)) => u32::from(b) - u32::from(a) < 3,
            (IpAddr::V6(a), IpAddr::V6(b)) => u128::from(b) - u128::from(a) < 3,
            _ => false,
        };
    if reserved {
        return Err(format!(
            "{ip} is reserved in CIDR {net} (the first address and the last three are)"
        ));
    }
    if used.contains(&ip) {
        return Err(format!("{ip} is already in use in this VPC"));
    }
    Ok(())
}

/// `hr-` and 20 lowercase letters and digits, like the cloud's ids.
fn new_id() -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let tail: String = (0..20)
        .map(|_| CHARS[rand::random_range(0..CHARS.len())] as char)
        .collect();
    format!("hr-{tail}")
}

fn find<'a>(plane: &'a Plane, params: &Params) -> Result<&'a ResolverEndpointRecord, ApiError> {
    let id = params.required("EndpointId")?;
    plane.resolvers().get(id).ok_or_else(|| {
        ApiError::bad(
            "ResolverEndpoint.NotExists",
            format!("The specified resolver endpoint '{id}' does not exist."),
        )
    })
}

pub(crate) fn delete(plane: &mut Plane, ctx: &Ctx<'_>, params: &Params) -> Outcome {
    let id = match find(plane, params) {
        Ok(r) => r.id.clone(),
        Err(e) => return read(Err(e)),
    };
    let result = plane
        .check_resolver(ctx, &id, None, "EndpointId")
        .and_then(|desired| plane.commit_resolver(ctx, &id, None, desired));
    match result {
        Ok(publish) => Outcome {
            reply: Ok(json!({})),
            publish,
        },
        Err(e) => read(Err(e)),
    }
}

/// The fields DescribeResolverEndpoint and DescribeResolverEndpoints share.
fn view(r: &ResolverEndpointRecord) -> Value {
    let ips: Vec<Value> = r
        .ip_configs
        .iter()
        .map(|c| json!({"AzId": c.zone, "VSwitchId": c.vswitch, "CidrBlock": c.cidr, "Ip": c.ip}))
        .collect();
    json!({
        "Id": r.id,
        "Name": r.name,
        "VpcId": r.vpc,
        "VpcName": r.vpc,
        "VpcRegionId": r.region,
        "VpcRegionName": r.region,
        "SecurityGroupId": r.security_group,
        "Status": SERVING,
        "IpConfigs": ips,
        "CreateTime": time(r.created_ms),
        "CreateTimestamp": r.created_ms,
        "UpdateTime": time(r.created_ms),
        "UpdateTimestamp": r.created_ms,
    })
}

pub(crate) fn describe_one(plane: &Plane, params: &Params) -> Result<Value, ApiError> {
    find(plane, params).map(view)
}

pub(crate) fn describe(plane: &Plane, params: &Params) -> Result<Value, ApiError> {
    let keyword = params.get("Keyword").filter(|k| !k.is_empty());
    let status = params.get("Status").filter(|s| !s.is_empty());
    let region = params.get("VpcRegionId").filter(|s| !s.is_empty());
    let all: Vec<Value> = plane
        .resolvers()
        .values()
        .filter(|r| {
            keyword.is_none_or(|k| r.name.contains(k) || r.id.contains(k))
                && status.is_none_or(|s| s == SERVING)
                && region.is_none_or(|g| g == r.region)
        })
        .map(view)
        .collect();
    let (page, mut body) = page(&all, params)?;
    body.insert("Endpoints".into(), json!(page));
    Ok(Value::Object(body))
}
