//! ECS trust over real sockets: an EDNS Client Subnet option chooses a VPC
//! view only when a trusted resolver (`[server] ecs_trusted`) sends it; a
//! client inside a VPC uses it only for zone affinity within its own VPC;
//! anyone else is answered for their own source address. The echoed scope
//! prefix says what the answer depended on, view included.

mod common;

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::Duration;

use common::*;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{RData, RecordType};

const CUSTOM: &str = "oss-cn-hangzhou-internal.aliyuncs.com.";
const TRUSTED: &str = "127.40.0.53";
/// In no VPC: 127.0.0.1 is the harness's own address.
const OUTSIDERS: [&str; 2] = ["127.30.0.5", "127.0.0.1"];
const IN_A: &str = "127.10.1.50";

/// vpc-a 127.10.0.0/16 and vpc-b 127.20.0.0/16, each with an endpoint that
/// enables the custom domain and a private zone `corp.lab` of its own.
fn config() -> LabConfig {
    LabConfig::new()
        .server("ttl = 60\necs_trusted = [\"127.40.0.53\"]")
        .soa(300, 30)
        .vpc("vpc-a", "cn-hangzhou", &["127.10.0.0/16"])
        .vpc("vpc-b", "cn-hangzhou", &["127.20.0.0/16"])
        .vswitch("vsw-a1", "vpc-a", "cn-hangzhou-h", "127.10.1.0/24")
        .vswitch("vsw-a2", "vpc-a", "cn-hangzhou-i", "127.10.2.0/24")
        .vswitch("vsw-b1", "vpc-b", "cn-hangzhou-h", "127.20.1.0/24")
        .service("epsrv-oss", "cn-hangzhou")
        .with("zone_affinity = true\ncustom_domain = \"oss-cn-hangzhou-internal.aliyuncs.com\"")
        .endpoint(
            "ep-a",
            "vpc-a",
            "epsrv-oss",
            &[eni("vsw-a1", "127.10.1.10"), eni("vsw-a2", "127.10.2.10")],
        )
        .with("zone_affinity = true\ncustom_domain = true")
        .endpoint(
            "ep-b",
            "vpc-b",
            "epsrv-oss",
            &[eni("vsw-b1", "127.20.1.10")],
        )
        .with("custom_domain = true")
        .private_zone("corp.lab", &["vpc-a"], "corp-a.zone", CORP_A)
        .private_zone("corp.lab", &["vpc-b"], "corp-b.zone", CORP_B)
}

const CORP_A: &str = "\
$ORIGIN corp.lab.
$TTL 300
@    IN SOA ns.corp.lab. hostmaster.corp.lab. 1 3600 600 86400 120
@    IN NS  ns.corp.lab.
ns   IN A   127.10.0.53
www  IN A   127.10.5.1
";

const CORP_B: &str = "\
$ORIGIN corp.lab.
$TTL 300
@    IN SOA ns.corp.lab. hostmaster.corp.lab. 1 3600 600 86400 120
@    IN NS  ns.corp.lab.
ns   IN A   127.20.0.53
www  IN A   127.20.5.1
";

fn start() -> Server {
    Server::start(&config())
}

#[derive(Debug, Clone, Copy)]
enum Via {
    Udp,
    Tcp,
}

/// One query with an ECS option for `subnet`, sent from `src` over `via`.
fn ask(s: &Server, via: Via, src: &str, name: &str, qtype: RecordType, subnet: &str) -> Message {
    let src: IpAddr = src.parse().unwrap();
    let q = ecs_query(name, qtype, subnet);
    match via {
        Via::Udp => udp_query(s.addr, src, &q),
        Via::Tcp => tcp_query_from(s.addr, src, &q),
    }
}

/// One query over a TCP connection from source address `src`.
fn tcp_query_from(server: SocketAddr, src: IpAddr, msg: &Message) -> Message {
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    sock.bind(&SocketAddr::new(src, 0).into()).unwrap();
    sock.connect(&server.into()).unwrap();
    let mut stream: TcpStream = sock.into();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let b = msg.to_vec().unwrap();
    stream.write_all(&(b.len() as u16).to_be_bytes()).unwrap();
    stream.write_all(&b).unwrap();
    let mut len = [0u8; 2];
    stream.read_exact(&mut len).unwrap();
    let mut buf = vec![0u8; u16::from_be_bytes(len) as usize];
    stream.read_exact(&mut buf).unwrap();
    let reply = Message::from_vec(&buf).unwrap();
    assert_eq!(reply.metadata.id, msg.metadata.id, "ID echoed");
    reply
}

