//! PrivateZone 2018-01-01: private zones and their records. `build` turns
//! a zone into what DNS serves; `zones` and `records` are the actions;
//! `config` shows the config file's zones, read only; `resolver` makes
//! inbound resolver endpoints.

pub(crate) mod build;
mod config;
mod records;
mod resolver;
mod zones;

use serde_json::Value;

use super::error::ApiError;
use super::plane::{Ctx, Plane};
use super::privatelink::Outcome;
use super::record::PvtzZone;
use super::request::Params;

pub(crate) const VERSION: &str = "2018-01-01";

pub(crate) fn handles(action: &str) -> bool {
    matches!(
        action,
        "AddZone"
            | "DeleteZone"
            | "DescribeZones"
            | "DescribeZoneInfo"
            | "BindZoneVpc"
            | "AddZoneRecord"
            | "UpdateZoneRecord"
            | "DeleteZoneRecord"
            | "DescribeZoneRecords"
            | "SetZoneRecordStatus"
            | "AddResolverEndpoint"
            | "DescribeResolverEndpoints"
            | "DescribeResolverEndpoint"
            | "DeleteResolverEndpoint"
    )
}

pub(crate) fn call(plane: &mut Plane, ctx: &Ctx<'_>, action: &str, params: &Params) -> Outcome {
    match action {
        "AddZone" => zones::add(plane, ctx, params),
        "DeleteZone" => zones::delete(plane, ctx, params),
        "BindZoneVpc" => zones::bind(plane, ctx, params),
        "DescribeZones" => read(zones::describe(plane, ctx, params)),
        "DescribeZoneInfo" => read(zones::info(plane, ctx, params)),
        "AddZoneRecord" => records::add(plane, ctx, params),
        "UpdateZoneRecord" => records::update(plane, ctx, params),
        "DeleteZoneRecord" => records::delete(plane, ctx, params),
        "SetZoneRecordStatus" => records::set_status(plane, ctx, params),
        "DescribeZoneRecords" => read(records::describe(plane, ctx, params)),
        "AddResolverEndpoint" => resolver::add(plane, ctx, params),
        "DeleteResolverEndpoint" => resolver::delete(plane, ctx, params),
        "DescribeResolverEndpoints" => read(resolver::describe(plane, params)),
        "DescribeResolverEndpoint" => read(resolver::describe_one(plane, params)),
        other => read(Err(super::privatelink::not_found_action(other))),
    }
}

fn read(reply: Result<Value, ApiError>) -> Outcome {
    Outcome {
        reply,
        publish: None,
    }
}

fn zone_not_found(id: &str) -> ApiError {
    ApiError::bad(
        "Zone.NotExists",
        format!("The specified zone '{id}' does not exist."),
    )
}

/// The API-created zone a call names; a config-declared one is read only.
fn find_zone<'a>(plane: &'a Plane, params: &Params) -> Result<&'a PvtzZone, ApiError> {
    let id = params.required("ZoneId")?;
    if config::is_config_id(id) {
        return Err(config::read_only(&format!("zone '{id}'")));
    }
    plane.zone(id).ok_or_else(|| zone_not_found(id))
}

/// Validates and commits a zone change; the reply is `reply` once it is
/// durable and answered.
fn write(
    plane: &mut Plane,
    ctx: &Ctx<'_>,
    id: &str,
    new: Option<PvtzZone>,
    param: &str,
    reply: Value,
) -> Outcome {
    let result = plane
        .check_zone(ctx, id, new.as_ref(), param)
        .and_then(|desired| plane.commit_zone(ctx, id, new, desired));
    match result {
        Ok(publish) => Outcome {
            reply: Ok(reply),
            publish,
        },
        Err(e) => read(Err(e)),
    }
}

/// One page by `PageNumber` (from 1) and `PageSize` (default 20, at most
/// 100), with the PrivateZone API's totals.
type Totals = serde_json::Map<String, Value>;

fn page<'a, T>(items: &'a [T], params: &Params) -> Result<(&'a [T], Totals), ApiError> {
    let number = params.number("PageNumber", 1..=1_000_000)?.unwrap_or(1);
    let size = params.number("PageSize", 1..=100)?.unwrap_or(20);
    let start = ((number - 1) * size) as usize;
    let page = if start < items.len() {
        &items[start..(start + size as usize).min(items.len())]
    } else {
        &items[0..0]
    };
    let mut totals = serde_json::Map::new();
    totals.insert("PageNumber".into(), number.into());
    totals.insert("PageSize".into(), size.into());
    totals.insert("TotalItems".into(), items.len().into());
    totals.insert(
        "TotalPages".into(),
        (items.len() as u64).div_ceil(size).into(),
    );
    Ok((page, totals))
}
