//! Opening the listeners: UDP and TCP on every listen address and inbound
//! listener, and the admin API.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tracing::{error, info};

use crate::api;
use crate::dns::{Shared, tcp, udp};
use crate::model::{Admin, Model};
use crate::probe::HealthTable;

/// UDP (`udp_threads` sockets each) and TCP on every address of `listen`
/// and on every inbound listener of `model`.
pub(super) fn dns(
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

/// The admin API on `admin.listen`, on the runtime.
pub(super) fn admin(
    admin: &Admin,
    shared: &Arc<Shared>,
    health: &Arc<HealthTable>,
) -> anyhow::Result<()> {
    let addr = admin.listen;
    let l = api::bind(addr).with_context(|| format!("binding the admin API on {addr}"))?;
    let state = api::ApiState {
        shared: shared.clone(),
        health: health.clone(),
        token: admin.token.clone(),
    };
    tokio::spawn(async move {
        if let Err(e) = api::serve(l, state).await {
            error!(error = %e, "admin API stopped");
        }
    });
    info!(%addr, "admin API listening");
    Ok(())
}
