//! The running server: start-up (`run`), the control loop that turns config
//! and health into published snapshots (`control`), the listeners that read
//! them (`listeners`) and the announcement that all of them are open
//! (`ready`).
//!
//! Data flow (docs/architecture.md): config → model → tables; probes →
//! health table; tables + health → snapshot → `ArcSwap` → query path.

mod cloud;
mod control;
mod control_api;
mod fds;
mod listeners;
mod ready;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use arc_swap::{ArcSwap, ArcSwapOption};
use tracing::{error, info, warn};

use crate::cloudapi;
use crate::dns::upstream::InFlight;
use crate::dns::{Shared, metrics::Metrics, tcp};
use crate::load::{ConfigSource, load_with};
use crate::model::{Admin, admin_reachable};
use crate::probe::{HealthTable, Prober};
use crate::snapshot::{Publisher, Tables};
use crate::xfr::Transfers;
use cloud::CloudPlane;
use control::{
    Control, Signals, probe_targets, release_freed_memory, serial, unprobed_targets, upstream_of,
};
use listeners::Listeners;

pub struct Options {
    pub source: ConfigSource,
    /// Overrides the config's `[server] listen` when not empty.
    pub listen: Vec<SocketAddr>,
    /// UDP sockets (and threads) per listen address.
    pub udp_threads: usize,
    /// Overrides the config's `[admin] listen` (and enables the API).
    pub admin: Option<SocketAddr>,
    /// Written once every listener is open (see `ready`).
    pub ready_file: Option<PathBuf>,
    /// Where the control API's state lives; overrides `[state]`.
    pub state: Option<crate::store::StateLocation>,
}

