//! The probe engine over real sockets: TCP and HTTP targets on 127/8 and ::1,
//! ICMP on loopback and inside a network namespace this test creates.
//!
//! Only loopback addresses, or addresses that exist solely inside the test's own
//! network namespace, are ever probed.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use epdns::probe::{HealthTable, ProbeKind, ProbeSettings, Prober, State, StatusSet, TargetKey};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use common::netns::{inside_netns, ip, rerun_in_netns};
use common::skip::{require_ipv6_loopback, skip};

/// The promise of the default settings: a dead ENI leaves within 1 s.
const DOWN_WITHIN: Duration = Duration::from_secs(1);

fn settings(kind: ProbeKind) -> ProbeSettings {
    ProbeSettings {
        kind,
        ..ProbeSettings::default()
    }
}

/// Waits for `key` to reach `want`, failing the test after 5 s.
async fn until_state(health: &HealthTable, key: &TargetKey, want: State) -> Duration {
    let start = Instant::now();
    loop {
        if health.effective_state(key) == Some(want) {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{key} never became {want}; status {:?}",
            health.status(key)
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Probe results recorded so far with `result` ("ok" or "fail").
fn probes(health: &HealthTable, result: &str) -> u64 {
    let mut metrics = String::new();
    health.render_prometheus(&mut metrics);
    let key = format!("epdns_probes_total{{result=\"{result}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(key.as_str()))
        .unwrap_or_else(|| panic!("no {key} in:\n{metrics}"))
        .parse()
        .unwrap()
}

/// Waits until `n` more probe results with `result` are recorded, failing
/// the test after 5 s.
async fn until_probes(health: &HealthTable, result: &str, n: u64) -> Duration {
    let start = Instant::now();
    let from = probes(health, result);
    while probes(health, result) < from + n {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "not {n} more {result} probes in 5 s"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    start.elapsed()
}

/// What a test server does with each connection.
#[derive(Clone)]
enum Serve {
    /// Accept and close: enough for a TCP connect probe.
    Accept,
    /// Answer any request with `status`, remembering the request head.
    Http {
        status: Arc<AtomicU16>,
        last_request: Arc<Mutex<String>>,
    },
    /// Accept and never answer.
    Silent,
}

struct Server {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Server {
    /// Listens on `addr` (port 0 for any) with SO_REUSEADDR so a test can stop
    /// and restart a server on the same port.
    async fn start(addr: SocketAddr, serve: Serve) -> Server {
        let socket = match addr {
            SocketAddr::V4(_) => TcpSocket::new_v4(),
            SocketAddr::V6(_) => TcpSocket::new_v6(),
        }
        .unwrap();
        socket.set_reuseaddr(true).unwrap();
        socket.bind(addr).unwrap();
        let listener = socket.listen(128).unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(accept_loop(listener, serve, stopped));
        Server { addr, stop, task }
    }

    /// Closes the listener: new connections are refused from now on.
    async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.unwrap();
    }
}

async fn accept_loop(listener: TcpListener, serve: Serve, mut stopped: oneshot::Receiver<()>) {
    let mut conns = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stopped => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                conns.spawn(handle(stream, serve.clone()));
            }
        }
    }
    // Dropping the set closes connections still open (the silent ones).
}

async fn handle(mut stream: tokio::net::TcpStream, serve: Serve) {
    match serve {
        Serve::Accept => {}
        Serve::Silent => std::future::pending().await,
        Serve::Http {
            status,
            last_request,
        } => {
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            *last_request.lock().unwrap() = String::from_utf8_lossy(&head).into_owned();
            let status = status.load(Ordering::SeqCst);
            let reply = format!(
                "HTTP/1.1 {status} Whatever\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
            );
            let _ = stream.write_all(reply.as_bytes()).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_target_fails_over_and_back() {
    let server = Server::start("127.0.1.21:0".parse().unwrap(), Serve::Accept).await;
    let addr = server.addr;
    let key = TargetKey::new("ep-tcp", "cn-hangzhou-h", addr.ip());
    let health = Arc::new(HealthTable::default());
    let prober = Prober::start(
        health.clone(),
        vec![(key.clone(), settings(ProbeKind::Tcp { port: addr.port() }))],
    )
    .unwrap();
    assert!(prober.first_round().await);
    assert_eq!(health.effective_state(&key), Some(State::Up));
    let status = health.status(&key).unwrap();
    assert_eq!(status.last.as_ref().unwrap().detail, "connected");
    assert!(status.last.unwrap().rtt.is_some());

    server.stop().await;
    let took = until_state(&health, &key, State::Down).await;
    assert!(took < DOWN_WITHIN, "down after {took:?}");
    let status = health.status(&key).unwrap();
    assert_eq!(status.last.unwrap().detail, "connect refused");

    let server = Server::start(addr, Serve::Accept).await;
    let took = until_state(&health, &key, State::Up).await;
    assert!(took < DOWN_WITHIN, "up after {took:?}");
    server.stop().await;

    let events = health.events();
    let states: Vec<_> = events.iter().map(|e| (e.from, e.to)).collect();
    assert_eq!(
        states,
        [
            (State::Unknown, State::Up),
            (State::Up, State::Down),
            (State::Down, State::Up)
        ]
    );
    assert_eq!(events[1].reason, "2 consecutive failures: connect refused");
    let mut metrics = String::new();
    health.render_prometheus(&mut metrics);
    assert!(metrics.contains("epdns_transitions_total 3\n"), "{metrics}");
    assert!(
        metrics.contains("epdns_enis{state=\"up\"} 1\n"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_over_ipv6_loopback() {
    if !require_ipv6_loopback() {
        return;
    }
    let server = Server::start("[::1]:0".parse().unwrap(), Serve::Accept).await;
    let port = server.addr.port();
    let key = TargetKey::new("ep-v6", "z1", "::1".parse().unwrap());
    let health = Arc::new(HealthTable::default());
    let prober = Prober::start(
        health.clone(),
        vec![(key.clone(), settings(ProbeKind::Tcp { port }))],
    )
    .unwrap();
    assert!(prober.first_round().await);
    assert_eq!(health.effective_state(&key), Some(State::Up));
    server.stop().await;
    until_state(&health, &key, State::Down).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_status_decides() {
    let status = Arc::new(AtomicU16::new(200));
    let last_request = Arc::new(Mutex::new(String::new()));
    let serve = Serve::Http {
        status: status.clone(),
        last_request: last_request.clone(),
    };
    let server = Server::start("127.0.1.22:0".parse().unwrap(), serve).await;
    let key = TargetKey::new("ep-http", "z1", server.addr.ip());
    let kind = ProbeKind::Http {
        port: server.addr.port(),
        path: "/healthz?deep=1".into(),
        expect: StatusSet(vec![200..=299]),
        tls: None,
    };
    let health = Arc::new(HealthTable::default());
    let prober = Prober::start(health.clone(), vec![(key.clone(), settings(kind))]).unwrap();
    assert!(prober.first_round().await);
    assert_eq!(
        health.effective_state(&key),
        Some(State::Up),
        "{:?}",
        health.status(&key)
    );
    let request = last_request.lock().unwrap().clone();
    assert!(
        request.starts_with("GET /healthz?deep=1 HTTP/1.1\r\n"),
        "{request}"
    );
    let host = format!("host: {}\r\n", server.addr);
    assert!(request.to_ascii_lowercase().contains(&host), "{request}");

    status.store(503, Ordering::SeqCst);
    let took = until_state(&health, &key, State::Down).await;
    assert!(took < DOWN_WITHIN, "down after {took:?}");
    assert_eq!(
        health.status(&key).unwrap().last.unwrap().detail,
        "status 503"
    );

    status.store(204, Ordering::SeqCst);
    until_state(&health, &key, State::Up).await;
    assert_eq!(
        health.status(&key).unwrap().last.unwrap().detail,
        "status 204"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_http_server_times_out_without_delaying_others() {
    let silent = Server::start("127.0.1.23:0".parse().unwrap(), Serve::Silent).await;
    let fine = Server::start("127.0.1.24:0".parse().unwrap(), Serve::Accept).await;
    let silent_key = TargetKey::new("ep-slow", "z1", silent.addr.ip());
    let fine_key = TargetKey::new("ep-slow", "z2", fine.addr.ip());
    let health = Arc::new(HealthTable::default());
    let http = ProbeKind::Http {
        port: silent.addr.port(),
        path: "/".into(),
        expect: StatusSet::default(),
        tls: None,
    };
    let prober = Prober::start(
        health.clone(),
        vec![
            (silent_key.clone(), settings(http)),
            (
                fine_key.clone(),
                settings(ProbeKind::Tcp {
                    port: fine.addr.port(),
                }),
            ),
        ],
    )
    .unwrap();
    let start = Instant::now();
    assert!(prober.first_round().await);
    assert!(start.elapsed() < Duration::from_millis(700));
    assert_eq!(health.effective_state(&silent_key), Some(State::Down));
    assert_eq!(
        health.status(&silent_key).unwrap().last.unwrap().detail,
        "timeout"
    );
    // The fine target keeps being probed on time while the other hangs: at
    // least five results within a second (it is the only one that succeeds).
    let round = Instant::now();
    while probes(&health, "ok") < 5 {
        assert!(
            round.elapsed() <= Duration::from_secs(1),
            "{} ok probes in 1 s",
            probes(&health, "ok")
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(health.effective_state(&fine_key), Some(State::Up));
    assert_eq!(health.effective_state(&silent_key), Some(State::Down));
    drop(prober);
    silent.stop().await;
    fine.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_override_over_real_probes() {
    let server = Server::start("127.0.1.25:0".parse().unwrap(), Serve::Accept).await;
    let key = TargetKey::new("ep-ovr", "z1", server.addr.ip());
    let health = Arc::new(HealthTable::default());
    let kind = ProbeKind::Tcp {
        port: server.addr.port(),
    };
    let mut prober =
        Prober::start(health.clone(), vec![(key.clone(), settings(kind.clone()))]).unwrap();
    assert!(prober.first_round().await);
    let mut changes = health.subscribe();
    changes.borrow_and_update();
    health
        .set_override("ep-ovr", "z1", Some(State::Down))
        .unwrap();
    assert!(!health.effective_up(&key));
    assert!(changes.has_changed().unwrap());
    // Reload with the same target: the override stays.
    prober
        .update_targets(vec![(key.clone(), settings(kind))])
        .unwrap();
    // Probes keep succeeding (more than `rise` of them), the override holds.
    until_probes(&health, "ok", 3).await;
    assert!(!health.effective_up(&key), "override wins over up probes");
    health.set_override("ep-ovr", "z1", None).unwrap();
    assert!(health.effective_up(&key));
    server.stop().await;
}

/// True if the checker could not open an ICMP socket (not root, no CAP_NET_RAW).
fn icmp_unavailable(health: &HealthTable, key: &TargetKey) -> bool {
    let last = health.status(key).and_then(|s| s.last);
    last.is_some_and(|r| r.detail.starts_with("icmp socket:"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn icmp_loopback() {
    let key = TargetKey::new("ep-icmp", "z1", "127.0.0.1".parse().unwrap());
    let health = Arc::new(HealthTable::default());
    let prober = Prober::start(
        health.clone(),
        vec![(key.clone(), settings(ProbeKind::Icmp))],
    )
    .unwrap();
    assert!(prober.first_round().await);
    if icmp_unavailable(&health, &key) {
        skip(&format!(
            "an ICMP socket, which needs root or CAP_NET_RAW ({:?})",
            health.status(&key).unwrap().last
        ));
        return;
    }
    assert_eq!(health.effective_state(&key), Some(State::Up));
    // Several rounds in a row: varying sequence numbers keep every echo distinct.
    until_probes(&health, "ok", 10).await;
    let status = health.status(&key).unwrap();
    assert_eq!(status.effective, State::Up);
    assert_eq!(status.last.unwrap().detail, "echo reply");
    assert_eq!(health.events().len(), 1);
}

/// ICMP against addresses that exist only in a network namespace created for
/// this test (`unshare --net`): the test binary re-runs this one test inside it.
#[test]
fn icmp_in_private_netns() {
    if !inside_netns() {
        return rerun_in_netns();
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(icmp_netns_scenario());
}

/// ICMP in the namespace tests what is probed and how it fails, not speed:
/// the first echo opens a socket, which on a loaded machine can take longer
/// than the default 75 ms timeout, so these probes allow 250 ms.
fn icmp_settings() -> ProbeSettings {
    ProbeSettings {
        kind: ProbeKind::Icmp,
        interval: Duration::from_millis(300),
        timeout: Duration::from_millis(250),
        ..ProbeSettings::default()
    }
}

async fn icmp_netns_scenario() {
    // A fresh namespace has only `lo`, down; the ULA below exists only here.
    ip("link set lo up");
    ip("addr add fd00:e9d::10/128 dev lo nodad");
    let v4 = TargetKey::new("ep-ns", "z1", "127.0.0.1".parse().unwrap());
    let v6 = TargetKey::new("ep-ns", "z1", "fd00:e9d::10".parse().unwrap());
    let v6_lo = TargetKey::new("ep-ns", "z2", "::1".parse().unwrap());
    let health = Arc::new(HealthTable::default());
    let targets = [&v4, &v6, &v6_lo]
        .into_iter()
        .map(|k| (k.clone(), icmp_settings()))
        .collect();
    let prober = Prober::start(health.clone(), targets).unwrap();
    assert!(prober.first_round().await);
    for key in [&v4, &v6, &v6_lo] {
        let status = health.status(key).unwrap();
        assert_eq!(status.effective, State::Up, "{status:?}");
        assert_eq!(status.last.unwrap().detail, "echo reply");
    }

    // Remove the ENI address: its probe fails, the others stay up.
    ip("addr del fd00:e9d::10/128 dev lo");
    let took = until_state(&health, &v6, State::Down).await;
    eprintln!(
        "v6 down after {took:?}: {:?}",
        health.status(&v6).unwrap().last
    );
    assert_eq!(health.effective_state(&v4), Some(State::Up));
    assert_eq!(health.effective_state(&v6_lo), Some(State::Up));

    ip("addr add fd00:e9d::10/128 dev lo nodad");
    until_state(&health, &v6, State::Up).await;

    // Take the whole loopback down: every target fails.
    ip("link set lo down");
    for key in [&v4, &v6, &v6_lo] {
        until_state(&health, key, State::Down).await;
    }
    ip("link set lo up");
    until_state(&health, &v4, State::Up).await;
    let down_events = health
        .events()
        .iter()
        .filter(|e| e.to == State::Down)
        .count();
    assert_eq!(down_events, 4);
}
