//! The running server: the control loop that turns config and health into
//! published snapshots, and the listeners that read them.
//!
//! Data flow (DESIGN.md): config → model → tables; probes → health table;
//! tables + health → snapshot → `ArcSwap` → query path.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use arc_swap::{ArcSwap, ArcSwapOption};
use tracing::{error, info, warn};

use crate::api;
use crate::config::load::{Source, load};
use crate::dns::forwarding::Upstream;
use crate::dns::{Shared, metrics::Metrics, tcp, udp};
use crate::forward::Forwarder;
use crate::model::{Forward, Model};
use crate::probe::{Changes, HealthTable, ProbeSettings, Prober, TargetKey};
use crate::snapshot::{Snapshot, Tables};

pub struct Options {
    pub source: Source,
    /// Overrides the config's `[server] listen` when not empty.
    pub listen: Vec<SocketAddr>,
    /// UDP sockets (and threads) per listen address.
    pub udp_threads: usize,
    /// Overrides the config's `[admin] listen` (and enables the API).
    pub admin: Option<SocketAddr>,
}

/// Builds a snapshot in which every ENI is available (for `check`).
pub fn snapshot_of(model: &Model) -> Snapshot {
    let tables = Arc::new(Tables::build(model, serial()));
    let up = vec![true; tables.targets.len()].into_boxed_slice();
    Snapshot { tables, up }
}

/// SOA serial: seconds since the epoch, so every reload increases it.
fn serial() -> u32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as u32)
        .unwrap_or(1)
}

/// The ENI addresses to probe, with their settings.
fn probe_targets(model: &Model, tables: &Tables) -> Vec<(TargetKey, ProbeSettings)> {
    let by_endpoint: HashMap<&str, &ProbeSettings> = model
        .endpoints
        .iter()
        .filter_map(|e| e.probe.as_ref().map(|p| (e.id.as_str(), p)))
        .collect();
    tables
        .targets
        .iter()
        .filter_map(|t| {
            by_endpoint
                .get(t.endpoint.as_str())
                .map(|p| (t.clone(), (*p).clone()))
        })
        .collect()
}

/// The ENI addresses no probe watches (only an admin override moves them).
fn unprobed_targets(model: &Model, tables: &Tables) -> Vec<TargetKey> {
    let probed: std::collections::HashSet<&str> = model
        .endpoints
        .iter()
        .filter(|e| e.probe.is_some())
        .map(|e| e.id.as_str())
        .collect();
    tables
        .targets
        .iter()
        .filter(|t| !probed.contains(t.endpoint.as_str()))
        .cloned()
        .collect()
}

fn upstream_of(forward: Option<&Forward>) -> anyhow::Result<Option<Arc<Box<dyn Upstream>>>> {
    let Some(f) = forward else { return Ok(None) };
    let fwd = Forwarder::new(&f.upstreams, f.timeout).context("starting the forwarder")?;
    Ok(Some(Arc::new(Box::new(fwd) as Box<dyn Upstream>)))
}

/// What the control loop owns.
struct Control {
    source: Source,
    model: Model,
    tables: Arc<Tables>,
    /// Health slot of each ENI address in `tables`.
    slots: HashMap<TargetKey, usize>,
    prober: Prober,
    health: Arc<HealthTable>,
    shared: Arc<Shared>,
}

/// The health bits of `tables` for a new snapshot: `current`'s with the
/// addresses that changed since it was published patched in, or every
/// address read again when the tables or the set of targets changed.
pub fn health_bits(
    current: &Snapshot,
    tables: &Arc<Tables>,
    slots: &HashMap<TargetKey, usize>,
    health: &HealthTable,
) -> Box<[bool]> {
    match health.take_changes() {
        Changes::Keys(keys) if Arc::ptr_eq(&current.tables, tables) => {
            let mut up = current.up.clone();
            for key in &keys {
                if let Some(&slot) = slots.get(key) {
                    up[slot] = health.effective_up(key);
                }
            }
            up
        }
        _ => health.effective_up_of(tables.targets.iter()),
    }
}

/// Health slot of each ENI address in `tables`.
pub fn slots_of(tables: &Tables) -> HashMap<TargetKey, usize> {
    tables
        .targets
        .iter()
        .enumerate()
        .map(|(i, t)| (t.clone(), i))
        .collect()
}

impl Control {
    /// Publishes tables + current health as the new snapshot. A health
    /// change patches the addresses that changed into the published bits;
    /// new tables (or new targets) read every address.
    fn publish(&self) {
        let started = Instant::now();
        let current = self.shared.snapshot.load();
        let up = health_bits(&current, &self.tables, &self.slots, &self.health);
        let snapshot = Snapshot {
            tables: self.tables.clone(),
            up,
        };
        self.shared.snapshot.store(Arc::new(snapshot));
        self.shared
            .metrics
            .snapshot_published(started.elapsed().as_micros() as u64);
    }

