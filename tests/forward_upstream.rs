//! The forwarder against a fake upstream resolver on loopback: real UDP and
//! TCP sockets, hickory-proto messages, every packet to 127.0.0.1 only.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use epdns::forward::{Forwarded, Forwarder, RETRIES};
use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::{A, CNAME, SOA};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

const LOOPBACK: Ipv4Addr = Ipv4Addr::LOCALHOST;
/// TTL of the fake zone's positive records.
const TTL: u32 = 300;
/// SOA TTL and MINIMUM: the negative TTL is the smaller, 60.
const SOA_TTL: u32 = 3600;
const SOA_MINIMUM: u32 = 60;
/// Records in the answer that only fits over TCP.
const BIG: usize = 40;

fn name(s: &str) -> Name {
    Name::from_str(s).unwrap()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Transport {
    Udp,
    Tcp,
}

/// What the fake upstream saw: queries per (name, type, transport), and
/// whether every query asked for recursion.
#[derive(Default)]
struct Seen {
    queries: HashMap<(String, RecordType, Transport), usize>,
    without_rd: usize,
}

/// A tiny upstream resolver serving the `up.test.` zone on one loopback port
/// over UDP and TCP. Its tasks live as long as the test's runtime.
struct FakeUpstream {
    addr: SocketAddr,
    seen: Arc<Mutex<Seen>>,
}

impl FakeUpstream {
    async fn start() -> Self {
        // The same port for UDP and TCP, as a resolver has: pick a free UDP
        // port, then retry if TCP happens to be taken on it.
        let (udp, tcp) = loop {
            let udp = UdpSocket::bind((LOOPBACK, 0)).await.unwrap();
            let port = udp.local_addr().unwrap().port();
            if let Ok(tcp) = TcpListener::bind((LOOPBACK, port)).await {
                break (udp, tcp);
            }
        };
        let addr = udp.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Seen::default()));

        let udp_seen = seen.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            loop {
                let Ok((len, peer)) = udp.recv_from(&mut buf).await else {
                    return;
                };
                if let Some(reply) = answer(&buf[..len], Transport::Udp, &udp_seen) {
                    let _ = udp.send_to(&reply, peer).await;
                }
            }
        });

        let tcp_seen = seen.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = tcp.accept().await else {
                    return;
                };
                tokio::spawn(serve_tcp(stream, tcp_seen.clone()));
            }
        });

        Self { addr, seen }
    }

    fn count(&self, qname: &str, qtype: RecordType, transport: Transport) -> usize {
        let seen = self.seen.lock().unwrap();
        let key = (qname.to_ascii_lowercase(), qtype, transport);
        seen.queries.get(&key).copied().unwrap_or(0)
    }

    fn total(&self, qname: &str, qtype: RecordType) -> usize {
        self.count(qname, qtype, Transport::Udp) + self.count(qname, qtype, Transport::Tcp)
    }

    fn without_rd(&self) -> usize {
        self.seen.lock().unwrap().without_rd
    }
}

async fn serve_tcp(mut stream: TcpStream, seen: Arc<Mutex<Seen>>) {
    loop {
        let mut len = [0u8; 2];
        if stream.read_exact(&mut len).await.is_err() {
            return;
        }
        let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
        if stream.read_exact(&mut buf).await.is_err() {
            return;
        }
        let Some(reply) = answer(&buf, Transport::Tcp, &seen) else {
            return;
        };
        let mut framed = u16::try_from(reply.len()).unwrap().to_be_bytes().to_vec();
        framed.extend_from_slice(&reply);
        if stream.write_all(&framed).await.is_err() {
            return;
        }
    }
}

fn soa() -> Record {
    Record::from_rdata(
        name("up.test."),
        SOA_TTL,
        RData::SOA(SOA::new(
            name("ns.up.test."),
            name("hostmaster.up.test."),
            2026112601,
            3600,
            600,
            86400,
            SOA_MINIMUM,
        )),
    )
}

fn a(owner: &str, last: u8) -> Record {
    Record::from_rdata(name(owner), TTL, RData::A(A::new(127, 0, 0, last)))
}

