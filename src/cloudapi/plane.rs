//! The control plane's desired state: the API-created endpoints, kept in
//! the store and in memory, joined to the config file's inventory for
//! validation by the same `model::build` that checks a config file.
//!
//! A change is validated against the desired view (every endpoint the API
//! accepted, Creating ones included), made durable, and only then turned
//! into the model that DNS answers from (the published view: Active
//! endpoints and their Connected zones). The lifecycle delays move
//! endpoints from Creating to Active and zones from Connecting to
//! Connected (`advance`).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tracing::info;

use super::error::ApiError;
use super::record::{ENDPOINT, EndpointRecord, EndpointStatus, View, ZoneStatus};
use crate::config::file::ConfigFile;
use crate::model::validate::ZoneLoader;
use crate::model::{self, Model, ValidationError};
use crate::store::{RedbStore, Store, StoreError};

/// What a call sees besides the plane: the config file's inventory, the
/// model serving now, and how zone files are read.
pub struct Ctx<'a> {
    pub base: &'a ConfigFile,
    pub published: &'a Model,
    pub load_zone: &'a ZoneLoader<'a>,
}

pub struct Plane {
    store: Box<dyn Store>,
    endpoints: BTreeMap<String, EndpointRecord>,
    lifecycle: Duration,
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl Plane {
    /// The embedded store under `dir`, with every endpoint it holds.
    pub fn open(dir: &Path, lifecycle: Duration) -> Result<Plane, StoreError> {
        Plane::with_store(Box::new(RedbStore::open(dir)?), lifecycle)
    }

    pub fn with_store(store: Box<dyn Store>, lifecycle: Duration) -> Result<Plane, StoreError> {
        let mut endpoints = BTreeMap::new();
        for (id, bytes) in store.list(ENDPOINT)? {
            match serde_json::from_slice::<EndpointRecord>(&bytes) {
                Ok(r) => {
                    endpoints.insert(id, r);
                }
                Err(e) => {
                    return Err(StoreError::Backend {
                        path: format!("{ENDPOINT}/{id}"),
                        message: format!("unreadable record: {e}"),
                    });
                }
            }
        }
        Ok(Plane {
            store,
            endpoints,
            lifecycle,
        })
    }

    pub fn endpoints(&self) -> &BTreeMap<String, EndpointRecord> {
        &self.endpoints
    }

    pub fn endpoint(&self, id: &str) -> Option<&EndpointRecord> {
        self.endpoints.get(id)
    }

    /// Appends the records' endpoints (in `view`) to `cfg`'s.
    pub fn extend(&self, cfg: &mut ConfigFile, view: View) {
        self.extend_with(cfg, view, None);
    }

    /// The same with record `change.0` replaced by `change.1` (`None`:
    /// removed).
    fn extend_with(
        &self,
        cfg: &mut ConfigFile,
        view: View,
        change: Option<(&str, Option<&EndpointRecord>)>,
    ) {
        let changed_id = change.map(|(id, _)| id);
        for r in self.endpoints.values() {
            if Some(r.id.as_str()) == changed_id {
                continue;
            }
            cfg.endpoint.extend(r.section(view));
        }
        if let Some((_, Some(new))) = change {
            cfg.endpoint.extend(new.section(view));
        }
    }

    /// Validates the desired state with `id` replaced by `new`: the model
    /// it makes, or the first rule it breaks about `id` as the cloud's error
    /// (`param_of` names the request parameter of a field, e.g.
    /// `zones[0].ip` → `Zone.1.ip`).
    pub fn check(
        &self,
        ctx: &Ctx<'_>,
        id: &str,
        new: Option<&EndpointRecord>,
        param_of: &dyn Fn(&str) -> String,
    ) -> Result<Model, ApiError> {
        let mut cfg = ctx.base.clone();
        self.extend_with(&mut cfg, View::Desired, Some((id, new)));
        model::build(&cfg, Some(ctx.published), ctx.load_zone)
            .map_err(|errors| refusal(id, &errors, param_of))
    }

    /// Makes the change durable and in memory; returns the model to
    /// publish when what DNS answers changed. `desired` is what `check`
    /// returned for this change.
    pub fn commit(
        &mut self,
        ctx: &Ctx<'_>,
        id: &str,
        new: Option<EndpointRecord>,
        desired: Model,
    ) -> Result<Option<Model>, ApiError> {
        let before = self
            .endpoints
            .get(id)
            .and_then(|r| r.section(View::Published));
        let after = new.as_ref().and_then(|r| r.section(View::Published));
        let stored = match &new {
            Some(r) => {
                let bytes = serde_json::to_vec(r).expect("records serialize");
                self.store.put(ENDPOINT, id, &bytes)
            }
            None => self.store.delete(ENDPOINT, id),
        };
        stored.map_err(|e| ApiError::internal(e.to_string()))?;
        match new {
            Some(r) => self.endpoints.insert(id.to_string(), r),
            None => self.endpoints.remove(id),
        };
        if section_eq(&before, &after) {
            return Ok(None);
        }
        if !self.endpoints.values().any(EndpointRecord::pending) {
            // The desired view is the published one: validated already.
            return Ok(Some(desired));
        }
        self.published_model(ctx)
            .map(Some)
            .map_err(ApiError::internal)
    }

    /// Stores a change that does not touch what is validated or answered
    /// (security groups, names, descriptions).
    pub fn save(&mut self, r: EndpointRecord) -> Result<(), ApiError> {
        let bytes = serde_json::to_vec(&r).expect("records serialize");
        self.store
            .put(ENDPOINT, &r.id, &bytes)
            .map_err(|e| ApiError::internal(e.to_string()))?;
        self.endpoints.insert(r.id.clone(), r);
        Ok(())
    }

    /// The model DNS answers from: the config and the published view.
    pub fn published_model(&self, ctx: &Ctx<'_>) -> Result<Model, String> {
        let mut cfg = ctx.base.clone();
        self.extend(&mut cfg, View::Published);
        model::build(&cfg, Some(ctx.published), ctx.load_zone).map_err(|errors| {
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    /// When the next lifecycle step is due (ms since the epoch).
    pub fn next_deadline(&self) -> Option<u64> {
        let lifecycle = self.lifecycle.as_millis() as u64;
        self.endpoints
            .values()
            .flat_map(|r| {
                let created = (r.status == EndpointStatus::Creating).then_some(r.created_ms);
                let zones = r
                    .zones
                    .iter()
                    .filter(|z| z.status == ZoneStatus::Connecting)
                    .map(|z| z.since_ms);
                created.into_iter().chain(zones)
            })
            .map(|t| t + lifecycle)
            .min()
    }

    /// Moves everything whose delay has passed by `now` (ms) to Active /
    /// Connected, durably; returns the model to publish when anything
    /// moved.
    pub fn advance(&mut self, ctx: &Ctx<'_>, now: u64) -> Result<Option<Model>, String> {
        let lifecycle = self.lifecycle.as_millis() as u64;
        let mut moved = Vec::new();
        for r in self.endpoints.values() {
            let mut next = r.clone();
            if next.status == EndpointStatus::Creating && r.created_ms + lifecycle <= now {
                next.status = EndpointStatus::Active;
            }
            for z in &mut next.zones {
                if z.status == ZoneStatus::Connecting && z.since_ms + lifecycle <= now {
                    z.status = ZoneStatus::Connected;
                }
            }
            if next != *r {
                moved.push(next);
            }
        }
        if moved.is_empty() {
            return Ok(None);
        }
        for r in moved {
            let bytes = serde_json::to_vec(&r).expect("records serialize");
            self.store
                .put(ENDPOINT, &r.id, &bytes)
                .map_err(|e| e.to_string())?;
            info!(endpoint = %r.id, status = r.status.as_str(), "endpoint lifecycle");
            self.endpoints.insert(r.id.clone(), r);
        }
        self.published_model(ctx).map(Some)
    }
}

fn section_eq(
    a: &Option<crate::config::file::EndpointSection>,
    b: &Option<crate::config::file::EndpointSection>,
) -> bool {
    // EndpointSection has no PartialEq (it is the file's format); its
    // Debug form holds every field.
    format!("{a:?}") == format!("{b:?}")
}

/// The cloud's error for a refused change: the first error about endpoint
/// `id`, named by its request parameter; else (a rule between objects that
/// the change broke elsewhere) every error.
fn refusal(id: &str, errors: &[ValidationError], param_of: &dyn Fn(&str) -> String) -> ApiError {
    let ours = format!("endpoint '{id}' (");
    if let Some(e) = errors.iter().find(|e| e.object.starts_with(&ours)) {
        return ApiError::illegal(&param_of(&e.field.to_string()), &e.message);
    }
    ApiError::bad(
        "InvalidParameter",
        errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; "),
    )
}

/// The request parameter of an endpoint field, for CreateVpcEndpoint-style
/// parameters: `zones[0].ip` → `Zone.1.ip`.
pub fn endpoint_param(field: &str) -> String {
    if let Some(rest) = field.strip_prefix("zones[")
        && let Some((n, sub)) = rest.split_once("]")
    {
        let n: usize = n.parse().unwrap_or(0);
        let sub = match sub.trim_start_matches('.') {
            "vswitch" => "VSwitchId",
            "ip" => "ip",
            "ipv6" => "Ipv6Address",
            other => other,
        };
        return format!("Zone.{}.{sub}", n + 1);
    }
    match field {
        "zones" => "Zone",
        "zone_affinity" => "ZoneAffinityEnabled",
        "ip_version" => "AddressIpVersion",
        "vpc" => "VpcId",
        "service" => "ServiceId",
        "cross_region" => "ServiceRegionId",
        "id" => "EndpointId",
        other => other,
    }
    .to_string()
}
