//! ListVpcEndpointServicesByEndUser: the endpoint services of the config,
//! as an end user sees them.

use serde_json::{Value, json};

use super::super::error::ApiError;
use super::super::plane::Ctx;
use super::super::request::Params;
use super::view;
use crate::model::Service;

pub(crate) fn list(ctx: &Ctx<'_>, params: &Params) -> Result<Value, ApiError> {
    let filter = |name: &str| params.get(name).filter(|v| !v.is_empty());
    let services: Vec<&Service> = ctx
        .published
        .services
        .iter()
        .filter(|s| {
            filter("ServiceId").is_none_or(|v| v == s.id)
                && filter("ServiceName").is_none_or(|v| v == view::service_name(&s.id, ctx))
                && filter("ServiceRegionId").is_none_or(|v| v == s.region)
        })
        .collect();
    let (page, next, max) = view::page(&services, params)?;
    let list: Vec<Value> = page.iter().map(|s| service(s, ctx)).collect();
    Ok(json!({
        "Services": list,
        "MaxResults": max,
        "NextToken": next,
        "TotalCount": services.len(),
    }))
}

fn service(s: &Service, ctx: &Ctx<'_>) -> Value {
    // The zones of the service's region: those of its VPCs' vSwitches.
    let mut zones: Vec<&str> = ctx
        .published
        .vpcs
        .iter()
        .filter(|v| v.region == s.region)
        .flat_map(|v| v.zones.iter().map(String::as_str))
        .collect();
    zones.sort_unstable();
    zones.dedup();
    let domain = format!(
        "{}.{}.{}",
        s.id,
        s.region,
        ctx.published
            .server
            .suffix
            .to_string()
            .trim_end_matches('.')
    );
    json!({
        "ServiceId": s.id,
        "ServiceName": view::service_name(&s.id, ctx),
        "ServiceDomain": domain,
        "ServiceType": "Interface",
        "ServiceResourceType": "slb",
        "ServiceSupportIPv6": s.dual_stack,
        "AddressIpVersion": if s.dual_stack { "DualStack" } else { "IPv4" },
        "ZoneAffinityEnabled": s.zone_affinity,
        "AutoAcceptEnabled": true,
        "Payer": "Endpoint",
        "VpcEndpointPolicySupported": false,
        "Zones": zones,
        "Tags": [],
    })
}
