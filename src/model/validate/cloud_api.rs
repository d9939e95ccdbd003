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
use crate::store::{EtcdTarget, StateLocation};

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
        state: state(cfg, errs),
    })
}

/// `[state]`: a folder or an etcd URL, exactly one.
fn state(cfg: &ConfigFile, errs: &mut Errors) -> Option<StateLocation> {
    let s = cfg.state.as_ref()?;
    let obj = Obj::section("state");
    match (&s.dir, &s.etcd) {
        (Some(dir), None) => Some(StateLocation::Dir(PathBuf::from(dir))),
        (None, Some(url)) => match EtcdTarget::parse(url) {
            Some(Ok(target)) => Some(StateLocation::Etcd(target)),
            Some(Err(m)) => {
                errs.push(&obj, "etcd", m);
                None
            }
            None => {
                errs.push(
                    &obj,
                    "etcd",
                    format!("'{url}' is not etcd://HOST:PORT[,HOST:PORT…]/PREFIX"),
                );
                None
            }
        },
        (Some(_), Some(_)) => {
            errs.push(&obj, "etcd", "set dir or etcd, not both");
            None
        }
        (None, None) => {
            errs.push(
                &obj,
                "dir",
                "set dir (a folder) or etcd (etcd://HOST:PORT/PREFIX)",
            );
            None
        }
    }
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
    let (field, value) = secret_text(
        k.secret.as_deref(),
        k.secret_env.as_deref(),
        "set secret or secret_env",
        obj,
        errs,
    )?;
    if value.is_empty() {
        errs.push(obj, field, "the secret is empty");
        return None;
    }
    Some(value.into())
}

/// A secret written in the config (`secret`) or in the environment variable
/// `secret_env` names, with the field it came from; `missing` is the error
/// when neither is set. Messages never include the secret.
pub(super) fn secret_text(
    secret: Option<&str>,
    secret_env: Option<&str>,
    missing: &str,
    obj: &Obj,
    errs: &mut Errors,
) -> Option<(&'static str, String)> {
    match (secret, secret_env) {
        (Some(_), Some(_)) => {
            errs.push(obj, "secret_env", "set secret or secret_env, not both");
            None
        }
        (Some(s), None) => Some(("secret", s.to_string())),
        (None, Some(var)) => match std::env::var(var) {
            Ok(s) => Some(("secret_env", s)),
            Err(_) => {
                errs.push(
                    obj,
                    "secret_env",
                    format!("the environment variable {var} is not set (or not UTF-8)"),
                );
                None
            }
        },
        (None, None) => {
            errs.push(obj, "secret", missing);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::file::ConfigFile;
    use crate::model::build;

    fn check(extra: &str) -> Result<crate::model::Model, Vec<String>> {
        let text = format!(
            "[[vpc]]\nid = \"vpc-lab\"\nregion = \"cn-hangzhou\"\ncidrs = [\"127.0.0.0/16\"]\n{extra}"
        );
        let cfg: ConfigFile = toml::from_str(&text).unwrap();
        build(&cfg, None, &|_, _, _| unreachable!("no zone files"))
            .map_err(|errors| errors.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn a_secret_comes_from_the_file_or_the_environment_and_is_never_shown() {
        // SAFETY: tests in this module are the only readers of this variable.
        unsafe { std::env::set_var("EPDNS_TEST_API_SECRET", "from-env-secret") };
        let m = check(
            "[api]\nlisten = \"127.0.0.1:0\"\n\
             [[access_key]]\nid = \"a\"\nsecret = \"in-file-secret\"\n\
             [[access_key]]\nid = \"b\"\nsecret_env = \"EPDNS_TEST_API_SECRET\"\n",
        )
        .unwrap();
        let api = m.cloud_api.clone().unwrap();
        assert_eq!(&*api.keys[0].secret, "in-file-secret");
        assert_eq!(&*api.keys[1].secret, "from-env-secret");
        assert_eq!(api.lifecycle, std::time::Duration::from_millis(500));
        let shown = format!("{m:?}");
        assert!(!shown.contains("in-file-secret") && !shown.contains("from-env-secret"));
    }

    #[test]
    fn broken_keys_and_an_api_without_keys_are_refused() {
        let errors = check(
            "[api]\nlisten = \"127.0.0.1:0\"\n\
             [[access_key]]\nid = \"\"\nsecret = \"s\"\n\
             [[access_key]]\nid = \"k\"\nsecret_env = \"EPDNS_TEST_API_SECRET_UNSET\"\n\
             [[access_key]]\nid = \"k\"\nsecret = \"\"\n\
             [[access_key]]\nid = \"n\"\n",
        )
        .unwrap_err();
        assert_eq!(
            errors,
            [
                "access_key '' (access_key[0]): id: an AccessKey id must be non-empty, without spaces or commas",
                "access_key 'k' (access_key[1]): secret_env: the environment variable EPDNS_TEST_API_SECRET_UNSET is not set (or not UTF-8)",
                "access_key 'k' (access_key[2]): id: duplicate AccessKey id 'k'",
                "access_key 'k' (access_key[2]): secret: the secret is empty",
                "access_key 'n' (access_key[3]): secret: set secret or secret_env",
            ]
        );
        let errors = check("[api]\nlisten = \"127.0.0.1:0\"\n").unwrap_err();
        assert_eq!(
            errors,
            [
                "[api]: listen: the control API needs at least one [[access_key]] to check signatures against"
            ]
        );
    }
}
