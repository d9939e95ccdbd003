//! `[[tsig_key]]` and `[[secondary]]`: the keys that sign zone transfers and
//! NOTIFY, and the standard secondaries that get them.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;

use base64::Engine;

use super::{Errors, Obj, dns_name};
use crate::config::file::{ConfigFile, TsigKeySection};
use crate::model::types::{Secondary, Transfer, TsigAlgorithm, TsigKey};

/// The keys and secondaries; every key is checked even when no secondary
/// names it.
pub(super) fn transfer(cfg: &ConfigFile, errs: &mut Errors) -> Transfer {
    let mut keys = Vec::new();
    let mut index = HashMap::new();
    let mut seen = HashSet::new();
    for (i, k) in cfg.tsig_key.iter().enumerate() {
        let obj = Obj::item("tsig_key", i, &k.name);
        let name = match dns_name(&k.name) {
            Ok(n) => Some(n),
            Err(m) => {
                errs.push(&obj, "name", m);
                None
            }
        };
        if !seen.insert(
            k.name
                .to_ascii_lowercase()
                .trim_end_matches('.')
                .to_string(),
        ) {
            errs.push(&obj, "name", format!("duplicate key name '{}'", k.name));
        }
        let algorithm = match k.algorithm.to_ascii_lowercase().as_str() {
            "hmac-sha256" => Some(TsigAlgorithm::HmacSha256),
            "hmac-sha512" => Some(TsigAlgorithm::HmacSha512),
            other => {
                errs.push(
                    &obj,
                    "algorithm",
                    format!("'{other}' is not supported: use hmac-sha256 or hmac-sha512"),
                );
                None
            }
        };
        let secret = secret(k, &obj, errs);
        if let (Some(name), Some(algorithm), Some(secret)) = (name, algorithm, secret) {
            index.insert(k.name.clone(), keys.len());
            keys.push(TsigKey {
                name,
                algorithm,
                secret: secret.into(),
            });
        }
    }
    let mut secondaries = Vec::new();
    let mut addresses = HashSet::new();
    for (i, s) in cfg.secondary.iter().enumerate() {
        let obj = Obj::item("secondary", i, &s.address);
        let address = match s.address.parse::<SocketAddr>() {
            Ok(a) if a.port() != 0 => Some(a),
            _ => {
                errs.push(
                    &obj,
                    "address",
                    format!(
                        "'{}' is not an address:port with a port (e.g. 127.0.0.20:53)",
                        s.address
                    ),
                );
                None
            }
        };
        if address.is_some_and(|a| !addresses.insert(a.ip())) {
            // Transfers are allowed by source IP: two entries for one IP
            // would make its key ambiguous.
            errs.push(
                &obj,
                "address",
                format!(
                    "another [[secondary]] already has the IP of '{}'",
                    s.address
                ),
            );
        }
        let key = match &s.tsig_key {
            None => Some(None),
            Some(name) => match index.get(name) {
                Some(&k) => Some(Some(k)),
                None => {
                    let known = cfg.tsig_key.iter().any(|k| &k.name == name);
                    if !known {
                        errs.push(
                            &obj,
                            "tsig_key",
                            format!("no [[tsig_key]] is named '{name}'"),
                        );
                    }
                    None
                }
            },
        };
        if let (Some(address), Some(key)) = (address, key) {
            secondaries.push(Secondary { address, key });
        }
    }
    Transfer { keys, secondaries }
}

/// The key's bytes from the base64 `secret` or the variable `secret_env`
/// names. Messages never include the secret.
fn secret(k: &TsigKeySection, obj: &Obj, errs: &mut Errors) -> Option<Vec<u8>> {
    let (field, value) = super::cloud_api::secret_text(
        k.secret.as_deref(),
        k.secret_env.as_deref(),
        "set secret (base64) or secret_env",
        obj,
        errs,
    )?;
    match base64::engine::general_purpose::STANDARD.decode(value.trim()) {
        Ok(bytes) if bytes.is_empty() => {
            errs.push(obj, field, "the secret is empty");
            None
        }
        Ok(bytes) => Some(bytes),
        Err(e) => {
            errs.push(obj, field, format!("the secret is not base64: {e}"));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::file::ConfigFile;
    use crate::model::build;
    use crate::model::types::TsigAlgorithm;

    fn check(extra: &str) -> Result<crate::model::Model, Vec<String>> {
        let text = format!(
            "[[vpc]]\nid = \"vpc-lab\"\nregion = \"cn-hangzhou\"\ncidrs = [\"127.0.0.0/16\"]\n{extra}"
        );
        let cfg: ConfigFile = toml::from_str(&text).unwrap();
        build(&cfg, None, &|_, _, _| unreachable!("no zone files"))
            .map_err(|errors| errors.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn keys_and_secondaries_are_read() {
        let m = check(
            "[[tsig_key]]\nname = \"Xfr-Key\"\nalgorithm = \"hmac-sha512\"\nsecret = \"c2VjcmV0\"\n\
             [[secondary]]\naddress = \"127.0.0.20:53\"\ntsig_key = \"Xfr-Key\"\n\
             [[secondary]]\naddress = \"[::1]:5353\"\n",
        )
        .unwrap();
        let t = &m.transfer;
        assert_eq!(t.keys[0].name.to_string(), "xfr-key.");
        assert_eq!(t.keys[0].algorithm, TsigAlgorithm::HmacSha512);
        assert_eq!(&*t.keys[0].secret, b"secret");
        assert_eq!(t.secondaries[0].key, Some(0));
        assert_eq!(t.secondaries[1].key, None);
        assert!(!format!("{m:?}").contains("c2VjcmV0"));
    }

    #[test]
    fn broken_keys_and_secondaries_are_refused() {
        let errors = check(
            "[[tsig_key]]\nname = \"k\"\nalgorithm = \"hmac-md5\"\nsecret = \"c2VjcmV0\"\n\
             [[tsig_key]]\nname = \"k2\"\nalgorithm = \"hmac-sha256\"\nsecret = \"not base64!\"\n\
             [[tsig_key]]\nname = \"K2.\"\nalgorithm = \"hmac-sha256\"\n\
             [[secondary]]\naddress = \"127.0.0.20\"\n\
             [[secondary]]\naddress = \"127.0.0.21:53\"\ntsig_key = \"nope\"\n\
             [[secondary]]\naddress = \"127.0.0.21:54\"\n",
        )
        .unwrap_err();
        assert_eq!(
            errors,
            [
                "tsig_key 'k' (tsig_key[0]): algorithm: 'hmac-md5' is not supported: use hmac-sha256 or hmac-sha512",
                "tsig_key 'k2' (tsig_key[1]): secret: the secret is not base64: Invalid symbol 32, offset 3.",
                "tsig_key 'K2.' (tsig_key[2]): name: duplicate key name 'K2.'",
                "tsig_key 'K2.' (tsig_key[2]): secret: set secret (base64) or secret_env",
                "secondary '127.0.0.20' (secondary[0]): address: '127.0.0.20' is not an address:port with a port (e.g. 127.0.0.20:53)",
                "secondary '127.0.0.21:53' (secondary[1]): tsig_key: no [[tsig_key]] is named 'nope'",
                "secondary '127.0.0.21:54' (secondary[2]): address: another [[secondary]] already has the IP of '127.0.0.21:54'",
            ]
        );
    }
}
