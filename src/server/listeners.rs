//! Opening the listeners: UDP and TCP on every listen address and inbound
//! listener, and the admin API. Binding and serving are two steps, so that
//! every socket is open (and its port known) before the first answer, and a
//! port that cannot be had fails the start before the probes run.
//!
//! Port 0 asks the kernel for a port, as tests and side-by-side labs do. A
//! DNS address needs that one port for UDP (one SO_REUSEPORT socket per
//! thread) and TCP, so the port is chosen by a plain UDP socket and then held
//! by TCP, the only one of the three that no other socket can share: the
//! kernel may hand a SO_REUSEPORT socket bound to port 0 a port that another
//! process of the same user already serves with SO_REUSEPORT, and the two
//! would then split each other's queries.

use std::io::ErrorKind;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::sync::Arc;

use anyhow::{Context, bail};
use tracing::{error, info};

use crate::api;
use crate::dns::{Shared, tcp, udp};
use crate::model::{Admin, Inbound};
use crate::probe::HealthTable;

use super::ready::Ready;

/// How often a port-0 address tries another port when the kernel's pick is
/// taken for TCP, or is taken for UDP between the pick and the bind.
const PORT_ATTEMPTS: usize = 20;

/// Every listening socket, bound and not yet served.
pub(super) struct Listeners {
    dns: Vec<DnsSockets>,
    admin: Option<(TcpListener, Option<Arc<str>>)>,
}

/// One DNS address: its TCP listener and UDP sockets, all on one port.
struct DnsSockets {
    /// As configured (port 0 for any).
    configured: SocketAddr,
    bound: SocketAddr,
    /// The VPC of an inbound listener; `None` for a `listen` address.
    vpc: Option<String>,
    tcp: TcpListener,
    udp: Vec<UdpSocket>,
}

impl Listeners {
    /// Binds `listen`, every inbound listener and the admin API.
    pub(crate) fn bind(
        listen: &[SocketAddr],
        inbound: &[Inbound],
        admin: Option<&Admin>,
        udp_threads: usize,
    ) -> anyhow::Result<Listeners> {
        let mut dns = Vec::new();
        let inbound = inbound.iter().map(|i| (i.listen, Some(i.vpc.clone())));
        for (addr, vpc) in listen.iter().map(|a| (*a, None)).chain(inbound) {
            let (tcp, udp) = bind_dns(addr, udp_threads.max(1))?;
            dns.push(DnsSockets {
                configured: addr,
                bound: tcp.local_addr()?,
                vpc,
                tcp,
                udp,
            });
        }
        let admin = admin
            .map(|a| {
                api::bind(a.listen)
                    .with_context(|| format!("binding the admin API on {}", a.listen))
                    .map(|l| (l, a.token.clone()))
            })
            .transpose()?;
        Ok(Listeners { dns, admin })
    }

    /// The bound address of every `listen` address (inbound listeners
    /// aside): where the name server of the generated zone is.
    pub(crate) fn served(&self) -> Vec<SocketAddr> {
        self.dns
            .iter()
            .filter(|d| d.vpc.is_none())
            .map(|d| d.bound)
            .collect()
    }

    /// (configured, bound) address of every inbound listener.
    pub(crate) fn inbound(&self) -> Vec<(SocketAddr, SocketAddr)> {
        self.dns
            .iter()
            .filter(|d| d.vpc.is_some())
            .map(|d| (d.configured, d.bound))
            .collect()
    }

