//! Request handlers: JSON in and out; errors say what was wrong with which
//! parameter.

use std::collections::{BTreeMap, HashSet};
use std::convert::Infallible;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use futures_util::Stream;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use super::ApiState;
use crate::probe::{Event, HealthError, Notice, ProbeResult, State as Health, TargetStatus};
use crate::store::OverrideWrite;

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

/// Endpoints per `/v1/status` page unless `limit` says otherwise.
pub(crate) const STATUS_PAGE: usize = 1000;
/// The largest page `limit` may ask for.
pub(crate) const STATUS_PAGE_MAX: usize = 10_000;

/// `/v1/status` parameters: one endpoint, or a page of them.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatusQuery {
    endpoint: Option<String>,
    offset: Option<usize>,
    limit: Option<usize>,
    /// The token when given in the query; `auth` checks it.
    #[serde(rename = "access_token")]
    _access_token: Option<String>,
}

/// GET /v1/status[?endpoint=ID | ?offset=N&limit=M]: endpoints in config
/// order with their zones and ENI addresses, a page at a time, so that a
/// large lab never builds one huge document (`next_offset` is the next
/// page's `offset`, absent on the last page).
pub(crate) async fn status(
    State(st): State<ApiState>,
    query: Result<Query<StatusQuery>, QueryRejection>,
) -> Response {
    let q = match query {
        Ok(Query(q)) => q,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.body_text()),
    };
    let limit = q.limit.unwrap_or(STATUS_PAGE);
    if limit == 0 || limit > STATUS_PAGE_MAX {
        return error(
            StatusCode::BAD_REQUEST,
            format!("limit: {limit} is not between 1 and {STATUS_PAGE_MAX}"),
        );
    }
    let offset = q.offset.unwrap_or(0);
    let snapshot = st.shared.snapshot.load();
    let tables = &snapshot.tables;
    let all: Vec<&(String, hickory_proto::rr::Name)> = tables.endpoint_domains.values().collect();
    let page: &[&(String, hickory_proto::rr::Name)] = match &q.endpoint {
        Some(id) => match all.iter().position(|(e, _)| e == id) {
            Some(i) => &all[i..=i],
            None => return error(StatusCode::NOT_FOUND, format!("no endpoint '{id}'")),
        },
        None => &all[offset.min(all.len())..(offset.saturating_add(limit)).min(all.len())],
    };
    let wanted: HashSet<&str> = page.iter().map(|(id, _)| id.as_str()).collect();
    let mut by_endpoint: BTreeMap<&str, BTreeMap<&str, Vec<Value>>> = BTreeMap::new();
    for key in tables
        .targets
        .values()
        .filter(|t| wanted.contains(t.endpoint.as_str()))
    {
        if let Some(s) = st.health.status(key) {
            by_endpoint
                .entry(&key.endpoint)
                .or_default()
                .entry(&key.zone)
                .or_default()
                .push(address_json(&s));
        }
    }
    let overrides = st.health.overrides();
    let endpoints: Vec<Value> = page
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
    let end = offset.saturating_add(limit);
    let next_offset = (q.endpoint.is_none() && end < all.len()).then_some(end);
    // Whether the shared state store answers (absent without one): when it
    // does not, the last state keeps serving and API writes fail.
    let state_store = st
        .shared
        .metrics
        .state_store
        .get()
        .map(|up| json!({ "backend": "etcd", "up": up }));
    Json(json!({
        "serial": tables.serial,
        "state_store": state_store,
        "total": all.len(),
        "next_offset": next_offset,
        "endpoints": endpoints,
    }))
    .into_response()
}

fn event_json(e: &Event) -> Value {
    json!({
        "at_unix_ms": unix_ms(e.at),
        "endpoint": e.endpoint,
        "zone": e.zone,
        "ip": e.ip.to_string(),
        "from": e.from.as_str(),
        "to": e.to.as_str(),
        "reason": e.reason,
    })
}

/// GET /v1/events: the kept transitions, oldest first.
pub(crate) async fn events(State(st): State<ApiState>) -> Json<Value> {
    let events: Vec<Value> = st.health.events().iter().map(event_json).collect();
    Json(json!({ "events": events }))
}

