//! AddZoneToVpcEndpoint, RemoveZoneFromVpcEndpoint, ListVpcEndpointZones.

use serde_json::{Value, json};

use super::super::error::ApiError;
use super::super::plane::{Ctx, Plane, endpoint_param, now_ms};
use super::super::request::Params;
use super::endpoint::{write, zone_record};
use super::{Found, Outcome, find, find_mut, view};

pub(crate) fn add(plane: &mut Plane, ctx: &Ctx<'_>, params: &Params) -> Outcome {
    let result = (|| {
        let mut r = find_mut(plane, ctx, params)?.clone();
        let fields: std::collections::BTreeMap<&str, &str> =
            ["ZoneId", "VSwitchId", "ip", "Ipv6Address"]
                .into_iter()
                .filter_map(|k| params.get(k).map(|v| (k, v)))
                .collect();
        let index = plane.used(ctx);
        let mut used = index.of(&r.vpc);
        let zone = zone_record(ctx, "", &fields, &r.ip_version, &mut used, now_ms())?;
        r.zones.push(zone);
        Ok(r)
    })();
    let r = match result {
        Ok(r) => r,
        Err(e) => return Outcome::read(Err(e)),
    };
    let last = r.zones.len() - 1;
    let param_of = move |field: &str| {
        // The new zone's fields are the request's own parameters.
        let p = endpoint_param(field);
        match p.strip_prefix(&format!("Zone.{}.", last + 1)) {
            Some(own) => own.to_string(),
            None => p,
        }
    };
    let id = r.id.clone();
    let mut out = write(plane, ctx, params, &id, Some(r), &param_of);
    out.reply = out.reply.map(|_| json!({}));
    out
}

pub(crate) fn remove(plane: &mut Plane, ctx: &Ctx<'_>, params: &Params) -> Outcome {
    let result = (|| {
        let mut r = find_mut(plane, ctx, params)?.clone();
        let zone = params.required("ZoneId")?;
        let before = r.zones.len();
        r.zones.retain(|z| z.zone != zone);
        if r.zones.len() == before {
            return Err(ApiError::bad(
                "EndpointZoneNotFound",
                format!("endpoint '{}' has no ENI in zone {zone}", r.id),
            ));
        }
        Ok(r)
    })();
    let r = match result {
        Ok(r) => r,
        Err(e) => return Outcome::read(Err(e)),
    };
    let param_of = |field: &str| match field {
        "zones" => "ZoneId".to_string(),
        other => endpoint_param(other),
    };
    let id = r.id.clone();
    let mut out = write(plane, ctx, params, &id, Some(r), &param_of);
    out.reply = out.reply.map(|_| json!({}));
    out
}

pub(crate) fn list(plane: &Plane, ctx: &Ctx<'_>, params: &Params) -> Result<Value, ApiError> {
    let e = match find(plane, ctx, params)? {
        Found::Api(r) => view::of_record(r),
        Found::Config(e) => view::of_config(e),
    };
    let (page, next, max) = view::page(&e.zones, params)?;
    let zones: Vec<Value> = page.iter().map(|z| view::zone(&e, z, ctx)).collect();
    Ok(json!({
        "Zones": zones,
        "MaxResults": max,
        "NextToken": next,
        "TotalCount": e.zones.len(),
    }))
}
