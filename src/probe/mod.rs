//! Health probing: ICMP/TCP/HTTP checks of every ENI address, rise/fall
//! thresholds, admin overrides and the health table the snapshot builder reads.
//!
//! Split as gdnsd splits monitors from the core: `check` only reports raw results,
//! `threshold` turns them into up/down, `health` combines that with overrides into
//! the effective state and records events and metrics, and `scheduler` runs one
//! task per target.
//!
//! Wiring, as the server does it:
//!
//! ```no_run
//! use std::sync::Arc;
//! use epdns::probe::{HealthTable, ProbeKind, ProbeSettings, Prober, State, TargetKey};
//!
//! # async fn serve() -> Result<(), Box<dyn std::error::Error>> {
//! let health = Arc::new(HealthTable::default());
//! let eni = TargetKey::new("ep-lab1", "cn-hangzhou-h", "127.0.1.10".parse()?);
//! let tcp = ProbeSettings { kind: ProbeKind::Tcp { port: 443 }, ..ProbeSettings::default() };
//! let mut prober = Prober::start(health.clone(), vec![(eni.clone(), tcp.clone())])?;
//! prober.first_round().await; // no answer before the first probe
//!
//! let mut changes = health.subscribe();
//! tokio::spawn({
//!     let health = health.clone();
//!     async move {
//!         while changes.changed().await.is_ok() {
//!             // Rebuild and swap the snapshot from one consistent read.
//!             let _up = health.effective_up_of([&eni]);
//!         }
//!     }
//! });
//!
//! health.set_override("ep-lab1", "cn-hangzhou-h", Some(State::Down))?; // chaos test
//! prober.update_targets(vec![])?; // config reload
//! # Ok(())
//! # }
//! ```

mod check;
mod events;
mod health;
mod kind;
mod metrics;
mod scheduler;
mod threshold;
mod tls;

#[cfg(test)]
mod health_tests;
#[cfg(test)]
mod scheduler_tests;

pub use check::ProbeResult;
#[cfg(test)]
pub(crate) use check::{Check, CheckFuture};
pub use events::Event;
pub(crate) use health::Notice;
pub use health::{Changes, HealthError, HealthTable, TargetKey, TargetStatus};
pub use kind::{ProbeKind, ProbeSettings, SettingsError, StatusSet, TlsSettings};
pub use scheduler::{Prober, ProberError, ReloadSummary};
pub use threshold::State;
