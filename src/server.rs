//! The running server: builds the first snapshot, binds the listeners, and
//! swaps in a new snapshot on reload.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use arc_swap::ArcSwap;
use tracing::{error, info, warn};

use crate::config::load::{Source, load};
use crate::dns::{Shared, metrics::Metrics, tcp, udp};
use crate::model::Model;
use crate::snapshot::{AllDownPolicy, Snapshot, Tables};

pub struct Options {
    pub source: Source,
    /// Overrides the config's `[server] listen` when not empty.
    pub listen: Vec<SocketAddr>,
    /// UDP sockets (and threads) per listen address.
    pub udp_threads: usize,
}

/// Builds a snapshot in which every ENI is available.
pub fn snapshot_of(model: &Model) -> Snapshot {
    let tables = Arc::new(Tables::build(model, AllDownPolicy::default(), serial()));
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

pub fn run(opts: Options) -> anyhow::Result<()> {
    let model = load(&opts.source, None)?;
    let listen = if opts.listen.is_empty() {
        model.server.listen.clone()
    } else {
        opts.listen.clone()
    };
    let shared = Arc::new(Shared {
        snapshot: ArcSwap::from_pointee(snapshot_of(&model)),
        metrics: Metrics::default(),
    });

    let mut tcp_listeners = Vec::new();
    for addr in &listen {
        for _ in 0..opts.udp_threads.max(1) {
            let sock = udp::bind(*addr).with_context(|| format!("binding UDP {addr}"))?;
            udp::spawn(sock, shared.clone())?;
        }
        tcp_listeners.push(tcp::bind(*addr).with_context(|| format!("binding TCP {addr}"))?);
        info!(%addr, "listening on UDP and TCP");
    }
    info!(
        config = %opts.source.name().display(),
        endpoints = model.endpoints.len(),
        "serving"
    );

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        for l in tcp_listeners {
            tokio::spawn(tcp::serve(l, shared.clone()));
        }
        reload_on_sighup(opts.source, model, shared).await
    })
}

/// SIGHUP re-reads the config: a valid one swaps in, an invalid one is logged
/// and the running config keeps serving.
async fn reload_on_sighup(
    source: Source,
    mut model: Model,
    shared: Arc<Shared>,
) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hup = signal(SignalKind::hangup())?;
    let mut term = signal(SignalKind::terminate())?;
    loop {
        tokio::select! {
            _ = hup.recv() => {}
            _ = term.recv() => { info!("SIGTERM: stopping"); return Ok(()) }
            _ = tokio::signal::ctrl_c() => { info!("interrupted: stopping"); return Ok(()) }
        }
        match load(&source, Some(&model)) {
            Ok(new) => {
                if new.server.listen != model.server.listen {
                    warn!("reload: [server] listen changed; listeners change only on restart");
                }
                shared.snapshot.store(Arc::new(snapshot_of(&new)));
                info!(endpoints = new.endpoints.len(), "reloaded");
                model = new;
            }
            Err(e) => error!(error = %e, "reload rejected; the running config keeps serving"),
        }
    }
}
