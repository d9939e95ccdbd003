//! The control plane's desired state: the API-created endpoints, kept in
//! the store and in memory, joined to the config file's inventory for
//! validation by the same `model::build` that checks a config file.
//!
//! A change is validated against the desired view (every endpoint the API
//! accepted, Creating ones included), made durable, and only then turned
//! into the model that DNS answers from (the published view: Active
//! endpoints and their Connected zones). The lifecycle delays move
//! endpoints from Creating to Active and zones from Connecting to
//! Connected (`advance`).
//!
//! With a shared store (etcd) other replicas write too: their changes
//! arrive through the store's watch and are applied here (`apply`), which
//! gives the model to publish exactly as a call does. Lifecycle steps are
//! then not written: every replica derives them from the timestamps in the
//! record (`created_ms`, `since_ms`) and the same configured delay, so all
//! replicas move an endpoint to Active at the same moment, and none waits
//! on another (a writer that died would otherwise leave it Creating).

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tracing::{error, info};

use hickory_proto::rr::Name;

use super::alloc::UsedAddresses;
use super::error::ApiError;
use super::privatezone::build as zone_build;
use super::record::{
    ENDPOINT, EndpointRecord, EndpointStatus, PVTZ_ZONE, PvtzZone, RESOLVER_ENDPOINT,
    ResolverEndpointRecord, View, ZoneStatus,
};
use crate::config::file::{
    ConfigFile, EndpointSection, InboundSection, PrivateZoneSection, ServerSection,
};
use crate::model::validate::ZoneLoader;
use crate::model::{self, Model, ValidationError};
use crate::probe::State;
use crate::store::{StateLocation, Store, StoreError, StoreEvent, StoreHealth};
use crate::zonefile::{PrivateZone, ZoneFileError, ZoneStyle};

/// What a call sees besides the plane: the config file's inventory, the
/// model serving now, and how zone files are read.
pub(crate) struct Ctx<'a> {
    pub(crate) base: &'a ConfigFile,
    pub(crate) published: &'a Model,
    pub(crate) load_zone: &'a ZoneLoader<'a>,
    /// Which config file `base` is: changes at every reload, so that a
    /// model validated against another file is not reused.
    pub(crate) generation: u64,
}

pub(crate) struct Plane {
    store: Box<dyn Store>,
    /// The store's revision before the objects were read at open: a watch
    /// starts after it.
    opened: u64,
    endpoints: BTreeMap<String, EndpointRecord>,
    /// The ids of the endpoints waiting for a lifecycle step: what
    /// `advance` and the pending checks look at, instead of every endpoint.
    pending: BTreeSet<String>,
    zones: BTreeMap<String, PvtzZone>,
    resolvers: BTreeMap<String, ResolverEndpointRecord>,
    /// Admin overrides by `endpoint/zone`.
    overrides: BTreeMap<String, State>,
    /// Overrides another replica set or cleared, for the health table.
    override_changes: Vec<(String, String, Option<State>)>,
    lifecycle: Duration,
    /// The model of the desired view as last validated, and the config
    /// generation it was validated against: once nothing is pending it is
    /// the model to publish, so a lifecycle step need not validate again.
    validated: Option<(u64, Model)>,
    /// The ENI and resolver addresses in use (config and API), and the
    /// config generation they were gathered against; `None` until a create
    /// needs them. Kept up to date as records change, so that a create
    /// does not gather every endpoint's addresses again.
    used: Mutex<Option<(u64, UsedAddresses)>>,
}

/// The addresses in use, as `Plane::used` gives them.
pub(crate) struct UsedGuard<'a>(MutexGuard<'a, Option<(u64, UsedAddresses)>>);

impl std::ops::Deref for UsedGuard<'_> {
    type Target = UsedAddresses;
    fn deref(&self) -> &UsedAddresses {
        // `Plane::used` fills it before handing the guard out.
        &self.0.as_ref().expect("filled by Plane::used").1
    }
}

/// Admin overrides, kept so that they outlive a restart and reach every
/// replica: id `endpoint/zone`, value `{"state": "up"|"down"}`.
const OVERRIDE: &str = "override";

#[derive(serde::Serialize, serde::Deserialize)]
struct OverrideRecord {
    state: String,
}

/// An override's state as stored.
fn override_state(s: &str) -> Option<State> {
    match s {
        "up" => Some(State::Up),
        "down" => Some(State::Down),
        _ => None,
    }
}

/// How a private zone of the API is named in a config's `file` field: a
/// prefix no file path written in a config has (it starts with NUL), so
/// that the loader below tells the API's zones from zone files.
const API_ZONE: &str = "\0privatezone:";

