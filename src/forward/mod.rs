//! The upstream forwarder: names epdns does not serve itself are resolved by
//! the configured upstream resolvers, through hickory-resolver's pool, retry
//! and cache rather than through a hand-written client.
//!
//! The resolver is built from the given upstream addresses only. The crate's
//! `system-config` feature is disabled (so `/etc/resolv.conf` cannot be read)
//! and the hosts file is switched off explicitly (hickory would otherwise read
//! `/etc/hosts` when the resolver is built), so a forwarder never talks to,
//! nor answers from, anything but what the caller configured.
//!
//! Known behaviour inherited from hickory-resolver (see [`Forwarder::resolve`]):
//! RFC 6761 special names are answered locally (`localhost.` A/AAAA →
//! loopback, `*.invalid.` → NXDOMAIN) without reaching an upstream.

mod map;

use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, Record, RecordType};
use hickory_resolver::TokioResolver;
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
    ServerOrderingStrategy,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;

use map::map_result;

use crate::dns::upstream::{Upstream, Upstreamed};

/// How many times a failed lookup is retried (after the first try). Each try
/// is bounded by the configured timeout, so a lookup with every upstream down
/// gives up after about `timeout × (RETRIES + 1)`. At least one retry is
/// needed for failover: a try that hit a dead upstream has used its whole
/// deadline, and only the retry reaches the next upstream.
pub const RETRIES: usize = 1;
// Checked at compile time: without a retry there is no failover at all.
const _: () = assert!(RETRIES >= 1, "failover needs a retry");

/// Upper bound of the response cache, in responses (hickory evicts beyond it).
pub(crate) const CACHE_SIZE: u64 = 8_192;

/// How many upstreams one try queries in parallel: one, i.e. the upstreams
/// are asked in turn, fastest first (hickory ranks them by smoothed RTT and
/// penalises timeouts), as BIND and unbound forwarders do.
///
/// Why not hickory's default of two: when one of the parallel upstreams is
/// dead and the live one answers with TC, hickory 0.26.3 waits for the dead
/// one before retrying over TCP, by which time the try's deadline has passed,
/// so every large answer became SERVFAIL while any upstream was down. Serial
/// tries cost one timeout when a dead upstream is ranked first (then the
/// retry goes to the next one), and halve the upstream load.
pub(crate) const PARALLEL_UPSTREAMS: usize = 1;

/// Why a [`Forwarder`] could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    /// Forwarding without any upstream can only ever fail; reject it up front.
    #[error("no upstream resolvers configured")]
    NoUpstreams,
    /// Port 0 cannot be sent to; it is almost certainly a config mistake.
    #[error("upstream {0} has port 0")]
    ZeroPort(SocketAddr),
    /// A zero timeout would fail every lookup before any packet is answered.
    #[error("forwarding timeout must be greater than zero")]
    ZeroTimeout,
    /// hickory-resolver refused the configuration.
    #[error("building the upstream resolver: {0}")]
    Resolver(#[from] hickory_resolver::net::NetError),
}

/// The outcome of one forwarded question, ready to be put in a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forwarded {
    /// `NoError`, `NXDomain`, or `ServFail` when no usable answer came back
    /// (upstreams unreachable or timing out, upstream SERVFAIL/REFUSED, ...).
    pub rcode: ResponseCode,
    /// The answer section, CNAME chain included, as the upstream gave it (or
    /// as hickory assembled it when it had to chase the chain itself), with
    /// TTLs decremented by the time spent in the cache.
    pub answers: Vec<Record>,
    /// For NXDOMAIN and NODATA, the upstream's SOA when it gave one, its TTL
    /// capped to the negative-caching TTL (RFC 2308 §3). Empty for positive
    /// answers: the upstream's NS set is not ours to hand out.
    pub authorities: Vec<Record>,
}

impl Forwarded {
    /// A SERVFAIL with empty sections: the upstream path failed.
    pub fn servfail() -> Self {
        Self {
            rcode: ResponseCode::ServFail,
            answers: Vec::new(),
            authorities: Vec::new(),
        }
    }
}

/// Resolves questions through the upstream resolvers, with a per-TTL cache
/// (positive and negative answers) shared by all clones of the resolver.
#[derive(Clone)]
pub struct Forwarder {
    resolver: TokioResolver,
}

impl std::fmt::Debug for Forwarder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Forwarder").finish_non_exhaustive()
    }
}

impl Forwarder {
    /// Builds a forwarder to `upstreams` (resolver addresses, ip:port, tried
    /// over UDP with TCP after a truncated reply). `timeout` bounds one try
    /// over the upstream pool; see [`RETRIES`]. Does not need a runtime; the
    /// lookups do (tokio).
    pub fn new(upstreams: &[SocketAddr], timeout: Duration) -> Result<Self, ForwardError> {
        let config = resolver_config(upstreams)?;
        if timeout.is_zero() {
            return Err(ForwardError::ZeroTimeout);
        }
        let mut builder =
            TokioResolver::builder_with_config(config, TokioRuntimeProvider::default());
        *builder.options_mut() = resolver_opts(timeout);
        let resolver = builder.build()?;
        Ok(Self { resolver })
    }