    /// Starts serving every socket, TCP and the admin API on the `io`
    /// runtime; returns what is now open.
    pub(crate) fn serve(
        self,
        shared: &Arc<Shared>,
        health: &Arc<HealthTable>,
        io: &tokio::runtime::Handle,
    ) -> anyhow::Result<Ready> {
        let mut ready = Ready::default();
        for d in self.dns {
            for sock in d.udp {
                udp::spawn(sock, shared.clone())
                    .with_context(|| format!("starting the UDP thread of {}", d.bound))?;
            }
            io.spawn(tcp::serve(d.tcp, shared.clone()));
            let addr = d.bound;
            match d.vpc {
                None => {
                    info!(%addr, "listening on UDP and TCP");
                    ready.dns.push(addr);
                }
                Some(vpc) => {
                    info!(%addr, vpc = %vpc, "inbound listener on UDP and TCP");
                    ready.inbound.push((vpc, d.configured, addr));
                }
            }
        }
        if let Some((l, token)) = self.admin {
            let addr = l.local_addr()?;
            let state = api::ApiState {
                shared: shared.clone(),
                health: health.clone(),
                token,
            };
            io.spawn(async move {
                if let Err(e) = api::serve(l, state).await {
                    error!(error = %e, "admin API stopped");
                }
            });
            info!(%addr, "admin API listening");
            ready.admin = Some(addr);
        }
        Ok(ready)
    }
}

/// Opens an inbound listener for `vpc` while serving (a resolver endpoint
/// the control API created, or one a reload added): TCP and one UDP socket
/// on `addr`, whose port is given (not 0: the tables already name it).
pub(super) fn open_inbound(
    addr: SocketAddr,
    vpc: &str,
    shared: &Arc<Shared>,
) -> anyhow::Result<()> {
    let (tcp, udp) = bind_dns(addr, 1)?;
    for sock in udp {
        udp::spawn(sock, shared.clone())
            .with_context(|| format!("starting the UDP thread of {addr}"))?;
    }
    shared.runtime.spawn(tcp::serve(tcp, shared.clone()));
    info!(%addr, vpc = %vpc, "inbound listener on UDP and TCP (opened while serving)");
    Ok(())
}

/// TCP and `udp_threads` UDP sockets on `addr`; on port 0, on one port the
/// kernel chose (see the module comment).
fn bind_dns(addr: SocketAddr, udp_threads: usize) -> anyhow::Result<(TcpListener, Vec<UdpSocket>)> {
    if addr.port() != 0 {
        // TCP first: a port another server holds fails here, before any UDP
        // socket could join that server's SO_REUSEPORT group.
        let tcp = tcp::bind(addr).with_context(|| format!("binding TCP {addr}"))?;
        let udp = bind_udp(addr, udp_threads).with_context(|| format!("binding UDP {addr}"))?;
        return Ok((tcp, udp));
    }
    for _ in 0..PORT_ATTEMPTS {
        // A port no UDP socket holds: the kernel's pick for a plain socket.
        let pick = UdpSocket::bind(addr).with_context(|| format!("binding UDP {addr}"))?;
        let at = pick.local_addr()?;
        let tcp = match tcp::bind(at) {
            Ok(t) => t,
            Err(e) if e.kind() == ErrorKind::AddrInUse => continue,
            Err(e) => return Err(e).with_context(|| format!("binding TCP {at}")),
        };
        drop(pick);
        match bind_udp(at, udp_threads) {
            Ok(udp) => return Ok((tcp, udp)),
            Err(e) if e.kind() == ErrorKind::AddrInUse => continue,
            Err(e) => return Err(e).with_context(|| format!("binding UDP {at}")),
        }
    }
    bail!("{addr}: no port free for both UDP and TCP in {PORT_ATTEMPTS} tries")
}

fn bind_udp(addr: SocketAddr, n: usize) -> std::io::Result<Vec<UdpSocket>> {
    (0..n).map(|_| udp::bind(addr)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_zero_gets_one_port_for_udp_and_tcp() {
        let (tcp, udp) = bind_dns("127.0.0.1:0".parse().unwrap(), 3).unwrap();
        let at = tcp.local_addr().unwrap();
        assert_ne!(at.port(), 0);
        assert_eq!(udp.len(), 3);
        for u in &udp {
            assert_eq!(u.local_addr().unwrap(), at);
        }
    }

    #[test]
    fn a_fixed_port_held_for_tcp_elsewhere_is_refused() {
        let other = TcpListener::bind("127.0.0.1:0").unwrap();
        let at = other.local_addr().unwrap();
        let err = bind_dns(at, 1).unwrap_err();
        assert_eq!(format!("{err}"), format!("binding TCP {at}"));
    }
}
