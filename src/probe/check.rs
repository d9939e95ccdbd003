//! Running one probe against one address: raw results only.
//!
//! Like gdnsd's monitors, a check reports what it saw (ok or not, why, how long);
//! it knows nothing of rise/fall or overrides, which live in `threshold`/`health`.

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use http_body_util::Empty;
use hyper::body::Bytes;
use hyper::client::conn::http1;
use hyper::{Request, header};
use hyper_util::rt::TokioIo;
use surge_ping::{Client, Config, ICMP, PingIdentifier, PingSequence, SurgeError};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout};

use super::kind::{ProbeKind, ProbeSettings, StatusSet, TlsSettings};
use super::tls::TlsConfigs;

/// The raw outcome of one probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeResult {
    pub(crate) ok: bool,
    /// What was seen, for operators: "echo reply", "connected", "status 503",
    /// "connect refused", "timeout"...
    pub detail: String,
    /// Round trip of a successful probe.
    pub rtt: Option<Duration>,
}

impl ProbeResult {
    pub(crate) fn ok(detail: impl Into<String>, rtt: Duration) -> Self {
        ProbeResult {
            ok: true,
            detail: detail.into(),
            rtt: Some(rtt),
        }
    }

    pub(crate) fn fail(detail: impl Into<String>) -> Self {
        ProbeResult {
            ok: false,
            detail: detail.into(),
            rtt: None,
        }
    }
}

/// Boxed future returned by [`Check::check`] (object safety for `Arc<dyn Check>`).
pub(crate) type CheckFuture<'a> = Pin<Box<dyn Future<Output = ProbeResult> + Send + 'a>>;

/// Something that runs one probe. The scheduler only needs this, which lets its
/// tests substitute scripted results and run on paused time.
pub(crate) trait Check: Send + Sync + 'static {
    /// Probes `ip` as `settings.kind` says. Implementations must finish within
    /// `settings.timeout` (the scheduler bounds them again anyway).
    fn check<'a>(&'a self, ip: IpAddr, settings: &'a ProbeSettings) -> CheckFuture<'a>;
}

/// Payload of our echo requests: recognisable in a packet capture.
const ICMP_PAYLOAD: &[u8] = b"epdns health probe";

/// The real checker: ICMP echo, TCP connect, HTTP GET over the network.
///
/// One ICMP socket per address family is shared by every target (surge-ping
/// demultiplexes replies), created on first use so that a prober with only
/// TCP/HTTP targets never needs CAP_NET_RAW.
pub(crate) struct NetChecker {
    icmp_v4: Mutex<Option<Client>>,
    icmp_v6: Mutex<Option<Client>>,
    /// Shared by all targets: on Linux datagram ICMP sockets the kernel picks the
    /// identifier, so two outstanding echoes to one address are told apart only by
    /// their sequence number (surge-ping refuses duplicates). A process-wide
    /// counter keeps them distinct even when two endpoints share an address.
    next_seq: AtomicU16,
    /// Used on raw sockets, where the identifier is ours to choose: random per
    /// checker so two epdns processes on one host do not take each other's replies.
    ident: u16,
    /// TLS client configs of HTTPS probes.
    tls: TlsConfigs,
}

impl Default for NetChecker {
    fn default() -> Self {
        Self::new()
    }
}

impl NetChecker {
    pub(crate) fn new() -> Self {
        NetChecker {
            icmp_v4: Mutex::new(None),
            icmp_v6: Mutex::new(None),
            next_seq: AtomicU16::new(rand::random()),
            ident: rand::random(),
            tls: TlsConfigs::default(),
        }
    }

    /// Runs one probe, bounded by `settings.timeout` as a whole.
    pub(crate) async fn run(&self, ip: IpAddr, settings: &ProbeSettings) -> ProbeResult {
        let probe = async {
            match &settings.kind {
                ProbeKind::Icmp => self.icmp(ip, settings.timeout).await,
                ProbeKind::Tcp { port } => tcp(SocketAddr::new(ip, *port)).await,
                ProbeKind::Http {
                    port,
                    path,
                    expect,
                    tls,
                } => {
                    let addr = SocketAddr::new(ip, *port);
                    http(addr, path, expect, tls.as_ref(), &self.tls).await
                }
            }
        };
        match timeout(settings.timeout, probe).await {
            Ok(result) => result,
            Err(_) => ProbeResult::fail("timeout"),
        }
    }

    /// The shared ICMP client for `ip`'s family. Creation is retried on every
    /// probe after a failure, so granting CAP_NET_RAW later takes effect.
    fn icmp_client(&self, ip: IpAddr) -> io::Result<Client> {
        let (slot, kind) = match ip {
            IpAddr::V4(_) => (&self.icmp_v4, ICMP::V4),
            IpAddr::V6(_) => (&self.icmp_v6, ICMP::V6),
        };
        let mut slot = slot.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(client) = slot.as_ref() {
            return Ok(client.clone());
        }
        let client = Client::new(&Config::builder().kind(kind).build())?;
        *slot = Some(client.clone());
        Ok(client)
    }

