//! Hostile TCP clients against the real server: many idle connections from
//! one source, clients that never read their replies, clients that trickle
//! their query a byte at a time, and a connection flood under a small fd
//! limit. Through each, a fresh client from another source must be
//! answered, and probes must not see a false failover. Plus the cap on
//! forwarded questions in flight.
//!
//! Every client is on 127.0.0.0/8; every loop is bounded in count and time.
//! The floods run one at a time (`FLOOD`): each holds hundreds of sockets.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::*;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;
use socket2::{Domain, Protocol, Socket, Type};

/// The documented per-source cap (README, "Limits").
const PER_SOURCE: usize = 32;
/// How long a fresh client may take to be answered before the test fails:
/// generous, as this is about being answered at all, not about speed.
const FRESH_DEADLINE: Duration = Duration::from_secs(2);

static FLOOD: Mutex<()> = Mutex::new(());

fn flood_lock() -> std::sync::MutexGuard<'static, ()> {
    raise_own_fd_limit();
    FLOOD.lock().unwrap_or_else(|e| e.into_inner())
}

/// The floods need more sockets than a default soft limit of 1024.
fn raise_own_fd_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read and write only `lim`.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// A TCP connection to `server` from `src` (any 127/8 address), with a
/// receive buffer of `rcvbuf` bytes when given.
fn connect_from(src: &str, server: SocketAddr, rcvbuf: Option<usize>) -> TcpStream {
    let s = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).unwrap();
    if let Some(n) = rcvbuf {
        s.set_recv_buffer_size(n).unwrap();
    }
    let src: IpAddr = src.parse().unwrap();
    s.bind(&SocketAddr::new(src, 0).into()).unwrap();
    s.connect_timeout(&server.into(), Duration::from_secs(2))
        .unwrap_or_else(|e| panic!("connect from {src} to {server}: {e}"));
    s.into()
}

/// `n` connections from each of `sources`.
fn connections(
    sources: &[String],
    n: usize,
    server: SocketAddr,
    rcvbuf: Option<usize>,
) -> Vec<TcpStream> {
    sources
        .iter()
        .flat_map(|src| (0..n).map(move |_| connect_from(src, server, rcvbuf)))
        .collect()
}

fn sources(prefix: &str, n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("{prefix}.{i}")).collect()
}

fn framed_query(id: u16) -> Vec<u8> {
    let mut m = query_msg(&format!("{SUFFIX}."), RecordType::SOA);
    m.metadata.id = id;
    let b = m.to_vec().unwrap();
    let mut f = (b.len() as u16).to_be_bytes().to_vec();
    f.extend_from_slice(&b);
    f
}

/// A new connection from `src`, one query: panics unless the answer comes
/// within `FRESH_DEADLINE`; returns how long it took, connect included.
fn fresh_client(server: SocketAddr, src: &str) -> Duration {
    let start = Instant::now();
    let mut s = connect_from(src, server, None);
    s.set_read_timeout(Some(FRESH_DEADLINE)).unwrap();
    s.write_all(&framed_query(4242)).unwrap();
    let mut len = [0u8; 2];
    s.read_exact(&mut len)
        .unwrap_or_else(|e| panic!("fresh client {src}: no answer within {FRESH_DEADLINE:?}: {e}"));
    let mut buf = vec![0u8; u16::from_be_bytes(len) as usize];
    s.read_exact(&mut buf).unwrap();
    let took = start.elapsed();
    let m = Message::from_vec(&buf).unwrap();
    assert_eq!(m.metadata.id, 4242);
    assert_rcode(&m, ResponseCode::NoError);
    assert!(took < FRESH_DEADLINE, "fresh client {src} took {took:?}");
    took
}

/// True once the server has closed its side (FIN or RST received): the
/// client socket has left ESTABLISHED. Reads nothing.
fn server_closed(s: &TcpStream) -> bool {
    const TCP_ESTABLISHED: u8 = 1;
    let mut info = [0u8; 256];
    let mut len = info.len() as libc::socklen_t;
    // SAFETY: TCP_INFO writes at most `len` bytes into `info`.
    let rc = unsafe {
        libc::getsockopt(
            s.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            info.as_mut_ptr().cast(),
            &mut len,
        )
    };
    assert_eq!(rc, 0, "TCP_INFO: {}", std::io::Error::last_os_error());
    info[0] != TCP_ESTABLISHED
}

