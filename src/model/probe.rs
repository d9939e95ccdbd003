//! Probe settings of an endpoint, layered: built-in defaults < `[probe]` <
//! the service's `probe` < the endpoint's `probe`. An endpoint is probed when
//! any level configures probing and the resulting kind is not "none".

use std::time::Duration;

use crate::config::ConfigPath;
use crate::config::file::ProbeSection;
use crate::config::file::StatusSpec;
use crate::probe::{ProbeKind, ProbeSettings, SettingsError, StatusSet, TlsSettings};

/// One level, how errors name it and where the file has it.
pub(crate) struct Level<'a> {
    pub(crate) section: Option<&'a ProbeSection>,
    pub(crate) name: String,
    pub(crate) path: ConfigPath,
}

/// A probe setting that cannot work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    /// The config's key, e.g. `interval_ms`.
    pub(crate) key: &'static str,
    /// Where the file sets the value at fault; `None` when no level does.
    pub(crate) at: Option<ConfigPath>,
    pub(crate) message: String,
}

/// Takes each field from the most specific level that sets it.
fn pick<'a, T>(
    levels: &'a [Level<'a>],
    get: impl Fn(&ProbeSection) -> Option<T>,
) -> Option<(T, &'a Level<'a>)> {
    levels
        .iter()
        .rev()
        .find_map(|l| l.section.and_then(&get).map(|v| (v, l)))
}

