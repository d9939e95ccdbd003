//! Optional bearer-token authentication of the admin API.

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::ApiState;

/// Lets a request through when no token is configured or when it carries
/// `Authorization: Bearer <token>` (or, for the browser's EventSource, which
/// cannot set headers, an `access_token` query parameter: RFC 6750 §2.3);
/// else 401 with a `WWW-Authenticate` challenge (RFC 6750 §3). The dashboard
/// page itself (`GET /`) holds no data and is always served.
pub(crate) async fn require_token(
    State(st): State<ApiState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(token) = st.token.as_deref() else {
        return next.run(request).await;
    };
    if request.uri().path() == "/" {
        return next.run(request).await;
    }
    let header_token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let query_token = request.uri().query().and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "access_token")
            .map(|(_, v)| v.into_owned())
    });
    let given = header_token.map(str::to_string).or(query_token);
    match given {
        Some(g) if constant_time_eq(g.as_bytes(), token.as_bytes()) => next.run(request).await,
        _ => (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer realm=\"epdns admin\"")],
            axum::Json(serde_json::json!({
                "error": "this admin API needs 'Authorization: Bearer <token>' with the configured token"
            })),
        )
            .into_response(),
    }
}

/// Compares without stopping at the first difference, so the time taken
/// does not tell how much of a guess was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn equal_only_when_every_byte_is() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
        assert!(!constant_time_eq(b"", b"x"));
    }
}
