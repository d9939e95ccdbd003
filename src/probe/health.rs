//! The health table: one place that turns probe results and admin overrides into
//! the effective state of every ENI address, records each change as an event,
//! counts it for metrics and tells the snapshot builder to rebuild.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::net::IpAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use thiserror::Error;
use tokio::sync::watch;

use super::check::ProbeResult;
use super::threshold::{State, Threshold, Transition};

/// One probed address: an ENI address of an endpoint in one zone. An ENI with
/// both an IPv4 and an IPv6 address is two targets, so each family fails over
/// on its own.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TargetKey {
    pub endpoint: String,
    pub zone: String,
    pub ip: IpAddr,
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

/// A change of a target's effective state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub at: SystemTime,
    pub endpoint: String,
    pub zone: String,
    pub ip: IpAddr,
    pub from: State,
    pub to: State,
    pub reason: String,
}

/// What the table knows about one target, as a copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetStatus {
    pub key: TargetKey,
    /// State from probes alone.
    pub probe: State,
    /// When `probe` last changed (or the target was added).
    pub since: SystemTime,
    pub last: Option<ProbeResult>,
    /// Admin override of the target's endpoint+zone, if any.
    pub admin_override: Option<State>,
    /// What the answer should use: the override if set, else `probe`.
    pub effective: State,
}

