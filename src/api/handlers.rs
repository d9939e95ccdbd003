//! Request handlers: JSON in and out; errors say what was wrong with which
//! parameter.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::ApiState;
use crate::probe::{HealthError, ProbeResult, State as Health, TargetStatus};

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

fn probe_json(p: &ProbeResult) -> Value {
    json!({
        "ok": p.ok,
        "detail": p.detail,
        "rtt_ms": p.rtt.map(|d| d.as_secs_f64() * 1000.0),
    })
}

fn address_json(s: &TargetStatus) -> Value {
    json!({
        "ip": s.key.ip.to_string(),
        "probed": s.probed,
        "probe_state": s.probe.as_str(),
        "state": if s.is_up() { "up" } else { "down" },
        "since_unix_ms": unix_ms(s.since),
        "last_probe": s.last.as_ref().map(probe_json),
        "override": s.admin_override.map(|o| o.as_str()),
    })
}

/// GET /v1/status: every endpoint, its zones and their ENI addresses.
pub async fn status(State(st): State<ApiState>) -> Json<Value> {
    let snapshot = st.shared.snapshot.load();
    let tables = &snapshot.tables;
    let mut by_endpoint: BTreeMap<&str, BTreeMap<&str, Vec<Value>>> = BTreeMap::new();
    let statuses = st.health.statuses();
    for s in &statuses {
        by_endpoint
            .entry(&s.key.endpoint)
            .or_default()
            .entry(&s.key.zone)
            .or_default()
            .push(address_json(s));
    }
    let overrides = st.health.overrides();
    let endpoints: Vec<Value> = tables
        .endpoint_domains
        .iter()
        .map(|(id, domain)| {
            let zones = by_endpoint.remove(id.as_str()).unwrap_or_default();
            let zones: Vec<Value> = zones
                .into_iter()
                .map(|(zone, addresses)| {
                    let ov = overrides
                        .iter()
                        .find(|(e, z, _)| e == id && z == zone)
                        .map(|(_, _, s)| s.as_str());
                    json!({ "zone": zone, "override": ov, "addresses": addresses })
                })
                .collect();
            json!({ "id": id, "domain": domain.to_string(), "zones": zones })
        })
        .collect();
    Json(json!({ "serial": tables.serial, "endpoints": endpoints }))
}

/// GET /v1/events: the kept transitions, oldest first.
pub async fn events(State(st): State<ApiState>) -> Json<Value> {
    let events: Vec<Value> = st
        .health
        .events()
        .iter()
        .map(|e| {
            json!({
                "at_unix_ms": unix_ms(e.at),
                "endpoint": e.endpoint,
                "zone": e.zone,
                "ip": e.ip.to_string(),
                "from": e.from.as_str(),
                "to": e.to.as_str(),
                "reason": e.reason,
            })
        })
        .collect();
    Json(json!({ "events": events }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverrideBody {
    state: String,
}

/// PUT /v1/endpoints/{endpoint}/zones/{zone}/override `{"state": "down"|"up"}`
pub async fn set_override(
    State(st): State<ApiState>,
    Path((endpoint, zone)): Path<(String, String)>,
    body: Result<Json<OverrideBody>, JsonRejection>,
) -> Response {
    let body = match body {
        Ok(Json(b)) => b,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!(
                    "body: expected {{\"state\": \"down\" | \"up\"}}: {}",
                    e.body_text()
                ),
            );
        }
    };
    let state = match body.state.as_str() {
        "down" => Health::Down,
        "up" => Health::Up,
        other => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("body.state: '{other}' is not \"down\" or \"up\""),
            );
        }
    };
    apply(&st, &endpoint, &zone, Some(state))
}

/// DELETE /v1/endpoints/{endpoint}/zones/{zone}/override
pub async fn clear_override(
    State(st): State<ApiState>,
    Path((endpoint, zone)): Path<(String, String)>,
) -> Response {
    apply(&st, &endpoint, &zone, None)
}

fn apply(st: &ApiState, endpoint: &str, zone: &str, state: Option<Health>) -> Response {
    match st.health.set_override(endpoint, zone, state) {
        Ok(addresses) => Json(json!({
            "endpoint": endpoint,
            "zone": zone,
            "override": state.map(|s| s.as_str()),
            "addresses": addresses,
        }))
        .into_response(),
        Err(e @ HealthError::NoSuchTarget { .. }) => error(StatusCode::NOT_FOUND, e.to_string()),
        Err(e) => error(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

/// GET /metrics: Prometheus text format.
pub async fn metrics(State(st): State<ApiState>) -> Response {
    let mut out = String::new();
    st.shared.metrics.render_prometheus(&mut out);
    st.health.render_prometheus(&mut out);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}
