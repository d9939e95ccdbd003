//! Probe settings of an endpoint, layered: built-in defaults < `[probe]` <
//! the service's `probe` < the endpoint's `probe`. An endpoint is probed when
//! any level configures probing and the resulting kind is not "none".

use std::time::Duration;

use crate::config::file::ProbeSection;
use crate::probe::{ProbeKind, ProbeSettings, StatusSet};

/// One level and where it was written, for error messages.
pub struct Level<'a> {
    pub section: Option<&'a ProbeSection>,
    pub name: String,
}

/// Takes each field from the most specific level that sets it.
fn pick<'a, T: Clone>(
    levels: &'a [Level<'a>],
    get: impl Fn(&ProbeSection) -> Option<T>,
) -> Option<(T, &'a str)> {
    levels
        .iter()
        .rev()
        .find_map(|l| l.section.and_then(&get).map(|v| (v, l.name.as_str())))
}

/// The endpoint's probe settings; `Ok(None)` when it is not probed. An
/// error is `(field, message)`.
pub fn resolve(levels: &[Level<'_>]) -> Result<Option<ProbeSettings>, (String, String)> {
    if levels.iter().all(|l| l.section.is_none()) {
        return Ok(None);
    }
    let defaults = ProbeSettings::default();
    let (kind_name, kind_from) = pick(levels, |s| s.kind.clone())
        .map(|(k, from)| (k, from.to_string()))
        .unwrap_or_else(|| (defaults.kind.name().to_string(), "the default".to_string()));
    let need_port = |kind: &str| {
        pick(levels, |s| s.port).map(|(p, _)| p).ok_or_else(|| {
            (
                "probe.port".to_string(),
                format!("a {kind} probe (kind set in {kind_from}) needs a port"),
            )
        })
    };
    let kind = match kind_name.as_str() {
        "none" => return Ok(None),
        "icmp" => ProbeKind::Icmp,
        "tcp" => ProbeKind::Tcp {
            port: need_port("tcp")?,
        },
        "http" => ProbeKind::Http {
            port: need_port("http")?,
            path: pick(levels, |s| s.path.clone()).map_or_else(|| "/".to_string(), |(p, _)| p),
            expect: pick(levels, |s| s.expect)
                .map_or_else(StatusSet::default, |([a, b], _)| StatusSet(vec![a..=b])),
            tls: None,
        },
        other => {
            return Err((
                "probe.kind".to_string(),
                format!(
                    "'{other}' (set in {kind_from}) is not one of \"icmp\", \"tcp\", \"http\", \"none\""
                ),
            ));
        }
    };
    let settings = ProbeSettings {
        kind,
        interval: pick(levels, |s| s.interval_ms)
            .map_or(defaults.interval, |(ms, _)| Duration::from_millis(ms)),
        timeout: pick(levels, |s| s.timeout_ms)
            .map_or(defaults.timeout, |(ms, _)| Duration::from_millis(ms)),
        fall: pick(levels, |s| s.fall).map_or(defaults.fall, |(v, _)| v),
        rise: pick(levels, |s| s.rise).map_or(defaults.rise, |(v, _)| v),
    };
    settings.validate().map_err(|e| {
        // The config's names for the engine's fields, and where the value
        // that broke the rule was written.
        let (field, from) = match e.field {
            "interval" => ("interval_ms", pick(levels, |s| s.interval_ms).map(|p| p.1)),
            "timeout" => ("timeout_ms", pick(levels, |s| s.timeout_ms).map(|p| p.1)),
            "fall" => ("fall", pick(levels, |s| s.fall).map(|p| p.1)),
            "rise" => ("rise", pick(levels, |s| s.rise).map(|p| p.1)),
            "port" => ("port", pick(levels, |s| s.port).map(|p| p.1)),
            "path" => ("path", pick(levels, |s| s.path.clone()).map(|p| p.1)),
            "expect" => ("expect", pick(levels, |s| s.expect).map(|p| p.1)),
            other => (other, None),
        };
        (
            format!("probe.{field}"),
            format!("{} (set in {})", e.reason, from.unwrap_or("the defaults")),
        )
    })?;
    Ok(Some(settings))
}
