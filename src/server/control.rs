//! The control loop: the one owner of the model and the published tables.
//! Health changes republish the snapshot; SIGHUP reloads the config.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tracing::{error, info, warn};

use super::cloud::{ApiJob, CloudPlane};
use crate::cloudapi::http::Call;
use crate::config::file::ConfigFile;
use crate::dns::Shared;
use crate::dns::upstream::Upstream;
use crate::forward::Forwarder;
use crate::load::{ConfigSource, load_with};
use crate::model::{Forward, Model};
use crate::probe::{HealthTable, ProbeSettings, Prober, TargetKey};
use crate::snapshot::{Publisher, Tables};
use crate::store::StoreEvent;

/// What the control loop owns.
pub(super) struct Control {
    pub(crate) source: ConfigSource,
    /// The config file as parsed, without the control API's objects.
    pub(crate) base: Arc<ConfigFile>,
    /// What is answered now: the config and the API's published objects.
    pub(crate) model: Arc<Model>,
    pub(crate) publisher: Publisher,
    pub(crate) prober: Prober,
    pub(crate) health: Arc<HealthTable>,
    pub(crate) shared: Arc<Shared>,
    /// Where each inbound listener is really bound (configured address,
    /// bound address): a reloaded model gets the same ports (`listeners::
    /// Model::bind_inbound`), as its listeners are not reopened. One that
    /// a model no longer has stays open (answering by source address) until
    /// a restart.
    pub(crate) inbound: Vec<(SocketAddr, SocketAddr)>,
    /// The bound `listen` addresses (after `--listen`): the name server's
    /// addresses in every snapshot (`Tables::serve_on`).
    pub(crate) served: Vec<SocketAddr>,
    /// Counts the config files swapped in (reloads), so that the control
    /// API reuses no model validated against another one.
    pub(crate) generation: u64,
    /// The control API's desired state, when `[api]` is on.
    pub(crate) cloud: Option<CloudPlane>,
    /// Its calls, until `run` takes them.
    pub(crate) calls: Option<tokio::sync::mpsc::Receiver<Call>>,
    /// What checks its signatures: a reload gives it the new access keys.
    pub(crate) verifier: Option<Arc<crate::cloudapi::signature::Verifier>>,
}

/// A reload being read, validated and built on the blocking pool.
struct Building {
    task: tokio::task::JoinHandle<Loaded>,
    started: Instant,
}

/// What a reload's build gives: the new model, the file as parsed and the
/// tables, or why not.
type Loaded = Result<(Model, ConfigFile, Publisher), crate::load::LoadError>;

/// The one change in progress: a reload or a control API call (or
/// lifecycle step). One at a time, so that neither builds on a state the
/// other is replacing; health changes publish meanwhile.
enum Job {
    Reload(Building),
    Api(ApiJob),
}

/// SIGHUP, SIGTERM and SIGINT, caught from the moment they are installed: a
/// signal that arrives while the config loads, the first probes run or the
/// listeners open waits for the control loop instead of killing the process.
pub(super) struct Signals {
    hup: Signal,
    term: Signal,
    int: Signal,
}

