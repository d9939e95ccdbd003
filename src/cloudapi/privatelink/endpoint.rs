//! CreateVpcEndpoint, UpdateVpcEndpointAttribute, DeleteVpcEndpoint.

use serde_json::json;

use super::super::alloc::{Used, free_address};
use super::super::error::ApiError;
use super::super::plane::{Ctx, Plane, endpoint_param, now_ms};
use super::super::record::{EndpointRecord, EndpointStatus, ZoneRecord, ZoneStatus};
use super::super::request::Params;
use super::{Outcome, dry_run, find_mut, tags, view};
use crate::config::file::VswitchSection;

pub(crate) fn create(plane: &mut Plane, ctx: &Ctx<'_>, params: &Params) -> Outcome {
    let record = match new_record(plane, ctx, params) {
        Ok(Ok(r)) => r,
        // The same ClientToken: the endpoint that call created.
        Ok(Err(existing)) => {
            let v = view::endpoint(&view::of_record(&existing), ctx);
            return Outcome::read(Ok(v));
        }
        Err(e) => return Outcome::read(Err(e)),
    };
    write(
        plane,
        ctx,
        params,
        &record.id.clone(),
        Some(record),
        &endpoint_param,
    )
}

/// Validates and commits one change; the reply is the endpoint as it now
/// is (or `{}` once deleted).
pub(super) fn write(
    plane: &mut Plane,
    ctx: &Ctx<'_>,
    params: &Params,
    id: &str,
    new: Option<EndpointRecord>,
    param_of: &dyn Fn(&str) -> String,
) -> Outcome {
    let result = (|| {
        let desired = plane.check(ctx, id, new.as_ref(), param_of)?;
        if params.bool("DryRun")?.unwrap_or(false) {
            return Err(dry_run());
        }
        let reply = match &new {
            Some(r) => view::endpoint(&view::of_record(r), ctx),
            None => json!({}),
        };
        let publish = plane.commit(ctx, id, new.clone(), desired)?;
        Ok((reply, publish))
    })();
    match result {
        Ok((reply, publish)) => Outcome {
            reply: Ok(reply),
            publish,
        },
        Err(e) => Outcome::read(Err(e)),
    }
}

/// The record a CreateVpcEndpoint asks for, or (`Ok(Err)`) the one an
/// earlier call with the same ClientToken created.
fn new_record(
    plane: &Plane,
    ctx: &Ctx<'_>,
    params: &Params,
) -> Result<Result<EndpointRecord, EndpointRecord>, ApiError> {
    let token = params.get("ClientToken").filter(|t| !t.is_empty());
    if let Some(t) = token
        && let Some(r) = plane
            .endpoints()
            .values()
            .find(|r| r.client_token.as_deref() == Some(t))
    {
        return Ok(Err(r.clone()));
    }
    let vpc = params.required("VpcId")?.to_string();
    let service = service_id(params)?;
    let Some(svc) = ctx.base.service.iter().find(|s| s.id == service) else {
        return Err(ApiError::bad(
            "EndpointServiceNotFound",
            format!("The specified endpoint service '{service}' does not exist."),
        ));
    };
    let reverse = match params.get("EndpointType").unwrap_or("Interface") {
        "Interface" => false,
        "Reverse" => true,
        other => {
            return Err(ApiError::illegal(
                "EndpointType",
                format!("'{other}' is not Interface or Reverse"),
            ));
        }
    };
    let tags = tags::of_request(params)?;
    let policy_document = params
        .get("PolicyDocument")
        .filter(|p| !p.is_empty())
        .map(policy_document)
        .transpose()?;
    let ip_version = match params.get("AddressIpVersion").unwrap_or("IPv4") {
        "IPv4" => "ipv4",
        "DualStack" => "dual-stack",
        other => {
            return Err(ApiError::illegal(
                "AddressIpVersion",
                format!("'{other}' is not IPv4 or DualStack"),
            ));
        }
    };
    let vpc_region = ctx
        .base
        .vpc
        .iter()
        .find(|v| v.id == vpc)
        .map(|v| v.region.clone());
    if let Some(r) = params.get("ServiceRegionId")
        && r != svc.region
    {
        return Err(ApiError::illegal(
            "ServiceRegionId",
            format!("service '{service}' is in {}, not {r}", svc.region),
        ));
    }
    let security_groups: Vec<String> = params
        .list("SecurityGroupId")
        .into_iter()
        .map(|(_, g)| g.to_string())
        .collect();
    if security_groups.is_empty() {
        return Err(ApiError::missing("SecurityGroupId.1"));
    }
    let now = now_ms();
    let index = plane.used(ctx);
    let mut used = index.of(&vpc);
    let mut zones = Vec::new();
    for (n, z) in params.structs("Zone") {
        zones.push(zone_record(
            ctx,
            &format!("Zone.{n}."),
            &z,
            ip_version,
            &mut used,
            now,
        )?);
    }
    let id = new_id();
    let custom_domain = custom_domain_free(plane, ctx, &vpc, service);
    Ok(Ok(EndpointRecord {
        name: params.get("EndpointName").unwrap_or(&id).to_string(),
        description: params
            .get("EndpointDescription")
            .unwrap_or_default()
            .to_string(),
        id,
        vpc,
        service: service.to_string(),
        ip_version: ip_version.to_string(),
        zone_affinity: params.bool("ZoneAffinityEnabled")?.unwrap_or(false),
        cross_region: vpc_region.is_some_and(|r| r != svc.region),
        security_groups,
        zones,
        status: EndpointStatus::Creating,
        created_ms: now,
        client_token: token.map(str::to_string),
        policy_document,
        reverse,
        tags,
        custom_domain,
    }))
}