/// The fake zone. Returns the wire reply, or None for garbage.
fn answer(query: &[u8], transport: Transport, seen: &Mutex<Seen>) -> Option<Vec<u8>> {
    let query = Message::from_vec(query).ok()?;
    if query.metadata.message_type != MessageType::Query {
        return None;
    }
    let q = query.queries.first()?.clone();
    {
        let mut seen = seen.lock().unwrap();
        let key = (
            q.name().to_ascii().to_ascii_lowercase(),
            q.query_type(),
            transport,
        );
        *seen.queries.entry(key).or_default() += 1;
        if !query.metadata.recursion_desired {
            seen.without_rd += 1;
        }
    }

    let mut reply = Message::response(query.metadata.id, query.metadata.op_code);
    reply.metadata.recursion_desired = query.metadata.recursion_desired;
    reply.metadata.recursion_available = true;
    reply.add_query(q.clone());

    let qname = q.name().to_ascii().to_ascii_lowercase();
    match (qname.as_str(), q.query_type()) {
        ("www.up.test.", RecordType::A) => {
            reply.add_answers([a("www.up.test.", 10), a("www.up.test.", 11)]);
        }
        // The upstream resolved the chain itself, as a recursive resolver does.
        ("alias.up.test.", RecordType::A) => {
            let cname = Record::from_rdata(
                name("alias.up.test."),
                TTL,
                RData::CNAME(CNAME(name("www.up.test."))),
            );
            reply.add_answers([cname, a("www.up.test.", 10), a("www.up.test.", 11)]);
        }
        // A recursive upstream's answer for an alias whose target is gone:
        // the CNAME, and the target's NXDOMAIN.
        ("dangling.up.test.", RecordType::A) => {
            let cname = Record::from_rdata(
                name("dangling.up.test."),
                TTL,
                RData::CNAME(CNAME(name("gone.up.test."))),
            );
            reply.metadata.response_code = ResponseCode::NXDomain;
            reply.add_answer(cname);
            reply.add_authority(soa());
        }
        ("big.up.test.", RecordType::A) => match transport {
            Transport::Udp => reply.metadata.truncation = true,
            Transport::Tcp => {
                let last = u8::try_from(BIG).unwrap();
                reply.add_answers((1..=last).map(|i| a("big.up.test.", i)));
            }
        },
        ("broken.up.test.", _) => reply.metadata.response_code = ResponseCode::ServFail,
        // NODATA: the name exists, not with this type.
        ("www.up.test." | "alias.up.test." | "big.up.test.", _) => {
            reply.add_authority(soa());
        }
        _ => {
            reply.metadata.response_code = ResponseCode::NXDomain;
            reply.add_authority(soa());
        }
    }
    reply.to_vec().ok()
}

/// A per-try timeout short enough for the failure tests to stay quick.
const TIMEOUT: Duration = Duration::from_millis(400);

fn forwarder(upstreams: &[SocketAddr]) -> Forwarder {
    Forwarder::new(upstreams, TIMEOUT).unwrap()
}

