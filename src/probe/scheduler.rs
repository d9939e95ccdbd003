//! The prober: one tokio task per target, each on its own interval, feeding the
//! health table; plus config reload that keeps what did not change.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;
use tokio::task::JoinHandle;
use tokio::time::{MissedTickBehavior, sleep, timeout};
use tracing::Instrument;

use super::check::{Check, NetChecker, ProbeResult};
use super::health::{HealthTable, TargetKey};
use super::kind::{ProbeSettings, SettingsError};

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProberError {
    #[error("probe target {key}: {source}")]
    Settings {
        key: TargetKey,
        #[source]
        source: SettingsError,
    },
    #[error("probe target {0} is listed twice")]
    Duplicate(TargetKey),
}

/// What a reload did, for the log line of whoever reloads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReloadSummary {
    /// Same key, same settings: task, state and history untouched.
    pub(crate) kept: usize,
    /// Same key, new settings: probe task restarted, state and history kept.
    pub(crate) changed: usize,
    pub(crate) added: usize,
    pub(crate) removed: usize,
}

struct Running {
    settings: ProbeSettings,
    task: JoinHandle<()>,
}

/// Runs the probes of a set of targets and keeps a [`HealthTable`] current.
///
/// Change notification: subscribe to [`HealthTable::subscribe`], a
/// `tokio::sync::watch` generation counter bumped on every change of an effective
/// state (probe transition, admin override) and of the set of targets. A watch
/// rather than a callback because the consumer rebuilds a whole snapshot: bursts
/// of changes coalesce into one rebuild, and no probe task ever runs the
/// integrator's code.
///
/// Dropping the prober stops every probe task; the health table lives on in its
/// `Arc`.
///
/// # Panics
/// [`Prober::start`], [`Prober::with_checker`] and [`Prober::update_targets`]
/// spawn tasks, and panic outside a tokio runtime.
pub struct Prober {
    health: Arc<HealthTable>,
    checker: Arc<dyn Check>,
    running: HashMap<TargetKey, Running>,
}

/// Extra time granted to [`Prober::first_round`] beyond the theoretical bound, for
/// a busy runtime.
const FIRST_ROUND_SLACK: Duration = Duration::from_millis(250);

fn validate(targets: &[(TargetKey, ProbeSettings)]) -> Result<(), ProberError> {
    let mut seen = HashSet::new();
    for (key, settings) in targets {
        settings
            .validate()
            .map_err(|source| ProberError::Settings {
                key: key.clone(),
                source,
            })?;
        if !seen.insert(key) {
            return Err(ProberError::Duplicate(key.clone()));
        }
    }
    Ok(())
}

impl Prober {
    /// Starts probing `targets` over the network.
    pub fn start(
        health: Arc<HealthTable>,
        targets: Vec<(TargetKey, ProbeSettings)>,
    ) -> Result<Self, ProberError> {
        Self::with_checker(health, Arc::new(NetChecker::new()), targets)
    }

    /// Starts probing `targets` with `checker` (tests use scripted checkers).
    /// Nothing starts if any target is invalid.
    pub(crate) fn with_checker(
        health: Arc<HealthTable>,
        checker: Arc<dyn Check>,
        targets: Vec<(TargetKey, ProbeSettings)>,
    ) -> Result<Self, ProberError> {
        let mut prober = Prober {
            health,
            checker,
            running: HashMap::new(),
        };
        prober.update_targets(targets)?;
        Ok(prober)
    }

    /// The targets being probed, ordered by key.
    pub(crate) fn targets(&self) -> Vec<(TargetKey, ProbeSettings)> {
        let mut all: Vec<_> = self
            .running
            .iter()
            .map(|(k, r)| (k.clone(), r.settings.clone()))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }

