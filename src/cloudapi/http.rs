//! The control API's HTTP side (PrivateLink 2020-04-15 and PrivateZone
//! 2018-01-01 on one listener): every request is `/` with the action in a
//! header or parameter. A request is checked (signature, time, nonce,
//! action, version) here; the call itself goes to the server's control
//! loop, which owns the desired state and the published tables, so calls
//! are serialized and a reply is sent only once its change is durable and
//! answering.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tracing::debug;

use super::error::ApiError;
use super::request::{ApiRequest, Params};
use super::signature::Verifier;
use super::{privatelink, privatezone};
use crate::model::AccessKey;

/// One verified call for the control loop.
pub(crate) struct Call {
    pub(crate) action: String,
    pub(crate) params: Params,
    pub(crate) reply: oneshot::Sender<Result<Value, ApiError>>,
}

#[derive(Clone)]
pub(crate) struct Handle {
    verifier: Arc<Verifier>,
    calls: mpsc::Sender<Call>,
}

/// Calls waiting for the control loop; more wait in the HTTP server's
/// connection limits.
const QUEUE: usize = 64;

impl Handle {
    /// A handle that checks signatures against `keys`, and the receiving
    /// end of its calls.
    pub(crate) fn new(keys: &[AccessKey]) -> (Handle, mpsc::Receiver<Call>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        (
            Handle {
                verifier: Arc::new(Verifier::new(keys)),
                calls: tx,
            },
            rx,
        )
    }

    /// What checks the signatures, for the reload to give it new keys.
    pub(crate) fn verifier(&self) -> Arc<Verifier> {
        self.verifier.clone()
    }
}

pub(crate) fn bind(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    crate::api::bind(addr)
}

pub async fn serve(listener: std::net::TcpListener, handle: Handle) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let app = Router::new().fallback(handle_request).with_state(handle);
    crate::api::serve::serve(listener, app).await
}

async fn handle_request(
    State(handle): State<Handle>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request_id = request_id();
    let headers: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect();
    let req = ApiRequest::new(
        method.as_str(),
        uri.path(),
        uri.query(),
        headers,
        body.to_vec(),
    );
    let result = call(&handle, &req).await;
    if let Err(e) = &result {
        debug!(code = %e.code, message = %e.message, "control API call refused");
    }
    reply(result, &request_id)
}

async fn call(handle: &Handle, req: &ApiRequest) -> Result<Value, ApiError> {
    if req.path != "/" {
        return Err(ApiError::new(
            404,
            "InvalidApi.NotFound",
            format!(
                "Specified api is not found: the control API serves /, not {}",
                req.path
            ),
        ));
    }
    handle.verifier.verify(req, SystemTime::now())?;
    let (action, version) = req.action()?;
    let (product, want) = if privatelink::handles(&action) {
        ("PrivateLink", privatelink::VERSION)
    } else if privatezone::handles(&action) {
        ("PrivateZone", privatezone::VERSION)
    } else {
        return Err(privatelink::not_found_action(&action));
    };
    if version != want {
        return Err(ApiError::bad(
            "InvalidVersion",
            format!("Specified version '{version}' of {product}'s {action} is not {want}"),
        ));
    }
    let (tx, rx) = oneshot::channel();
    let call = Call {
        action,
        params: req.params(),
        reply: tx,
    };
    let unavailable = || ApiError::new(503, "ServiceUnavailable", "the server is stopping");
    handle.calls.send(call).await.map_err(|_| unavailable())?;
    rx.await.map_err(|_| unavailable())?
}

fn reply(result: Result<Value, ApiError>, request_id: &str) -> Response {
    let (status, body) = match result {
        Ok(mut v) => {
            if let Some(o) = v.as_object_mut() {
                o.insert("RequestId".into(), Value::from(request_id));
            }
            (StatusCode::OK, v)
        }
        Err(e) => (
            StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            e.body(request_id),
        ),
    };
    (status, axum::Json(body)).into_response()
}

/// A request id in the cloud's form (a UUID, upper case).
fn request_id() -> String {
    let b: [u8; 16] = rand::random();
    let h = hex::encode_upper(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}
