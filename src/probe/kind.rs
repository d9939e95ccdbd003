//! What to probe and how often: the per-target probe settings and their validation.

use std::fmt;
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::time::Duration;

use thiserror::Error;

/// The kind of check run against one ENI address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeKind {
    /// ICMP echo (IPv4 or IPv6, chosen by the target address).
    Icmp,
    /// A TCP connect that completes the handshake.
    Tcp { port: u16 },
    /// An HTTP/1.1 `GET path` whose status must be in `expect`; over TLS
    /// (HTTPS) when `tls` is set.
    Http {
        port: u16,
        path: String,
        expect: StatusSet,
        tls: Option<TlsSettings>,
    },
}

/// The HTTP statuses that count as healthy: codes and inclusive ranges.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StatusSet(pub Vec<RangeInclusive<u16>>);

impl StatusSet {
    pub(crate) fn contains(&self, status: u16) -> bool {
        self.0.iter().any(|r| r.contains(&status))
    }
}

impl Default for StatusSet {
    /// Success and redirection: 200-399.
    fn default() -> Self {
        StatusSet(vec![200..=399])
    }
}

impl fmt::Display for StatusSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            if r.start() == r.end() {
                write!(f, "{}", r.start())?;
            } else {
                write!(f, "{}-{}", r.start(), r.end())?;
            }
        }
        Ok(())
    }
}

/// How an HTTPS probe checks the ENI's certificate.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TlsSettings {
    /// Check the certificate chain and name. Off by default: lab services
    /// mostly carry self-signed certificates, and the probe asks whether the
    /// service answers, not who it is.
    pub verify: bool,
    /// The name sent as SNI and checked against the certificate; without it
    /// the ENI's address (checked as an IP address SAN).
    pub server_name: Option<String>,
    /// PEM file of the CAs to trust when verifying; without it the system's
    /// trust store.
    pub ca_file: Option<PathBuf>,
}

impl ProbeKind {
    /// Short name used in logs and metrics labels.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            ProbeKind::Icmp => "icmp",
            ProbeKind::Tcp { .. } => "tcp",
            ProbeKind::Http { tls: None, .. } => "http",
            ProbeKind::Http { tls: Some(_), .. } => "https",
        }
    }
}

/// How one target is probed and how results turn into up/down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeSettings {
    pub kind: ProbeKind,
    /// Time between the starts of two probes.
    pub interval: Duration,
    /// Bound on one probe; a probe that has not succeeded by then failed.
    pub timeout: Duration,
    /// Consecutive failures that take an up target down.
    pub fall: u32,
    /// Consecutive successes that bring a down target back up.
    pub rise: u32,
}

/// Shortest interval accepted: below this a lab of a few hundred ENIs would spend
/// its cores probing rather than answering.
pub(crate) const MIN_INTERVAL: Duration = Duration::from_millis(10);

impl Default for ProbeSettings {
    /// Tuned for "a dead ENI leaves the answer within 1 s, and one lost probe does
    /// not flap it", and to fail over faster than PowerDNS's `ifportup` (a
    /// median 0.28 s in the comparison):
    /// - worst case to go down: the ENI dies just after a good probe, the next two
    ///   probes (fall = 2) start 100 ms apart and each fails at its 75 ms timeout,
    ///   so 2 × 100 + 75 = 275 ms, leaving over 700 ms for scheduling delays;
    /// - fall = 2 means a single lost echo or SYN never takes an ENI down;
    /// - rise = 2 symmetrically keeps a flapping ENI from bouncing back on one
    ///   lucky probe, and recovery still takes only ~200 ms;
    /// - timeout < interval so probes of one target never overlap; 75 ms is
    ///   far above a lab network's round trip;
    /// - 10 probes a second per ENI address is nothing for a lab.
    ///
    /// ICMP is the default kind because it needs no knowledge of the service.
    fn default() -> Self {
        ProbeSettings {
            kind: ProbeKind::Icmp,
            interval: Duration::from_millis(100),
            timeout: Duration::from_millis(75),
            fall: 2,
            rise: 2,
        }
    }
}

/// A probe setting that cannot be used; `field` names it the way the config does.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid probe setting `{field}`: {reason}")]
pub struct SettingsError {
    pub(crate) field: &'static str,
    pub(crate) reason: String,
}

fn invalid(field: &'static str, reason: impl Into<String>) -> SettingsError {
    SettingsError {
        field,
        reason: reason.into(),
    }
}