fn scope(m: &Message) -> u8 {
    ecs_of(m).expect("ECS echoed").scope_prefix()
}

fn ptr_target(m: &Message) -> String {
    match &m.answers[..] {
        [r] => match &r.data {
            RData::PTR(p) => p.0.to_string(),
            other => panic!("not a PTR: {other:?}"),
        },
        other => panic!("one PTR expected: {other:?}"),
    }
}

fn endpoint_a() -> String {
    format!("ep-a.epsrv-oss.cn-hangzhou.{SUFFIX}.")
}

#[test]
fn an_outsider_with_an_in_vpc_ecs_gets_no_private_data() {
    let s = start();
    for via in [Via::Udp, Via::Tcp] {
        for src in OUTSIDERS {
            for subnet in ["127.10.1.0/24", "127.20.1.0/24", "127.10.1.50/32"] {
                let ctx = format!("{src} over {via:?} with ECS {subnet}");
                for (name, qtype) in [
                    ("www.corp.lab.", RecordType::A),
                    ("corp.lab.", RecordType::SOA),
                    (CUSTOM, RecordType::A),
                    ("10.1.10.127.in-addr.arpa.", RecordType::PTR),
                    ("10.1.20.127.in-addr.arpa.", RecordType::PTR),
                ] {
                    let m = ask(&s, via, src, name, qtype, subnet);
                    assert_rcode(&m, ResponseCode::Refused);
                    assert!(m.answers.is_empty(), "{ctx}: {name}: {m:?}");
                    assert!(m.authorities.is_empty(), "{ctx}: {name}: {m:?}");
                    assert_eq!(scope(&m), 0, "{ctx}: {name}: nothing depended on ECS");
                }
                // The endpoint domain answers everyone, not narrowed by an
                // ECS address it does not trust.
                let m = ask(&s, via, src, &endpoint_a(), RecordType::A, subnet);
                assert_eq!(addrs(&m), ["127.10.1.10", "127.10.2.10"], "{ctx}");
                assert_eq!(scope(&m), 0, "{ctx}");
            }
        }
    }
}

#[test]
fn a_trusted_resolvers_ecs_chooses_the_view() {
    let s = start();
    for via in [Via::Udp, Via::Tcp] {
        let ask = |name: &str, qtype, subnet| ask(&s, via, TRUSTED, name, qtype, subnet);
        // vpc-a's zone; the view was decided by vpc-a's /16.
        let m = ask("www.corp.lab.", RecordType::A, "127.10.1.0/24");
        assert_eq!(addrs(&m), ["127.10.5.1"], "{via:?}");
        assert!(m.metadata.authoritative);
        assert_eq!(scope(&m), 16, "{via:?}");
        // vpc-b's zone of the same name.
        let m = ask("www.corp.lab.", RecordType::A, "127.20.1.0/24");
        assert_eq!(addrs(&m), ["127.20.5.1"], "{via:?}");
        assert_eq!(scope(&m), 16, "{via:?}");
        // A negative answer of the view depends on the view too.
        let m = ask("nope.corp.lab.", RecordType::A, "127.10.1.0/24");
        assert_rcode(&m, ResponseCode::NXDomain);
        assert_eq!(scope(&m), 16, "{via:?}");
        // The custom domain with zone affinity: the vSwitch's /24 decided.
        let m = ask(CUSTOM, RecordType::A, "127.10.2.0/24");
        assert_eq!(addrs(&m), ["127.10.2.10"], "{via:?}");
        assert_eq!(scope(&m), 24, "{via:?}");
        let m = ask(CUSTOM, RecordType::A, "127.20.1.0/24");
        assert_eq!(addrs(&m), ["127.20.1.10"], "{via:?}");
        assert_eq!(scope(&m), 16, "{via:?}");
        // ENI PTRs of the chosen VPC only.
        let m = ask(
            "10.1.10.127.in-addr.arpa.",
            RecordType::PTR,
            "127.10.1.0/24",
        );
        assert_eq!(
            ptr_target(&m),
            format!("ep-a-cn-hangzhou-h.epsrv-oss.cn-hangzhou.{SUFFIX}.")
        );
        let m = ask(
            "10.1.10.127.in-addr.arpa.",
            RecordType::PTR,
            "127.20.1.0/24",
        );
        assert_rcode(&m, ResponseCode::Refused);
        // A client in no VPC: nothing private, for its whole /24.
        let m = ask("www.corp.lab.", RecordType::A, "127.30.0.0/24");
        assert_rcode(&m, ResponseCode::Refused);
        assert_eq!(scope(&m), 24, "{via:?}");
        // Zone affinity on the endpoint domain (the fast path).
        let m = ask(&endpoint_a(), RecordType::A, "127.10.2.0/24");
        assert_eq!(addrs(&m), ["127.10.2.10"], "{via:?}");
        assert_eq!(scope(&m), 24, "{via:?}");
    }
}