/// One change to the desired state: an object replaced (`Some`) or removed.
#[derive(Clone, Copy)]
pub(crate) enum Change<'a> {
    Endpoint(&'a str, Option<&'a EndpointRecord>),
    Zone(&'a str, Option<&'a PvtzZone>),
    Resolver(&'a str, Option<&'a ResolverEndpointRecord>),
}

/// The API's objects in a view, as a config file would write them, and the
/// zones behind their `file` names: what start-up, a reload and a call add
/// to the config file before validation.
#[derive(Debug, Clone, Default)]
pub(crate) struct Extension {
    pub(crate) endpoints: Vec<EndpointSection>,
    pub(crate) zones: Vec<PvtzZone>,
    /// The resolver endpoints' inbound listeners.
    pub(crate) inbound: Vec<InboundSection>,
}

impl Extension {
    /// Appends the endpoints and the zones bound to a VPC (an unbound zone
    /// answers nobody) to `cfg`.
    pub(crate) fn extend(&self, cfg: &mut ConfigFile) {
        cfg.endpoint.extend(self.endpoints.iter().cloned());
        cfg.inbound.extend(self.inbound.iter().cloned());
        cfg.private_zone
            .extend(
                self.zones
                    .iter()
                    .filter(|z| !z.vpcs.is_empty())
                    .map(|z| PrivateZoneSection {
                        name: z.name.clone(),
                        file: format!("{API_ZONE}{}", z.id),
                        vpcs: z.vpcs.iter().map(|(v, _)| v.clone()).collect(),
                        style: "privatezone".to_string(),
                    }),
            );
    }