impl Signals {
    /// Must run inside the runtime's context.
    pub(crate) fn install() -> std::io::Result<Signals> {
        Ok(Signals {
            hup: signal(SignalKind::hangup())?,
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }
}

impl Control {
    /// Publishes the tables with the current health as the new snapshot.
    pub(crate) fn publish(&self) {
        let started = Instant::now();
        self.publisher.publish(&self.shared.snapshot, &self.health);
        self.shared
            .metrics
            .snapshot_published(started.elapsed().as_micros() as u64);
        if let Some(x) = &self.shared.xfr {
            x.changed();
        }
    }

    /// Until SIGTERM or SIGINT: republish on every health change, reload on
    /// SIGHUP, run control API calls and lifecycle steps. A reload's or a
    /// call's read, validation and build run on the blocking pool while this
    /// loop goes on publishing health changes, so a failover during either
    /// reaches the answers at once. One job at a time: a SIGHUP during a job
    /// starts a reload after it, calls wait for it in their queue.
    pub(crate) async fn run(&mut self, signals: &mut Signals) {
        let mut health_changes = self.health.subscribe();
        let mut calls = self.calls.take();
        let mut store_events = self.cloud.as_mut().and_then(|c| c.events.take());
        let mut override_writes = self.cloud.as_mut().and_then(|c| c.override_writes.take());
        let mut job: Option<Job> = None;
        let mut again = false;
        loop {
            let idle = job.is_none();
            let lifecycle = if idle {
                self.lifecycle_deadline()
            } else {
                None
            };
            tokio::select! {
                changed = health_changes.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    self.publish();
                }
                _ = signals.hup.recv() => {
                    if idle {
                        job = Some(Job::Reload(self.start_build()));
                    } else {
                        again = true;
                    }
                }
                Some(call) = next_call(&mut calls), if idle => {
                    job = self.start_call(call).map(Job::Api);
                }
                Some(events) = next_events(&mut store_events), if idle => {
                    job = self.start_apply(events).map(Job::Api);
                }
                Some(write) = next_override(&mut override_writes), if idle => {
                    job = self.start_override(write).map(Job::Api);
                }
                _ = sleep_until(lifecycle), if idle => {
                    job = self.start_lifecycle().map(Job::Api);
                }
                done = wait(&mut job), if !idle => {
                    job = None;
                    match done {
                        Done::Reload(built, started) => self.finish_reload(built, started),
                        Done::Api(finished) => self.finish_api(finished),
                    }
                    // A reopened state follows the store anew.
                    if let Some(rx) = self.cloud.as_mut().and_then(|c| c.events.take()) {
                        store_events = Some(rx);
                    }
                    if std::mem::take(&mut again) {
                        job = Some(Job::Reload(self.start_build()));
                    }
                }
                _ = signals.term.recv() => { info!("SIGTERM: stopping"); return }
                _ = signals.int.recv() => { info!("interrupted: stopping"); return }
            }
        }
    }

    /// Reads, validates and builds the config on the blocking pool (a third
    /// of a second at 10,000 endpoints).
    fn start_build(&self) -> Building {
        let (source, previous) = (self.source.clone(), self.model.clone());
        let inbound = self.inbound.clone();
        let served = self.served.clone();
        let serving = self.publisher.clone();
        let serial = next_serial(self.publisher.tables().serial);
        // The control API's objects join the new file, so that a reload
        // keeps them: validated with the pending ones too (a config that
        // takes a Creating endpoint's address is refused), served without
        // them (a second build, only while something is pending).
        let (desired, published) = self
            .cloud
            .as_ref()
            .map(CloudPlane::views)
            .map_or((None, None), |(d, p)| (Some(d), p));
        let task = tokio::task::spawn_blocking(move || {
            let (mut m, base) = load_with(&source, Some(&previous), desired.as_ref())?;
            if let Some(published) = &published {
                m = load_with(&source, Some(&previous), Some(published))?.0;
            }
            m.bind_inbound(&inbound);
            // When only endpoints changed, the serving tables are updated:
            // the unchanged endpoints' answers are shared, not built again.
            let publisher = match serving.tables().update(&previous, &m, serial) {
                Some(updated) => serving.derive(updated),
                None => {
                    let mut tables = Tables::build(&m, serial);
                    tables.serve_on(&served);
                    Publisher::new(Arc::new(tables))
                }
            };
            Ok((m, base, publisher))
        });
        Building {
            task,
            started: Instant::now(),
        }
    }

    /// A valid config swaps in and unchanged ENIs keep their health; an
    /// invalid one is logged and the running config keeps serving. Either
    /// way `epdns_reloads_total` counts the result.
    fn finish_reload(&mut self, built: Result<Loaded, tokio::task::JoinError>, started: Instant) {
        let swapped = built
            .context("the reload task failed")
            .and_then(|b| b.map_err(anyhow::Error::from))
            .and_then(|(new, base, publisher)| {
                self.swap_in(new, publisher)?;
                self.base = Arc::new(base);
                self.generation += 1;
                Ok(())
            });
        match swapped {
            Ok(()) => {
                self.shared.metrics.reload_ok();
                info!(
                    endpoints = self.model.endpoints.len(),
                    took_ms = started.elapsed().as_millis() as u64,
                    "reloaded"
                );
            }
            Err(e) => {
                self.shared.metrics.reload_rejected();
                error!(error = %format!("{e:#}"), "reload rejected; the running config keeps serving");
            }
        }
    }

    /// Swaps in a built model; on error nothing has changed.
    pub(super) fn swap_in(&mut self, new: Model, publisher: Publisher) -> anyhow::Result<()> {
        // A new forwarder only when `[forward]` changed: an unchanged one
        // keeps its cache.
        let upstream = if new.forward != self.model.forward {
            Some(upstream_of(new.forward.as_ref())?)
        } else {
            None
        };
        self.open_new_inbound(&new)?;
        let tables = publisher.tables();
        self.prober.update_targets(probe_targets(&new, tables))?;
        self.health.set_unprobed(unprobed_targets(&new, tables));
        self.health.prune_overrides();
        let unopened = new.inbound.iter().any(|i| !self.is_open(i.listen));
        if new.server.listen != self.model.server.listen || unopened {
            warn!(
                "reload: listen addresses changed; listeners change only on restart \
                 (inbound listeners with a port given open at once)"
            );
        }
        if new.transfer != self.model.transfer {
            warn!("reload: [[secondary]] or [[tsig_key]] changed; they change only on restart");
        }
        if new.admin != self.model.admin {
            warn!("reload: [admin] changed; the admin listener changes only on restart");
        }
        if let Some(upstream) = upstream {
            self.shared.upstream.store(upstream);
        }
        if let Some(verifier) = &self.verifier {
            // Without `[api]` now, no key signs (the listener stays until a
            // restart).
            verifier.set_keys(new.cloud_api.as_ref().map_or(&[], |api| &api.keys));
        }
        self.publisher = publisher;
        self.model = Arc::new(new);
        self.publish();
        release_freed_memory();
        Ok(())
    }
}

impl Control {
    fn is_open(&self, addr: SocketAddr) -> bool {
        self.inbound.iter().any(|(c, b)| *c == addr || *b == addr)
    }

