//! Attach/DetachSecurityGroupToVpcEndpoint, ListVpcEndpointSecurityGroups.
//! Security groups do not change what DNS answers: they are kept, listed
//! and checked (an endpoint keeps at least one), nothing more.

use serde_json::{Value, json};

use super::super::error::ApiError;
use super::super::plane::{Ctx, Plane};
use super::super::request::Params;
use super::{Found, dry_run, find, find_mut, view};

pub(crate) fn attach(plane: &mut Plane, ctx: &Ctx<'_>, params: &Params) -> Result<Value, ApiError> {
    let mut r = find_mut(plane, ctx, params)?.clone();
    let group = params.required("SecurityGroupId")?;
    if r.security_groups.iter().any(|g| g == group) {
        return Err(ApiError::bad(
            "SecurityGroupAlreadyAttached",
            format!(
                "security group '{group}' is already attached to endpoint '{}'",
                r.id
            ),
        ));
    }
    if params.bool("DryRun")?.unwrap_or(false) {
        return Err(dry_run());
    }
    r.security_groups.push(group.to_string());
    plane.save(r)?;
    Ok(json!({}))
}

pub(crate) fn detach(plane: &mut Plane, ctx: &Ctx<'_>, params: &Params) -> Result<Value, ApiError> {
    let mut r = find_mut(plane, ctx, params)?.clone();
    let group = params.required("SecurityGroupId")?;
    if !r.security_groups.iter().any(|g| g == group) {
        return Err(ApiError::bad(
            "SecurityGroupNotFound",
            format!(
                "security group '{group}' is not attached to endpoint '{}'",
                r.id
            ),
        ));
    }
    if r.security_groups.len() == 1 {
        return Err(ApiError::bad(
            "OperationDenied.LastSecurityGroup",
            format!(
                "security group '{group}' is the last one of endpoint '{}': an endpoint keeps at least one",
                r.id
            ),
        ));
    }
    if params.bool("DryRun")?.unwrap_or(false) {
        return Err(dry_run());
    }
    r.security_groups.retain(|g| g != group);
    plane.save(r)?;
    Ok(json!({}))
}

pub(crate) fn list(plane: &Plane, ctx: &Ctx<'_>, params: &Params) -> Result<Value, ApiError> {
    let groups = match find(plane, ctx, params)? {
        Found::Api(r) => r.security_groups.clone(),
        Found::Config(_) => Vec::new(),
    };
    let (page, next, max) = view::page(&groups, params)?;
    let list: Vec<Value> = page
        .iter()
        .map(|g| json!({"SecurityGroupId": g, "SecurityGroupStatus": "Attached"}))
        .collect();
    Ok(json!({
        "SecurityGroups": list,
        "MaxResults": max,
        "NextToken": next,
        "TotalCount": groups.len(),
    }))
}