    /// The zone a `file` name of `extend` stands for; `None` for a real
    /// file name.
    pub(crate) fn load_zone(
        &self,
        server: &ServerSection,
        file: &str,
    ) -> Option<Result<(std::path::PathBuf, PrivateZone), ZoneFileError>> {
        let id = file.strip_prefix(API_ZONE)?;
        let path = std::path::PathBuf::from(format!("<PrivateZone API zone {id}>"));
        let err = |m: String| ZoneFileError::Read {
            path: path.clone(),
            source: std::io::Error::other(m),
        };
        Some(match self.zones.iter().find(|z| z.id == id) {
            Some(z) => zone_build::build(z, server)
                .map(|zone| (path.clone(), zone))
                .map_err(err),
            None => Err(err("no such zone".to_string())),
        })
    }
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl Plane {
    /// The store at `state`, with every object it holds.
    pub(crate) fn open(state: &StateLocation, lifecycle: Duration) -> Result<Plane, StoreError> {
        Plane::with_store(state.open()?, lifecycle)
    }

    pub(crate) fn with_store(
        store: Box<dyn Store>,
        lifecycle: Duration,
    ) -> Result<Plane, StoreError> {
        let endpoints: BTreeMap<String, EndpointRecord> = read_all(&*store, ENDPOINT)?;
        Ok(Plane {
            opened: store.revision()?,
            pending: endpoints
                .values()
                .filter(|r| r.pending())
                .map(|r| r.id.clone())
                .collect(),
            endpoints,
            zones: read_all(&*store, PVTZ_ZONE)?,
            resolvers: read_all(&*store, RESOLVER_ENDPOINT)?,
            overrides: read_all::<OverrideRecord>(&*store, OVERRIDE)?
                .into_iter()
                .filter_map(|(id, r)| Some((id, override_state(&r.state)?)))
                .collect(),
            override_changes: Vec::new(),
            store,
            lifecycle,
            validated: None,
            used: Mutex::new(None),
        })
    }

    pub(crate) fn zones(&self) -> &BTreeMap<String, PvtzZone> {
        &self.zones
    }

    pub(crate) fn zone(&self, id: &str) -> Option<&PvtzZone> {
        self.zones.get(id)
    }

    pub(crate) fn resolvers(&self) -> &BTreeMap<String, ResolverEndpointRecord> {
        &self.resolvers
    }

    /// The store's revision: how many changes it has committed.
    pub(crate) fn revision(&self) -> Result<u64, StoreError> {
        self.store.revision()
    }

    /// Starts following what other replicas write (`apply` takes it);
    /// `None` when nobody else writes to the store.
    pub(crate) fn watch(
        &mut self,
        health: Arc<StoreHealth>,
    ) -> Option<tokio::sync::mpsc::UnboundedReceiver<StoreEvent>> {
        self.store.watch(self.opened, health)
    }

    /// Applies changes the store reported (other replicas' writes, or the
    /// whole state read again); returns the model to publish when what DNS
    /// answers changed. Its own writes coming back are skipped.
    ///
    /// When only endpoints changed, the published model follows them
    /// endpoint by endpoint (`published_with`), as a call through this
    /// replica does: a change from another replica costs the same as one
    /// made here, not a validation of the whole desired state. A private
    /// zone, a resolver endpoint or the whole state read again builds the
    /// model anew.
    pub(crate) fn apply(
        &mut self,
        ctx: &Ctx<'_>,
        events: Vec<StoreEvent>,
    ) -> Result<Option<Model>, String> {
        let mut changed = false;
        let mut whole = false;
        // The published sections, before these events, of the endpoints
        // they touch.
        let mut before: BTreeMap<String, Option<EndpointSection>> = BTreeMap::new();
        for event in events {
            match event {
                StoreEvent::Put {
                    kind,
                    id,
                    value,
                    revision,
                } => {
                    if self.store.seen(&kind, &id, revision, true) {
                        self.note_before(&kind, &id, &mut before);
                        let replaced = self.replace(&kind, &id, Some(&value));
                        changed |= replaced;
                        whole |= replaced && kind != ENDPOINT;
                    }
                }
                StoreEvent::Delete { kind, id, revision } => {
                    if self.store.seen(&kind, &id, revision, false) {
                        self.note_before(&kind, &id, &mut before);
                        let replaced = self.replace(&kind, &id, None);
                        changed |= replaced;
                        whole |= replaced && kind != ENDPOINT;
                    }
                }
                StoreEvent::Reset { objects, revision } => {
                    self.store.forget(revision);
                    self.endpoints.clear();
                    self.pending.clear();
                    self.zones.clear();
                    self.resolvers.clear();
                    *self.used_index() = None;
                    let mut overrides = Vec::new();
                    for (kind, id, value, revision) in objects {
                        self.store.seen(&kind, &id, revision, true);
                        self.replace(&kind, &id, Some(&value));
                        if kind == OVERRIDE {
                            overrides.push(id);
                        }
                    }
                    let gone: Vec<String> = self
                        .overrides
                        .keys()
                        .filter(|id| !overrides.contains(id))
                        .cloned()
                        .collect();
                    for id in gone {
                        self.replace(OVERRIDE, &id, None);
                    }
                    changed = true;
                    whole = true;
                }
            }
        }
        if !changed {
            return Ok(None);
        }
        // Steps already due (a record written Creating that is Active by
        // now) are taken before publishing, so that one change serves both.
        if self.store.shared() {
            for r in self.due(now_ms()) {
                self.note_before(ENDPOINT, &r.id, &mut before);
                self.set_endpoint(&r.id.clone(), Some(r));
            }
        }
        self.validated = None;
        if whole {
            return self.published_model(ctx).map(Some);
        }
        let changes: Vec<(&str, Option<EndpointSection>)> = before
            .iter()
            .filter_map(|(id, old)| {
                let new = self
                    .endpoints
                    .get(id)
                    .and_then(|r| r.section(View::Published));
                (!section_eq(old, &new)).then_some((id.as_str(), new))
            })
            .collect();
        if changes.is_empty() {
            // Only the desired view changed (e.g. an endpoint still
            // Creating): DNS answers as before.
            return Ok(None);
        }
        self.published_with(ctx, changes).map(Some)
    }

    /// Keeps the published section of endpoint `id` as it is before a
    /// change, unless an earlier change of the same batch did.
    fn note_before(
        &self,
        kind: &str,
        id: &str,
        before: &mut BTreeMap<String, Option<EndpointSection>>,
    ) {
        if kind == ENDPOINT && !before.contains_key(id) {
            let section = self
                .endpoints
                .get(id)
                .and_then(|r| r.section(View::Published));
            before.insert(id.to_string(), section);
        }
    }

    /// Replaces (or removes) one object as another replica wrote it;
    /// whether it was one the plane keeps.
    fn replace(&mut self, kind: &str, id: &str, value: Option<&[u8]>) -> bool {
        fn decode<T: serde::de::DeserializeOwned>(kind: &str, id: &str, v: &[u8]) -> Option<T> {
            serde_json::from_slice(v)
                .map_err(|e| error!(kind, id, error = %e, "unreadable record in the state store; skipped"))
                .ok()
        }
        match (kind, value) {
            (ENDPOINT, Some(v)) => match decode(kind, id, v) {
                Some(r) => {
                    self.set_endpoint(id, Some(r));
                    true
                }
                None => false,
            },
            (ENDPOINT, None) => self.set_endpoint(id, None).is_some(),
            (PVTZ_ZONE, Some(v)) => match decode(kind, id, v) {
                Some(z) => {
                    self.zones.insert(id.to_string(), z);
                    true
                }
                None => false,
            },
            (PVTZ_ZONE, None) => self.zones.remove(id).is_some(),
            (RESOLVER_ENDPOINT, Some(v)) => match decode(kind, id, v) {
                Some(r) => {
                    self.set_resolver(id, Some(r));
                    true
                }
                None => false,
            },
            (RESOLVER_ENDPOINT, None) => self.set_resolver(id, None).is_some(),
            (OVERRIDE, v) => {
                let state = v
                    .and_then(|v| decode::<OverrideRecord>(kind, id, v))
                    .and_then(|r| override_state(&r.state));
                let before = match state {
                    Some(s) => self.overrides.insert(id.to_string(), s),
                    None => self.overrides.remove(id),
                };
                if before != state
                    && let Some((endpoint, zone)) = id.split_once('/')
                {
                    self.override_changes
                        .push((endpoint.to_string(), zone.to_string(), state));
                }
                // The answers change through the health table, not the
                // model.
                false
            }
            _ => false,
        }
    }

    /// The endpoints whose lifecycle step is due by `now` (ms), as they
    /// are after it.
    fn due(&self, now: u64) -> Vec<EndpointRecord> {
        let lifecycle = self.lifecycle.as_millis() as u64;
        let mut moved = Vec::new();
        for r in self.pending.iter().filter_map(|id| self.endpoints.get(id)) {
            let mut next = r.clone();
            if next.status == EndpointStatus::Creating && r.created_ms + lifecycle <= now {
                next.status = EndpointStatus::Active;
            }
            for z in &mut next.zones {
                if z.status == ZoneStatus::Connecting && z.since_ms + lifecycle <= now {
                    z.status = ZoneStatus::Connected;
                }
            }
            if next != *r {
                moved.push(next);
            }
        }
        moved
    }

    /// Every admin override kept: (endpoint, zone, state).
    pub(crate) fn overrides(&self) -> Vec<(String, String, State)> {
        self.overrides
            .iter()
            .filter_map(|(id, s)| {
                let (endpoint, zone) = id.split_once('/')?;
                Some((endpoint.to_string(), zone.to_string(), *s))
            })
            .collect()
    }

    /// The overrides other replicas changed since the last call.
    pub(crate) fn take_override_changes(&mut self) -> Vec<(String, String, Option<State>)> {
        std::mem::take(&mut self.override_changes)
    }

    /// Keeps an admin override (`None`: cleared) durably.
    pub(crate) fn save_override(
        &mut self,
        endpoint: &str,
        zone: &str,
        state: Option<&str>,
    ) -> Result<(), ApiError> {
        let id = format!("{endpoint}/{zone}");
        let record = state.map(|s| OverrideRecord {
            state: s.to_string(),
        });
        store_change(&mut *self.store, OVERRIDE, &id, record.as_ref())?;
        match state.and_then(override_state) {
            Some(s) => self.overrides.insert(id, s),
            None => self.overrides.remove(&id),
        };
        Ok(())
    }

    /// Puts (or removes) an endpoint record, keeping the addresses in use
    /// up to date; the record it replaces.
    fn set_endpoint(&mut self, id: &str, new: Option<EndpointRecord>) -> Option<EndpointRecord> {
        if new.as_ref().is_some_and(EndpointRecord::pending) {
            self.pending.insert(id.to_string());
        } else {
            self.pending.remove(id);
        }
        let old = match new {
            Some(r) => {
                let mut index = self.used_index();
                if let Some((_, used)) = index.as_mut() {
                    for a in r.addresses() {
                        used.insert(&r.vpc, a);
                    }
                }
                drop(index);
                self.endpoints.insert(id.to_string(), r)
            }
            None => self.endpoints.remove(id),
        };
        if let (Some(r), Some((_, used))) = (&old, self.used_index().as_mut()) {
            for a in r.addresses() {
                used.remove(&r.vpc, a);
            }
        }
        old
    }

    /// `set_endpoint` for a resolver endpoint.
    fn set_resolver(
        &mut self,
        id: &str,
        new: Option<ResolverEndpointRecord>,
    ) -> Option<ResolverEndpointRecord> {
        let old = match new {
            Some(r) => {
                if let Some((_, used)) = self.used_index().as_mut() {
                    for a in r.addresses() {
                        used.insert(&r.vpc, a);
                    }
                }
                self.resolvers.insert(id.to_string(), r)
            }
            None => self.resolvers.remove(id),
        };
        if let (Some(r), Some((_, used))) = (&old, self.used_index().as_mut()) {
            for a in r.addresses() {
                used.remove(&r.vpc, a);
            }
        }
        old
    }

    fn used_index(&self) -> MutexGuard<'_, Option<(u64, UsedAddresses)>> {
        // A panic while the index was held leaves it as consistent as any
        // other plane state; keep using it.
        self.used.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every ENI and resolver address in use, per VPC: the config's and
    /// the API's (pending ones included). Gathered once per config
    /// generation, then kept up to date by every record change.
    pub(crate) fn used(&self, ctx: &Ctx<'_>) -> UsedGuard<'_> {
        let mut index = self.used_index();
        if index.as_ref().is_none_or(|(g, _)| *g != ctx.generation) {
            let mut used = UsedAddresses::default();
            for e in &ctx.base.endpoint {
                for z in &e.zones {
                    let v6 = z.ipv6.as_deref();
                    for a in std::iter::once(z.ip.as_str()).chain(v6) {
                        if let Ok(a) = a.parse() {
                            used.insert(&e.vpc, a);
                        }
                    }
                }
            }
            for r in self.endpoints.values() {
                for a in r.addresses() {
                    used.insert(&r.vpc, a);
                }
            }
            for r in self.resolvers.values() {
                for a in r.addresses() {
                    used.insert(&r.vpc, a);
                }
            }
            *index = Some((ctx.generation, used));
        }
        UsedGuard(index)
    }

    pub(crate) fn endpoints(&self) -> &BTreeMap<String, EndpointRecord> {
        &self.endpoints
    }

    pub(crate) fn endpoint(&self, id: &str) -> Option<&EndpointRecord> {
        self.endpoints.get(id)
    }

    /// The API's objects in `view`, with `change` applied.
    pub(crate) fn extension(&self, view: View, change: Option<Change<'_>>) -> Extension {
        let (mut ep_change, mut zone_change, mut resolver_change) = (None, None, None);
        match change {
            Some(Change::Endpoint(id, new)) => ep_change = Some((id, new)),
            Some(Change::Zone(id, new)) => zone_change = Some((id, new)),
            Some(Change::Resolver(id, new)) => resolver_change = Some((id, new)),
            None => {}
        }
        let mut endpoints: Vec<EndpointSection> = self
            .endpoints
            .values()
            .filter(|r| ep_change.is_none_or(|(id, _)| id != r.id))
            .filter_map(|r| r.section(view))
            .collect();
        if let Some((_, Some(new))) = ep_change {
            endpoints.extend(new.section(view));
        }
        let mut zones: Vec<PvtzZone> = self
            .zones
            .values()
            .filter(|z| zone_change.is_none_or(|(id, _)| id != z.id))
            .cloned()
            .collect();
        if let Some((_, Some(new))) = zone_change {
            zones.push(new.clone());
        }
        // A resolver endpoint listens from its call on: both views hold it.
        let mut inbound: Vec<InboundSection> = self
            .resolvers
            .values()
            .filter(|r| resolver_change.is_none_or(|(id, _)| id != r.id))
            .flat_map(ResolverEndpointRecord::sections)
            .collect();
        if let Some((_, Some(new))) = resolver_change {
            inbound.extend(new.sections());
        }
        Extension {
            endpoints,
            zones,
            inbound,
        }
    }

    /// Validates the config with the API's objects in `view` and `change`.
    fn build(
        &self,
        ctx: &Ctx<'_>,
        view: View,
        change: Option<Change<'_>>,
    ) -> Result<Model, Vec<ValidationError>> {
        let ext = self.extension(view, change);
        let mut cfg = ctx.base.clone();
        ext.extend(&mut cfg);
        let load =
            |origin: &Name, file: &str, style: &ZoneStyle| match ext.load_zone(&cfg.server, file) {
                Some(zone) => zone.map(|(path, zone)| (path, Arc::new(zone))),
                None => (ctx.load_zone)(origin, file, style),
            };
        model::build(&cfg, Some(ctx.published), &load)
    }

    /// Validates the desired state with endpoint `id` replaced by `new`:
    /// the model it makes, or the first rule it breaks about `id` as the
    /// cloud's error (`param_of` names the request parameter of a field,
    /// e.g. `zones[0].ip` → `Zone.1.ip`).
    pub(crate) fn check(
        &self,
        ctx: &Ctx<'_>,
        id: &str,
        new: Option<&EndpointRecord>,
        param_of: &dyn Fn(&str) -> String,
    ) -> Result<Model, ApiError> {
        let checked = match self.desired_model(ctx) {
            // Only the change is checked, against the desired model's
            // claims (O(change)); the same rules and errors as a full
            // build of the same change (`model::change_endpoint`).
            Some(current) => {
                let section = new.and_then(|r| r.section(View::Desired));
                let index_of = |other: &str| self.full_build_index(ctx, id, other);
                model::change_endpoint(
                    current,
                    ctx.base,
                    Some(ctx.published),
                    id,
                    section.as_ref(),
                    &index_of,
                )
            }
            None => self.build(ctx, View::Desired, Some(Change::Endpoint(id, new))),
        };
        checked.map_err(|errors| refusal(id, &errors, param_of))
    }

    /// The validated model of the desired view against this config, when
    /// one is at hand: the last change's, or the published one when
    /// nothing is pending (then the views are the same).
    fn desired_model<'c>(&'c self, ctx: &'c Ctx<'_>) -> Option<&'c Model> {
        match &self.validated {
            Some((generation, m)) if *generation == ctx.generation => Some(m),
            _ if self.pending.is_empty() => Some(ctx.published),
            _ => None,
        }
    }