/// GET /v1/stream: server-sent events as they happen: `transition` (as in
/// `/v1/events`), `override` (`{endpoint, zone, override}`), and `resync`
/// when this client fell behind and should read `/v1/status` again.
pub(crate) async fn stream(
    State(st): State<ApiState>,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let notices = st.health.notices();
    let events = futures_util::stream::unfold(notices, |mut notices| async move {
        let event = match notices.recv().await {
            Ok(Notice::Transition(e)) => SseEvent::default()
                .event("transition")
                .data(event_json(&e).to_string()),
            Ok(Notice::Override {
                endpoint,
                zone,
                state,
            }) => SseEvent::default().event("override").data(
                json!({
                    "endpoint": endpoint,
                    "zone": zone,
                    "override": state.map(|s| s.as_str()),
                })
                .to_string(),
            ),
            Err(RecvError::Lagged(missed)) => SseEvent::default()
                .event("resync")
                .data(json!({ "missed": missed }).to_string()),
            Err(RecvError::Closed) => return None,
        };
        Some((Ok(event), notices))
    });
    Sse::new(events).keep_alive(KeepAlive::default())
}

/// GET /: the live health dashboard (one page, its script inline, embedded
/// in the binary: nothing to build, nothing fetched from elsewhere).
pub(crate) async fn dashboard() -> Html<&'static str> {
    Html(include_str!("dashboard.html"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OverrideBody {
    state: String,
}

/// PUT /v1/endpoints/{endpoint}/zones/{zone}/override `{"state": "down"|"up"}`
pub(crate) async fn set_override(
    State(st): State<ApiState>,
    Path((endpoint, zone)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    // Read as JSON whatever the Content-Type says: `curl -d '{...}'` sends
    // form encoding by default, and the body is JSON in every case.
    let body: OverrideBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("body: expected {{\"state\": \"down\" | \"up\"}}: {e}"),
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
    apply(&st, &endpoint, &zone, Some(state)).await
}

/// DELETE /v1/endpoints/{endpoint}/zones/{zone}/override
pub(crate) async fn clear_override(
    State(st): State<ApiState>,
    Path((endpoint, zone)): Path<(String, String)>,
) -> Response {
    apply(&st, &endpoint, &zone, None).await
}

/// Sets the override; with a state store, keeps it there first, so that
/// an override the store refuses (e.g. etcd unreachable: 503) is never
/// answered, not even for the moment a write takes to fail.
async fn apply(st: &ApiState, endpoint: &str, zone: &str, state: Option<Health>) -> Response {
    if let Some(writes) = &st.shared.override_writes {
        if let Err(e) = st.health.check_override(endpoint, zone, state) {
            return override_error(e);
        }
        if let Err(e) = keep(writes, endpoint, zone, state).await {
            return error(StatusCode::SERVICE_UNAVAILABLE, e);
        }
    }
    match st.health.set_override(endpoint, zone, state) {
        Ok(addresses) => Json(json!({
            "endpoint": endpoint,
            "zone": zone,
            "override": state.map(|s| s.as_str()),
            "addresses": addresses,
        }))
        .into_response(),
        Err(e) => override_error(e),
    }
}

fn override_error(e: HealthError) -> Response {
    match e {
        e @ HealthError::NoSuchTarget { .. } => error(StatusCode::NOT_FOUND, e.to_string()),
        e => error(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

/// Asks the control loop to store the override; waits until it is.
async fn keep(
    writes: &tokio::sync::mpsc::Sender<OverrideWrite>,
    endpoint: &str,
    zone: &str,
    state: Option<Health>,
) -> Result<(), String> {
    let (reply, stored) = tokio::sync::oneshot::channel();
    let write = OverrideWrite {
        endpoint: endpoint.to_string(),
        zone: zone.to_string(),
        state: state.map(|s| s.as_str().to_string()),
        reply,
    };
    let gone = || "the override was not kept: the server is stopping".to_string();
    writes.send(write).await.map_err(|_| gone())?;
    stored.await.map_err(|_| gone())?
}

/// GET /metrics: Prometheus text format.
pub(crate) async fn metrics(State(st): State<ApiState>) -> Response {
    let mut out = String::new();
    st.shared.metrics.render_prometheus(&mut out);
    st.health.render_prometheus(&mut out);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}
