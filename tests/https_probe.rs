//! HTTPS probes against a real TLS service on 127/8, with a certificate made
//! by the test: accepted without verification (the lab default), checked
//! against a CA file when asked, refused when the chain or name is wrong;
//! and HTTP status lists with single codes and ranges.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use epdns::probe::{
    HealthTable, ProbeKind, ProbeSettings, Prober, State, StatusSet, TargetKey, TlsSettings,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A service that answers every request with the current `status`, over TLS
/// when `tls` is given.
async fn service(addr: &str, status: Arc<AtomicU16>, tls: Option<TlsAcceptor>) -> SocketAddr {
    let listener = TcpListener::bind(addr).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let (status, tls) = (status.clone(), tls.clone());
            tokio::spawn(async move {
                match tls {
                    Some(acceptor) => {
                        if let Ok(s) = acceptor.accept(stream).await {
                            answer(s, status.load(Ordering::SeqCst)).await;
                        }
                    }
                    None => answer(stream, status.load(Ordering::SeqCst)).await,
                }
            });
        }
    });
    addr
}

async fn answer<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(mut s: S, status: u16) {
    let mut buf = [0u8; 2048];
    let mut got = Vec::new();
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    let reply = format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    let _ = s.write_all(reply.as_bytes()).await;
    let _ = s.shutdown().await;
}

/// A self-signed certificate for `eni.lab` and 127.0.1.30, its acceptor, and
/// its PEM in a file (the CA file of the verifying probe).
fn certificate(dir: &tempfile::TempDir) -> (TlsAcceptor, PathBuf) {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params =
        rcgen::CertificateParams::new(vec!["eni.lab".to_string(), "127.0.1.30".to_string()])
            .unwrap();
    params.is_ca = rcgen::IsCa::ExplicitNoCa;
    let cert = params.self_signed(&key).unwrap();
    let pem = dir.path().join("eni.pem");
    std::fs::write(&pem, cert.pem()).unwrap();
    let config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(cert.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .unwrap();
    (TlsAcceptor::from(Arc::new(config)), pem)
}

/// A TLS handshake in a debug build on a busy machine can take longer than
/// the default 75 ms timeout: these probes test verification, not speed.
fn https(port: u16, tls: TlsSettings) -> ProbeSettings {
    ProbeSettings {
        kind: ProbeKind::Http {
            port,
            path: "/healthz".into(),
            expect: StatusSet::default(),
            tls: Some(tls),
        },
        interval: Duration::from_millis(1000),
        timeout: Duration::from_millis(900),
        fall: 1,
        rise: 1,
    }
}

async fn until_state(health: &HealthTable, key: &TargetKey, want: State) {
    let start = Instant::now();
    while health.effective_state(key) != Some(want) {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{key} never became {want}; status {:?}",
            health.status(key)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_probes_with_and_without_verification() {
    let dir = tempfile::tempdir().unwrap();
    let (acceptor, pem) = certificate(&dir);
    let status = Arc::new(AtomicU16::new(200));
    let addr = service("127.0.1.30:0", status.clone(), Some(acceptor)).await;
    let ip = addr.ip();
    let lab = TargetKey::new("ep-tls", "lab", ip);
    let by_ca = TargetKey::new("ep-tls", "by-ca", ip);
    let by_name = TargetKey::new("ep-tls", "by-name", ip);
    let untrusted = TargetKey::new("ep-tls", "untrusted", ip);
    let wrong_name = TargetKey::new("ep-tls", "wrong-name", ip);
    let verify = |ca: Option<&PathBuf>, name: Option<&str>| TlsSettings {
        verify: true,
        server_name: name.map(str::to_string),
        ca_file: ca.cloned(),
    };
    let targets = vec![
        (
            lab.clone(),
            https(
                addr.port(),
                TlsSettings {
                    verify: false,
                    server_name: None,
                    ca_file: None,
                },
            ),
        ),
        (by_ca.clone(), https(addr.port(), verify(Some(&pem), None))),
        (
            by_name.clone(),
            https(addr.port(), verify(Some(&pem), Some("eni.lab"))),
        ),
        (untrusted.clone(), https(addr.port(), verify(None, None))),
        (
            wrong_name.clone(),
            https(addr.port(), verify(Some(&pem), Some("other.lab"))),
        ),
    ];
    let health = Arc::new(HealthTable::default());
    let prober = Prober::start(health.clone(), targets).unwrap();
    assert!(prober.first_round().await);
    for key in [&lab, &by_ca, &by_name] {
        assert_eq!(
            health.effective_state(key),
            Some(State::Up),
            "{key}: {:?}",
            health.status(key)
        );
        assert_eq!(
            health.status(key).unwrap().last.unwrap().detail,
            "status 200"
        );
    }
    for key in [&untrusted, &wrong_name] {
        assert_eq!(health.effective_state(key), Some(State::Down), "{key}");
        let detail = health.status(key).unwrap().last.unwrap().detail;
        assert!(detail.starts_with("tls: "), "{key}: {detail}");
    }
    // The status still decides once the handshake succeeds.
    status.store(503, Ordering::SeqCst);
    until_state(&health, &lab, State::Down).await;
    assert_eq!(
        health.status(&lab).unwrap().last.unwrap().detail,
        "status 503"
    );
    drop(prober);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expect_lists_codes_and_ranges() {
    let status = Arc::new(AtomicU16::new(301));
    let addr = service("127.0.1.31:0", status.clone(), None).await;
    let key = TargetKey::new("ep-codes", "z", addr.ip());
    let settings = ProbeSettings {
        kind: ProbeKind::Http {
            port: addr.port(),
            path: "/".into(),
            // `expect = [200, 204, 301, "500-502"]`: codes, not a range 200-204.
            expect: StatusSet(vec![200..=200, 204..=204, 301..=301, 500..=502]),
            tls: None,
        },
        interval: Duration::from_millis(300),
        timeout: Duration::from_millis(250),
        fall: 1,
        rise: 1,
    };
    let health = Arc::new(HealthTable::default());
    let prober = Prober::start(health.clone(), vec![(key.clone(), settings)]).unwrap();
    assert!(prober.first_round().await);
    assert_eq!(health.effective_state(&key), Some(State::Up));
    status.store(302, Ordering::SeqCst);
    until_state(&health, &key, State::Down).await;
    status.store(501, Ordering::SeqCst);
    until_state(&health, &key, State::Up).await;
    status.store(203, Ordering::SeqCst);
    until_state(&health, &key, State::Down).await;
    drop(prober);
}