    /// Where a full build of a change to endpoint `changed` places endpoint
    /// `other` (config endpoints first, then the API's by id, the changed
    /// one last): what an error that names `other` says.
    fn full_build_index(&self, ctx: &Ctx<'_>, changed: &str, other: &str) -> usize {
        if let Some(i) = ctx.base.endpoint.iter().position(|e| e.id == other) {
            return i;
        }
        ctx.base.endpoint.len()
            + self
                .endpoints
                .range::<str, _>((Bound::Unbounded, Bound::Excluded(other)))
                .filter(|(id, r)| *id != changed && r.section(View::Desired).is_some())
                .count()
    }

    /// Validates the desired state with private zone `id` replaced by `new`;
    /// a refusal names `param`.
    pub(crate) fn check_zone(
        &self,
        ctx: &Ctx<'_>,
        id: &str,
        new: Option<&PvtzZone>,
        param: &str,
    ) -> Result<Model, ApiError> {
        self.build(ctx, View::Desired, Some(Change::Zone(id, new)))
            .map_err(|errors| {
                let messages: Vec<String> = errors.iter().map(|e| e.message.clone()).collect();
                ApiError::illegal(param, messages.join("; "))
            })
    }

    /// Validates the desired state with resolver endpoint `id` replaced by
    /// `new`; a refusal names `param`.
    pub(crate) fn check_resolver(
        &self,
        ctx: &Ctx<'_>,
        id: &str,
        new: Option<&ResolverEndpointRecord>,
        param: &str,
    ) -> Result<Model, ApiError> {
        self.build(ctx, View::Desired, Some(Change::Resolver(id, new)))
            .map_err(|errors| {
                let messages: Vec<String> = errors.iter().map(|e| e.message.clone()).collect();
                ApiError::illegal(param, messages.join("; "))
            })
    }