/// The endpoint's probe settings; `Ok(None)` when it is not probed. Every
/// setting that cannot work is reported, not only the first.
pub(crate) fn resolve(levels: &[Level<'_>]) -> Result<Option<ProbeSettings>, Vec<Problem>> {
    if levels.iter().all(|l| l.section.is_none()) {
        return Ok(None);
    }
    let defaults = ProbeSettings::default();
    let kind_set = pick(levels, |s| s.kind.clone());
    let kind_from = kind_set.as_ref().map_or("the default", |(_, l)| &l.name);
    let kind_at = kind_set.as_ref().map(|(_, l)| l.path.clone().key("kind"));
    let kind_name = kind_set
        .as_ref()
        .map_or(defaults.kind.name(), |(k, _)| k.as_str());
    let mut problems = Vec::new();
    let mut port = |kind: &str| match pick(levels, |s| s.port) {
        Some((p, _)) => p,
        None => {
            problems.push(Problem {
                key: "port",
                at: kind_at.clone(),
                message: format!("a {kind} probe (kind set in {kind_from}) needs a port"),
            });
            // Stands in so that the other settings are still checked.
            1
        }
    };
    let kind = match kind_name {
        "none" => return Ok(None),
        "icmp" => ProbeKind::Icmp,
        "tcp" => ProbeKind::Tcp { port: port("tcp") },
        "http" | "https" => ProbeKind::Http {
            port: port(kind_name),
            path: pick(levels, |s| s.path.clone()).map_or_else(|| "/".to_string(), |(p, _)| p),
            expect: match pick(levels, |s| s.expect.clone()) {
                None => StatusSet::default(),
                Some((specs, level)) => status_set(&specs).unwrap_or_else(|m| {
                    problems.push(Problem {
                        key: "expect",
                        at: Some(level.path.clone().key("expect")),
                        message: format!("{m} (set in {})", level.name),
                    });
                    StatusSet::default()
                }),
            },
            tls: (kind_name == "https").then(|| TlsSettings {
                verify: pick(levels, |s| s.tls_verify).is_some_and(|(v, _)| v),
                server_name: pick(levels, |s| s.server_name.clone()).map(|(n, _)| n),
                ca_file: pick(levels, |s| s.ca_file.clone()).map(|(f, _)| f.into()),
            }),
        },
        other => {
            problems.push(Problem {
                key: "kind",
                at: kind_at.clone(),
                message: format!(
                    "'{other}' (set in {kind_from}) is not one of \"icmp\", \"tcp\", \"http\", \"https\", \"none\""
                ),
            });
            // Stands in so that the other settings are still checked.
            ProbeKind::Icmp
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
    problems.extend(
        every_broken_rule(settings.clone())
            .into_iter()
            .map(|e| setting_problem(levels, e)),
    );
    if problems.is_empty() {
        Ok(Some(settings))
    } else {
        Err(problems)
    }
}

/// `expect` as written: codes (`204`) and ranges (`"200-299"`).
fn status_set(specs: &[StatusSpec]) -> Result<StatusSet, String> {
    specs
        .iter()
        .map(|spec| match spec {
            StatusSpec::Code(c) => Ok(*c..=*c),
            StatusSpec::Range(text) => {
                let bad = || format!("'{text}' is not a status code range like \"200-299\"");
                let (a, b) = text.split_once('-').ok_or_else(bad)?;
                let a: u16 = a.trim().parse().map_err(|_| bad())?;
                let b: u16 = b.trim().parse().map_err(|_| bad())?;
                Ok(a..=b)
            }
        })
        .collect::<Result<Vec<_>, _>>()
        .map(StatusSet)
}

/// The probe engine's error in the config's words: its key, and the level
/// that set the value that broke the rule.
fn setting_problem(levels: &[Level<'_>], e: SettingsError) -> Problem {
    let level = |get: &dyn Fn(&ProbeSection) -> bool| {
        pick(levels, |s| get(s).then_some(())).map(|((), l)| l)
    };
    let (key, from) = match e.field {
        "interval" => ("interval_ms", level(&|s| s.interval_ms.is_some())),
        "timeout" => ("timeout_ms", level(&|s| s.timeout_ms.is_some())),
        "fall" => ("fall", level(&|s| s.fall.is_some())),
        "rise" => ("rise", level(&|s| s.rise.is_some())),
        "port" => ("port", level(&|s| s.port.is_some())),
        "path" => ("path", level(&|s| s.path.is_some())),
        "expect" => ("expect", level(&|s| s.expect.is_some())),
        "server_name" => ("server_name", level(&|s| s.server_name.is_some())),
        other => (other, None),
    };
    Problem {
        key,
        at: from.map(|l| l.path.clone().key(key)),
        message: format!(
            "{} (set in {})",
            e.reason,
            from.map_or("the defaults", |l| l.name.as_str())
        ),
    }
}

/// Every rule of the probe engine that `settings` breaks, one per field.
fn every_broken_rule(settings: ProbeSettings) -> Vec<SettingsError> {
    let mut broken: Vec<SettingsError> = Vec::new();
    for e in settings.problems() {
        if !broken.iter().any(|b| b.field == e.field) {
            broken.push(e);
        }
    }
    broken
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(text: &str) -> ProbeSection {
        toml::from_str(text).unwrap()
    }

    fn endpoint_level(s: &ProbeSection) -> [Level<'_>; 1] {
        [Level {
            section: Some(s),
            name: "this endpoint".to_string(),
            path: ConfigPath::from("endpoint").index(0).key("probe"),
        }]
    }

    #[test]
    fn every_broken_setting_is_reported_where_it_is_set() {
        let s = section("kind = \"tcp\"\ninterval_ms = 5\ntimeout_ms = 0\nfall = 0\nrise = 0");
        let problems = resolve(&endpoint_level(&s)).unwrap_err();
        let keys: Vec<_> = problems.iter().map(|p| p.key).collect();
        assert_eq!(keys, ["port", "interval_ms", "timeout_ms", "fall", "rise"]);
        assert_eq!(
            problems[1].at.as_ref().map(ToString::to_string).as_deref(),
            Some("endpoint[0].probe.interval_ms")
        );
        // The missing port is asked for by the kind.
        assert_eq!(
            problems[0].at.as_ref().map(ToString::to_string).as_deref(),
            Some("endpoint[0].probe.kind")
        );
    }

    #[test]
    fn an_unknown_kind_does_not_hide_the_other_settings() {
        let s = section("kind = \"ping\"\nfall = 0");
        let problems = resolve(&endpoint_level(&s)).unwrap_err();
        let keys: Vec<_> = problems.iter().map(|p| p.key).collect();
        assert_eq!(keys, ["kind", "fall"]);
    }

    #[test]
    fn a_rule_between_two_fields_is_reported_once() {
        // 50 ms is a valid interval; the default timeout (75 ms) is not
        // shorter than it.
        let s = section("interval_ms = 50");
        let problems = resolve(&endpoint_level(&s)).unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].key, "timeout_ms");
        assert!(problems[0].message.contains("the defaults"), "{problems:?}");
        assert_eq!(problems[0].at, None);
    }

    #[test]
    fn valid_settings_resolve() {
        let s = section("kind = \"http\"\nport = 80\npath = \"/health\"");
        let settings = resolve(&endpoint_level(&s)).unwrap().unwrap();
        assert_eq!(settings.kind.name(), "http");
        let none = section("kind = \"none\"\nfall = 0");
        assert_eq!(resolve(&endpoint_level(&none)).unwrap(), None);
    }
}