    /// Waits until every target has its first result (since start, or since its
    /// settings changed). Bounded: each first probe starts within one interval
    /// (jitter) and ends within its timeout, so this returns after at most the
    /// largest `interval + timeout` plus a little slack. Returns whether every
    /// target reported; false means the runtime is starved, and the missing
    /// targets stay `Unknown` (counted as up) until they report.
    pub async fn first_round(&self) -> bool {
        let bound = self
            .running
            .values()
            .map(|r| r.settings.first_result_bound())
            .max()
            .unwrap_or_default();
        self.health
            .wait_first_results(bound + FIRST_ROUND_SLACK)
            .await
    }

    /// Replaces the set of targets (config reload): targets with the same key and
    /// settings keep running untouched; targets whose settings changed restart
    /// their probe but keep state, history and overrides; removed targets stop and
    /// leave the table; new ones start `Unknown`. Overrides survive for every
    /// endpoint+zone that still has a target. If any target is invalid, nothing
    /// changes.
    pub fn update_targets(
        &mut self,
        new: Vec<(TargetKey, ProbeSettings)>,
    ) -> Result<ReloadSummary, ProberError> {
        validate(&new)?;
        let mut summary = ReloadSummary::default();
        let wanted: HashSet<&TargetKey> = new.iter().map(|(k, _)| k).collect();
        let gone: Vec<TargetKey> = self
            .running
            .keys()
            .filter(|k| !wanted.contains(k))
            .cloned()
            .collect();
        for key in gone {
            if let Some(old) = self.running.remove(&key) {
                old.task.abort();
            }
            self.health.remove_target(&key);
            summary.removed += 1;
        }
        for (key, settings) in new {
            match self.running.get(&key) {
                Some(old) if old.settings == settings => {
                    summary.kept += 1;
                    continue;
                }
                Some(old) => {
                    old.task.abort();
                    summary.changed += 1;
                }
                None => summary.added += 1,
            }
            // Re-arms an existing entry (new epoch) or adds a fresh one; a result
            // still in flight from an aborted task carries the old epoch and is
            // dropped by the table.
            let epoch = self
                .health
                .add_target(key.clone(), settings.rise, settings.fall);
            let task = self.spawn(key.clone(), settings.clone(), epoch);
            self.running.insert(key, Running { settings, task });
        }
        self.health.prune_overrides();
        tracing::info!(
            kept = summary.kept,
            changed = summary.changed,
            added = summary.added,
            removed = summary.removed,
            "probe targets updated"
        );
        Ok(summary)
    }

    fn spawn(&self, key: TargetKey, settings: ProbeSettings, epoch: u64) -> JoinHandle<()> {
        let span = tracing::info_span!(
            "probe",
            endpoint = %key.endpoint,
            zone = %key.zone,
            eni = %key.ip,
            kind = settings.kind.name(),
        );
        let checker = Arc::clone(&self.checker);
        let health = Arc::clone(&self.health);
        tokio::spawn(probe_loop(key, settings, epoch, checker, health).instrument(span))
    }
}

impl Drop for Prober {
    fn drop(&mut self) {
        for running in self.running.values() {
            running.task.abort();
        }
    }
}

/// Probes one target forever. Each probe is bounded by the target's timeout,
/// which validation keeps below its interval, so a hung target only ever delays
/// itself; the tasks share nothing but the table's short-held lock.
async fn probe_loop(
    key: TargetKey,
    settings: ProbeSettings,
    epoch: u64,
    checker: Arc<dyn Check>,
    health: Arc<HealthTable>,
) {
    // Random start within one interval spreads targets with equal intervals over
    // time instead of probing them all in one burst after every reload.
    let interval_ns = u64::try_from(settings.interval.as_nanos()).unwrap_or(u64::MAX);
    sleep(Duration::from_nanos(rand::random_range(0..interval_ns))).await;
    let mut ticks = tokio::time::interval(settings.interval);
    // After a stall, resume the rhythm instead of firing a burst of catch-up probes.
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let result = timeout(settings.timeout, checker.check(key.ip, &settings))
            .await
            .unwrap_or_else(|_| ProbeResult::fail("timeout"));
        tracing::trace!(ok = result.ok, detail = %result.detail, "probe result");
        if !health.record_for(&key, epoch, result) {
            // Removed or replaced while this probe ran: the new owner reports now.
            return;
        }
    }
}