fn open_count(conns: &[TcpStream]) -> usize {
    conns.iter().filter(|s| !server_closed(s)).count()
}

#[test]
fn idle_connections_beyond_the_per_source_cap_close_that_sources_idlest() {
    let _flood = flood_lock();
    let server = Server::start(&base_lab());
    let idle = connections(
        &["127.0.5.1".to_string()],
        3 * PER_SOURCE,
        server.addr,
        None,
    );
    let took = fresh_client(server.addr, "127.0.6.1");
    eprintln!(
        "fresh client beside {} idle connections of one source: {took:?}",
        idle.len()
    );
    wait_until(Duration::from_secs(5), "the source back at its cap", || {
        open_count(&idle) <= PER_SOURCE
    });
    assert_eq!(open_count(&idle), PER_SOURCE, "the cap, not fewer");
    // The flooding source itself is still served: its own idlest goes.
    fresh_client(server.addr, "127.0.5.1");
    wait_until(
        Duration::from_secs(5),
        "one more of the source closed",
        || open_count(&idle) == PER_SOURCE - 1,
    );
}

#[test]
fn clients_that_never_read_are_cut_and_keep_no_one_out() {
    let _flood = flood_lock();
    let server = Server::start(&base_lab());
    // A tiny receive buffer, and queries until the server stops reading.
    let mut flood = connections(&sources("127.0.7", 4), 40, server.addr, Some(4096));
    let query = framed_query(7);
    let started = Instant::now();
    for s in &mut flood {
        s.set_nonblocking(true).unwrap();
        for _ in 0..4000 {
            match s.write(&query) {
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(_) => break,
            }
        }
    }
    eprintln!(
        "{} never-reading clients flooded queries for {:?}",
        flood.len(),
        started.elapsed()
    );
    let took = fresh_client(server.addr, "127.0.6.2");
    eprintln!(
        "fresh client beside {} never-reading connections: {took:?}",
        flood.len()
    );
    // Over the per-source cap and past the write timeout, none is left.
    wait_until(Duration::from_secs(8), "never-reading clients cut", || {
        open_count(&flood) == 0
    });
    fresh_client(server.addr, "127.0.7.1");
}

