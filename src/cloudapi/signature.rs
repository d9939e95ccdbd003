//! The two signature schemes of the cloud's APIs, checked against the
//! configured AccessKeys:
//!
//! - ACS3-HMAC-SHA256 (the current SDKs): `Authorization: ACS3-HMAC-SHA256
//!   Credential=<id>,SignedHeaders=<h1;h2..>,Signature=<hex>`. The canonical
//!   request is `METHOD \n PATH \n QUERY \n HEADERS \n SIGNED \n PAYLOAD`:
//!   the query's parameters sorted and RFC 3986-encoded, each signed header
//!   `name:value\n` (lowercase, sorted), and PAYLOAD the
//!   `x-acs-content-sha256` header, which must be the body's SHA-256. The
//!   string to sign is `ACS3-HMAC-SHA256 \n hex(sha256(canonical request))`,
//!   signed with HMAC-SHA256 under the secret.
//! - RPC v1 HMAC-SHA1 (older SDKs, the CLI): the `Signature` parameter is
//!   base64(HMAC-SHA1(secret + "&", METHOD & %2F & enc(sorted params))),
//!   over every query and form parameter but `Signature`.
//!
//! Either way the request's time (`x-acs-date` / `Timestamp`) must be within
//! `MAX_SKEW` of ours and its nonce (`x-acs-signature-nonce` /
//! `SignatureNonce`) new.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use arc_swap::ArcSwap;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use super::error::ApiError;
use super::nonce::NonceCache;
use super::request::ApiRequest;
use crate::model::AccessKey;

/// How far a request's time may be from ours, either way (the cloud's 15
/// minutes).
pub(crate) const MAX_SKEW: Duration = Duration::from_secs(15 * 60);

/// RFC 3986 unreserved characters stay; everything else is %XX.
const RFC3986: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

pub(crate) fn encode(s: &str) -> String {
    utf8_percent_encode(s, RFC3986).to_string()
}

/// Checks signatures against the config's keys (replaced on reload) and
/// remembers nonces.
pub(crate) struct Verifier {
    /// Swapped whole on reload: a call sees the old set or the new one.
    keys: ArcSwap<HashMap<String, Arc<str>>>,
    nonces: Mutex<NonceCache>,
}

impl Verifier {
    pub(crate) fn new(keys: &[AccessKey]) -> Verifier {
        Verifier {
            keys: ArcSwap::from_pointee(key_map(keys)),
            nonces: Mutex::new(NonceCache::new(MAX_SKEW * 2)),
        }
    }

    /// Checks from now on against `keys` only: a key no longer in them
    /// stops working at once, a new one works. Nonces are kept.
    pub(crate) fn set_keys(&self, keys: &[AccessKey]) {
        self.keys.store(Arc::new(key_map(keys)));
    }

    /// The AccessKey id of a correctly signed, fresh, first-seen request.
    pub(crate) fn verify(&self, req: &ApiRequest, now: SystemTime) -> Result<String, ApiError> {
        let signed = match req.header("authorization") {
            Some(auth) => acs3(req, auth)?,
            None => rpc_v1(req)?,
        };
        let keys = self.keys.load();
        let Some(secret) = keys.get(&signed.key) else {
            return Err(ApiError::new(
                404,
                "InvalidAccessKeyId.NotFound",
                "Specified access key is not found.",
            ));
        };
        if !signed.matches(secret) {
            return Err(ApiError::bad(
                "SignatureDoesNotMatch",
                "Specified signature is not matched with our calculation.",
            ));
        }
        fresh(&signed.time, now)?;
        if signed.nonce.is_empty() {
            return Err(ApiError::missing("SignatureNonce"));
        }
        let first = self
            .nonces
            .lock()
            .expect("never poisoned: no panics under the lock")
            .first_use(&signed.key, &signed.nonce, Instant::now());
        if !first {
            return Err(ApiError::bad(
                "SignatureNonceUsed",
                "Specified signature nonce was used already.",
            ));
        }
        Ok(signed.key)
    }
}

fn key_map(keys: &[AccessKey]) -> HashMap<String, Arc<str>> {
    keys.iter()
        .map(|k| (k.id.clone(), k.secret.clone()))
        .collect()
}

/// What a request claims: who signed, what, how, when, with which nonce.
struct Signed {
    key: String,
    time: String,
    nonce: String,
    algorithm: Algorithm,
    string_to_sign: String,
    signature: Vec<u8>,
}

enum Algorithm {
    HmacSha256,
    HmacSha1,
}

impl Signed {
    /// Compares in constant time (the MACs' own `verify_slice`).
    fn matches(&self, secret: &str) -> bool {
        match self.algorithm {
            Algorithm::HmacSha256 => {
                let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
                    .expect("HMAC takes keys of any length");
                mac.update(self.string_to_sign.as_bytes());
                mac.verify_slice(&self.signature).is_ok()
            }
            Algorithm::HmacSha1 => {
                let mut mac = Hmac::<Sha1>::new_from_slice(format!("{secret}&").as_bytes())
                    .expect("HMAC takes keys of any length");
                mac.update(self.string_to_sign.as_bytes());
                mac.verify_slice(&self.signature).is_ok()
            }
        }
    }
}

