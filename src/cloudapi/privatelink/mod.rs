//! PrivateLink 2020-04-15: the endpoint actions. `view` turns an endpoint
//! (API-created or config-declared) into the reply fields the SDK's models
//! read; `endpoint` creates, updates and deletes; `zones` and `groups`
//! change an endpoint's zones and security groups; `tags` keeps their tags;
//! `services` lists the endpoint services.

mod endpoint;
mod groups;
mod services;
mod tags;
pub(super) mod view;
mod zones;

use serde_json::{Value, json};

use super::error::ApiError;
use super::plane::{Ctx, Plane};
use super::record::EndpointRecord;
use super::request::Params;
use crate::model::{Endpoint, Model};

pub(crate) const VERSION: &str = "2020-04-15";

/// A call's reply and, when DNS must change, the model to publish.
pub(crate) struct Outcome {
    pub(crate) reply: Result<Value, ApiError>,
    pub(crate) publish: Option<Model>,
}

impl Outcome {
    fn read(reply: Result<Value, ApiError>) -> Outcome {
        Outcome {
            reply,
            publish: None,
        }
    }
}

/// True when `action` is one of ours.
pub(crate) fn handles(action: &str) -> bool {
    matches!(
        action,
        "CreateVpcEndpoint"
            | "GetVpcEndpointAttribute"
            | "ListVpcEndpoints"
            | "DeleteVpcEndpoint"
            | "UpdateVpcEndpointAttribute"
            | "AddZoneToVpcEndpoint"
            | "RemoveZoneFromVpcEndpoint"
            | "ListVpcEndpointZones"
            | "AttachSecurityGroupToVpcEndpoint"
            | "DetachSecurityGroupFromVpcEndpoint"
            | "ListVpcEndpointSecurityGroups"
            | "ListVpcEndpointServicesByEndUser"
            | "TagResources"
            | "UntagResources"
            | "ListTagResources"
    )
}

pub(crate) fn call(plane: &mut Plane, ctx: &Ctx<'_>, action: &str, params: &Params) -> Outcome {
    match action {
        "CreateVpcEndpoint" => endpoint::create(plane, ctx, params),
        "UpdateVpcEndpointAttribute" => endpoint::update(plane, ctx, params),
        "DeleteVpcEndpoint" => endpoint::delete(plane, ctx, params),
        "AddZoneToVpcEndpoint" => zones::add(plane, ctx, params),
        "RemoveZoneFromVpcEndpoint" => zones::remove(plane, ctx, params),
        "AttachSecurityGroupToVpcEndpoint" => Outcome::read(groups::attach(plane, ctx, params)),
        "DetachSecurityGroupFromVpcEndpoint" => Outcome::read(groups::detach(plane, ctx, params)),
        "GetVpcEndpointAttribute" => Outcome::read(get(plane, ctx, params)),
        "ListVpcEndpoints" => Outcome::read(list(plane, ctx, params)),
        "ListVpcEndpointZones" => Outcome::read(zones::list(plane, ctx, params)),
        "ListVpcEndpointSecurityGroups" => Outcome::read(groups::list(plane, ctx, params)),
        "ListVpcEndpointServicesByEndUser" => Outcome::read(services::list(ctx, params)),
        "TagResources" => Outcome::read(tags::tag(plane, ctx, params)),
        "UntagResources" => Outcome::read(tags::untag(plane, ctx, params)),
        "ListTagResources" => Outcome::read(tags::list(plane, ctx, params)),
        other => Outcome::read(Err(not_found_action(other))),
    }
}

pub(crate) fn not_found_action(action: &str) -> ApiError {
    ApiError::new(
        404,
        "InvalidAction.NotFound",
        format!("Specified api '{action}' is not found, please check your url and method."),
    )
}

/// An endpoint by id: one the API created, or one the config declares.
enum Found<'a> {
    Api(&'a EndpointRecord),
    Config(&'a Endpoint),
}

fn find<'a>(plane: &'a Plane, ctx: &'a Ctx<'_>, params: &Params) -> Result<Found<'a>, ApiError> {
    find_id(plane, ctx, params.required("EndpointId")?)
}

fn find_id<'a>(plane: &'a Plane, ctx: &'a Ctx<'_>, id: &str) -> Result<Found<'a>, ApiError> {
    if let Some(r) = plane.endpoint(id) {
        return Ok(Found::Api(r));
    }
    if let Some(e) = ctx.published.endpoint(id) {
        return Ok(Found::Config(e));
    }
    Err(ApiError::bad(
        "EndpointNotFound",
        format!("The specified endpoint '{id}' does not exist."),
    ))
}

/// The API-created endpoint a change is for; config-declared ones are read
/// only.
fn find_mut<'a>(
    plane: &'a Plane,
    ctx: &'a Ctx<'_>,
    params: &Params,
) -> Result<&'a EndpointRecord, ApiError> {
    match find(plane, ctx, params)? {
        Found::Api(r) => Ok(r),
        Found::Config(e) => Err(read_only(&e.id)),
    }
}

fn read_only(id: &str) -> ApiError {
    ApiError::bad(
        "OperationDenied.ConfigDeclared",
        format!(
            "endpoint '{id}' is declared in epdns's config file: change it there (and reload); \
             the API changes only the endpoints it created"
        ),
    )
}

/// The cloud's answer to a DryRun call that would succeed.
fn dry_run() -> ApiError {
    ApiError::bad(
        "DryRunOperation",
        "Request validation has been passed with DryRun flag set.",
    )
}

fn get(plane: &Plane, ctx: &Ctx<'_>, params: &Params) -> Result<Value, ApiError> {
    let mut v = match find(plane, ctx, params)? {
        Found::Api(r) => view::endpoint(&view::of_record(r), ctx),
        Found::Config(e) => view::endpoint(&view::of_config(e), ctx),
    };
    v["ZonePrivateIpAddressCount"] = json!(1);
    v["Payer"] = json!("Endpoint");
    Ok(v)
}

fn list(plane: &Plane, ctx: &Ctx<'_>, params: &Params) -> Result<Value, ApiError> {
    let mut all: Vec<view::EndpointView> = ctx
        .published
        .endpoints
        .iter()
        .filter(|e| plane.endpoint(&e.id).is_none())
        .map(|e| view::of_config(e))
        .chain(plane.endpoints().values().map(view::of_record))
        .collect();
    all.sort_by(|a, b| a.id.cmp(&b.id));
    let filter = |name: &str| params.get(name).filter(|v| !v.is_empty());
    all.retain(|e| {
        filter("EndpointId").is_none_or(|v| v == e.id)
            && filter("EndpointName").is_none_or(|v| v == e.name)
            && filter("VpcId").is_none_or(|v| v == e.vpc)
            && filter("EndpointStatus").is_none_or(|v| v == e.status)
            && filter("ServiceName").is_none_or(|v| v == view::service_name(&e.service, ctx))
            && filter("EndpointType").is_none_or(|v| v == e.endpoint_type)
            && filter("AddressIpVersion").is_none_or(|v| v == e.ip_version)
            && tags::matches(&e.tags, params)
    });
    let (page, next, max) = view::page(&all, params)?;
    let endpoints: Vec<Value> = page.iter().map(|e| view::endpoint(e, ctx)).collect();
    Ok(json!({
        "Endpoints": endpoints,
        "MaxResults": max,
        "NextToken": next,
        "TotalCount": all.len(),
    }))
}
