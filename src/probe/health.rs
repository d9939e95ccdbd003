//! The health table: one place that turns probe results and admin overrides into
//! the effective state of every ENI address, records each change as an event,
//! counts it for metrics and tells the snapshot builder to rebuild.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use thiserror::Error;
use tokio::sync::{broadcast, watch};

use super::check::ProbeResult;
use super::events::{DEFAULT_EVENT_CAPACITY, Event, EventRing};
use super::metrics::{self, Counters, StateCounts};
use super::threshold::{State, Threshold, Transition};

/// One probed address: an ENI address of an endpoint in one zone. An ENI with
/// both an IPv4 and an IPv6 address is two targets, so each family fails over
/// on its own.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TargetKey {
    pub(crate) endpoint: String,
    pub(crate) zone: String,
    pub(crate) ip: IpAddr,
}

impl TargetKey {
    pub fn new(endpoint: impl Into<String>, zone: impl Into<String>, ip: IpAddr) -> Self {
        TargetKey {
            endpoint: endpoint.into(),
            zone: zone.into(),
            ip,
        }
    }
}

impl fmt::Display for TargetKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.endpoint, self.zone, self.ip)
    }
}

/// What the table knows about one target, as a copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetStatus {
    pub(crate) key: TargetKey,
    /// False for an ENI that no probe watches (only an override moves it).
    pub(crate) probed: bool,
    /// State from probes alone.
    pub(crate) probe: State,
    /// When `probe` last changed (or the target was added).
    pub(crate) since: SystemTime,
    pub last: Option<ProbeResult>,
    /// Admin override of the target's endpoint+zone, if any.
    pub(crate) admin_override: Option<State>,
    /// What the answer should use: the override if set, else `probe`.
    pub effective: State,
}

impl TargetStatus {
    /// See [`HealthTable::effective_up`].
    pub(crate) fn is_up(&self) -> bool {
        self.effective != State::Down
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HealthError {
    #[error("no ENI for endpoint `{endpoint}` in zone `{zone}`")]
    NoSuchTarget { endpoint: String, zone: String },
    #[error("an admin override must be up or down, not unknown")]
    UnknownOverride,
}

struct Entry {
    /// False: an ENI no probe watches, kept so that an admin override can
    /// take it down; it never awaits a first result.
    probed: bool,
    threshold: Threshold,
    since: SystemTime,
    last: Option<ProbeResult>,
    /// Which probe task may report for this entry: bumped when the target's
    /// settings change, so a result from the replaced task that was already in
    /// flight cannot land on the new configuration.
    epoch: u64,
}

impl Entry {
    /// The state probes give: an address no probe watches is up (only an
    /// override takes it down), so the API, the metrics and the events all
    /// report it as up rather than as awaiting a first result.
    fn probe_state(&self) -> State {
        if self.probed {
            self.threshold.state()
        } else {
            State::Up
        }
    }
}

struct Inner {
    // Ordered so that listings, metrics and tests are deterministic.
    targets: BTreeMap<TargetKey, Entry>,
    // Keyed by (endpoint, zone), not per address: an override covers every
    // address of that endpoint in that zone, including ones added by a reload.
    overrides: HashMap<(String, String), State>,
    events: EventRing,
    /// What changed since the last `take_changes`.
    changes: Changes,
}

/// What changed in the table since the reader last asked: the addresses
/// whose effective state changed, or `All` when targets came or went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Changes {
    Keys(std::collections::HashSet<TargetKey>),
    All,
}

impl Default for Changes {
    fn default() -> Self {
        Changes::Keys(Default::default())
    }
}

impl Changes {
    fn key(&mut self, key: &TargetKey) {
        if let Changes::Keys(keys) = self {
            keys.insert(key.clone());
        }
    }
}

impl Inner {
    fn override_of(&self, key: &TargetKey) -> Option<State> {
        self.overrides
            .get(&(key.endpoint.clone(), key.zone.clone()))
            .copied()
    }
}

/// Per-target health, shared (in an `Arc`) by the prober, the snapshot builder and
/// the control plane.
///
/// Not on the query path: queries read the published snapshot, which the
/// integrator rebuilds when [`HealthTable::subscribe`] reports a new generation.
/// A plain mutex is therefore enough here.
///
/// # State at start
/// A target is `Unknown` until its first probe result, which then sets its state
/// directly (see [`Threshold`]). [`HealthTable::effective_up`] counts `Unknown` as
/// up, matching the default fail-open policy; to serve no answer that the probes
/// have not confirmed, the server awaits [`super::Prober::first_round`] before
/// opening its listeners, after which every target has a result.
pub struct HealthTable {
    inner: Mutex<Inner>,
    counters: Counters,
    /// Generation counter, bumped on every change of an effective state and of the
    /// set of targets.
    generation: watch::Sender<u64>,
    /// Number of targets still awaiting their first result.
    pending_first: watch::Sender<usize>,
    /// Transitions and override changes as they happen, for live views.
    notices: broadcast::Sender<Notice>,
}

/// What live views (the dashboard's stream) are told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Notice {
    /// An address changed its effective state.
    Transition(Event),
    /// An override of `endpoint`+`zone` was set (`Some`) or cleared.
    Override {
        endpoint: String,
        zone: String,
        state: Option<State>,
    },
}