impl TargetStatus {
    /// See [`HealthTable::effective_up`].
    pub fn is_up(&self) -> bool {
        self.effective != State::Down
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HealthError {
    #[error("no probed ENI for endpoint `{endpoint}` in zone `{zone}`")]
    NoSuchTarget { endpoint: String, zone: String },
    #[error("an admin override must be up or down, not unknown")]
    UnknownOverride,
}

/// Default number of events kept for the API.
pub const DEFAULT_EVENT_CAPACITY: usize = 1000;

struct Entry {
    threshold: Threshold,
    since: SystemTime,
    last: Option<ProbeResult>,
    /// Which probe task may report for this entry: bumped when the target's
    /// settings change, so a result from the replaced task that was already in
    /// flight cannot land on the new configuration.
    epoch: u64,
}

#[derive(Default)]
struct Inner {
    // Ordered so that listings, metrics and tests are deterministic.
    targets: BTreeMap<TargetKey, Entry>,
    // Keyed by (endpoint, zone), not per address: an override covers every
    // address of that endpoint in that zone, including ones added by a reload.
    overrides: HashMap<(String, String), State>,
    events: VecDeque<Event>,
}

impl Inner {
    fn override_of(&self, key: &TargetKey) -> Option<State> {
        self.overrides
            .get(&(key.endpoint.clone(), key.zone.clone()))
            .copied()
    }
}

#[derive(Default)]
struct Counters {
    probes_ok: AtomicU64,
    probes_fail: AtomicU64,
    transitions: AtomicU64,
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
    event_capacity: usize,
    counters: Counters,
    /// Generation counter, bumped on every change of an effective state and of the
    /// set of targets.
    generation: watch::Sender<u64>,
    /// Number of targets still awaiting their first result.
    pending_first: watch::Sender<usize>,
}

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
    pub fn new(event_capacity: usize) -> Self {
        HealthTable {
            inner: Mutex::new(Inner::default()),
            event_capacity: event_capacity.max(1),
            counters: Counters::default(),
            generation: watch::Sender::new(0),
            pending_first: watch::Sender::new(0),
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

    pub fn generation(&self) -> u64 {
        *self.generation.borrow()
    }

    fn bump(&self) {
        self.generation.send_modify(|g| *g += 1);
    }

    /// Adds a target as `Unknown`, or, if it exists, re-arms its threshold with new
    /// `rise`/`fall` (keeping its state and history; the next result decides
    /// directly). Returns the epoch the probe task must report with.
    pub fn add_target(&self, key: TargetKey, rise: u32, fall: u32) -> u64 {
        let mut inner = self.lock();
        let added;
        let epoch = match inner.targets.get_mut(&key) {
            Some(entry) => {
                if !entry.threshold.awaiting_first() {
                    self.pending_first.send_modify(|n| *n += 1);
                }
                entry.threshold.reconfigure(rise, fall);
                entry.epoch += 1;
                added = false;
                entry.epoch
            }
            None => {
                inner.targets.insert(
                    key,
                    Entry {
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
        drop(inner);
        if added {
            self.bump();
        }
        epoch
    }

    /// Removes a target and its state; returns whether it existed. Overrides of its
    /// endpoint+zone stay until [`HealthTable::prune_overrides`].
    pub fn remove_target(&self, key: &TargetKey) -> bool {
        let removed = self.lock().targets.remove(key);
        match removed {
            Some(entry) => {
                if entry.threshold.awaiting_first() {
                    self.pending_first.send_modify(|n| *n -= 1);
                }
                self.bump();
                true
            }
            None => false,
        }
    }

    /// Drops overrides whose endpoint+zone has no target left (after a reload
    /// removed it), so that a later endpoint of the same name starts clean.
    pub fn prune_overrides(&self) {
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

    /// Records a probe result for `key` from whatever source (the prober, or a
    /// test). Returns false if the target is unknown.
    pub fn record(&self, key: &TargetKey, result: ProbeResult) -> bool {
        self.record_inner(key, None, result)
    }

    /// As [`HealthTable::record`], but ignored unless `epoch` is current.
    pub(crate) fn record_for(&self, key: &TargetKey, epoch: u64, result: ProbeResult) -> bool {
        self.record_inner(key, Some(epoch), result)
    }

    fn record_inner(&self, key: &TargetKey, epoch: Option<u64>, result: ProbeResult) -> bool {
        let counter = if result.ok {
            &self.counters.probes_ok
        } else {
            &self.counters.probes_fail
        };
        let mut inner = self.lock();
        let admin = inner.override_of(key);
        let Some(entry) = inner.targets.get_mut(key) else {
            return false;
        };
        if epoch.is_some_and(|e| e != entry.epoch) {
            return false;
        }
        counter.fetch_add(1, Ordering::Relaxed);
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
        let reason = if was_first {
            format!("first probe: {detail}")
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
        if inner.events.len() == self.event_capacity {
            inner.events.pop_front();
        }
        inner.events.push_back(event.clone());
        self.counters.transitions.fetch_add(1, Ordering::Relaxed);
        event
    }

    /// Logs events (outside the lock) and notifies subscribers once.
    fn announce(&self, events: &[Event]) {
        for e in events {
            tracing::info!(
                endpoint = %e.endpoint, zone = %e.zone, eni = %e.ip,
                from = %e.from, to = %e.to, reason = %e.reason,
                "eni {}", e.to
            );
        }
        if !events.is_empty() {
            self.bump();
        }
    }

    /// Forces every address of `endpoint` in `zone` up or down (`Some`), or
    /// returns them to their probe state (`None`). The override wins over probes
    /// until cleared and survives reloads while the endpoint+zone has targets.
    /// Returns the number of addresses it covers.
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
            let probe = inner.targets[key].threshold.state();
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
        self.announce(&events);
        Ok(keys.len())
    }

    /// Effective state of `key`, or `None` if it is not probed.
    pub fn effective_state(&self, key: &TargetKey) -> Option<State> {
        let inner = self.lock();
        let entry = inner.targets.get(key)?;
        Some(effective(entry.threshold.state(), inner.override_of(key)))
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
                    effective(entry.threshold.state(), inner.override_of(key)) != State::Down
                }
                None => true,
            })
            .collect()
    }

    fn status_of(inner: &Inner, key: &TargetKey, entry: &Entry) -> TargetStatus {
        let admin = inner.override_of(key);
        TargetStatus {
            key: key.clone(),
            probe: entry.threshold.state(),
            since: entry.since,
            last: entry.last.clone(),
            admin_override: admin,
            effective: effective(entry.threshold.state(), admin),
        }
    }

    pub fn status(&self, key: &TargetKey) -> Option<TargetStatus> {
        let inner = self.lock();
        let entry = inner.targets.get(key)?;
        Some(Self::status_of(&inner, key, entry))
    }

    /// Every target, ordered by key: what the snapshot builder and the API read.
    pub fn statuses(&self) -> Vec<TargetStatus> {
        let inner = self.lock();
        inner
            .targets
            .iter()
            .map(|(k, e)| Self::status_of(&inner, k, e))
            .collect()
    }

    /// Active overrides as (endpoint, zone, state), ordered.
    pub fn overrides(&self) -> Vec<(String, String, State)> {
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
        self.lock().events.iter().cloned().collect()
    }

    /// Number of targets still awaiting their first result.
    pub fn pending_first(&self) -> usize {
        *self.pending_first.borrow()
    }

    /// Waits until every target has had its first result (since it was added or
    /// reconfigured), for at most `limit`. Returns whether all have.
    pub async fn wait_first_results(&self, limit: Duration) -> bool {
        let mut rx = self.pending_first.subscribe();
        matches!(
            tokio::time::timeout(limit, rx.wait_for(|n| *n == 0)).await,
            Ok(Ok(_))
        )
    }

    /// Appends the probe metrics in Prometheus text format.
    pub fn render_prometheus(&self, out: &mut String) {
        use std::fmt::Write as _;
        let (mut up, mut down, mut unknown, mut forced) = (0u64, 0u64, 0u64, 0u64);
        {
            let inner = self.lock();
            for key in inner.targets.keys() {
                let admin = inner.override_of(key);
                forced += u64::from(admin.is_some());
                match effective(inner.targets[key].threshold.state(), admin) {
                    State::Up => up += 1,
                    State::Down => down += 1,
                    State::Unknown => unknown += 1,
                }
            }
        }
        let ok = self.counters.probes_ok.load(Ordering::Relaxed);
        let fail = self.counters.probes_fail.load(Ordering::Relaxed);
        let transitions = self.counters.transitions.load(Ordering::Relaxed);
        // Writing to a String cannot fail.
        let _ = write!(
            out,
            "# HELP epdns_probes_total Health probes run, by result.\n\
             # TYPE epdns_probes_total counter\n\
             epdns_probes_total{{result=\"ok\"}} {ok}\n\
             epdns_probes_total{{result=\"fail\"}} {fail}\n\
             # HELP epdns_transitions_total Changes of an ENI address's effective state.\n\
             # TYPE epdns_transitions_total counter\n\
             epdns_transitions_total {transitions}\n\
             # HELP epdns_enis ENI addresses by effective state.\n\
             # TYPE epdns_enis gauge\n\
             epdns_enis{{state=\"up\"}} {up}\n\
             epdns_enis{{state=\"down\"}} {down}\n\
             epdns_enis{{state=\"unknown\"}} {unknown}\n\
             # HELP epdns_enis_overridden ENI addresses under an admin override.\n\
             # TYPE epdns_enis_overridden gauge\n\
             epdns_enis_overridden {forced}\n"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(endpoint: &str, zone: &str, ip: &str) -> TargetKey {
        TargetKey::new(endpoint, zone, ip.parse().unwrap())
    }

    fn ok() -> ProbeResult {
        ProbeResult::ok("connected", Duration::from_millis(1))
    }

    fn fail() -> ProbeResult {
        ProbeResult::fail("connect refused")
    }

    fn table_with(keys: &[&TargetKey]) -> HealthTable {
        let t = HealthTable::default();
        for k in keys {
            t.add_target((*k).clone(), 2, 2);
        }
        t
    }

    #[test]
    fn first_result_decides_and_is_an_event() {
        let a = key("ep-1", "cn-hangzhou-h", "127.0.1.1");
        let t = table_with(&[&a]);
        assert_eq!(t.effective_state(&a), Some(State::Unknown));
        assert!(t.effective_up(&a), "unknown counts as up");
        assert_eq!(t.pending_first(), 1);
        let g = t.generation();
        assert!(t.record(&a, fail()));
        assert_eq!(t.effective_state(&a), Some(State::Down));
        assert!(!t.effective_up(&a));
        assert_eq!(t.pending_first(), 0);
        assert!(t.generation() > g);
        let events = t.events();
        assert_eq!(events.len(), 1);
        assert_eq!(
            (events[0].from, events[0].to),
            (State::Unknown, State::Down)
        );
        assert_eq!(events[0].reason, "first probe: connect refused");
        let st = t.status(&a).unwrap();
        assert_eq!(st.last.unwrap().detail, "connect refused");
    }

    #[test]
    fn rise_fall_events_carry_the_reason() {
        let a = key("ep-1", "z", "127.0.1.1");
        let t = table_with(&[&a]);
        t.record(&a, ok());
        t.record(&a, fail());
        assert_eq!(t.events().len(), 1, "one failure does not flap");
        t.record(&a, fail());
        let last = t.events().pop().unwrap();
        assert_eq!((last.from, last.to), (State::Up, State::Down));
        assert_eq!(last.reason, "2 consecutive failures: connect refused");
        assert!(!t.record(&key("nope", "z", "127.0.1.1"), ok()));
    }

    #[test]
    fn override_wins_until_cleared() {
        let a4 = key("ep-1", "z1", "127.0.1.1");
        let a6 = key("ep-1", "z1", "::1");
        let other = key("ep-1", "z2", "127.0.1.2");
        let t = table_with(&[&a4, &a6, &other]);
        for k in [&a4, &a6, &other] {
            t.record(k, ok());
        }
        let before = t.events().len();

        assert_eq!(t.set_override("ep-1", "z1", Some(State::Down)), Ok(2));
        assert!(!t.effective_up(&a4) && !t.effective_up(&a6));
        assert!(t.effective_up(&other), "other zone untouched");
        let st = t.status(&a4).unwrap();
        assert_eq!(
            (st.probe, st.admin_override, st.effective),
            (State::Up, Some(State::Down), State::Down)
        );
        let events = t.events();
        assert_eq!(events.len(), before + 2);
        assert_eq!(events.last().unwrap().reason, "admin override: down");

        // Probes keep running underneath but do not change the answer.
        let g = t.generation();
        for _ in 0..3 {
            t.record(&a4, fail());
        }
        assert_eq!(t.status(&a4).unwrap().probe, State::Down);
        assert_eq!(t.effective_state(&a4), Some(State::Down));
        assert_eq!(t.generation(), g, "masked change does not notify");
        assert_eq!(t.events().len(), before + 2);

        // Clearing returns to the probe state: a4 is now down by probes, a6 up.
        assert_eq!(t.set_override("ep-1", "z1", None), Ok(2));
        assert_eq!(t.effective_state(&a4), Some(State::Down));
        assert_eq!(t.effective_state(&a6), Some(State::Up));
        let last = t.events().pop().unwrap();
        assert_eq!(
            (last.ip, last.from, last.to),
            (a6.ip, State::Down, State::Up)
        );
        assert_eq!(last.reason, "admin override cleared, probe state up");

        let unprobed = key("ep-9", "z1", "127.0.1.9");
        assert_eq!(
            &*t.effective_up_of([&a4, &a6, &other, &unprobed]),
            [false, true, true, true]
        );

        // Forcing up wins over a down probe state.
        t.set_override("ep-1", "z1", Some(State::Up)).unwrap();
        assert!(t.effective_up(&a4));
        assert_eq!(t.overrides(), [("ep-1".into(), "z1".into(), State::Up)]);
    }

    #[test]
    fn override_errors() {
        let a = key("ep-1", "z1", "127.0.1.1");
        let t = table_with(&[&a]);
        assert_eq!(
            t.set_override("ep-1", "z9", Some(State::Down)),
            Err(HealthError::NoSuchTarget {
                endpoint: "ep-1".into(),
                zone: "z9".into()
            })
        );
        assert_eq!(
            t.set_override("ep-1", "z1", Some(State::Unknown)),
            Err(HealthError::UnknownOverride)
        );
        assert!(t.overrides().is_empty());
    }

    #[test]
    fn event_ring_is_bounded() {
        let a = key("ep-1", "z", "127.0.1.1");
        let t = HealthTable::new(5);
        t.add_target(a.clone(), 1, 1);
        for i in 0..20 {
            t.record(&a, if i % 2 == 0 { ok() } else { fail() });
        }
        let events = t.events();
        assert_eq!(events.len(), 5);
        // Oldest first, and only the newest kept: the 20th result was a failure.
        assert_eq!(events.last().unwrap().to, State::Down);
        assert!(events.windows(2).all(|w| w[0].at <= w[1].at));
        let mut metrics = String::new();
        t.render_prometheus(&mut metrics);
        assert!(
            metrics.contains("epdns_transitions_total 20\n"),
            "{metrics}"
        );
    }

    #[test]
    fn reconfigure_keeps_state_and_ignores_stale_epoch() {
        let a = key("ep-1", "z", "127.0.1.1");
        let t = HealthTable::default();
        let e0 = t.add_target(a.clone(), 2, 2);
        assert!(t.record_for(&a, e0, ok()));
        let e1 = t.add_target(a.clone(), 3, 3);
        assert_ne!(e0, e1);
        assert_eq!(t.pending_first(), 1);
        assert_eq!(
            t.effective_state(&a),
            Some(State::Up),
            "kept until the new probe reports"
        );
        assert!(!t.record_for(&a, e0, fail()), "stale task's result ignored");
        assert_eq!(t.effective_state(&a), Some(State::Up));
        assert!(t.record_for(&a, e1, fail()));
        assert_eq!(
            t.effective_state(&a),
            Some(State::Down),
            "first new result decides"
        );
        assert_eq!(t.pending_first(), 0);
    }

    #[test]
    fn removing_targets_prunes_their_overrides_only() {
        let a = key("ep-1", "z1", "127.0.1.1");
        let b = key("ep-2", "z1", "127.0.1.2");
        let t = table_with(&[&a, &b]);
        t.set_override("ep-1", "z1", Some(State::Down)).unwrap();
        t.set_override("ep-2", "z1", Some(State::Down)).unwrap();
        assert!(t.remove_target(&a));
        assert!(!t.remove_target(&a));
        t.prune_overrides();
        assert_eq!(t.overrides(), [("ep-2".into(), "z1".into(), State::Down)]);
        assert_eq!(t.pending_first(), 1);
        // A new address of an overridden endpoint+zone is covered at once.
        let b6 = key("ep-2", "z1", "::1");
        t.add_target(b6.clone(), 2, 2);
        assert_eq!(t.effective_state(&b6), Some(State::Down));
    }

    #[test]
    fn prometheus_text() {
        let a = key("ep-1", "z", "127.0.1.1");
        let b = key("ep-1", "z", "127.0.1.2");
        let c = key("ep-2", "z", "127.0.1.3");
        let t = table_with(&[&a, &b, &c]);
        t.record(&a, ok());
        t.record(&b, fail());
        let mut out = String::new();
        t.render_prometheus(&mut out);
        for line in [
            "epdns_probes_total{result=\"ok\"} 1\n",
            "epdns_probes_total{result=\"fail\"} 1\n",
            "epdns_transitions_total 2\n",
            "epdns_enis{state=\"up\"} 1\n",
            "epdns_enis{state=\"down\"} 1\n",
            "epdns_enis{state=\"unknown\"} 1\n",
            "epdns_enis_overridden 0\n",
            "# TYPE epdns_enis gauge\n",
        ] {
            assert!(out.contains(line), "missing {line:?} in\n{out}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn wait_first_results_is_bounded() {
        let a = key("ep-1", "z", "127.0.1.1");
        let t = table_with(&[&a]);
        assert!(!t.wait_first_results(Duration::from_millis(50)).await);
        t.record(&a, ok());
        assert!(t.wait_first_results(Duration::from_millis(50)).await);
    }
}