/// Loads the config, opens the listeners, probes every ENI once, starts
/// answering, announces readiness and runs the control loop until SIGTERM
/// or SIGINT.
pub fn run(opts: Options) -> anyhow::Result<()> {
    // Two runtimes, so that no client can delay a failover: this thread's
    // runs the probes and the control loop (health → snapshot, reloads,
    // signals); `io`'s own thread runs everything a client drives (TCP
    // connections, forwarded questions, the admin API). UDP has threads of
    // its own.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let io = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("epdns-io")
        .enable_all()
        .build()?;
    // Before anything else: a SIGHUP sent to a starting server must not kill
    // it (the default action), and a SIGTERM must stop it cleanly.
    let mut signals = {
        let _in_runtime = rt.enter();
        Signals::install()?
    };
    if let Some(file) = &opts.ready_file {
        ready::clear(file)?;
    }
    let fds = fds::raise_and_share();
    let (mut model, base) = load_with(&opts.source, None, None)?;
    let mut cloud = match model.cloud_api.clone() {
        Some(api) => {
            let Some(state) = opts.state.clone().or_else(|| api.state.clone()) else {
                anyhow::bail!(
                    "[api] needs a state store: set [state] dir or etcd, or pass --state DIR|etcd://HOST:PORT/PREFIX"
                );
            };
            let cloud = CloudPlane::open(state, api.lifecycle)?;
            // The objects the API created before this start: validated with
            // the pending ones, served without them (as a reload does).
            let (desired, published) = cloud.views();
            if !desired.endpoints.is_empty()
                || !desired.zones.is_empty()
                || !desired.inbound.is_empty()
            {
                model = load_with(&opts.source, None, Some(&desired))?.0;
            }
            if let Some(published) = published {
                model = load_with(&opts.source, None, Some(&published))?.0;
            }
            let (handle, calls) = cloudapi::http::Handle::new(&api.keys);
            let listener = cloudapi::http::bind(api.listen)
                .with_context(|| format!("binding the control API on {}", api.listen))?;
            Some((cloud, handle, calls, listener))
        }
        None => None,
    };
    let listen = if opts.listen.is_empty() {
        model.server.listen.clone()
    } else {
        opts.listen.clone()
    };
    // `--admin` moves the API; a configured token still guards it.
    let admin = match (opts.admin, model.admin.clone()) {
        (Some(listen), configured) => Some(Admin {
            listen,
            token: configured.and_then(|a| a.token),
        }),
        (None, configured) => configured,
    };
    if let Some(a) = &admin {
        admin_reachable(a.listen, a.token.is_some())
            .map_err(|m| anyhow::anyhow!("admin API: {m}"))?;
    }
    let upstream = upstream_of(model.forward.as_ref())?;
    rt.block_on(async move {
        let sockets = Listeners::bind(&listen, &model.inbound, admin.as_ref(), opts.udp_threads)?;
        let inbound = sockets.inbound();
        model.bind_inbound(&inbound);
        let served = sockets.served();
        let health = Arc::new(HealthTable::default());
        let mut tables = Tables::build(&model, serial());
        tables.serve_on(&served);
        let publisher = Publisher::new(Arc::new(tables));
        let prober = Prober::start(health.clone(), probe_targets(&model, publisher.tables()))?;
        health.set_unprobed(unprobed_targets(&model, publisher.tables()));
        // No answer before the probes have spoken: the sockets are open but
        // nothing reads them until every probed ENI has its first result
        // (bounded by interval + timeout).
        if !prober.first_round().await {
            warn!("some probes had no result in time; they count as up until they report");
        }
        let first = publisher.first(&health);
        let xfr = Transfers::new(&model.transfer, &first);
        let shared = Arc::new(Shared {
            snapshot: ArcSwap::from_pointee(first),
            upstream: ArcSwapOption::new(upstream),
            tcp: tcp::Conns::new(tcp::Limits {
                max: fds.tcp,
                per_source: tcp::PER_SOURCE,
            }),
            forwards: InFlight::new(fds.forwards),
            metrics: Metrics::default(),
            runtime: io.handle().clone(),
            override_writes: cloud.as_mut().map(|(cloud, ..)| cloud.override_sink()),
            xfr,
        });
        if let Some(x) = shared.xfr.clone() {
            let shared = shared.clone();
            tokio::spawn(x.run(move || shared.snapshot.load_full()));
        }
        let (cloud, api) = match cloud {
            Some((cloud, handle, calls, listener)) => {
                (Some((cloud, calls)), Some((handle, listener)))
            }
            None => (None, None),
        };
        let (mut cloud, calls) = cloud.unzip();
        if let Some(cloud) = cloud.as_mut() {
            cloud.watch(shared.metrics.state_store.clone());
        }
        let verifier = api.as_ref().map(|(handle, _)| handle.verifier());
        let mut control = Control {
            source: opts.source,
            base: Arc::new(base),
            model: Arc::new(model),
            generation: 0,
            cloud,
            calls,
            verifier,
            publisher,
            prober,
            health,
            shared,
            inbound,
            served,
        };
        // Before the first snapshot: a kept override is in force from the
        // first answer on.
        control.restore_overrides();
        control.publish();
        release_freed_memory();
        let mut ready = sockets.serve(&control.shared, &control.health, io.handle())?;
        if let Some((handle, listener)) = api {
            // On the io runtime with the admin API: a client of the control
            // API drives it; the calls themselves run in the control loop.
            let addr = listener.local_addr()?;
            io.spawn(async move {
                if let Err(e) = cloudapi::http::serve(listener, handle).await {
                    error!(error = %e, "control API stopped");
                }
            });
            info!(%addr, "control API listening");
            ready.api = Some(addr);
        }
        info!(
            config = %control.source.name().display(),
            endpoints = control.model.endpoints.len(),
            probed = control.prober.targets().len(),
            "serving"
        );
        ready.announce(opts.ready_file.as_deref())?;
        control.run(&mut signals).await;
        if let Some(file) = &opts.ready_file {
            ready::clear(file)?;
        }
        // Open connections are dropped, not drained: the process is ending.
        io.shutdown_background();
        Ok(())
    })
}
