//! AddZoneRecord, UpdateZoneRecord, DeleteZoneRecord, SetZoneRecordStatus,
//! DescribeZoneRecords.

use serde_json::{Value, json};

use super::super::error::ApiError;
use super::super::plane::{Ctx, Plane, now_ms};
use super::super::privatelink::{Outcome, view::time};
use super::super::record::{PvtzRecord, PvtzZone};
use super::super::request::Params;
use super::{build, config, find_zone, page, read, write};

/// The zone holding record `RecordId`, and the record's index in it.
fn find_record<'a>(plane: &'a Plane, params: &Params) -> Result<(&'a PvtzZone, usize), ApiError> {
    let text = params.required("RecordId")?;
    let id: u64 = text
        .parse()
        .map_err(|_| ApiError::illegal("RecordId", format!("'{text}' is not a record id")))?;
    if id >= config::RECORD_BASE {
        return Err(config::read_only(&format!("record '{id}'")));
    }
    plane
        .zones()
        .values()
        .find_map(|z| z.records.iter().position(|r| r.id == id).map(|i| (z, i)))
        .ok_or_else(|| {
            ApiError::bad(
                "Record.NotExists",
                format!("The specified record '{id}' does not exist."),
            )
        })
}

/// Reads Rr, Type, Value, Ttl and Priority into `r`, each checked.
fn fill(r: &mut PvtzRecord, zone: &PvtzZone, params: &Params) -> Result<(), ApiError> {
    r.rr = params.required("Rr")?.to_lowercase();
    r.rtype = params.required("Type")?.to_uppercase();
    r.value = params.required("Value")?.to_string();
    r.ttl = params.number("Ttl", 1..=86400)?.unwrap_or(60) as u32;
    r.priority = params.number("Priority", 1..=99)?.map(|p| p as u16);
    if let Some(remark) = params.get("Remark") {
        r.remark = remark.to_string();
    }
    if !build::TYPES.contains(&r.rtype.as_str()) {
        return Err(ApiError::illegal(
            "Type",
            format!("'{}' is not one of {}", r.rtype, build::TYPES.join(", ")),
        ));
    }
    let origin = build::zone_name(&zone.name).map_err(ApiError::internal)?;
    build::owner(&r.rr, &origin).map_err(|m| ApiError::illegal("Rr", m))?;
    build::rdata(&r.rtype, &r.value, r.priority).map_err(|m| ApiError::illegal("Value", m))?;
    Ok(())
}

/// The zone with its records as they now are must still be a zone (a
/// CNAME stands alone at its name).
fn coherent(zone: &PvtzZone, ctx: &Ctx<'_>) -> Result<(), ApiError> {
    build::build(zone, &ctx.base.server)
        .map(|_| ())
        .map_err(|m| ApiError::bad("Record.Conflict", m))
}

pub(crate) fn add(plane: &mut Plane, ctx: &Ctx<'_>, params: &Params) -> Outcome {
    let result = (|| {
        let mut zone = find_zone(plane, params)?.clone();
        let now = now_ms();
        let id = plane
            .zones()
            .values()
            .flat_map(|z| z.records.iter().map(|r| r.id))
            .max()
            .unwrap_or(1000)
            + 1;
        let mut r = PvtzRecord {
            id,
            rr: String::new(),
            rtype: String::new(),
            value: String::new(),
            ttl: 60,
            priority: None,
            enabled: true,
            remark: String::new(),
            created_ms: now,
            updated_ms: now,
        };
        fill(&mut r, &zone, params)?;
        zone.records.push(r);
        zone.updated_ms = now;
        coherent(&zone, ctx)?;
        Ok((zone, id))
    })();
    match result {
        Ok((zone, id)) => {
            let zid = zone.id.clone();
            let reply = json!({"RecordId": id, "Success": true});
            write(plane, ctx, &zid, Some(zone), "Rr", reply)
        }
        Err(e) => read(Err(e)),
    }
}

/// Applies `change` to record `RecordId`; the reply names the record.
fn change_record(
    plane: &mut Plane,
    ctx: &Ctx<'_>,
    params: &Params,
    change: impl FnOnce(&mut PvtzRecord, &PvtzZone) -> Result<Value, ApiError>,
) -> Outcome {
    let result = (|| {
        let (zone, i) = find_record(plane, params)?;
        let mut zone = zone.clone();
        let mut r = zone.records[i].clone();
        let reply = change(&mut r, &zone)?;
        r.updated_ms = now_ms();
        zone.updated_ms = r.updated_ms;
        zone.records[i] = r;
        coherent(&zone, ctx)?;
        Ok((zone, reply))
    })();
    match result {
        Ok((zone, reply)) => {
            let zid = zone.id.clone();
            write(plane, ctx, &zid, Some(zone), "RecordId", reply)
        }
        Err(e) => read(Err(e)),
    }
}