    /// Makes a resolver endpoint change durable and in memory; returns the
    /// model to publish (its listeners change what DNS answers on them).
    pub(crate) fn commit_resolver(
        &mut self,
        ctx: &Ctx<'_>,
        id: &str,
        new: Option<ResolverEndpointRecord>,
        desired: Model,
    ) -> Result<Option<Model>, ApiError> {
        store_change(&mut *self.store, RESOLVER_ENDPOINT, id, new.as_ref())?;
        self.set_resolver(id, new);
        self.model_to_publish(ctx, desired, None).map(Some)
    }

    /// Makes an endpoint change durable and in memory; returns the model to
    /// publish when what DNS answers changed. `desired` is what `check`
    /// returned for this change.
    pub(crate) fn commit(
        &mut self,
        ctx: &Ctx<'_>,
        id: &str,
        new: Option<EndpointRecord>,
        desired: Model,
    ) -> Result<Option<Model>, ApiError> {
        let before = self
            .endpoints
            .get(id)
            .and_then(|r| r.section(View::Published));
        let after = new.as_ref().and_then(|r| r.section(View::Published));
        store_change(&mut *self.store, ENDPOINT, id, new.as_ref())?;
        self.set_endpoint(id, new);
        if section_eq(&before, &after) {
            self.validated = Some((ctx.generation, desired));
            return Ok(None);
        }
        self.model_to_publish(ctx, desired, Some((id, after)))
            .map(Some)
    }

