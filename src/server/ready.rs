//! Readiness: once every listener is open, the log line "ready" and, with
//! `--ready-file PATH`, a small JSON document of every bound address, written
//! atomically (a temporary file renamed over PATH) so that a reader never
//! sees half of it:
//!
//! ```json
//! {"pid": 4242,
//!  "dns": ["127.0.0.1:40123"],
//!  "inbound": [{"vpc": "vpc-lab", "listen": "127.0.0.2:0", "addr": "127.0.0.2:40125"}],
//!  "admin": "127.0.0.1:40127",
//!  "api": "127.0.0.1:40129"}
//! ```
//!
//! `dns` follows the order of `--listen` (or the config's `listen`),
//! `inbound` that of the config (`listen` as configured, `addr` as bound);
//! `admin` is null without the admin API, `api` without the control API. The file is removed at start and
//! on a clean stop, so one that exists describes a server that was ready.

use std::net::SocketAddr;
use std::path::Path;

use anyhow::Context;
use serde_json::json;
use tracing::info;

/// What is open, by role.
#[derive(Debug, Default)]
pub(super) struct Ready {
    pub(crate) dns: Vec<SocketAddr>,
    /// (VPC, configured address, bound address)
    pub(crate) inbound: Vec<(String, SocketAddr, SocketAddr)>,
    pub(crate) admin: Option<SocketAddr>,
    /// The cloud-compatible control API.
    pub(crate) api: Option<SocketAddr>,
}

impl Ready {
    fn to_json(&self) -> serde_json::Value {
        let inbound: Vec<_> = self
            .inbound
            .iter()
            .map(|(vpc, listen, addr)| {
                json!({ "vpc": vpc, "listen": listen.to_string(), "addr": addr.to_string() })
            })
            .collect();
        json!({
            "pid": std::process::id(),
            "dns": self.dns.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "inbound": inbound,
            "admin": self.admin.map(|a| a.to_string()),
            "api": self.api.map(|a| a.to_string()),
        })
    }

    /// Logs "ready" and writes `file`, when given.
    pub(crate) fn announce(&self, file: Option<&Path>) -> anyhow::Result<()> {
        if let Some(path) = file {
            let tmp = path.with_file_name(format!(
                ".{}.{}.tmp",
                path.file_name()
                    .map_or("ready".into(), |n| n.to_string_lossy()),
                std::process::id()
            ));
            std::fs::write(&tmp, format!("{}\n", self.to_json()))
                .with_context(|| format!("writing the ready file {}", tmp.display()))?;
            std::fs::rename(&tmp, path)
                .with_context(|| format!("writing the ready file {}", path.display()))?;
        }
        let addrs = |v: &[SocketAddr]| {
            v.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" ")
        };
        let inbound: Vec<SocketAddr> = self.inbound.iter().map(|(_, _, a)| *a).collect();
        info!(
            dns = %addrs(&self.dns),
            inbound = %addrs(&inbound),
            admin = %self.admin.map_or("-".into(), |a| a.to_string()),
            "ready"
        );
        Ok(())
    }
}

/// Removes `file` if it exists: a ready file left by an earlier run must not
/// announce this one.
pub(super) fn clear(file: &Path) -> anyhow::Result<()> {
    match std::fs::remove_file(file) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("removing the old ready file {}", file.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ready_file_names_every_address_by_role() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ready.json");
        std::fs::write(&path, "stale").unwrap();
        clear(&path).unwrap();
        assert!(!path.exists());
        let ready = Ready {
            dns: vec!["127.0.0.1:4000".parse().unwrap()],
            inbound: vec![(
                "vpc-lab".into(),
                "127.0.0.2:0".parse().unwrap(),
                "127.0.0.2:4001".parse().unwrap(),
            )],
            admin: None,
            api: None,
        };
        ready.announce(Some(&path)).unwrap();
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(v["pid"], std::process::id());
        assert_eq!(v["dns"], json!(["127.0.0.1:4000"]));
        assert_eq!(
            v["inbound"],
            json!([{"vpc": "vpc-lab", "listen": "127.0.0.2:0", "addr": "127.0.0.2:4001"}])
        );
        assert_eq!(v["admin"], serde_json::Value::Null);
        // Only the ready file is left: the temporary one was renamed.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
