//! The admin HTTP API: status, admin overrides for chaos tests, the event
//! history and Prometheus metrics. Loopback by default; it changes what is
//! answered only through the health table, like the probes.

mod auth;
mod handlers;
pub(crate) mod serve;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::{get, put};

use crate::dns::Shared;
use crate::probe::HealthTable;

#[derive(Clone)]
pub(crate) struct ApiState {
    pub(crate) shared: Arc<Shared>,
    pub(crate) health: Arc<HealthTable>,
    /// When set, every request must carry `Authorization: Bearer <token>`.
    pub(crate) token: Option<Arc<str>>,
}

pub(crate) fn router(state: ApiState) -> Router {
    Router::new()
        .route("/", get(handlers::dashboard))
        .route("/v1/status", get(handlers::status))
        .route("/v1/stream", get(handlers::stream))
        .route("/v1/events", get(handlers::events))
        .route(
            "/v1/endpoints/{endpoint}/zones/{zone}/override",
            put(handlers::set_override).delete(handlers::clear_override),
        )
        .route("/metrics", get(handlers::metrics))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ))
        .with_state(state)
}

pub(crate) fn bind(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let l = std::net::TcpListener::bind(addr)?;
    l.set_nonblocking(true)?;
    Ok(l)
}

pub(crate) async fn serve(listener: std::net::TcpListener, state: ApiState) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::from_std(listener)?;
    serve::serve(listener, router(state)).await
}
