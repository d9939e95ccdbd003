//! AddZone, DeleteZone, BindZoneVpc, DescribeZones, DescribeZoneInfo.

use serde_json::{Value, json};

use super::super::error::ApiError;
use super::super::plane::{Ctx, Plane, now_ms};
use super::super::privatelink::{Outcome, view::time};
use super::super::record::PvtzZone;
use super::super::request::Params;
use super::{build, config, find_zone, page, read, write};

pub(crate) fn add(plane: &mut Plane, ctx: &Ctx<'_>, params: &Params) -> Outcome {
    let zone = match new_zone(params) {
        Ok(z) => z,
        Err(e) => return read(Err(e)),
    };
    let id = zone.id.clone();
    let reply = json!({"ZoneId": id, "ZoneName": zone.name, "Success": true});
    write(plane, ctx, &id, Some(zone), "ZoneName", reply)
}

fn new_zone(params: &Params) -> Result<PvtzZone, ApiError> {
    let name = params.required("ZoneName")?;
    let origin = build::zone_name(name).map_err(|m| ApiError::illegal("ZoneName", m))?;
    let now = now_ms();
    Ok(PvtzZone {
        id: new_id(),
        name: origin.to_string().trim_end_matches('.').to_string(),
        remark: String::new(),
        proxy_pattern: params.get("ProxyPattern").unwrap_or("ZONE").to_string(),
        vpcs: Vec::new(),
        records: Vec::new(),
        created_ms: now,
        updated_ms: now,
    })
}

/// An id in the cloud's style (`AgIDE1MA_150`): random, unique enough for
/// a lab.
fn new_id() -> String {
    use base64::Engine;
    let bytes: [u8; 9] = rand::random();
    let n: u16 = rand::random();
    format!(
        "{}_{n}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

pub(crate) fn delete(plane: &mut Plane, ctx: &Ctx<'_>, params: &Params) -> Outcome {
    let id = match find_zone(plane, params) {
        Ok(z) => z.id.clone(),
        Err(e) => return read(Err(e)),
    };
    let reply = json!({"ZoneId": id});
    write(plane, ctx, &id, None, "ZoneId", reply)
}

/// Sets the zone's VPCs to `Vpcs.N` (none: unbound, answered to nobody).
pub(crate) fn bind(plane: &mut Plane, ctx: &Ctx<'_>, params: &Params) -> Outcome {
    let result = (|| {
        let mut zone = find_zone(plane, params)?.clone();
        let mut vpcs = Vec::new();
        for (n, v) in params.structs("Vpcs") {
            let Some(id) = v.get("VpcId").filter(|s| !s.is_empty()) else {
                return Err(ApiError::missing(&format!("Vpcs.{n}.VpcId")));
            };
            let Some(vpc) = ctx.base.vpc.iter().find(|x| x.id == *id) else {
                return Err(ApiError::illegal(
                    &format!("Vpcs.{n}.VpcId"),
                    format!("no VPC with id '{id}'"),
                ));
            };
            if let Some(region) = v.get("RegionId")
                && *region != vpc.region
            {
                return Err(ApiError::illegal(
                    &format!("Vpcs.{n}.RegionId"),
                    format!("VPC '{id}' is in {}, not {region}", vpc.region),
                ));
            }
            vpcs.push((id.to_string(), vpc.region.clone()));
        }
        zone.vpcs = vpcs;
        zone.updated_ms = now_ms();
        Ok(zone)
    })();
    match result {
        Ok(zone) => {
            let id = zone.id.clone();
            write(plane, ctx, &id, Some(zone), "Vpcs.VpcId", json!({}))
        }
        Err(e) => read(Err(e)),
    }
}

fn summary(z: &PvtzZone) -> Value {
    json!({
        "ZoneId": z.id,
        "ZoneName": z.name,
        "RecordCount": z.records.len(),
        "ProxyPattern": z.proxy_pattern,
        "Remark": z.remark,
        "IsPtr": z.name.ends_with(".arpa"),
        "ZoneType": "AUTH_ZONE",
        "CreateTime": time(z.created_ms),
        "CreateTimestamp": z.created_ms,
        "UpdateTime": time(z.updated_ms),
        "UpdateTimestamp": z.updated_ms,
    })
}

/// The config's zones first (in file order), then the API's.
pub(crate) fn describe(plane: &Plane, ctx: &Ctx<'_>, params: &Params) -> Result<Value, ApiError> {
    let keyword = params.get("Keyword").filter(|k| !k.is_empty());
    let exact = params.get("SearchMode") == Some("EXACT");
    let vpc = params.get("QueryVpcId").filter(|v| !v.is_empty());
    let wanted = |name: &str, vpcs: &[(String, String)]| {
        keyword.is_none_or(|k| if exact { name == k } else { name.contains(k) })
            && vpc.is_none_or(|v| vpcs.iter().any(|(id, _)| id == v))
    };
    let from_config = config::zones(ctx)
        .into_iter()
        .filter(|z| wanted(&config::plain(&z.def.name), &z.vpcs))
        .map(|z| config::summary(&z));
    let from_api = plane
        .zones()
        .values()
        .filter(|z| wanted(&z.name, &z.vpcs))
        .map(summary);
    let zones: Vec<Value> = from_config.chain(from_api).collect();
    let (page, mut body) = page(&zones, params)?;
    body.insert("Zones".into(), json!({ "Zone": page }));
    Ok(Value::Object(body))
}

pub(crate) fn info(plane: &Plane, ctx: &Ctx<'_>, params: &Params) -> Result<Value, ApiError> {
    let id = params.required("ZoneId")?;
    let (mut v, vpcs) = match config::find(ctx, id) {
        Some(z) => (config::summary(&z), z.vpcs),
        None if config::is_config_id(id) => return Err(super::zone_not_found(id)),
        None => {
            let z = find_zone(plane, params)?;
            (summary(z), z.vpcs.clone())
        }
    };
    let vpcs: Vec<Value> = vpcs
        .iter()
        .map(|(id, region)| {
            json!({"VpcId": id, "RegionId": region, "RegionName": region,
                   "VpcName": id, "VpcType": "STANDARD"})
        })
        .collect();
    v["BindVpcs"] = json!({"Vpc": vpcs});
    v["SlaveDns"] = json!(false);
    Ok(v)
}