    /// Resolves one question upstream with recursion desired. Never fails:
    /// anything that is not an answer becomes a SERVFAIL (logged at debug).
    /// The name is made fully qualified so no search list can apply.
    pub async fn resolve(&self, name: &Name, qtype: RecordType) -> Forwarded {
        let mut fqdn = name.clone();
        fqdn.set_fqdn(true);
        let result = self.resolver.lookup(fqdn, qtype).await;
        map_result(name, qtype, result)
    }

    /// Drops every cached answer (e.g. after the upstream set changed).
    pub fn clear_cache(&self) {
        self.resolver.clear_cache();
    }
}

/// The resolver config: exactly the given upstreams, no domain, no search list.
fn resolver_config(upstreams: &[SocketAddr]) -> Result<ResolverConfig, ForwardError> {
    if upstreams.is_empty() {
        return Err(ForwardError::NoUpstreams);
    }
    let mut servers = Vec::with_capacity(upstreams.len());
    for &addr in upstreams {
        if addr.port() == 0 {
            return Err(ForwardError::ZeroPort(addr));
        }
        // hickory keys a server by IP and takes the port per transport.
        let mut udp = ConnectionConfig::udp();
        udp.port = addr.port();
        let mut tcp = ConnectionConfig::tcp();
        tcp.port = addr.port();
        // Trusting NXDOMAIN means one upstream's NXDOMAIN is final (and cached)
        // instead of being re-asked of the others: upstreams are assumed to
        // agree, as resolvers of one network do.
        servers.push(NameServerConfig::new(addr.ip(), true, vec![udp, tcp]));
    }
    Ok(ResolverConfig::from_name_servers(servers))
}

fn resolver_opts(timeout: Duration) -> ResolverOpts {
    let mut opts = ResolverOpts::default();
    opts.timeout = timeout;
    opts.attempts = RETRIES;
    opts.cache_size = CACHE_SIZE;
    // `Auto` reads /etc/hosts when the resolver is built; a forwarder must
    // answer from the upstreams only.
    opts.use_hosts_file = ResolveHosts::Never;
    opts.recursion_desired = true;
    // Keep the CNAME chain in the answer: clients need it to follow the alias.
    opts.preserve_intermediates = true;
    opts.num_concurrent_reqs = PARALLEL_UPSTREAMS;
    // Faster upstreams first; a dead one sinks after its first timeout.
    opts.server_ordering_strategy = ServerOrderingStrategy::QueryStatistics;
    // Names are looked up as given (already FQDN); no search-list expansion.
    opts.ndots = 0;
    opts
}

/// The forwarder as the DNS transports' `Upstream`.
impl Upstream for Forwarder {
    fn resolve<'a>(
        &'a self,
        name: &'a Name,
        qtype: RecordType,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Upstreamed> + Send + 'a>> {
        Box::pin(async move {
            let f = Forwarder::resolve(self, name, qtype).await;
            Upstreamed {
                rcode: f.rcode,
                answers: f.answers,
                authorities: f.authorities,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    fn lo(port: u16) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)
    }

    #[test]
    fn config_holds_exactly_the_given_upstreams() {
        let v6 = SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 5353);
        let config = resolver_config(&[lo(5300), v6]).unwrap();
        assert!(config.domain().is_none());
        assert!(config.search().is_empty());
        let servers = config.name_servers();
        assert_eq!(servers.len(), 2);
        assert_eq!(servers[0].ip, IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(servers[1].ip, IpAddr::V6(Ipv6Addr::LOCALHOST));
        let ports: Vec<_> = servers[0].connections.iter().map(|c| c.port).collect();
        assert_eq!(ports, vec![5300, 5300]);
        let ports: Vec<_> = servers[1].connections.iter().map(|c| c.port).collect();
        assert_eq!(ports, vec![5353, 5353]);
    }

    #[test]
    fn options_never_read_the_hosts_file() {
        let opts = resolver_opts(Duration::from_millis(300));
        assert_eq!(opts.use_hosts_file, ResolveHosts::Never);
        assert_eq!(opts.timeout, Duration::from_millis(300));
        assert_eq!(opts.attempts, RETRIES);
        assert_eq!(opts.num_concurrent_reqs, 1);
        assert!(opts.recursion_desired);
        assert!(opts.preserve_intermediates);
    }

    #[test]
    fn rejects_bad_configs() {
        let t = Duration::from_secs(1);
        assert!(matches!(
            Forwarder::new(&[], t),
            Err(ForwardError::NoUpstreams)
        ));
        assert!(matches!(
            Forwarder::new(&[lo(0)], t),
            Err(ForwardError::ZeroPort(_))
        ));
        assert!(matches!(
            Forwarder::new(&[lo(53)], Duration::ZERO),
            Err(ForwardError::ZeroTimeout)
        ));
    }

    #[test]
    fn builds_without_a_runtime() {
        // The integrator builds forwarders while loading config, possibly
        // outside the runtime; building must not need one.
        Forwarder::new(&[lo(5300)], Duration::from_secs(1)).unwrap();
    }
}