#[test]
fn trickling_clients_are_cut_before_their_query_is_whole() {
    let _flood = flood_lock();
    let server = Server::start(&base_lab());
    // Each announces 100 bytes and sends one every 100 ms: 10 s for the
    // whole query, far beyond what a started message is allowed.
    let mut slow = connections(&sources("127.0.8", 3), 20, server.addr, None);
    for s in &mut slow {
        s.write_all(&[0, 100]).unwrap();
        s.set_nonblocking(true).unwrap();
    }
    let start = Instant::now();
    let mut fresh = None;
    while start.elapsed() < Duration::from_secs(6) && open_count(&slow) > 0 {
        for s in &mut slow {
            let _ = s.write(&[0]);
        }
        if fresh.is_none() && start.elapsed() > Duration::from_millis(300) {
            fresh = Some(fresh_client(server.addr, "127.0.6.3"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        open_count(&slow),
        0,
        "trickling clients still open after {:?}",
        start.elapsed()
    );
    eprintln!("trickling clients cut after {:?}", start.elapsed());
    if let Some(took) = fresh {
        eprintln!(
            "fresh client beside {} trickling connections: {took:?}",
            slow.len()
        );
    }
    fresh_client(server.addr, "127.0.8.1");
}

const ENIS: [&str; 3] = PROBED_ENIS;

#[test]
fn a_connection_flood_under_a_small_fd_limit_fails_no_probe() {
    let _flood = flood_lock();
    let listeners = bind_same_port(&ENIS);
    let port = listeners[0].local_addr().unwrap().port();
    let _enis: Vec<FakeEni> = listeners.into_iter().map(FakeEni::serve).collect();
    let server = Server::start_with_nofile(&probed_lab(port), &[], 256);
    let admin = server.admin();
    let ask = || addrs(&server.udp(&endpoint("ep-lab1"), RecordType::A));
    assert_eq!(ask(), ENIS);

    // Three waves of 300 connections (idle and never-reading, from ten
    // sources each) against a limit of 256 descriptors, all held: far more
    // than the server may open.
    let mut held = Vec::new();
    let mut latencies = Vec::new();
    for wave in 0..3 {
        held.extend(connections(
            &sources(&format!("127.0.{}", 20 + wave), 5),
            30,
            server.addr,
            None,
        ));
        let mut silent = connections(
            &sources(&format!("127.0.{}", 30 + wave), 5),
            30,
            server.addr,
            Some(4096),
        );
        let query = framed_query(9);
        for s in &mut silent {
            s.set_nonblocking(true).unwrap();
            for _ in 0..50 {
                if s.write(&query).is_err() {
                    break;
                }
            }
        }
        held.extend(silent);
        latencies.push(fresh_client(server.addr, "127.0.6.4"));
        assert_eq!(ask(), ENIS, "wave {wave}: every ENI still answered");
        std::thread::sleep(Duration::from_millis(500));
    }
    eprintln!("fresh client during the flood under 256 fds: {latencies:?}");
    assert_eq!(ask(), ENIS);
    let (code, body) = http(admin, "GET", "/v1/events", None);
    assert_eq!(code, 200, "{body}");
    let events: serde_json::Value = serde_json::from_str(&body).unwrap();
    // The first probe of each ENI is an event (unknown → up); any other is
    // a transition the flood caused.
    let events = events["events"].as_array().unwrap();
    let first_probes = events
        .iter()
        .filter(|e| e["from"] == "unknown" && e["to"] == "up");
    assert_eq!(first_probes.count(), ENIS.len(), "{events:#?}");
    assert_eq!(
        events.len(),
        ENIS.len(),
        "no health transition during the flood: {events:#?}"
    );
    drop(held);
}

#[test]
fn forwarding_over_its_cap_answers_servfail_at_once() {
    let _flood = flood_lock();
    // An upstream that never answers: every forward stays in flight.
    let upstream = UdpSocket::bind("127.0.0.1:0").unwrap();
    let config = base_lab().forward(&[upstream.local_addr().unwrap()], 3000);
    // 256 descriptors: at most 256 / 4 = 64 forwards in flight.
    let server = Server::start_with_nofile(&config, &[], 256);
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    client
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let sent = 100u16;
    for id in 0..sent {
        let mut m = query_msg(&format!("q{id}.example.net."), RecordType::A);
        m.metadata.id = id;
        client.send_to(&m.to_vec().unwrap(), server.addr).unwrap();
    }
    // The upstream's timeout is 3 s: anything within 1 s was not forwarded.
    let start = Instant::now();
    let mut servfail = 0;
    let mut buf = [0u8; 1500];
    while start.elapsed() < Duration::from_secs(1) {
        if let Ok(n) = client.recv(&mut buf) {
            let m = Message::from_vec(&buf[..n]).unwrap();
            assert_rcode(&m, ResponseCode::ServFail);
            servfail += 1;
        }
    }
    eprintln!("{servfail} of {sent} forwarded questions answered SERVFAIL at once");
    assert!(servfail >= sent - 64, "{servfail} immediate SERVFAILs");
    assert!(servfail < sent, "the first ones are in flight upstream");
}

#[test]
fn a_pipelining_client_gets_every_answer_past_the_pending_cap() {
    let server = Server::start(&base_lab());
    // Far more queries than a connection may have pending: the server
    // stops reading until replies go out, and loses none.
    let msgs: Vec<Message> = (0..200u16)
        .map(|id| {
            let mut m = query_msg(&endpoint("ep-lab1"), RecordType::A);
            m.metadata.id = id;
            m
        })
        .collect();
    let replies = server.tcp(&msgs);
    let ids: Vec<u16> = replies.iter().map(|m| m.metadata.id).collect();
    assert_eq!(ids, (0..200).collect::<Vec<_>>(), "answered in order");
    assert!(
        replies
            .iter()
            .all(|m| addrs(m) == ["127.0.1.10", "127.0.2.10"])
    );
}
