//! The control loop's control-API jobs: a call (or a lifecycle step) is
//! a job like a reload: its validation and table build run on the blocking
//! pool while the loop goes on publishing health changes, one job at a time
//! (so writes are serialized), and a change that DNS must show is published
//! before the call is answered. The job types are in `cloud.rs`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::task::JoinHandle;
use tracing::{error, info, warn};

use crate::cloudapi::error::ApiError;
use crate::cloudapi::http::Call;
use crate::cloudapi::plane::{Ctx, Plane, now_ms};
use crate::cloudapi::{privatelink, privatezone};
use crate::model::Model;
use crate::snapshot::publish::TargetDelta;
use crate::snapshot::{Publisher, Tables};
use crate::store::{OverrideWrite, StoreEvent};

use super::cloud::{ApiJob, Finished, Output};
use super::control::{Control, next_serial, release_freed_memory};
impl Control {
    pub(super) fn lifecycle_deadline(&self) -> Option<tokio::time::Instant> {
        let due = self.cloud.as_ref()?.plane.as_ref()?.next_deadline()?;
        let wait = Duration::from_millis(due.saturating_sub(now_ms()));
        Some(tokio::time::Instant::now() + wait)
    }

    pub(super) fn start_call(&mut self, call: Call) -> Option<ApiJob> {
        let Call {
            action,
            params,
            reply,
        } = call;
        match self.start(move |plane, ctx| {
            let out = if privatezone::handles(&action) {
                privatezone::call(plane, ctx, &action, &params)
            } else {
                privatelink::call(plane, ctx, &action, &params)
            };
            (out.reply, out.publish)
        }) {
            Ok(task) => Some(ApiJob {
                task,
                reply: Some(reply),
            }),
            Err(e) => {
                let _ = reply.send(Err(e));
                None
            }
        }
    }

    /// Applies what other replicas wrote (`Plane::apply`) and publishes
    /// it as a call's change is published.
    pub(super) fn start_apply(&mut self, events: Vec<StoreEvent>) -> Option<ApiJob> {
        let task = self
            .start(move |plane, ctx| match plane.apply(ctx, events) {
                Ok(publish) => (Ok(Value::Null), publish),
                Err(m) => (Err(ApiError::internal(m)), None),
            })
            .ok()?;
        Some(ApiJob { task, reply: None })
    }

    /// Keeps an admin override in the store; the admin API answers once
    /// it is kept (the health table has it already).
    pub(super) fn start_override(&mut self, write: OverrideWrite) -> Option<ApiJob> {
        let OverrideWrite {
            endpoint,
            zone,
            state,
            reply,
        } = write;
        let (tx, rx) = tokio::sync::oneshot::channel::<Result<Value, ApiError>>();
        tokio::spawn(async move {
            let kept = match rx.await {
                Ok(Ok(_)) => Ok(()),
                Ok(Err(e)) => Err(e.message),
                Err(_) => Err("the override was not kept: its job failed".to_string()),
            };
            let _ = reply.send(kept);
        });
        match self.start(move |plane, _| {
            let saved = plane.save_override(&endpoint, &zone, state.as_deref());
            (saved.map(|()| Value::Null), None)
        }) {
            Ok(task) => Some(ApiJob {
                task,
                reply: Some(tx),
            }),
            Err(e) => {
                let _ = tx.send(Err(e));
                None
            }
        }
    }

    /// Puts the kept overrides in the health table (at start).
    pub(super) fn restore_overrides(&mut self) {
        let Some(plane) = self.cloud.as_ref().and_then(|c| c.plane.as_ref()) else {
            return;
        };
        for (endpoint, zone, state) in plane.overrides() {
            match self.health.set_override(&endpoint, &zone, Some(state)) {
                Ok(_) => info!(
                    endpoint,
                    zone,
                    state = state.as_str(),
                    "admin override restored"
                ),
                Err(e) => warn!(endpoint, zone, error = %e, "kept admin override not restored"),
            }
        }
    }

    /// Overrides another replica changed, into the health table.
    fn apply_override_changes(&mut self) {
        let Some(plane) = self.cloud.as_mut().and_then(|c| c.plane.as_mut()) else {
            return;
        };
        for (endpoint, zone, state) in plane.take_override_changes() {
            if let Err(e) = self.health.set_override(&endpoint, &zone, state) {
                warn!(endpoint, zone, error = %e, "another replica's admin override not applied");
            }
        }
    }

    pub(super) fn start_lifecycle(&mut self) -> Option<ApiJob> {
        let task = self
            .start(|plane, ctx| match plane.advance(ctx, now_ms()) {
                Ok(publish) => (Ok(Value::Null), publish),
                Err(m) => (Err(ApiError::internal(m)), None),
            })
            .ok()?;
        Some(ApiJob { task, reply: None })
    }