/// A policy document as the cloud takes it: a JSON object (kept as sent).
pub(super) fn policy_document(text: &str) -> Result<String, ApiError> {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(v) if v.is_object() => Ok(text.to_string()),
        Ok(_) => Err(ApiError::illegal(
            "PolicyDocument",
            "not a JSON object (a policy is {\"Version\": ..., \"Statement\": [...]})",
        )),
        Err(e) => Err(ApiError::illegal(
            "PolicyDocument",
            format!("not valid JSON: {e}"),
        )),
    }
}

/// Whether a new endpoint of `service` in `vpc` takes the service's custom
/// domain: the service has one and no endpoint of the VPC (config-declared
/// or API-created, pending included) answers it yet.
fn custom_domain_free(plane: &Plane, ctx: &Ctx<'_>, vpc: &str, service: &str) -> bool {
    let domain_of = |svc: &str| {
        ctx.published
            .services
            .iter()
            .find(|s| s.id == svc)
            .and_then(|s| s.custom_domain.clone())
    };
    let Some(domain) = domain_of(service) else {
        return false;
    };
    let config = ctx
        .published
        .endpoints
        .iter()
        .filter(|e| plane.endpoint(&e.id).is_none())
        .any(|e| e.vpc == vpc && e.custom_domain.as_ref() == Some(&domain));
    let api = plane.endpoints().values().any(|r| {
        r.vpc == vpc && r.custom_domain && domain_of(&r.service).as_ref() == Some(&domain)
    });
    !config && !api
}

/// `ServiceId`, or the id at the end of `ServiceName`
/// (`com.aliyuncs.privatelink.<region>.<service id>`).
fn service_id(params: &Params) -> Result<&str, ApiError> {
    if let Some(id) = params.get("ServiceId").filter(|s| !s.is_empty()) {
        return Ok(id);
    }
    match params.get("ServiceName").filter(|s| !s.is_empty()) {
        Some(name) => Ok(name.rsplit('.').next().unwrap_or(name)),
        None => Err(ApiError::missing("ServiceId")),
    }
}