    async fn icmp(&self, ip: IpAddr, wait: Duration) -> ProbeResult {
        let client = match self.icmp_client(ip) {
            Ok(client) => client,
            Err(e) => return ProbeResult::fail(format!("icmp socket: {e}")),
        };
        let mut pinger = client.pinger(ip, PingIdentifier(self.ident)).await;
        pinger.timeout(wait);
        let seq = PingSequence(self.next_seq.fetch_add(1, Ordering::Relaxed));
        match pinger.ping(seq, ICMP_PAYLOAD).await {
            Ok((_, rtt)) => ProbeResult::ok("echo reply", rtt),
            Err(SurgeError::Timeout { .. }) => ProbeResult::fail("timeout"),
            Err(SurgeError::IOError(e)) => ProbeResult::fail(io_detail("icmp send", &e)),
            Err(e) => ProbeResult::fail(format!("icmp: {e}")),
        }
    }
}

impl Check for NetChecker {
    fn check<'a>(&'a self, ip: IpAddr, settings: &'a ProbeSettings) -> CheckFuture<'a> {
        Box::pin(self.run(ip, settings))
    }
}

/// Operator-facing wording for the socket errors a dead ENI produces.
fn io_detail(what: &str, e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => format!("{what} refused"),
        io::ErrorKind::TimedOut => "timeout".to_string(),
        io::ErrorKind::NetworkUnreachable => format!("{what}: network unreachable"),
        io::ErrorKind::HostUnreachable => format!("{what}: host unreachable"),
        io::ErrorKind::ConnectionReset => format!("{what}: connection reset"),
        _ => format!("{what}: {e}"),
    }
}

async fn tcp(addr: SocketAddr) -> ProbeResult {
    let start = Instant::now();
    match TcpStream::connect(addr).await {
        // Dropping the stream closes it right away; the handshake was the check.
        Ok(_stream) => ProbeResult::ok("connected", start.elapsed()),
        Err(e) => ProbeResult::fail(io_detail("connect", &e)),
    }
}

/// HTTP GET over a fresh connection per probe (a pooled connection would hide an
/// ENI that stopped accepting new ones).
///
/// hyper's client rather than a hand-written one: the response side of HTTP/1.1
/// (status line variants, header limits, chunked or close-delimited bodies,
/// 1xx interim responses) is exactly where a tiny parser would misjudge a
/// healthy backend, and hyper is small once the server side is left out.
async fn http(
    addr: SocketAddr,
    path: &str,
    expect: &StatusSet,
    tls: Option<&TlsSettings>,
    configs: &TlsConfigs,
) -> ProbeResult {
    let start = Instant::now();
    let stream = match TcpStream::connect(addr).await {
        Ok(stream) => stream,
        Err(e) => return ProbeResult::fail(io_detail("connect", &e)),
    };
    match tls {
        None => get(stream, addr, path, expect, start).await,
        Some(settings) => {
            let (connector, name) = match configs.connector(settings, addr.ip()) {
                Ok(c) => c,
                Err(e) => return ProbeResult::fail(format!("tls: {e}")),
            };
            match connector.connect(name, stream).await {
                Ok(stream) => get(stream, addr, path, expect, start).await,
                Err(e) => ProbeResult::fail(format!("tls: {e}")),
            }
        }
    }
}

/// `GET path` on an open connection; healthy when the status is in `expect`.
async fn get<S>(
    stream: S,
    addr: SocketAddr,
    path: &str,
    expect: &StatusSet,
    start: Instant,
) -> ProbeResult
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = match http1::handshake(TokioIo::new(stream)).await {
        Ok(parts) => parts,
        Err(e) => return ProbeResult::fail(format!("http: {e}")),
    };
    let request = Request::get(path)
        .header(header::HOST, addr.to_string())
        .header(header::USER_AGENT, "epdns-probe")
        .header(header::CONNECTION, "close")
        .body(Empty::<Bytes>::new());
    let request = match request {
        Ok(request) => request,
        Err(e) => return ProbeResult::fail(format!("http request: {e}")),
    };
    // The connection is driven in this same future rather than a spawned task, so
    // that when the probe times out and is dropped, the socket goes with it.
    let response = sender.send_request(request);
    tokio::pin!(conn);
    tokio::pin!(response);
    let response = tokio::select! {
        biased;
        r = &mut response => r,
        // With `Connection: close` the connection can finish in the very poll that
        // hands over the response, so the response is still collected; once the
        // connection is gone it resolves at once (with the response or an error).
        c = &mut conn => match (response.await, c) {
            (Ok(r), _) => Ok(r),
            (Err(_), Err(e)) => return ProbeResult::fail(format!("http: {e}")),
            (Err(e), Ok(())) => Err(e),
        },
    };
    match response {
        Ok(response) => {
            let status = response.status().as_u16();
            let detail = format!("status {status}");
            // Only the status matters; the body is dropped unread with the connection.
            if expect.contains(status) {
                ProbeResult::ok(detail, start.elapsed())
            } else {
                ProbeResult::fail(detail)
            }
        }
        Err(e) => ProbeResult::fail(format!("http: {e}")),
    }
}
