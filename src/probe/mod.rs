//! Health probing: ICMP/TCP/HTTP checks of every ENI address, rise/fall
//! thresholds, admin overrides and the health table the snapshot builder reads.
//!
//! Split as gdnsd splits monitors from the core: `check` only reports raw results,
//! `threshold` turns them into up/down, `health` combines that with overrides into
//! the effective state and records events and metrics, and `scheduler` runs one
//! task per target.

mod check;
mod events;
mod health;
mod kind;
mod metrics;
mod scheduler;
mod threshold;

#[cfg(test)]
mod health_tests;
#[cfg(test)]
mod scheduler_tests;

pub use check::{Check, CheckFuture, NetChecker, ProbeResult};
pub use events::{DEFAULT_EVENT_CAPACITY, Event};
pub use health::{HealthError, HealthTable, TargetKey, TargetStatus};
pub use kind::{MIN_INTERVAL, ProbeKind, ProbeSettings, SettingsError};
pub use scheduler::{Prober, ProberError, ReloadSummary};
pub use threshold::{State, Threshold, Transition};
