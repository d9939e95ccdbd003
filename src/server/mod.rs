//! The running server: start-up (`run`), the control loop that turns config
//! and health into published snapshots (`control`), and the listeners that
//! read them (`listeners`).
//!
//! Data flow (docs/architecture.md): config → model → tables; probes →
//! health table; tables + health → snapshot → `ArcSwap` → query path.

mod control;
mod fds;
mod listeners;

use std::net::SocketAddr;
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
    Control, probe_targets, release_freed_memory, serial, unprobed_targets, upstream_of,
};

pub struct Options {
    pub source: ConfigSource,
    /// Overrides the config's `[server] listen` when not empty.
    pub listen: Vec<SocketAddr>,
    /// UDP sockets (and threads) per listen address.
    pub udp_threads: usize,
    /// Overrides the config's `[admin] listen` (and enables the API).
    pub admin: Option<SocketAddr>,
}

/// Loads the config, probes every ENI once, opens the listeners and runs
/// the control loop until SIGTERM or Ctrl-C.
pub fn run(opts: Options) -> anyhow::Result<()> {
    let fds = fds::raise_and_share();
    let model = load(&opts.source, None)?;
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
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let health = Arc::new(HealthTable::default());
        let publisher = Publisher::new(Arc::new(Tables::build(&model, serial())));
        let prober = Prober::start(health.clone(), probe_targets(&model, publisher.tables()))?;
        health.set_unprobed(unprobed_targets(&model, publisher.tables()));
        // No answer before the probes have spoken: listeners open once every
        // probed ENI has its first result (bounded by interval + timeout).
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
            runtime: tokio::runtime::Handle::current(),
        });
        let mut control = Control {
            source: opts.source,
            model,
            publisher,
            prober,
            health,
            shared,
        };
        control.publish();
        release_freed_memory();
        listeners::dns(&listen, &control.model, &control.shared, opts.udp_threads)?;
        if let Some(admin) = admin {
            listeners::admin(&admin, &control.shared, &control.health)?;
        }
        info!(
            config = %control.source.name().display(),
            endpoints = control.model.endpoints.len(),
            probed = control.prober.targets().len(),
            "serving"
        );
        control.run().await
    })
}