    /// Makes a private zone change durable and in memory; returns the model
    /// to publish when the zone is (or was) bound to a VPC.
    pub(crate) fn commit_zone(
        &mut self,
        ctx: &Ctx<'_>,
        id: &str,
        new: Option<PvtzZone>,
        desired: Model,
    ) -> Result<Option<Model>, ApiError> {
        let bound = |z: Option<&PvtzZone>| z.is_some_and(|z| !z.vpcs.is_empty());
        let answered = bound(self.zones.get(id)) || bound(new.as_ref());
        store_change(&mut *self.store, PVTZ_ZONE, id, new.as_ref())?;
        match new {
            Some(z) => self.zones.insert(id.to_string(), z),
            None => self.zones.remove(id),
        };
        if !answered {
            self.validated = Some((ctx.generation, desired));
            return Ok(None);
        }
        self.model_to_publish(ctx, desired, None).map(Some)
    }

    /// The model to publish after a change whose desired model is
    /// `desired`; `endpoint`: the change was to this endpoint, whose
    /// published section is now this.
    fn model_to_publish(
        &mut self,
        ctx: &Ctx<'_>,
        desired: Model,
        endpoint: Option<(&str, Option<EndpointSection>)>,
    ) -> Result<Model, ApiError> {
        if self.pending.is_empty() {
            // The desired view is the published one: validated already.
            self.validated = None;
            return Ok(desired);
        }
        let published = match endpoint {
            Some(change) => self.published_with(ctx, vec![change]),
            None => self.published_model(ctx),
        }
        .map_err(ApiError::internal)?;
        self.validated = Some((ctx.generation, desired));
        Ok(published)
    }