#[test]
fn an_in_vpc_client_cannot_reach_another_vpcs_view_through_ecs() {
    let s = start();
    for via in [Via::Udp, Via::Tcp] {
        let ask = |name: &str, qtype, subnet| ask(&s, via, IN_A, name, qtype, subnet);
        // vpc-b's subnet: the client still sees vpc-a's zone, and the
        // answer did not depend on the ECS address.
        let m = ask("www.corp.lab.", RecordType::A, "127.20.1.0/24");
        assert_eq!(addrs(&m), ["127.10.5.1"], "{via:?}");
        assert_eq!(scope(&m), 0, "{via:?}");
        let m = ask(
            "10.1.20.127.in-addr.arpa.",
            RecordType::PTR,
            "127.20.1.0/24",
        );
        assert_rcode(&m, ResponseCode::Refused);
        // vpc-a's custom domain, narrowed by the source address (zone h):
        // the ECS address was ignored because of its /24, so that is the scope.
        let m = ask(CUSTOM, RecordType::A, "127.20.1.0/24");
        assert_eq!(addrs(&m), ["127.10.1.10"], "{via:?}");
        assert_eq!(scope(&m), 24, "{via:?}");
        // Inside its own VPC, ECS picks the affinity zone.
        let m = ask(CUSTOM, RecordType::A, "127.10.2.0/24");
        assert_eq!(addrs(&m), ["127.10.2.10"], "{via:?}");
        assert_eq!(scope(&m), 24, "{via:?}");
        let m = ask(&endpoint_a(), RecordType::A, "127.10.2.0/24");
        assert_eq!(addrs(&m), ["127.10.2.10"], "{via:?}");
        assert_eq!(scope(&m), 24, "{via:?}");
        let m = ask(&endpoint_a(), RecordType::A, "127.20.1.0/24");
        assert_eq!(addrs(&m), ["127.10.1.10"], "{via:?}");
        assert_eq!(scope(&m), 24, "{via:?}");
    }
}

#[test]
fn ecs_trusted_entries_are_checked() {
    let check = |list: &str| {
        let cfg = LabConfig::new()
            .server(&format!("ecs_trusted = {list}"))
            .vpc("vpc-a", "cn-hangzhou", &["127.10.0.0/16"])
            .toml();
        epdns::load::load_str(&cfg, std::path::Path::new("t.toml"))
            .map(|m| m.server.ecs_trusted.clone())
    };
    let ok = check(r#"["127.40.0.53", "127.41.0.0/24", "::1"]"#).unwrap();
    let ok: Vec<String> = ok.iter().map(|n| n.to_string()).collect();
    assert_eq!(ok, ["127.40.0.53/32", "127.41.0.0/24", "::1/128"]);
    let err = check(r#"["0.0.0.0/0", "127.41.0.9/24", "resolver", "::/0"]"#)
        .unwrap_err()
        .to_string();
    for want in [
        "[server]: ecs_trusted[0]: '0.0.0.0/0' trusts every address",
        "[server]: ecs_trusted[1]: '127.41.0.9/24' has host bits set: did you mean 127.41.0.0/24?",
        "[server]: ecs_trusted[2]: 'resolver' is not an address or CIDR",
        "[server]: ecs_trusted[3]: '::/0' trusts every address",
    ] {
        assert!(err.contains(want), "{want:?} not in:\n{err}");
    }
}