/// Notices kept for a slow listener before it is told it lagged.
const NOTICE_BACKLOG: usize = 1024;

impl Default for HealthTable {
    fn default() -> Self {
        Self::new(DEFAULT_EVENT_CAPACITY)
    }
}

fn effective(probe: State, admin: Option<State>) -> State {
    admin.unwrap_or(probe)
}

impl HealthTable {
    /// A table keeping at most `event_capacity` events (at least 1).
    pub(crate) fn new(event_capacity: usize) -> Self {
        HealthTable {
            inner: Mutex::new(Inner {
                targets: BTreeMap::new(),
                overrides: HashMap::new(),
                events: EventRing::new(event_capacity),
                changes: Changes::default(),
            }),
            counters: Counters::default(),
            generation: watch::Sender::new(0),
            pending_first: watch::Sender::new(0),
            notices: broadcast::Sender::new(NOTICE_BACKLOG),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves consistent data (every update is
        // a few assignments), so poisoning is ignored rather than spread.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Notified with a new generation on every change of an effective state or of
    /// the set of targets: the integrator rebuilds its snapshot on each change.
    /// Changes that arrive while it rebuilds are coalesced into one notification.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.generation.subscribe()
    }

    #[cfg(test)]
    pub(crate) fn generation(&self) -> u64 {
        *self.generation.borrow()
    }

    fn bump(&self) {
        self.generation.send_modify(|g| *g += 1);
    }

    /// Adds a target as `Unknown`, or, if it exists, re-arms its threshold with new
    /// `rise`/`fall` (keeping its state and history; the next result decides
    /// directly). Returns the epoch the probe task must report with.
    pub(crate) fn add_target(&self, key: TargetKey, rise: u32, fall: u32) -> u64 {
        let mut inner = self.lock();
        let added;
        let epoch = match inner.targets.get_mut(&key) {
            Some(entry) => {
                if !entry.probed || !entry.threshold.awaiting_first() {
                    self.pending_first.send_modify(|n| *n += 1);
                }
                entry.probed = true;
                entry.threshold.reconfigure(rise, fall);
                entry.epoch += 1;
                added = false;
                entry.epoch
            }
            None => {
                inner.targets.insert(
                    key,
                    Entry {
                        probed: true,
                        threshold: Threshold::new(rise, fall),
                        since: SystemTime::now(),
                        last: None,
                        epoch: 0,
                    },
                );
                self.pending_first.send_modify(|n| *n += 1);
                added = true;
                0
            }
        };
        if added {
            inner.changes = Changes::All;
        }
        drop(inner);
        if added {
            self.bump();
        }
        epoch
    }

    /// Removes a target and its state; returns whether it existed. Overrides of its
    /// endpoint+zone stay until [`HealthTable::prune_overrides`].
    pub(crate) fn remove_target(&self, key: &TargetKey) -> bool {
        let removed = {
            let mut inner = self.lock();
            let removed = inner.targets.remove(key);
            if removed.is_some() {
                inner.changes = Changes::All;
            }
            removed
        };
        match removed {
            Some(entry) => {
                if entry.probed && entry.threshold.awaiting_first() {
                    self.pending_first.send_modify(|n| *n -= 1);
                }
                self.bump();
                true
            }
            None => false,
        }
    }

    /// Replaces the set of ENI addresses that no probe watches. They count as
    /// up and only an admin override takes them down. Probed targets (added
    /// by the prober) are left alone: call after `Prober::update_targets`.
    pub fn set_unprobed(&self, keys: impl IntoIterator<Item = TargetKey>) {
        let wanted: std::collections::HashSet<TargetKey> = keys.into_iter().collect();
        let mut inner = self.lock();
        let before = inner.targets.len();
        inner.targets.retain(|k, e| e.probed || wanted.contains(k));
        let mut changed = inner.targets.len() != before;
        for key in wanted {
            if let std::collections::btree_map::Entry::Vacant(slot) = inner.targets.entry(key) {
                slot.insert(Entry {
                    probed: false,
                    threshold: Threshold::new(1, 1),
                    since: SystemTime::now(),
                    last: None,
                    epoch: 0,
                });
                changed = true;
            }
        }
        if changed {
            inner.changes = Changes::All;
        }
        drop(inner);
        if changed {
            self.bump();
        }
    }

    /// Takes out and adds ENI addresses that no probe watches, leaving every
    /// other target alone: what one control API change does, without
    /// `set_unprobed`'s walk over every target. It marks no health change
    /// (an unprobed address's state is `Unknown` from the start); the
    /// publisher of the changed tables reads the added addresses itself.
    pub(crate) fn change_unprobed<'a>(
        &self,
        removed: impl IntoIterator<Item = &'a TargetKey>,
        added: impl IntoIterator<Item = &'a TargetKey>,
    ) {
        let mut inner = self.lock();
        for key in removed {
            if inner.targets.get(key).is_some_and(|e| !e.probed) {
                inner.targets.remove(key);
            }
        }
        for key in added {
            if !inner.targets.contains_key(key) {
                inner.targets.insert(
                    key.clone(),
                    Entry {
                        probed: false,
                        threshold: Threshold::new(1, 1),
                        since: SystemTime::now(),
                        last: None,
                        epoch: 0,
                    },
                );
            }
        }
    }

    /// Drops overrides whose endpoint+zone has no target left (after a reload
    /// removed it), so that a later endpoint of the same name starts clean.
    pub(crate) fn prune_overrides(&self) {
        let mut inner = self.lock();
        let Inner {
            targets, overrides, ..
        } = &mut *inner;
        overrides.retain(|(endpoint, zone), _| {
            targets
                .keys()
                .any(|k| &k.endpoint == endpoint && &k.zone == zone)
        });
    }

    /// Records a probe result for `key` from a test (the prober uses
    /// `record_for`). Returns false if the target is unknown.
    #[cfg(test)]
    pub(crate) fn record(&self, key: &TargetKey, result: ProbeResult) -> bool {
        self.record_inner(key, None, result)
    }

    /// Records a probe result for `key`, ignored unless `epoch` is current.
    /// Returns false if the target is unknown.
    pub(crate) fn record_for(&self, key: &TargetKey, epoch: u64, result: ProbeResult) -> bool {
        self.record_inner(key, Some(epoch), result)
    }

    fn record_inner(&self, key: &TargetKey, epoch: Option<u64>, result: ProbeResult) -> bool {
        let mut inner = self.lock();
        let admin = inner.override_of(key);
        let Some(entry) = inner.targets.get_mut(key) else {
            return false;
        };
        if epoch.is_some_and(|e| e != entry.epoch) {
            return false;
        }
        self.counters.probe(result.ok);
        let was_first = entry.threshold.awaiting_first();
        let ok = result.ok;
        let detail = result.detail.clone();
        entry.last = Some(result);
        let transition = entry.threshold.record(ok);
        if was_first {
            self.pending_first.send_modify(|n| *n -= 1);
        }
        let Some(Transition { from, to, streak }) = transition else {
            return true;
        };
        entry.since = SystemTime::now();
        let (eff_from, eff_to) = (effective(from, admin), effective(to, admin));
        if eff_from == eff_to {
            drop(inner);
            tracing::debug!(
                endpoint = %key.endpoint, zone = %key.zone, eni = %key.ip,
                from = %from, to = %to, admin_override = ?admin,
                "probe state changed, masked by admin override"
            );
            return true;
        }
        let reason = if from == State::Unknown {
            format!("first probe: {detail}")
        } else if was_first {
            format!("first probe with new settings: {detail}")
        } else {
            let what = if ok { "successes" } else { "failures" };
            format!("{streak} consecutive {what}: {detail}")
        };
        let event = self.push_event(&mut inner, key, eff_from, eff_to, reason);
        drop(inner);
        self.announce(&[event]);
        true
    }

    fn push_event(
        &self,
        inner: &mut Inner,
        key: &TargetKey,
        from: State,
        to: State,
        reason: String,
    ) -> Event {
        let event = Event {
            at: SystemTime::now(),
            endpoint: key.endpoint.clone(),
            zone: key.zone.clone(),
            ip: key.ip,
            from,
            to,
            reason,
        };
        inner.events.push(event.clone());
        inner.changes.key(key);
        self.counters.transition();
        event
    }

    /// What changed since the last call (a snapshot builder patches only
    /// those addresses); `All` after targets were added or removed.
    pub fn take_changes(&self) -> Changes {
        std::mem::take(&mut self.lock().changes)
    }

    /// Transitions and override changes from now on. A listener that falls
    /// more than a backlog behind gets `Lagged` and should read the status
    /// again.
    pub(crate) fn notices(&self) -> broadcast::Receiver<Notice> {
        self.notices.subscribe()
    }

    /// Logs events (outside the lock) and notifies subscribers once.
    fn announce(&self, events: &[Event]) {
        for event in events {
            event.log();
            // No listener is not an error.
            let _ = self.notices.send(Notice::Transition(event.clone()));
        }
        if !events.is_empty() {
            self.bump();
        }
    }

    /// Forces every address of `endpoint` in `zone` up or down (`Some`), or
    /// returns them to their probe state (`None`). The override wins over probes
    /// until cleared and survives reloads while the endpoint+zone has targets.
    /// Returns the number of addresses it covers.
    /// Whether `set_override` would accept this override, without setting
    /// it: an override that must be stored first is checked, stored, and
    /// only then set, so that one the store refuses is never answered.
    pub fn check_override(
        &self,
        endpoint: &str,
        zone: &str,
        state: Option<State>,
    ) -> Result<(), HealthError> {
        if state == Some(State::Unknown) {
            return Err(HealthError::UnknownOverride);
        }
        let inner = self.lock();
        if inner
            .targets
            .keys()
            .any(|k| k.endpoint == endpoint && k.zone == zone)
        {
            Ok(())
        } else {
            Err(HealthError::NoSuchTarget {
                endpoint: endpoint.to_string(),
                zone: zone.to_string(),
            })
        }
    }

    pub fn set_override(
        &self,
        endpoint: &str,
        zone: &str,
        state: Option<State>,
    ) -> Result<usize, HealthError> {
        if state == Some(State::Unknown) {
            return Err(HealthError::UnknownOverride);
        }
        let mut inner = self.lock();
        let keys: Vec<TargetKey> = inner
            .targets
            .keys()
            .filter(|k| k.endpoint == endpoint && k.zone == zone)
            .cloned()
            .collect();
        if keys.is_empty() {
            return Err(HealthError::NoSuchTarget {
                endpoint: endpoint.to_string(),
                zone: zone.to_string(),
            });
        }
        let slot = (endpoint.to_string(), zone.to_string());
        let old = match state {
            Some(s) => inner.overrides.insert(slot, s),
            None => inner.overrides.remove(&slot),
        };
        let mut events = Vec::new();
        for key in &keys {
            let probe = inner.targets[key].probe_state();
            let (from, to) = (effective(probe, old), effective(probe, state));
            if from != to {
                let reason = match state {
                    Some(s) => format!("admin override: {s}"),
                    None => format!("admin override cleared, probe state {probe}"),
                };
                events.push(self.push_event(&mut inner, key, from, to, reason));
            }
        }
        drop(inner);
        tracing::info!(endpoint, zone, admin_override = ?state, addresses = keys.len(), "admin override");
        let _ = self.notices.send(Notice::Override {
            endpoint: endpoint.to_string(),
            zone: zone.to_string(),
            state,
        });
        self.announce(&events);
        Ok(keys.len())
    }

    /// Effective state of `key`, or `None` if it is not probed.
    pub fn effective_state(&self, key: &TargetKey) -> Option<State> {
        let inner = self.lock();
        let entry = inner.targets.get(key)?;
        Some(effective(entry.probe_state(), inner.override_of(key)))
    }

    /// Whether `key` belongs in the answer: false only when its effective state is
    /// `Down`. `Unknown` (no result yet, see the type docs) counts as up, and so
    /// does an address that is not probed at all: only evidence removes an ENI.
    pub fn effective_up(&self, key: &TargetKey) -> bool {
        self.effective_state(key) != Some(State::Down)
    }

    /// [`HealthTable::effective_up`] for many targets at once, in their order,
    /// read under one lock: a snapshot rebuild sees every state from one moment
    /// (never half of an override that covers several addresses).
    pub fn effective_up_of<'a>(
        &self,
        keys: impl IntoIterator<Item = &'a TargetKey>,
    ) -> Box<[bool]> {
        let inner = self.lock();
        keys.into_iter()
            .map(|key| match inner.targets.get(key) {
                Some(entry) => {
                    effective(entry.probe_state(), inner.override_of(key)) != State::Down
                }
                None => true,
            })
            .collect()
    }