    /// The published model with these endpoints' published sections
    /// changed, each checked alone (`model::change_endpoint`); should one
    /// not pass alone (the published view is part of the validated desired
    /// one, so none should), the whole published view is validated.
    fn published_with(
        &self,
        ctx: &Ctx<'_>,
        changes: Vec<(&str, Option<EndpointSection>)>,
    ) -> Result<Model, String> {
        let mut m = ctx.published.clone();
        for (id, section) in &changes {
            // An error falls back to a full build, which names every
            // endpoint as it should: no index is needed here.
            let index_of = |_: &str| 0;
            match model::change_endpoint(
                &m,
                ctx.base,
                Some(ctx.published),
                id,
                section.as_ref(),
                &index_of,
            ) {
                Ok(next) => m = next,
                Err(_) => return self.published_model(ctx),
            }
        }
        Ok(m)
    }

    /// Stores a change that does not touch what is validated or answered
    /// (security groups, names, descriptions).
    pub(crate) fn save(&mut self, r: EndpointRecord) -> Result<(), ApiError> {
        let bytes = serde_json::to_vec(&r).expect("records serialize");
        self.store
            .put(ENDPOINT, &r.id, &bytes)
            .map_err(store_failed)?;
        self.set_endpoint(&r.id.clone(), Some(r));
        Ok(())
    }