fn a_addrs(out: &Forwarded) -> Vec<Ipv4Addr> {
    out.answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(a.0),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_records_come_back_with_owner_and_ttl() {
    let up = FakeUpstream::start().await;
    let fwd = forwarder(&[up.addr]);

    let out = fwd.resolve(&name("www.up.test."), RecordType::A).await;
    assert_eq!(out.rcode, ResponseCode::NoError);
    assert_eq!(
        a_addrs(&out),
        vec![Ipv4Addr::new(127, 0, 0, 10), Ipv4Addr::new(127, 0, 0, 11)]
    );
    for r in &out.answers {
        assert_eq!(r.name, name("www.up.test."));
        assert_eq!(r.ttl, TTL, "first answer carries the upstream TTL");
    }
    assert!(out.authorities.is_empty());
    assert_eq!(up.without_rd(), 0, "queries must ask for recursion");
}

#[tokio::test]
async fn relative_name_is_resolved_as_fqdn() {
    let up = FakeUpstream::start().await;
    let fwd = forwarder(&[up.addr]);
    let out = fwd.resolve(&name("www.up.test"), RecordType::A).await;
    assert_eq!(out.rcode, ResponseCode::NoError);
    assert_eq!(a_addrs(&out).len(), 2);
    // Only the name itself went upstream, no search-list variants.
    assert_eq!(up.total("www.up.test.", RecordType::A), 1);
}

#[tokio::test]
async fn cname_chain_is_kept_in_order() {
    let up = FakeUpstream::start().await;
    let fwd = forwarder(&[up.addr]);

    let out = fwd.resolve(&name("alias.up.test."), RecordType::A).await;
    assert_eq!(out.rcode, ResponseCode::NoError);
    assert_eq!(out.answers.len(), 3);
    let first = &out.answers[0];
    assert_eq!(first.name, name("alias.up.test."));
    assert_eq!(first.data, RData::CNAME(CNAME(name("www.up.test."))));
    for r in &out.answers[1..] {
        assert_eq!(r.name, name("www.up.test."));
        assert_eq!(r.record_type(), RecordType::A);
    }
    // The upstream gave the whole chain: nothing chased separately.
    assert_eq!(up.total("www.up.test.", RecordType::A), 0);
}

#[tokio::test]
async fn nxdomain_carries_the_soa() {
    let up = FakeUpstream::start().await;
    let fwd = forwarder(&[up.addr]);

    let out = fwd.resolve(&name("missing.up.test."), RecordType::A).await;
    assert_eq!(out.rcode, ResponseCode::NXDomain);
    assert!(out.answers.is_empty());
    assert_eq!(out.authorities.len(), 1);
    let soa = &out.authorities[0];
    assert_eq!(soa.name, name("up.test."));
    assert_eq!(soa.record_type(), RecordType::SOA);
    // RFC 2308: the SOA of a negative answer carries the negative TTL.
    assert_eq!(soa.ttl, SOA_MINIMUM);
}

#[tokio::test]
async fn nodata_is_noerror_with_soa() {
    let up = FakeUpstream::start().await;
    let fwd = forwarder(&[up.addr]);

    let out = fwd.resolve(&name("www.up.test."), RecordType::AAAA).await;
    assert_eq!(out.rcode, ResponseCode::NoError);
    assert!(out.answers.is_empty());
    assert_eq!(out.authorities.len(), 1);
    assert_eq!(out.authorities[0].record_type(), RecordType::SOA);
    assert_eq!(out.authorities[0].name, name("up.test."));
}

#[tokio::test]
async fn truncated_udp_answer_is_retried_over_tcp() {
    let up = FakeUpstream::start().await;
    let fwd = forwarder(&[up.addr]);

    let out = fwd.resolve(&name("big.up.test."), RecordType::A).await;
    assert_eq!(out.rcode, ResponseCode::NoError);
    assert_eq!(out.answers.len(), BIG);
    assert!(out.answers.iter().all(|r| r.name == name("big.up.test.")));
    assert_eq!(up.count("big.up.test.", RecordType::A, Transport::Udp), 1);
    assert_eq!(up.count("big.up.test.", RecordType::A, Transport::Tcp), 1);
}

#[tokio::test]
async fn positive_answers_are_cached_with_aging_ttl() {
    let up = FakeUpstream::start().await;
    let fwd = forwarder(&[up.addr]);
    let www = name("www.up.test.");

    let first = fwd.resolve(&www, RecordType::A).await;
    let second = fwd.resolve(&www, RecordType::A).await;
    assert_eq!(second.rcode, ResponseCode::NoError);
    assert_eq!(a_addrs(&second), a_addrs(&first));
    assert_eq!(
        up.total("www.up.test.", RecordType::A),
        1,
        "second hit the cache"
    );

    // hickory ages cached TTLs in whole seconds.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let third = fwd.resolve(&www, RecordType::A).await;
    assert_eq!(up.total("www.up.test.", RecordType::A), 1);
    assert!(
        third
            .answers
            .iter()
            .all(|r| r.ttl < TTL && r.ttl >= TTL - 2)
    );

    // Clones share the cache (the server hands one forwarder to every task).
    let clone = fwd.clone();
    clone.resolve(&www, RecordType::A).await;
    assert_eq!(up.total("www.up.test.", RecordType::A), 1);

    fwd.clear_cache();
    fwd.resolve(&www, RecordType::A).await;
    assert_eq!(up.total("www.up.test.", RecordType::A), 2);
}

#[tokio::test]
async fn negative_answers_are_cached() {
    let up = FakeUpstream::start().await;
    let fwd = forwarder(&[up.addr]);

    for _ in 0..3 {
        let out = fwd.resolve(&name("missing.up.test."), RecordType::A).await;
        assert_eq!(out.rcode, ResponseCode::NXDomain);
        assert_eq!(out.authorities.len(), 1);
        let out = fwd.resolve(&name("www.up.test."), RecordType::AAAA).await;
        assert_eq!(out.rcode, ResponseCode::NoError);
        assert_eq!(out.authorities.len(), 1);
    }
    assert_eq!(up.total("missing.up.test.", RecordType::A), 1);
    assert_eq!(up.total("www.up.test.", RecordType::AAAA), 1);

    // The cached SOA ages like any cached record.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let out = fwd.resolve(&name("missing.up.test."), RecordType::A).await;
    assert_eq!(out.rcode, ResponseCode::NXDomain);
    let ttl = out.authorities[0].ttl;
    assert!(
        (SOA_MINIMUM - 2..SOA_MINIMUM).contains(&ttl),
        "aged SOA TTL {ttl}"
    );
    assert_eq!(up.total("missing.up.test.", RecordType::A), 1);
}

#[tokio::test]
async fn dangling_cname_is_nxdomain() {
    // hickory chases the CNAME target itself when the answer lacks the
    // requested type (one more upstream query, for the target), and reports
    // the target's NXDOMAIN without the CNAME: the rcode and SOA are right,
    // the alias record is not passed on (0.26.3; accepted either way here).
    let up = FakeUpstream::start().await;
    let fwd = forwarder(&[up.addr]);
    let out = fwd.resolve(&name("dangling.up.test."), RecordType::A).await;
    assert_eq!(out.rcode, ResponseCode::NXDomain);
    assert_eq!(out.authorities.len(), 1);
    assert_eq!(out.authorities[0].record_type(), RecordType::SOA);
    assert!(
        out.answers
            .iter()
            .all(|r| r.record_type() == RecordType::CNAME),
        "no address for a dangling alias"
    );
}

#[tokio::test]
async fn upstream_servfail_is_servfail() {
    let up = FakeUpstream::start().await;
    let fwd = forwarder(&[up.addr]);
    let out = fwd.resolve(&name("broken.up.test."), RecordType::A).await;
    assert_eq!(out, Forwarded::servfail());
}

/// Upper bound for giving up on dead upstreams: every try, plus slack for a
/// loaded CI machine.
fn give_up_bound() -> Duration {
    TIMEOUT * u32::try_from(RETRIES + 1).unwrap() + Duration::from_secs(2)
}

#[tokio::test]
async fn silent_upstream_gives_servfail_in_time() {
    // Bound but never read: queries vanish, as with a dead resolver.
    let silent = UdpSocket::bind((LOOPBACK, 0)).await.unwrap();
    let fwd = forwarder(&[silent.local_addr().unwrap()]);

    let start = Instant::now();
    let out = fwd.resolve(&name("www.up.test."), RecordType::A).await;
    let took = start.elapsed();
    assert_eq!(out, Forwarded::servfail());
    assert!(took < give_up_bound(), "gave up after {took:?}");
    // Failures are not cached: the next question tries again, still bounded.
    let start = Instant::now();
    let out = fwd.resolve(&name("www.up.test."), RecordType::A).await;
    assert_eq!(out.rcode, ResponseCode::ServFail);
    assert!(
        start.elapsed() >= TIMEOUT / 2,
        "a failure was served from cache"
    );
    drop(silent);
}

#[tokio::test]
async fn closed_port_gives_servfail_in_time() {
    let port = {
        let probe = std::net::UdpSocket::bind((LOOPBACK, 0)).unwrap();
        probe.local_addr().unwrap().port()
    };
    let fwd = forwarder(&[SocketAddr::from((LOOPBACK, port))]);

    let start = Instant::now();
    let out = fwd.resolve(&name("www.up.test."), RecordType::A).await;
    let took = start.elapsed();
    assert_eq!(out, Forwarded::servfail());
    assert!(took < give_up_bound(), "gave up after {took:?}");
}

#[tokio::test]
async fn dead_first_upstream_falls_over_to_the_second() {
    let silent = UdpSocket::bind((LOOPBACK, 0)).await.unwrap();
    let up = FakeUpstream::start().await;
    let fwd = forwarder(&[silent.local_addr().unwrap(), up.addr]);

    for qname in ["www.up.test.", "alias.up.test.", "big.up.test."] {
        let start = Instant::now();
        let out = fwd.resolve(&name(qname), RecordType::A).await;
        assert_eq!(out.rcode, ResponseCode::NoError, "{qname}");
        assert!(!out.answers.is_empty(), "{qname}");
        assert!(start.elapsed() < give_up_bound(), "{qname}");
    }
    let out = fwd.resolve(&name("missing.up.test."), RecordType::A).await;
    assert_eq!(out.rcode, ResponseCode::NXDomain);
    drop(silent);
}

/// Drains `socket` and says whether anything had been sent to it.
fn received_any(socket: &UdpSocket) -> bool {
    let mut buf = [0u8; 512];
    let mut any = false;
    while socket.try_recv_from(&mut buf).is_ok() {
        any = true;
    }
    any
}

#[tokio::test]
async fn failover_when_the_dead_upstream_is_ranked_first() {
    // hickory's initial ranking of upstreams is random: use fresh forwarders
    // until one asks the dead upstream first (1 in 2 each), then check that
    // the answer still comes from the live one, for a plain and for a
    // truncated (UDP then TCP) answer.
    let silent = UdpSocket::bind((LOOPBACK, 0)).await.unwrap();
    let up = FakeUpstream::start().await;
    for qname in ["www.up.test.", "big.up.test."] {
        let mut dead_tried = false;
        for _ in 0..16 {
            let fwd = forwarder(&[silent.local_addr().unwrap(), up.addr]);
            let start = Instant::now();
            let out = fwd.resolve(&name(qname), RecordType::A).await;
            assert_eq!(out.rcode, ResponseCode::NoError, "{qname}");
            assert!(!out.answers.is_empty(), "{qname}");
            assert!(start.elapsed() < give_up_bound(), "{qname}");
            // Yield so a datagram sent to the silent socket is surely queued.
            tokio::time::sleep(Duration::from_millis(20)).await;
            if received_any(&silent) {
                dead_tried = true;
                break;
            }
        }
        assert!(
            dead_tried,
            "{qname}: the dead upstream was never ranked first"
        );
    }
}

#[tokio::test]
async fn all_upstreams_down_gives_servfail() {
    let a = UdpSocket::bind((LOOPBACK, 0)).await.unwrap();
    let b = UdpSocket::bind((LOOPBACK, 0)).await.unwrap();
    let fwd = forwarder(&[a.local_addr().unwrap(), b.local_addr().unwrap()]);

    let start = Instant::now();
    let out = fwd.resolve(&name("www.up.test."), RecordType::A).await;
    assert_eq!(out, Forwarded::servfail());
    assert!(start.elapsed() < give_up_bound());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_questions_on_a_multi_thread_runtime() {
    let up = FakeUpstream::start().await;
    let fwd = forwarder(&[up.addr]);
    let mut tasks = Vec::new();
    for i in 0..50 {
        let fwd = fwd.clone();
        tasks.push(tokio::spawn(async move {
            let (qname, qtype) = match i % 3 {
                0 => ("www.up.test.", RecordType::A),
                1 => ("missing.up.test.", RecordType::A),
                _ => ("alias.up.test.", RecordType::A),
            };
            (i, fwd.resolve(&name(qname), qtype).await)
        }));
    }
    for task in tasks {
        let (i, out) = task.await.unwrap();
        let want = if i % 3 == 1 {
            ResponseCode::NXDomain
        } else {
            ResponseCode::NoError
        };
        assert_eq!(out.rcode, want, "question {i}");
    }
    // In-flight sharing and the cache keep the upstream load near one query
    // per question, not one per client.
    for qname in ["www.up.test.", "missing.up.test.", "alias.up.test."] {
        let n = up.total(qname, RecordType::A);
        assert!((1..=3).contains(&n), "{qname}: {n} upstream queries");
    }
}
