//! Tags of API-created endpoints: `Tag.N.Key`/`Tag.N.Value` on
//! CreateVpcEndpoint and as a ListVpcEndpoints filter, and TagResources,
//! UntagResources and ListTagResources with `ResourceType=VpcEndpoint`.
//! Tags change nothing DNS answers: they are kept, listed and filtered on.

use serde_json::{Value, json};

use super::super::error::ApiError;
use super::super::plane::{Ctx, Plane};
use super::super::record::{EndpointRecord, Tag};
use super::super::request::Params;
use super::{Found, dry_run, read_only, view};

/// The cloud's limits: 20 tags a resource, keys and values of at most 128
/// characters, keys not starting with its reserved prefixes.
const MAX_TAGS: usize = 20;
const MAX_LEN: usize = 128;
const RESERVED_PREFIXES: &[&str] = &["aliyun", "acs:"];

/// The only resource type of ours that holds tags.
const RESOURCE_TYPE: &str = "VpcEndpoint";

/// The request's `Tag.N` pairs, each checked; a key given twice keeps its
/// last value.
pub(super) fn of_request(params: &Params) -> Result<Vec<Tag>, ApiError> {
    let mut tags: Vec<Tag> = Vec::new();
    for (n, t) in params.structs("Tag") {
        let Some(key) = t.get("Key").filter(|k| !k.is_empty()) else {
            return Err(ApiError::missing(&format!("Tag.{n}.Key")));
        };
        let value = t.get("Value").copied().unwrap_or_default();
        check(n, key, value)?;
        set(&mut tags, key, value);
    }
    if tags.len() > MAX_TAGS {
        return Err(too_many(tags.len()));
    }
    Ok(tags)
}

fn check(n: u32, key: &str, value: &str) -> Result<(), ApiError> {
    if key.chars().count() > MAX_LEN {
        return Err(ApiError::illegal(
            &format!("Tag.{n}.Key"),
            format!("longer than {MAX_LEN} characters"),
        ));
    }
    if let Some(p) = RESERVED_PREFIXES
        .iter()
        .find(|p| key.to_ascii_lowercase().starts_with(*p))
    {
        return Err(ApiError::illegal(
            &format!("Tag.{n}.Key"),
            format!("'{key}' starts with '{p}', which the cloud reserves"),
        ));
    }
    if value.chars().count() > MAX_LEN {
        return Err(ApiError::illegal(
            &format!("Tag.{n}.Value"),
            format!("longer than {MAX_LEN} characters"),
        ));
    }
    Ok(())
}

fn too_many(n: usize) -> ApiError {
    ApiError::bad(
        "QuotaExceeded.TagNum",
        format!("{n} tags: a resource has at most {MAX_TAGS}"),
    )
}

fn set(tags: &mut Vec<Tag>, key: &str, value: &str) {
    match tags.iter_mut().find(|t| t.key == key) {
        Some(t) => t.value = value.to_string(),
        None => tags.push(Tag {
            key: key.to_string(),
            value: value.to_string(),
        }),
    }
}

/// ListVpcEndpoints' filter: the endpoint has every `Tag.N.Key`, with
/// `Tag.N.Value` when that is given.
pub(super) fn matches(tags: &[Tag], params: &Params) -> bool {
    params.structs("Tag").iter().all(|(_, f)| {
        let key = f.get("Key").copied().unwrap_or_default();
        let value = f.get("Value").filter(|v| !v.is_empty());
        tags.iter()
            .any(|t| t.key == key && value.is_none_or(|v| *v == t.value))
    })
}

fn resource_type(params: &Params) -> Result<(), ApiError> {
    match params.required("ResourceType")? {
        t if t.eq_ignore_ascii_case(RESOURCE_TYPE) => Ok(()),
        other => Err(ApiError::illegal(
            "ResourceType",
            format!("'{other}': epdns tags {RESOURCE_TYPE} resources only"),
        )),
    }
}

/// The API-created endpoints `ResourceId.N` name (at least one).
fn resources(
    plane: &Plane,
    ctx: &Ctx<'_>,
    params: &Params,
) -> Result<Vec<EndpointRecord>, ApiError> {
    let ids = params.list("ResourceId");
    if ids.is_empty() {
        return Err(ApiError::missing("ResourceId.1"));
    }
    ids.into_iter()
        .map(|(_, id)| match super::find_id(plane, ctx, id)? {
            Found::Api(r) => Ok(r.clone()),
            Found::Config(e) => Err(read_only(&e.id)),
        })
        .collect()
}

pub(crate) fn tag(plane: &mut Plane, ctx: &Ctx<'_>, params: &Params) -> Result<Value, ApiError> {
    resource_type(params)?;
    let new = of_request(params)?;
    if new.is_empty() {
        return Err(ApiError::missing("Tag.1.Key"));
    }
    let mut changed = Vec::new();
    for mut r in resources(plane, ctx, params)? {
        for t in &new {
            set(&mut r.tags, &t.key, &t.value);
        }
        if r.tags.len() > MAX_TAGS {
            return Err(too_many(r.tags.len()));
        }
        changed.push(r);
    }
    if params.bool("DryRun")?.unwrap_or(false) {
        return Err(dry_run());
    }
    for r in changed {
        plane.save(r)?;
    }
    Ok(json!({}))
}

pub(crate) fn untag(plane: &mut Plane, ctx: &Ctx<'_>, params: &Params) -> Result<Value, ApiError> {
    resource_type(params)?;
    let all = params.bool("All")?.unwrap_or(false);
    let keys: Vec<&str> = params.list("TagKey").into_iter().map(|(_, k)| k).collect();
    if keys.is_empty() && !all {
        return Err(ApiError::missing("TagKey.1"));
    }
    let mut changed = Vec::new();
    for mut r in resources(plane, ctx, params)? {
        r.tags.retain(|t| !all && !keys.contains(&t.key.as_str()));
        changed.push(r);
    }
    if params.bool("DryRun")?.unwrap_or(false) {
        return Err(dry_run());
    }
    for r in changed {
        plane.save(r)?;
    }
    Ok(json!({}))
}

/// Every (endpoint, tag) pair of the endpoints `ResourceId.N` name, or of
/// those carrying the `Tag.N` filter; one of the two is required.
pub(crate) fn list(plane: &Plane, ctx: &Ctx<'_>, params: &Params) -> Result<Value, ApiError> {
    resource_type(params)?;
    let by_id = !params.list("ResourceId").is_empty();
    let by_tag = !params.structs("Tag").is_empty();
    if !by_id && !by_tag {
        return Err(ApiError::missing("ResourceId.1"));
    }
    let endpoints: Vec<&EndpointRecord> = if by_id {
        // A config-declared endpoint has no tags.
        let mut found = Vec::new();
        for (_, id) in params.list("ResourceId") {
            if let Found::Api(r) = super::find_id(plane, ctx, id)? {
                found.push(r);
            }
        }
        found
    } else {
        plane.endpoints().values().collect()
    };
    let pairs: Vec<Value> = endpoints
        .into_iter()
        .filter(|r| matches(&r.tags, params))
        .flat_map(|r| {
            r.tags.iter().map(|t| {
                json!({"ResourceId": r.id, "ResourceType": RESOURCE_TYPE,
                       "TagKey": t.key, "TagValue": t.value})
            })
        })
        .collect();
    let (page, next, _) = view::page(&pairs, params)?;
    Ok(json!({"TagResources": page, "NextToken": next}))
}