fn mismatch(message: impl Into<String>) -> ApiError {
    ApiError::bad("SignatureDoesNotMatch", message)
}

fn acs3(req: &ApiRequest, auth: &str) -> Result<Signed, ApiError> {
    let Some(fields) = auth.strip_prefix("ACS3-HMAC-SHA256 ") else {
        return Err(mismatch(
            "Authorization: only ACS3-HMAC-SHA256 is supported",
        ));
    };
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in fields.split(',') {
        match part.trim().split_once('=') {
            Some(("Credential", v)) => credential = Some(v),
            Some(("SignedHeaders", v)) => signed_headers = Some(v),
            Some(("Signature", v)) => signature = Some(v),
            _ => {}
        }
    }
    let (Some(key), Some(signed_headers), Some(signature)) =
        (credential, signed_headers, signature)
    else {
        return Err(mismatch(
            "Authorization needs Credential, SignedHeaders and Signature",
        ));
    };
    let signature =
        hex::decode(signature).map_err(|_| mismatch("Authorization: Signature is not hex"))?;
    let names: Vec<&str> = signed_headers.split(';').collect();
    for needed in [
        "x-acs-date",
        "x-acs-signature-nonce",
        "x-acs-content-sha256",
    ] {
        if !names.contains(&needed) {
            return Err(mismatch(format!("SignedHeaders must include {needed}")));
        }
    }
    let payload = req.header("x-acs-content-sha256").unwrap_or_default();
    if !payload.eq_ignore_ascii_case(&hex::encode(Sha256::digest(&req.body))) {
        return Err(mismatch(
            "x-acs-content-sha256 is not the SHA-256 of the body",
        ));
    }
    let mut headers = String::new();
    for name in &names {
        let values: Vec<&str> = req
            .headers
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .collect();
        let mut values = values;
        values.sort_unstable();
        headers.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    let canonical = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method,
        if req.path.is_empty() { "/" } else { &req.path },
        canonical_query(&req.query),
        headers,
        signed_headers,
        payload
    );
    Ok(Signed {
        key: key.to_string(),
        time: req.header("x-acs-date").unwrap_or_default().to_string(),
        nonce: req
            .header("x-acs-signature-nonce")
            .unwrap_or_default()
            .to_string(),
        algorithm: Algorithm::HmacSha256,
        string_to_sign: format!(
            "ACS3-HMAC-SHA256\n{}",
            hex::encode(Sha256::digest(canonical.as_bytes()))
        ),
        signature,
    })
}

/// Sorted by name, `name=value` RFC 3986-encoded, joined by `&`.
fn canonical_query(params: &[(String, String)]) -> String {
    let mut pairs: Vec<(String, String)> =
        params.iter().map(|(k, v)| (encode(k), encode(v))).collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

fn rpc_v1(req: &ApiRequest) -> Result<Signed, ApiError> {
    let params = req.params();
    let Some(signature) = params.get("Signature") else {
        return Err(mismatch(
            "the request is not signed: neither an Authorization header nor a Signature parameter",
        ));
    };
    let method = params.get("SignatureMethod").unwrap_or_default();
    if method != "HMAC-SHA1" {
        return Err(mismatch(format!(
            "SignatureMethod '{method}' is not HMAC-SHA1"
        )));
    }
    let key = params.required("AccessKeyId")?.to_string();
    let signature = base64::engine::general_purpose::STANDARD
        .decode(signature)
        .map_err(|_| mismatch("Signature is not base64"))?;
    let unsigned: Vec<(String, String)> = params
        .0
        .iter()
        .filter(|(k, _)| *k != "Signature")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Ok(Signed {
        key,
        time: params.get("Timestamp").unwrap_or_default().to_string(),
        nonce: params.get("SignatureNonce").unwrap_or_default().to_string(),
        algorithm: Algorithm::HmacSha1,
        string_to_sign: format!(
            "{}&{}&{}",
            req.method,
            encode("/"),
            encode(&canonical_query(&unsigned))
        ),
        signature,
    })
}

/// The request's time is within `MAX_SKEW` of `now`, and it has a nonce.
fn fresh(time: &str, now: SystemTime) -> Result<(), ApiError> {
    let format_error = || {
        ApiError::bad(
            "InvalidTimeStamp.Format",
            format!(
                "Specified time stamp or date value '{time}' is not well formatted (ISO 8601, UTC)."
            ),
        )
    };
    let t = time::OffsetDateTime::parse(time, &time::format_description::well_known::Rfc3339)
        .map_err(|_| format_error())?;
    let now = time::OffsetDateTime::from(now);
    if (now - t).unsigned_abs() > MAX_SKEW {
        return Err(ApiError::bad(
            "InvalidTimeStamp.Expired",
            format!(
                "Specified time stamp or date value is expired: {time} is more than 15 minutes from the server's time."
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