pub(crate) fn update(plane: &mut Plane, ctx: &Ctx<'_>, params: &Params) -> Outcome {
    change_record(plane, ctx, params, |r, zone| {
        fill(r, zone, params)?;
        Ok(json!({"RecordId": r.id}))
    })
}

pub(crate) fn set_status(plane: &mut Plane, ctx: &Ctx<'_>, params: &Params) -> Outcome {
    change_record(plane, ctx, params, |r, _| {
        r.enabled = match params.required("Status")? {
            "ENABLE" | "enable" => true,
            "DISABLE" | "disable" => false,
            other => {
                return Err(ApiError::illegal(
                    "Status",
                    format!("'{other}' is not ENABLE or DISABLE"),
                ));
            }
        };
        Ok(json!({"RecordId": r.id, "Status": status(r)}))
    })
}

pub(crate) fn delete(plane: &mut Plane, ctx: &Ctx<'_>, params: &Params) -> Outcome {
    let result = find_record(plane, params).map(|(zone, i)| {
        let mut zone = zone.clone();
        let r = zone.records.remove(i);
        zone.updated_ms = now_ms();
        (zone, r.id)
    });
    match result {
        Ok((zone, id)) => {
            let zid = zone.id.clone();
            write(
                plane,
                ctx,
                &zid,
                Some(zone),
                "RecordId",
                json!({"RecordId": id}),
            )
        }
        Err(e) => read(Err(e)),
    }
}

fn status(r: &PvtzRecord) -> &'static str {
    if r.enabled { "ENABLE" } else { "DISABLE" }
}

/// `Keyword` (with `SearchMode` EXACT or LIKE) matches a host or a value.
fn keyword_matches(params: &Params, rr: &str, value: &str) -> bool {
    let keyword = params.get("Keyword").filter(|k| !k.is_empty());
    let exact = params.get("SearchMode") == Some("EXACT");
    keyword.is_none_or(|k| {
        if exact {
            rr == k || value == k
        } else {
            rr.contains(k) || value.contains(k)
        }
    })
}

pub(crate) fn describe(plane: &Plane, ctx: &Ctx<'_>, params: &Params) -> Result<Value, ApiError> {
    let id = params.required("ZoneId")?;
    if let Some(z) = config::find(ctx, id) {
        return describe_config(&z, params);
    }
    if config::is_config_id(id) {
        return Err(super::zone_not_found(id));
    }
    let zone = find_zone(plane, params)?;
    let records: Vec<&PvtzRecord> = zone
        .records
        .iter()
        .filter(|r| keyword_matches(params, &r.rr, &r.value))
        .collect();
    let (page, mut body) = page(&records, params)?;
    let list: Vec<Value> = page
        .iter()
        .map(|r| {
            json!({
                "RecordId": r.id,
                "ZoneId": zone.id,
                "Rr": r.rr,
                "Type": r.rtype,
                "Value": r.value,
                "Ttl": r.ttl,
                "Priority": r.priority,
                "Status": status(r),
                "Remark": r.remark,
                "Line": "default",
                "Weight": 1,
                "CreateTime": time(r.created_ms),
                "CreateTimestamp": r.created_ms,
                "UpdateTime": time(r.updated_ms),
                "UpdateTimestamp": r.updated_ms,
            })
        })
        .collect();
    body.insert("Records".into(), json!({"Record": list}));
    Ok(Value::Object(body))
}

/// DescribeZoneRecords of a config-declared zone: every record enabled,
/// times unknown (the epoch).
fn describe_config(z: &config::ConfigZone<'_>, params: &Params) -> Result<Value, ApiError> {
    let records: Vec<config::ConfigRecord> = config::records(z)
        .into_iter()
        .filter(|r| keyword_matches(params, &r.rr, &r.value))
        .collect();
    let (page, mut body) = page(&records, params)?;
    let list: Vec<Value> = page
        .iter()
        .map(|r| {
            json!({
                "RecordId": r.id,
                "ZoneId": z.id,
                "Rr": r.rr,
                "Type": r.rtype,
                "Value": r.value,
                "Ttl": r.ttl,
                "Priority": r.priority,
                "Status": "ENABLE",
                "Remark": "declared in the epdns config file",
                "Line": "default",
                "Weight": 1,
                "CreateTime": time(0),
                "CreateTimestamp": 0,
                "UpdateTime": time(0),
                "UpdateTimestamp": 0,
            })
        })
        .collect();
    body.insert("Records".into(), json!({"Record": list}));
    Ok(Value::Object(body))
}