    /// Opens the inbound listeners of `new` that are not open yet and have
    /// a port (those of the control API's resolver endpoints; a reload's
    /// new `[[inbound]]` on port 0 waits for a restart).
    fn open_new_inbound(&mut self, new: &Model) -> anyhow::Result<()> {
        for i in &new.inbound {
            if i.listen.port() == 0 || self.is_open(i.listen) {
                continue;
            }
            super::listeners::open_inbound(i.listen, &i.vpc, &self.shared)?;
            self.inbound.push((i.listen, i.listen));
        }
        Ok(())
    }
}

/// A finished job (moved once, straight into its handler: not boxed).
#[allow(clippy::large_enum_variant)]
enum Done {
    Reload(Result<Loaded, tokio::task::JoinError>, Instant),
    Api(super::cloud::Finished),
}

/// Waits for the job in progress (the caller guards that there is one).
async fn wait(job: &mut Option<Job>) -> Done {
    match job.as_mut().expect("guarded: a job is in progress") {
        Job::Reload(b) => Done::Reload((&mut b.task).await, b.started),
        Job::Api(a) => Done::Api(a.wait().await),
    }
}

/// The next call, or never without the control API.
async fn next_call(calls: &mut Option<tokio::sync::mpsc::Receiver<Call>>) -> Option<Call> {
    match calls {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Every change a shared store has reported so far (at least one), or
/// never without one.
async fn next_events(
    events: &mut Option<tokio::sync::mpsc::UnboundedReceiver<StoreEvent>>,
) -> Option<Vec<StoreEvent>> {
    let Some(rx) = events else {
        return std::future::pending().await;
    };
    let first = rx.recv().await?;
    let mut all = vec![first];
    while let Ok(more) = rx.try_recv() {
        all.push(more);
    }
    Some(all)
}

/// The next override to keep, or never without a state store.
async fn next_override(
    writes: &mut Option<tokio::sync::mpsc::Receiver<crate::store::OverrideWrite>>,
) -> Option<crate::store::OverrideWrite> {
    match writes {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Sleeps until `deadline`, or forever without one.
async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// The SOA serial of the first tables: seconds since the epoch.
pub(super) fn serial() -> u32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as u32)
        .unwrap_or(1)
}

/// The serial of reloaded tables: the clock's, or one more than the last
/// when two reloads fall in the same second, so a reload always increases
/// it (RFC 1982 arithmetic: wrapping).
pub(super) fn next_serial(last: u32) -> u32 {
    let now = serial();
    if now.wrapping_sub(last) as i32 > 0 {
        now
    } else {
        last.wrapping_add(1)
    }
}

/// The ENI addresses to probe, with their settings.
pub(super) fn probe_targets(model: &Model, tables: &Tables) -> Vec<(TargetKey, ProbeSettings)> {
    let by_endpoint: HashMap<&str, &ProbeSettings> = model
        .endpoints
        .iter()
        .filter_map(|e| e.probe.as_ref().map(|p| (e.id.as_str(), p)))
        .collect();
    tables
        .targets
        .values()
        .filter_map(|t| {
            by_endpoint
                .get(t.endpoint.as_str())
                .map(|p| (t.clone(), (*p).clone()))
        })
        .collect()
}

/// The ENI addresses no probe watches (only an admin override moves them).
pub(super) fn unprobed_targets(model: &Model, tables: &Tables) -> Vec<TargetKey> {
    let probed: HashSet<&str> = model
        .endpoints
        .iter()
        .filter(|e| e.probe.is_some())
        .map(|e| e.id.as_str())
        .collect();
    tables
        .targets
        .values()
        .filter(|t| !probed.contains(t.endpoint.as_str()))
        .cloned()
        .collect()
}

pub(super) fn upstream_of(
    forward: Option<&Forward>,
) -> anyhow::Result<Option<Arc<Box<dyn Upstream>>>> {
    let Some(f) = forward else { return Ok(None) };
    let fwd = Forwarder::new(&f.upstreams, f.timeout).context("starting the forwarder")?;
    Ok(Some(Arc::new(Box::new(fwd) as Box<dyn Upstream>)))
}

/// Parsing and building free a lot of short-lived memory (the TOML tree,
/// intermediate names) that glibc keeps in its arenas; hand it back so a large
/// config does not leave the server's RSS at its build-time peak.
pub(super) fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free heap pages to the kernel.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reload_always_increases_the_serial() {
        let now = serial();
        assert_eq!(next_serial(now - 10), now);
        assert_eq!(next_serial(now), now + 1);
        assert_eq!(next_serial(now + 5), now + 6);
    }
}