    /// SIGHUP: a valid config swaps in and unchanged ENIs keep their health;
    /// an invalid one is logged and the running config keeps serving.
    async fn reload(&mut self) {
        let started = Instant::now();
        // Reading, validating and building tables takes a third of a second
        // at 10,000 endpoints: off the runtime, which also serves TCP, the
        // admin API and the probes.
        let (source, previous) = (self.source.clone(), self.model.clone());
        let built = tokio::task::spawn_blocking(move || {
            load(&source, Some(&previous)).map(|m| {
                let tables = Arc::new(Tables::build(&m, serial()));
                let slots = slots_of(&tables);
                (m, tables, slots)
            })
        })
        .await;
        let (new, tables, slots) = match built {
            Ok(Ok(b)) => b,
            Ok(Err(e)) => {
                error!(error = %e, "reload rejected; the running config keeps serving");
                return;
            }
            Err(e) => {
                error!(error = %e, "reload failed; the running config keeps serving");
                return;
            }
        };
        // A new forwarder only when `[forward]` changed: an unchanged one
        // keeps its cache.
        let upstream = if new.forward != self.model.forward {
            match upstream_of(new.forward.as_ref()) {
                Ok(u) => Some(u),
                Err(e) => {
                    error!(error = %format!("{e:#}"), "reload rejected; the running config keeps serving");
                    return;
                }
            }
        } else {
            None
        };
        if let Err(e) = self.prober.update_targets(probe_targets(&new, &tables)) {
            error!(error = %e, "reload rejected; the running config keeps serving");
            return;
        }
        self.health.set_unprobed(unprobed_targets(&new, &tables));
        self.health.prune_overrides();
        if new.server.listen != self.model.server.listen || new.inbound != self.model.inbound {
            warn!("reload: listen addresses changed; listeners change only on restart");
        }
        if new.admin != self.model.admin {
            warn!("reload: [admin] changed; the admin listener changes only on restart");
        }
        if let Some(upstream) = upstream {
            self.shared.upstream.store(upstream);
        }
        self.slots = slots;
        self.tables = tables;
        self.model = new;
        self.publish();
        release_freed_memory();
        info!(
            endpoints = self.model.endpoints.len(),
            took_ms = started.elapsed().as_millis() as u64,
            "reloaded"
        );
    }
}

pub fn run(opts: Options) -> anyhow::Result<()> {
    let model = load(&opts.source, None)?;
    let listen = if opts.listen.is_empty() {
        model.server.listen.clone()
    } else {
        opts.listen.clone()
    };
    let admin = opts.admin.or(model.admin);
    let upstream = upstream_of(model.forward.as_ref())?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let health = Arc::new(HealthTable::default());
        let tables = Arc::new(Tables::build(&model, serial()));
        let prober = Prober::start(health.clone(), probe_targets(&model, &tables))?;
        health.set_unprobed(unprobed_targets(&model, &tables));
        // No answer before the probes have spoken: listeners open once every
        // probed ENI has its first result (bounded by interval + timeout).
        if !prober.first_round().await {
            warn!("some probes had no result in time; they count as up until they report");
        }
        let shared = Arc::new(Shared {
            snapshot: ArcSwap::from_pointee(Snapshot {
                tables: tables.clone(),
                up: health.effective_up_of(tables.targets.iter()),
            }),
            upstream: ArcSwapOption::new(upstream),
            metrics: Metrics::default(),
            runtime: tokio::runtime::Handle::current(),
        });
        let mut control = Control {
            source: opts.source,
            model,
            slots: slots_of(&tables),
            tables,
            prober,
            health,
            shared,
        };
        control.publish();
        release_freed_memory();
        listen_all(&listen, &control.model, &control.shared, opts.udp_threads)?;
        if let Some(addr) = admin {
            let l = api::bind(addr).with_context(|| format!("binding the admin API on {addr}"))?;
            let state = api::ApiState {
                shared: control.shared.clone(),
                health: control.health.clone(),
            };
            tokio::spawn(async move {
                if let Err(e) = api::serve(l, state).await {
                    error!(error = %e, "admin API stopped");
                }
            });
            info!(%addr, "admin API listening");
        }
        info!(
            config = %control.source.name().display(),
            endpoints = control.model.endpoints.len(),
            probed = control.prober.targets().len(),
            "serving"
        );
        control_loop(&mut control).await
    })
}

/// Parsing and building free a lot of short-lived memory (the TOML tree,
/// intermediate names) that glibc keeps in its arenas; hand it back so a large
/// config does not leave the server's RSS at its build-time peak.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free heap pages to the kernel.
    unsafe {
        libc::malloc_trim(0);
    }
}

fn listen_all(
    listen: &[SocketAddr],
    model: &Model,
    shared: &Arc<Shared>,
    udp_threads: usize,
) -> anyhow::Result<()> {
    let inbound = model.inbound.iter().map(|i| (&i.listen, Some(&i.vpc)));
    for (addr, vpc) in listen.iter().map(|a| (a, None)).chain(inbound) {
        for _ in 0..udp_threads.max(1) {
            let sock = udp::bind(*addr).with_context(|| format!("binding UDP {addr}"))?;
            udp::spawn(sock, shared.clone())?;
        }
        let l = tcp::bind(*addr).with_context(|| format!("binding TCP {addr}"))?;
        tokio::spawn(tcp::serve(l, shared.clone()));
        match vpc {
            None => info!(%addr, "listening on UDP and TCP"),
            Some(vpc) => info!(%addr, vpc = %vpc, "inbound listener on UDP and TCP"),
        }
    }
    Ok(())
}

async fn control_loop(control: &mut Control) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hup = signal(SignalKind::hangup())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut health_changes = control.health.subscribe();
    loop {
        tokio::select! {
            changed = health_changes.changed() => {
                if changed.is_err() {
                    return Ok(());
                }
                control.publish();
            }
            _ = hup.recv() => control.reload().await,
            _ = term.recv() => { info!("SIGTERM: stopping"); return Ok(()) }
            _ = tokio::signal::ctrl_c() => { info!("interrupted: stopping"); return Ok(()) }
        }
    }
}
