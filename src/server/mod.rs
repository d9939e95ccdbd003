//! The running server: start-up (`run`), the control loop that turns config
//! and health into published snapshots (`control`), the listeners that read
//! them (`listeners`) and the announcement that all of them are open
//! (`ready`).
//!
//! Data flow (docs/architecture.md): config → model → tables; probes →
//! health table; tables + health → snapshot → `ArcSwap` → query path.

mod control;
mod fds;
mod listeners;
mod ready;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use arc_swap::{ArcSwap, ArcSwapOption};
use tracing::{info, warn};

use crate::dns::upstream::InFlight;
use crate::dns::{Shared, metrics::Metrics, tcp};
use crate::load::{ConfigSource, load};
use crate::model::{Admin, admin_reachable};
use crate::probe::{HealthTable, Prober};
use crate::snapshot::{Publisher, Tables};
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
    let mut model = load(&opts.source, None)?;
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
        let shared = Arc::new(Shared {
            snapshot: ArcSwap::from_pointee(publisher.first(&health)),
            upstream: ArcSwapOption::new(upstream),
            tcp: tcp::Conns::new(tcp::Limits {
                max: fds.tcp,
                per_source: tcp::PER_SOURCE,
            }),
            forwards: InFlight::new(fds.forwards),
            metrics: Metrics::default(),
            runtime: io.handle().clone(),
        });
        let mut control = Control {
            source: opts.source,
            model,
            publisher,
            prober,
            health,
            shared,
            inbound,
            served,
        };
        control.publish();
        release_freed_memory();
        let ready = sockets.serve(&control.shared, &control.health, io.handle())?;
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