    /// Runs `work` on the plane on the blocking pool, and builds the tables
    /// of the model it returns there too.
    fn start(
        &mut self,
        work: impl FnOnce(&mut Plane, &Ctx<'_>) -> (Result<Value, ApiError>, Option<Model>)
        + Send
        + 'static,
    ) -> Result<JoinHandle<Output>, ApiError> {
        let Some(cloud) = self.cloud.as_mut() else {
            return Err(ApiError::internal("the control API is off"));
        };
        let Some(mut plane) = cloud.plane.take() else {
            return Err(ApiError::internal("the control API state is not open"));
        };
        let (base, published, source) =
            (self.base.clone(), self.model.clone(), self.source.clone());
        let inbound = self.inbound.clone();
        let served = self.served.clone();
        let publisher = self.publisher.clone();
        let generation = self.generation;
        let serial = next_serial(self.publisher.tables().serial);
        Ok(tokio::task::spawn_blocking(move || -> Output {
            let started = Instant::now();
            // A call changes no zone file: the serving model's zones are
            // used as loaded (a changed file is read on SIGHUP), so a call
            // costs the same however large the zone files are.
            let load_zone = |origin: &hickory_proto::rr::Name, file: &str, style: &_| {
                let path = source.zone_path(file);
                match published
                    .private_zones
                    .iter()
                    .find(|z| z.name == *origin && z.file == path)
                {
                    Some(z) => Ok((z.file.clone(), z.zone.clone())),
                    None => source
                        .load_zone(origin, file, style)
                        .map(|(path, zone)| (path, Arc::new(zone))),
                }
            };
            let ctx = Ctx {
                base: &base,
                published: &published,
                load_zone: &load_zone,
                generation,
            };
            let (reply, publish) = work(&mut plane, &ctx);
            let built = publish.map(|mut m| {
                m.bind_inbound(&inbound);
                // A change of endpoints updates the serving tables (what
                // it did not touch is shared); anything else rebuilds.
                let publisher = match publisher.tables().update(&published, &m, serial) {
                    Some(updated) => publisher.derive(updated),
                    None => {
                        let mut tables = Tables::build(&m, serial);
                        tables.serve_on(&served);
                        Publisher::new(Arc::new(tables))
                    }
                };
                (m, publisher)
            });
            (plane, reply, built, started.elapsed())
        }))
    }

    /// Puts the plane back, publishes what the job built, then answers.
    pub(super) fn finish_api(&mut self, finished: Finished) {
        let Finished { output, reply } = finished;
        let result = match output {
            Ok((plane, result, built, took)) => {
                self.cloud.as_mut().expect("a job had it").plane = Some(plane);
                self.apply_override_changes();
                self.publish_built(built, took).and(result)
            }
            Err(e) => {
                // A bug: the store has every acknowledged change, so the
                // state is read again from it.
                error!(error = %e, "control API job failed; reopening its state");
                let cloud = self.cloud.as_mut().expect("a job had it");
                if let Err(e) = cloud.reopen() {
                    error!(error = %format!("{e:#}"), "control API state cannot be reopened");
                }
                Err(ApiError::internal("the call failed; nothing was changed"))
            }
        };
        match reply {
            // The caller may have gone; the change stands either way.
            Some(reply) => {
                let _ = reply.send(result);
            }
            None => {
                if let Err(e) = result {
                    error!(error = %e, "control API lifecycle step or replica change failed");
                }
            }
        }
    }

    fn publish_built(
        &mut self,
        built: Option<(Model, Publisher)>,
        took: Duration,
    ) -> Result<(), ApiError> {
        let Some((model, publisher)) = built else {
            return Ok(());
        };
        let swapped = match publisher.target_delta().cloned() {
            Some(delta) if !self.touches_probes(&model, &delta) => {
                self.swap_in_update(model, publisher, &delta);
                Ok(())
            }
            _ => self.swap_in(model, publisher),
        };
        if let Err(e) = swapped {
            warn!(error = %format!("{e:#}"), "control API change stored but not published");
            return Err(ApiError::internal(format!(
                "the change is stored but could not be published: {e:#}"
            )));
        }
        trim_now_and_then();
        // Validation and the table update (or build) on the blocking pool.
        info!(
            endpoints = self.model.endpoints.len(),
            took_ms = took.as_millis() as u64,
            "control API change published"
        );
        Ok(())
    }

    /// Whether a change of ENI addresses involves a probed endpoint (before
    /// or after): then the prober's target set is replaced (`swap_in`).
    fn touches_probes(&self, new: &Model, delta: &TargetDelta) -> bool {
        let probed = |m: &Model, id: &str| m.endpoint(id).is_some_and(|e| e.probe.is_some());
        let mut ids: Vec<&str> = delta
            .removed
            .iter()
            .chain(&delta.added)
            .map(|t| t.endpoint.as_str())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids.iter()
            .any(|id| probed(&self.model, id) || probed(new, id))
    }

    /// Swaps in tables updated from the serving ones with unprobed ENI
    /// addresses changed: only those addresses are touched in the health
    /// table (`swap_in` walks every target, and then every health bit is
    /// read again), and only the endpoints changed (`Tables::update`), so
    /// forwarding and listeners are as they were.
    fn swap_in_update(&mut self, new: Model, publisher: Publisher, delta: &TargetDelta) {
        self.health.change_unprobed(
            delta.removed.iter().map(|t| &**t),
            delta.added.iter().map(|t| &**t),
        );
        self.health.prune_overrides();
        self.publisher = publisher;
        self.model = Arc::new(new);
        self.publish();
    }
}

/// Each published write frees the model and tables it replaced; glibc
/// keeps much of that in its per-thread arenas (40 s of create/delete at
/// 100 writes/s grew the resident set of 10,000 x 3 endpoints from 121 to
/// 158 MB, of which a trim gave back 12 MB). Hand it back at most once a
/// second, off the control loop, so that churn does not ratchet the RSS up.
fn trim_now_and_then() {
    static LAST_MS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let now = now_ms();
    let last = LAST_MS.load(std::sync::atomic::Ordering::Relaxed);
    if now.saturating_sub(last) >= 1000
        && LAST_MS
            .compare_exchange(
                last,
                now,
                std::sync::atomic::Ordering::Relaxed,
                std::sync::atomic::Ordering::Relaxed,
            )
            .is_ok()
    {
        tokio::task::spawn_blocking(release_freed_memory);
    }
}
