//! The config file's private zones as the PrivateZone API lists them: read
//! only, like the config's endpoints. Their ids are `config-<N>` (N: the
//! `[[private_zone]]`'s index in the file) and their records' ids start at
//! `RECORD_BASE`, so that a write naming either is refused with
//! `OperationDenied.ConfigDeclared` rather than "not found".

use hickory_proto::rr::{Name, RData, Record, RecordType};
use serde_json::{Value, json};

use super::super::error::ApiError;
use super::super::plane::Ctx;
use crate::model::PrivateZoneDef;

const ID_PREFIX: &str = "config-";

/// Above every id the API gives its own records (they count up from 1001).
pub(super) const RECORD_BASE: u64 = 1 << 48;
/// Record ids of one config zone: `RECORD_BASE + N * ZONE_SPAN + index`.
const ZONE_SPAN: u64 = 1 << 24;

/// One config-declared zone.
pub(super) struct ConfigZone<'a> {
    pub(super) id: String,
    index: usize,
    pub(super) def: &'a PrivateZoneDef,
    /// (VPC id, region) of each bound VPC.
    pub(super) vpcs: Vec<(String, String)>,
}

/// Every config-declared zone: the first `[[private_zone]]`s of the serving
/// model are the config file's, in file order (the API's follow them).
pub(super) fn zones<'a>(ctx: &'a Ctx<'_>) -> Vec<ConfigZone<'a>> {
    ctx.base
        .private_zone
        .iter()
        .zip(&ctx.published.private_zones)
        .enumerate()
        .filter(|(_, (section, def))| {
            section
                .name
                .trim_end_matches('.')
                .eq_ignore_ascii_case(&plain(&def.name))
        })
        .map(|(index, (_, def))| ConfigZone {
            id: format!("{ID_PREFIX}{index}"),
            index,
            def,
            vpcs: def
                .vpc_indexes
                .iter()
                .filter_map(|&i| ctx.published.vpcs.get(i as usize))
                .map(|v| (v.id.clone(), v.region.clone()))
                .collect(),
        })
        .collect()
}

pub(super) fn is_config_id(id: &str) -> bool {
    id.strip_prefix(ID_PREFIX)
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

pub(super) fn find<'a>(ctx: &'a Ctx<'_>, id: &str) -> Option<ConfigZone<'a>> {
    zones(ctx).into_iter().find(|z| z.id == id)
}

/// The refusal of a change to a config-declared zone or record.
pub(super) fn read_only(what: &str) -> ApiError {
    ApiError::bad(
        "OperationDenied.ConfigDeclared",
        format!(
            "{what} is declared in epdns's config file: change it there (and reload); \
             the API changes only the zones it created"
        ),
    )
}

/// The name without its final dot.
pub(super) fn plain(name: &Name) -> String {
    name.to_string().trim_end_matches('.').to_string()
}

/// One record as DescribeZoneRecords shows it.
pub(super) struct ConfigRecord {
    pub(super) id: u64,
    pub(super) rr: String,
    pub(super) rtype: String,
    pub(super) value: String,
    pub(super) ttl: u32,
    pub(super) priority: Option<u16>,
}

/// The zone's records as the API shows them, sorted by host, type and
/// value: the SOA and apex NS (the zone's own, not the user's in the
/// PrivateZone style) are left out, as the cloud lists none.
pub(super) fn records(z: &ConfigZone<'_>) -> Vec<ConfigRecord> {
    let origin = &z.def.name;
    let mut out: Vec<ConfigRecord> = z
        .def
        .zone
        .records()
        .filter(|r| {
            let apex = r.name.to_lowercase() == origin.to_lowercase();
            !(apex && matches!(r.record_type(), RecordType::SOA | RecordType::NS))
        })
        .map(|r| record(r, origin))
        .collect();
    out.sort_by(|a, b| (&a.rr, &a.rtype, &a.value).cmp(&(&b.rr, &b.rtype, &b.value)));
    for (i, r) in out.iter_mut().enumerate() {
        r.id = RECORD_BASE + z.index as u64 * ZONE_SPAN + i as u64;
    }
    out
}

fn record(r: &Record, origin: &Name) -> ConfigRecord {
    let rr = if r.name.to_lowercase() == origin.to_lowercase() {
        "@".to_string()
    } else {
        let below = r.name.num_labels() - origin.num_labels();
        let labels: Vec<String> = r
            .name
            .iter()
            .take(below as usize)
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .collect();
        labels.join(".")
    };
    let (value, priority) = match &r.data {
        RData::MX(mx) => (mx.exchange.to_string(), Some(mx.preference)),
        data => (data.to_string(), None),
    };
    ConfigRecord {
        id: 0,
        rr,
        rtype: r.record_type().to_string(),
        value,
        ttl: r.ttl,
        priority,
    }
}

/// The fields DescribeZones and DescribeZoneInfo share.
pub(super) fn summary(z: &ConfigZone<'_>) -> Value {
    let name = plain(&z.def.name);
    json!({
        "ZoneId": z.id,
        "ZoneName": name,
        "RecordCount": records(z).len(),
        "ProxyPattern": "ZONE",
        "Remark": "declared in the epdns config file",
        "IsPtr": name.ends_with(".arpa"),
        "ZoneType": "AUTH_ZONE",
        "CreateTime": "1970-01-01T00:00:00Z",
        "CreateTimestamp": 0,
        "UpdateTime": "1970-01-01T00:00:00Z",
        "UpdateTimestamp": 0,
    })
}