    /// The model DNS answers from: the config and the published view.
    pub(crate) fn published_model(&self, ctx: &Ctx<'_>) -> Result<Model, String> {
        self.build(ctx, View::Published, None).map_err(|errors| {
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    /// When the next lifecycle step is due (ms since the epoch).
    pub(crate) fn next_deadline(&self) -> Option<u64> {
        let lifecycle = self.lifecycle.as_millis() as u64;
        self.pending
            .iter()
            .filter_map(|id| self.endpoints.get(id))
            .flat_map(|r| {
                let created = (r.status == EndpointStatus::Creating).then_some(r.created_ms);
                let zones = r
                    .zones
                    .iter()
                    .filter(|z| z.status == ZoneStatus::Connecting)
                    .map(|z| z.since_ms);
                created.into_iter().chain(zones)
            })
            .map(|t| t + lifecycle)
            .min()
    }

    /// Moves everything whose delay has passed by `now` (ms) to Active /
    /// Connected, durably; returns the model to publish when anything
    /// moved.
    pub(crate) fn advance(&mut self, ctx: &Ctx<'_>, now: u64) -> Result<Option<Model>, String> {
        let moved = self.due(now);
        if moved.is_empty() {
            return Ok(None);
        }
        let ids: Vec<String> = moved.iter().map(|r| r.id.clone()).collect();
        for r in moved {
            // A shared store keeps the timestamps the step derives from;
            // every replica takes it by itself (see the module's note).
            if !self.store.shared() {
                let bytes = serde_json::to_vec(&r).expect("records serialize");
                self.store
                    .put(ENDPOINT, &r.id, &bytes)
                    .map_err(|e| e.to_string())?;
            }
            info!(endpoint = %r.id, status = r.status.as_str(), "endpoint lifecycle");
            self.set_endpoint(&r.id.clone(), Some(r));
        }
        if self.pending.is_empty()
            && let Some((generation, model)) = self.validated.take()
            && generation == ctx.generation
        {
            // Nothing pending: the published view is the desired one, whose
            // model the last change validated against this same config.
            return Ok(Some(model));
        }
        // The endpoints that moved change in the published view; the
        // others are as published.
        let changes = ids
            .iter()
            .map(|id| (id.as_str(), self.endpoints[id].section(View::Published)))
            .collect();
        self.published_with(ctx, changes).map(Some)
    }
}

/// Every object of `kind` in the store.
fn read_all<T: serde::de::DeserializeOwned>(
    store: &dyn Store,
    kind: &str,
) -> Result<BTreeMap<String, T>, StoreError> {
    let mut out = BTreeMap::new();
    for (id, bytes) in store.list(kind)? {
        let value = serde_json::from_slice(&bytes).map_err(|e| StoreError::Backend {
            path: format!("{kind}/{id}"),
            message: format!("unreadable record: {e}"),
        })?;
        out.insert(id, value);
    }
    Ok(out)
}

/// Writes `new` (or deletes) durably.
fn store_change<T: serde::Serialize>(
    store: &mut dyn Store,
    kind: &str,
    id: &str,
    new: Option<&T>,
) -> Result<(), ApiError> {
    let stored = match new {
        Some(v) => store.put(kind, id, &serde_json::to_vec(v).expect("records serialize")),
        None => store.delete(kind, id),
    };
    stored.map(|_| ()).map_err(store_failed)
}

/// The cloud's error for a write the store refused: etcd unreachable is the
/// gateway's `ServiceUnavailable` (503: the SDKs raise a ServerException and
/// may retry); a change another replica made first is `OperationConflict`.
fn store_failed(e: StoreError) -> ApiError {
    match e {
        StoreError::Unavailable { .. } => ApiError::new(
            503,
            "ServiceUnavailable",
            format!("The request has failed due to a temporary failure of the server: {e}"),
        ),
        StoreError::Conflict { .. } => ApiError::new(
            409,
            "OperationConflict",
            format!("{e}; the request may be retried"),
        ),
        StoreError::Backend { .. } => ApiError::internal(e.to_string()),
    }
}

fn section_eq(
    a: &Option<crate::config::file::EndpointSection>,
    b: &Option<crate::config::file::EndpointSection>,
) -> bool {
    // EndpointSection has no PartialEq (it is the file's format); its
    // Debug form holds every field.
    format!("{a:?}") == format!("{b:?}")
}

/// The cloud's error for a refused change: the first error about endpoint
/// `id`, named by its request parameter; else (a rule between objects that
/// the change broke elsewhere) every error.
fn refusal(id: &str, errors: &[ValidationError], param_of: &dyn Fn(&str) -> String) -> ApiError {
    let ours = format!("endpoint '{id}' (");
    if let Some(e) = errors.iter().find(|e| e.object.starts_with(&ours)) {
        return ApiError::illegal(&param_of(&e.field.to_string()), &e.message);
    }
    ApiError::bad(
        "InvalidParameter",
        errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; "),
    )
}

/// The request parameter of an endpoint field, for CreateVpcEndpoint-style
/// parameters: `zones[0].ip` → `Zone.1.ip`.
pub(crate) fn endpoint_param(field: &str) -> String {
    if let Some(rest) = field.strip_prefix("zones[")
        && let Some((n, sub)) = rest.split_once("]")
    {
        let n: usize = n.parse().unwrap_or(0);
        let sub = match sub.trim_start_matches('.') {
            "vswitch" => "VSwitchId",
            "ip" => "ip",
            "ipv6" => "Ipv6Address",
            other => other,
        };
        return format!("Zone.{}.{sub}", n + 1);
    }
    match field {
        "zones" => "Zone",
        "zone_affinity" => "ZoneAffinityEnabled",
        "ip_version" => "AddressIpVersion",
        "vpc" => "VpcId",
        "service" => "ServiceId",
        "cross_region" => "ServiceRegionId",
        "id" => "EndpointId",
        other => other,
    }
    .to_string()
}