    fn status_of(inner: &Inner, key: &TargetKey, entry: &Entry) -> TargetStatus {
        let admin = inner.override_of(key);
        TargetStatus {
            key: key.clone(),
            probed: entry.probed,
            probe: entry.probe_state(),
            since: entry.since,
            last: entry.last.clone(),
            admin_override: admin,
            effective: effective(entry.probe_state(), admin),
        }
    }

    pub fn status(&self, key: &TargetKey) -> Option<TargetStatus> {
        let inner = self.lock();
        let entry = inner.targets.get(key)?;
        Some(Self::status_of(&inner, key, entry))
    }

    /// Active overrides as (endpoint, zone, state), ordered.
    pub(crate) fn overrides(&self) -> Vec<(String, String, State)> {
        let inner = self.lock();
        let mut all: Vec<_> = inner
            .overrides
            .iter()
            .map(|((e, z), s)| (e.clone(), z.clone(), *s))
            .collect();
        all.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        all
    }

    /// The kept events, oldest first.
    pub fn events(&self) -> Vec<Event> {
        self.lock().events.to_vec()
    }

    /// Number of targets still awaiting their first result.
    #[cfg(test)]
    pub(crate) fn pending_first(&self) -> usize {
        *self.pending_first.borrow()
    }

    /// Waits until every target has had its first result (since it was added or
    /// reconfigured), for at most `limit`. Returns whether all have.
    pub(crate) async fn wait_first_results(&self, limit: Duration) -> bool {
        let mut rx = self.pending_first.subscribe();
        matches!(
            tokio::time::timeout(limit, rx.wait_for(|n| *n == 0)).await,
            Ok(Ok(_))
        )
    }

    /// Appends the probe metrics in Prometheus text format.
    pub fn render_prometheus(&self, out: &mut String) {
        let mut states = StateCounts::default();
        {
            let inner = self.lock();
            for (key, entry) in &inner.targets {
                let admin = inner.override_of(key);
                states.overridden += u64::from(admin.is_some());
                match effective(entry.probe_state(), admin) {
                    State::Up => states.up += 1,
                    State::Down => states.down += 1,
                    State::Unknown => states.unknown += 1,
                }
            }
        }
        metrics::render(&self.counters, states, out);
    }
}
