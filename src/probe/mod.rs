//! Health probing: ICMP/TCP/HTTP checks of every ENI address, rise/fall
//! thresholds, admin overrides and the health table the snapshot builder reads.
//!
//! Split as gdnsd splits monitors from the core: `check` only reports raw results,
//! `threshold` turns them into up/down, `health` combines that with overrides into
//! the effective state and records events and metrics, and `scheduler` runs one
//! task per target.

mod check;
mod health;
mod kind;
mod scheduler;
mod threshold;

#[cfg(test)]
mod scheduler_tests;

pub use check::{Check, CheckFuture, NetChecker, ProbeResult};
pub use health::{
    DEFAULT_EVENT_CAPACITY, Event, HealthError, HealthTable, TargetKey, TargetStatus,
};
pub use kind::{MIN_INTERVAL, ProbeKind, ProbeSettings, SettingsError};
pub use scheduler::{Prober, ProberError, ReloadSummary};
pub use threshold::{State, Threshold, Transition};
