//! `[api]`, `[[access_key]]` and `[state]`: the cloud-compatible control API,
//! the keys that may sign its calls and where its durable state lives.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::{Errors, Obj};
use crate::config::file::{AccessKeySection, ConfigFile};
use crate::model::types::{AccessKey, CloudApi};

/// The control API when `[api]` is set; its keys are checked either way, so
/// that a broken key is reported before anyone enables the API.
pub(super) fn cloud_api(cfg: &ConfigFile, errs: &mut Errors) -> Option<CloudApi> {
    let keys = access_keys(&cfg.access_key, errs);
    let a = cfg.api.as_ref()?;
    let obj = Obj::section("api");
    let listen = match a.listen.parse::<SocketAddr>() {
        Ok(addr) => Some(addr),
        Err(_) => {
            errs.push(
                &obj,
                "listen",
                format!(
                    "'{}' is not an address:port (e.g. 127.0.0.1:8080)",
                    a.listen
                ),
            );
            None
        }
    };
    if cfg.access_key.is_empty() {
        errs.push(
            &obj,
            "listen",
            "the control API needs at least one [[access_key]] to check signatures against",
        );
    }
    Some(CloudApi {
        listen: listen?,
        lifecycle: Duration::from_millis(a.lifecycle_ms),
        keys,
        state_dir: cfg.state.as_ref().map(|s| PathBuf::from(&s.dir)),
    })
}

fn access_keys(sections: &[AccessKeySection], errs: &mut Errors) -> Vec<AccessKey> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (i, k) in sections.iter().enumerate() {
        let obj = Obj::item("access_key", i, &k.id);
        if k.id.is_empty() || k.id.chars().any(|c| c.is_whitespace() || c == ',') {
            errs.push(
                &obj,
                "id",
                "an AccessKey id must be non-empty, without spaces or commas",
            );
        }
        if !seen.insert(k.id.clone()) {
            errs.push(&obj, "id", format!("duplicate AccessKey id '{}'", k.id));
        }
        if let Some(secret) = secret(k, &obj, errs) {
            out.push(AccessKey {
                id: k.id.clone(),
                secret,
            });
        }
    }
    out
}

/// The key's secret from `secret` or from the variable `secret_env` names.
/// Messages never include the secret.
fn secret(k: &AccessKeySection, obj: &Obj, errs: &mut Errors) -> Option<Arc<str>> {
    let (field, value) = match (&k.secret, &k.secret_env) {
        (Some(_), Some(_)) => {
            errs.push(obj, "secret_env", "set secret or secret_env, not both");
            return None;
        }
        (Some(s), None) => ("secret", s.clone()),
        (None, Some(var)) => match std::env::var(var) {
            Ok(s) => ("secret_env", s),
            Err(_) => {
                errs.push(
                    obj,
                    "secret_env",
                    format!("the environment variable {var} is not set (or not UTF-8)"),
                );
                return None;
            }
        },
        (None, None) => {
            errs.push(obj, "secret", "set secret or secret_env");
            return None;
        }
    };
    if value.is_empty() {
        errs.push(obj, field, "the secret is empty");
        return None;
    }
    Some(value.into())
}