/// One zone of a request (`prefix` is `Zone.N.` or empty): its vSwitch,
/// its zone (which must be the vSwitch's), and its addresses (a free one of
/// the vSwitch when not given).
pub(super) fn zone_record(
    ctx: &Ctx<'_>,
    prefix: &str,
    z: &std::collections::BTreeMap<&str, &str>,
    ip_version: &str,
    used: &mut Used<'_>,
    now: u64,
) -> Result<ZoneRecord, ApiError> {
    let param = |f: &str| format!("{prefix}{f}");
    let Some(vswitch) = z.get("VSwitchId").filter(|v| !v.is_empty()) else {
        return Err(ApiError::missing(&param("VSwitchId")));
    };
    let vsw = ctx.base.vswitch.iter().find(|s| s.id == *vswitch);
    let zone = match (z.get("ZoneId"), vsw) {
        (Some(id), Some(v)) if *id != v.zone => {
            return Err(ApiError::illegal(
                &param("ZoneId"),
                format!("vSwitch '{vswitch}' is in zone {}, not {id}", v.zone),
            ));
        }
        (_, Some(v)) => v.zone.clone(),
        (Some(id), None) => id.to_string(),
        (None, None) => return Err(ApiError::missing(&param("ZoneId"))),
    };
    let ip = match z.get("ip").filter(|v| !v.is_empty()) {
        Some(ip) => ip.to_string(),
        None => allocate(vsw, false, used, &param("ip"))?,
    };
    let ipv6 = match z.get("Ipv6Address").filter(|v| !v.is_empty()) {
        Some(v6) => Some(v6.to_string()),
        None if ip_version == "dual-stack" && vsw.is_some_and(|v| v.ipv6_cidr.is_some()) => {
            Some(allocate(vsw, true, used, &param("Ipv6Address"))?)
        }
        None => None,
    };
    for a in [Some(&ip), ipv6.as_ref()].into_iter().flatten() {
        if let Ok(addr) = a.parse() {
            used.insert(addr);
        }
    }
    Ok(ZoneRecord {
        zone,
        vswitch: vswitch.to_string(),
        ip,
        ipv6,
        status: ZoneStatus::Connecting,
        since_ms: now,
    })
}

/// A free address of the vSwitch; an unknown vSwitch gets "" and
/// validation names it.
fn allocate(
    vsw: Option<&VswitchSection>,
    v6: bool,
    used: &Used<'_>,
    param: &str,
) -> Result<String, ApiError> {
    let Some(vsw) = vsw else {
        return Ok(String::new());
    };
    let cidr = if v6 {
        vsw.ipv6_cidr.as_deref()
    } else {
        Some(vsw.cidr.as_str())
    };
    let Some(cidr) = cidr.and_then(|c| c.parse().ok()) else {
        return Ok(String::new());
    };
    free_address(cidr, used)
        .map(|a| a.to_string())
        .ok_or_else(|| {
            ApiError::bad(
                "QuotaExceeded.PrivateIpAddress",
                format!("{param}: vSwitch '{}' has no free address left", vsw.id),
            )
        })
}

/// `ep-` and 20 lowercase letters and digits, like the cloud's ids.
fn new_id() -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let tail: String = (0..20)
        .map(|_| CHARS[rand::random_range(0..CHARS.len())] as char)
        .collect();
    format!("ep-{tail}")
}

pub(crate) fn update(plane: &mut Plane, ctx: &Ctx<'_>, params: &Params) -> Outcome {
    let mut r = match find_mut(plane, ctx, params) {
        Ok(r) => r.clone(),
        Err(e) => return Outcome::read(Err(e)),
    };
    let changes = (|| {
        if let Some(on) = params.bool("ZoneAffinityEnabled")? {
            r.zone_affinity = on;
        }
        if let Some(n) = params.get("EndpointName") {
            r.name = n.to_string();
        }
        if let Some(d) = params.get("EndpointDescription") {
            r.description = d.to_string();
        }
        if let Some(p) = params.get("PolicyDocument").filter(|p| !p.is_empty()) {
            r.policy_document = Some(policy_document(p)?);
        }
        if params.bool("ResetPolicy")?.unwrap_or(false) {
            r.policy_document = None;
        }
        Ok(())
    })();
    if let Err(e) = changes {
        return Outcome::read(Err(e));
    }
    let id = r.id.clone();
    let mut out = write(plane, ctx, params, &id, Some(r), &endpoint_param);
    // The SDK's reply model for an update holds only the RequestId.
    out.reply = out.reply.map(|_| json!({}));
    out
}

pub(crate) fn delete(plane: &mut Plane, ctx: &Ctx<'_>, params: &Params) -> Outcome {
    let id = match find_mut(plane, ctx, params) {
        Ok(r) => r.id.clone(),
        Err(e) => return Outcome::read(Err(e)),
    };
    write(plane, ctx, params, &id, None, &endpoint_param)
}
