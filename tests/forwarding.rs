//! Resolver mode: names outside everything epdns serves are forwarded for
//! clients of a known VPC, and refused for everyone else (never an open
//! resolver). The upstream is a second epdns on loopback.

mod common;

use std::net::{IpAddr, SocketAddr};

use common::*;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{RData, RecordType};

/// The upstream: authoritative for `upstream.test` (its suffix), one endpoint.
fn upstream_config() -> LabConfig {
    LabConfig::new()
        .server(r#"suffix = "upstream.test""#)
        .server("ttl = 120")
        .vpc("vpc-up", "r1", &["127.0.0.0/16"])
        .vswitch("vsw", "vpc-up", "r1-a", "127.0.7.0/24")
        .service("svc", "r1")
        .endpoint("web", "vpc-up", "svc", &[eni("vsw", "127.0.7.7")])
}

const UP_NAME: &str = "web.svc.r1.upstream.test.";

/// The resolver under test: vpc-lab is 127.0.0.0/16; 127.2.0.0/16 is in no
/// VPC; an inbound listener on 127.0.0.2 answers as vpc-lab.
fn resolver_config(upstreams: &[SocketAddr]) -> LabConfig {
    LabConfig::new()
        .vpc("vpc-lab", "cn-hangzhou", &["127.0.0.0/16"])
        .vswitch("vsw-h", "vpc-lab", "cn-hangzhou-h", "127.0.1.0/24")
        .service("epsrv-oss", "cn-hangzhou")
        .endpoint(
            "ep-lab1",
            "vpc-lab",
            "epsrv-oss",
            &[eni("vsw-h", "127.0.1.10")],
        )
        .private_zone("corp.lab", &["vpc-lab"], "corp.lab.zone", CORP_LAB)
        .inbound("127.0.0.2:0", "vpc-lab")
        .forward(upstreams, 500)
}

const CORP_LAB: &str = r#"
$ORIGIN corp.lab.
$TTL 300
@     IN SOA ns.corp.lab. hostmaster.corp.lab. 1 3600 600 86400 60
@     IN NS  ns.corp.lab.
ns    IN A   127.0.0.53
web   IN CNAME web.svc.r1.upstream.test.
"#;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

const IN_VPC: &str = "127.0.1.50";
const OUTSIDE: &str = "127.2.0.50";

struct Setup {
    _upstream: Server,
    resolver: Server,
    inbound: SocketAddr,
}

fn setup_with(upstreams: impl FnOnce(SocketAddr) -> Vec<SocketAddr>) -> Setup {
    let upstream = Server::start(&upstream_config());
    let resolver = Server::start(&resolver_config(&upstreams(upstream.addr)));
    let inbound = resolver.inbound("vpc-lab");
    Setup {
        _upstream: upstream,
        resolver,
        inbound,
    }
}

fn setup() -> Setup {
    setup_with(|up| vec![up])
}

impl Setup {
    fn ask(&self, from: &str, name: &str, t: RecordType) -> Message {
        self.resolver.udp_from(ip(from), &query_msg(name, t))
    }
}

#[test]
fn vpc_clients_get_forwarded_answers() {
    let s = setup();
    let m = s.ask(IN_VPC, UP_NAME, RecordType::A);
    assert_rcode(&m, ResponseCode::NoError);
    assert_eq!(addrs(&m), ["127.0.7.7"]);
    assert!(m.metadata.recursion_available, "RA on a forwarded answer");
    assert!(!m.metadata.authoritative, "not ours: no AA");
    assert!(m.answers[0].ttl <= 120);
    // Over TCP as well.
    let m = &s.resolver.tcp(&[query_msg(UP_NAME, RecordType::A)])[0];
    assert_eq!(addrs(m), ["127.0.7.7"]);
}

#[test]
fn upstream_negative_answers_come_back_with_their_soa() {
    let s = setup();
    let m = s.ask(IN_VPC, "nope.upstream.test.", RecordType::A);
    assert_rcode(&m, ResponseCode::NXDomain);
    assert!(m.answers.is_empty());
    assert_eq!(m.authorities.len(), 1);
    assert_eq!(m.authorities[0].record_type(), RecordType::SOA);
    let m = s.ask(IN_VPC, UP_NAME, RecordType::MX);
    assert_rcode(&m, ResponseCode::NoError);
    assert!(m.answers.is_empty());
}

#[test]
fn outsiders_are_refused_never_an_open_resolver() {
    let s = setup();
    let m = s.ask(OUTSIDE, UP_NAME, RecordType::A);
    assert_rcode(&m, ResponseCode::Refused);
    assert!(m.answers.is_empty());
    // An ECS option claiming a VPC address does not open the resolver.
    let m = s.resolver.udp_from(
        ip(OUTSIDE),
        &ecs_query(UP_NAME, RecordType::A, "127.0.1.0/24"),
    );
    assert_rcode(&m, ResponseCode::Refused);
    // Our own names still answer outsiders.
    let m = s.ask(OUTSIDE, &endpoint("ep-lab1"), RecordType::A);
    assert_eq!(addrs(&m), ["127.0.1.10"]);
}

#[test]
fn the_inbound_listener_forwards_for_its_vpc() {
    let s = setup();
    let m = udp_query(s.inbound, ip(OUTSIDE), &query_msg(UP_NAME, RecordType::A));
    assert_eq!(addrs(&m), ["127.0.7.7"]);
}

#[test]
fn a_cname_leaving_the_private_zone_is_completed_upstream() {
    let s = setup();
    let m = s.ask(IN_VPC, "web.corp.lab.", RecordType::A);
    assert_rcode(&m, ResponseCode::NoError);
    assert_eq!(m.answers.len(), 2, "{m:?}");
    let RData::CNAME(c) = &m.answers[0].data else {
        panic!("CNAME first: {m:?}")
    };
    assert_eq!(c.0.to_string(), UP_NAME);
    assert_eq!(addrs(&m), ["127.0.7.7"]);
}

#[test]
fn a_dead_upstream_is_servfail_and_a_second_one_takes_over() {
    // A bound socket that never answers.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let dead = silent.local_addr().unwrap();
    let s = setup_with(|_| vec![dead]);
    let m = s.ask(IN_VPC, UP_NAME, RecordType::A);
    assert_rcode(&m, ResponseCode::ServFail);
    drop(s);
    let s = setup_with(|up| vec![dead, up]);
    let m = s.ask(IN_VPC, UP_NAME, RecordType::A);
    assert_eq!(addrs(&m), ["127.0.7.7"]);
}

#[test]
fn a_slow_upstream_does_not_hold_up_pipelined_tcp_queries() {
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let dead = silent.local_addr().unwrap();
    let s = setup_with(|_| vec![dead]);
    // Over one connection (from 127.0.0.1, inside vpc-lab): a question for
    // the dead upstream, then one of ours.
    let qs = [
        query_msg(UP_NAME, RecordType::A),
        query_msg(&endpoint("ep-lab1"), RecordType::A),
    ];
    let rs = s.resolver.tcp(&qs);
    assert_eq!(rs[0].metadata.id, qs[1].metadata.id, "ours first");
    assert_eq!(addrs(&rs[0]), ["127.0.1.10"]);
    assert_eq!(rs[1].metadata.id, qs[0].metadata.id);
    assert_rcode(&rs[1], ResponseCode::ServFail);
}