impl ProbeSettings {
    /// Checks every rule a running prober relies on, so that a config load, a
    /// reload and an API call all reject the same settings before anything runs;
    /// the first broken rule.
    pub(crate) fn validate(&self) -> Result<(), SettingsError> {
        match self.problems().into_iter().next() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Every rule these settings break, in the order `validate` checks them.
    pub(crate) fn problems(&self) -> Vec<SettingsError> {
        let mut found = Vec::new();
        if self.interval < MIN_INTERVAL {
            found.push(invalid(
                "interval",
                format!("{:?} is below the minimum {MIN_INTERVAL:?}", self.interval),
            ));
        }
        if self.timeout.is_zero() {
            found.push(invalid("timeout", "must be greater than zero"));
        }
        // One probe per target at a time: a probe still running when the next is
        // due would make a slow target cost more than its share. (Against an
        // interval that is itself refused, this would only repeat that error.)
        if self.interval >= MIN_INTERVAL && self.timeout >= self.interval {
            found.push(invalid(
                "timeout",
                format!(
                    "{:?} must be shorter than interval {:?}",
                    self.timeout, self.interval
                ),
            ));
        }
        if self.fall == 0 {
            found.push(invalid("fall", "must be at least 1"));
        }
        if self.rise == 0 {
            found.push(invalid("rise", "must be at least 1"));
        }
        match &self.kind {
            ProbeKind::Icmp => {}
            ProbeKind::Tcp { port } => {
                if *port == 0 {
                    found.push(invalid("port", "must not be 0"));
                }
            }
            ProbeKind::Http {
                port,
                path,
                expect,
                tls,
            } => {
                if *port == 0 {
                    found.push(invalid("port", "must not be 0"));
                }
                if !path.starts_with('/') {
                    found.push(invalid("path", format!("{path:?} must start with '/'")));
                }
                // The path goes on the request line as is: whitespace or control
                // characters would produce a different request than configured.
                if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
                    found.push(invalid(
                        "path",
                        format!("{path:?} contains whitespace or control characters"),
                    ));
                }
                if expect.0.is_empty() {
                    found.push(invalid("expect", "lists no status"));
                }
                for r in &expect.0 {
                    if r.start() > r.end() {
                        found.push(invalid(
                            "expect",
                            format!("{}-{} is empty", r.start(), r.end()),
                        ));
                    }
                    if *r.start() < 100 || *r.end() > 599 {
                        found.push(invalid(
                            "expect",
                            format!(
                                "{} is outside the HTTP statuses 100-599",
                                StatusSet(vec![r.clone()])
                            ),
                        ));
                    }
                }
                if let Some(TlsSettings {
                    server_name: Some(name),
                    ..
                }) = tls
                    && tokio_rustls::rustls::pki_types::ServerName::try_from(name.as_str()).is_err()
                {
                    found.push(invalid(
                        "server_name",
                        format!("{name:?} is not a DNS name or an IP address"),
                    ));
                }
            }
        }
        found
    }

    /// Longest time from the start of probing until this target has its first
    /// result: the initial jitter (below one interval) plus one bounded probe.
    pub(crate) fn first_result_bound(&self) -> Duration {
        self.interval + self.timeout
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(path: &str, expect: RangeInclusive<u16>) -> ProbeSettings {
        ProbeSettings {
            kind: ProbeKind::Http {
                port: 80,
                path: path.into(),
                expect: StatusSet(vec![expect]),
                tls: None,
            },
            ..ProbeSettings::default()
        }
    }

    #[test]
    fn default_is_valid_and_meets_the_one_second_goal() {
        let s = ProbeSettings::default();
        s.validate().unwrap();
        assert!(s.fall >= 2, "a single lost probe must not take an ENI down");
        let worst_down = s.interval * s.fall + s.timeout;
        assert!(worst_down < Duration::from_secs(1), "{worst_down:?}");
    }

    #[test]
    fn errors_name_the_field() {
        let base = ProbeSettings::default();
        let cases = [
            (
                ProbeSettings {
                    interval: Duration::from_millis(5),
                    timeout: Duration::from_millis(1),
                    ..base.clone()
                },
                "interval",
            ),
            (
                ProbeSettings {
                    timeout: base.interval,
                    ..base.clone()
                },
                "timeout",
            ),
            (
                ProbeSettings {
                    timeout: Duration::ZERO,
                    ..base.clone()
                },
                "timeout",
            ),
            (
                ProbeSettings {
                    fall: 0,
                    ..base.clone()
                },
                "fall",
            ),
            (
                ProbeSettings {
                    rise: 0,
                    ..base.clone()
                },
                "rise",
            ),
            (
                ProbeSettings {
                    kind: ProbeKind::Tcp { port: 0 },
                    ..base.clone()
                },
                "port",
            ),
            (http("health", 200..=299), "path"),
            (http("/a b", 200..=299), "path"),
            (http("/", RangeInclusive::new(300, 200)), "expect"),
            (http("/", 200..=700), "expect"),
        ];
        for (settings, field) in cases {
            let err = settings.validate().unwrap_err();
            assert_eq!(err.field, field, "{err}");
            assert!(err.to_string().contains(field));
        }
        http("/healthz", 200..=399).validate().unwrap();
    }

    #[test]
    fn a_status_set_holds_codes_and_ranges() {
        let set = StatusSet(vec![200..=200, 204..=204, 300..=399]);
        assert!(set.contains(200) && set.contains(204) && set.contains(301));
        assert!(!set.contains(201) && !set.contains(400));
        assert_eq!(set.to_string(), "200, 204, 300-399");
    }
}
