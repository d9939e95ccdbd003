//! DNS messages for the tests: queries as clients send them, exchanges over
//! real UDP sockets from chosen source addresses, and assertions on answers.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::str::FromStr;
use std::time::Duration;

use hickory_proto::op::{Edns, Message, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::opt::{ClientSubnet, EdnsCode, EdnsOption};
use hickory_proto::rr::{Name, RData, Record, RecordType};

pub const SUFFIX: &str = "privatelink.aliyuncs.com";

/// One UDP query to `server` from `src`; panics without an answer.
pub fn udp_query(server: SocketAddr, src: IpAddr, msg: &Message) -> Message {
    let packet = msg.to_vec().unwrap();
    let bytes = udp_exchange_from(server, src, &packet, Duration::from_secs(2))
        .unwrap_or_else(|| panic!("no UDP answer from {server} to {src} within 2 s"));
    let reply = Message::from_vec(&bytes).expect("answer decodes");
    assert_eq!(reply.metadata.id, msg.metadata.id, "ID echoed");
    reply
}

pub fn udp_exchange_from(
    server: SocketAddr,
    src: IpAddr,
    packet: &[u8],
    wait: Duration,
) -> Option<Vec<u8>> {
    let sock = UdpSocket::bind(SocketAddr::new(src, 0)).unwrap();
    sock.set_read_timeout(Some(wait)).unwrap();
    sock.send_to(packet, server).unwrap();
    let mut buf = vec![0u8; 65535];
    match sock.recv_from(&mut buf) {
        Ok((n, _)) => Some(buf[..n].to_vec()),
        Err(_) => None,
    }
}

/// A standard query with RD set and no EDNS.
pub fn query_msg(name: &str, qtype: RecordType) -> Message {
    let mut m = Message::query();
    m.metadata.op_code = OpCode::Query;
    m.metadata.recursion_desired = true;
    m.add_query(Query::query(Name::from_str(name).unwrap(), qtype));
    m
}

/// The same with EDNS(0) advertising `payload`.
pub fn edns_query(name: &str, qtype: RecordType, payload: u16) -> Message {
    let mut m = query_msg(name, qtype);
    let mut e = Edns::new();
    e.set_max_payload(payload);
    m.set_edns(e);
    m
}

/// The same with an ECS option for `subnet` (e.g. "127.0.1.0/24").
pub fn ecs_query(name: &str, qtype: RecordType, subnet: &str) -> Message {
    let mut m = edns_query(name, qtype, 1232);
    let net = ipnet::IpNet::from_str(subnet).unwrap();
    m.edns
        .as_mut()
        .unwrap()
        .options_mut()
        .insert(EdnsOption::Subnet(ClientSubnet::from(net)));
    m
}

pub fn ecs_of(m: &Message) -> Option<ClientSubnet> {
    match m.edns.as_ref()?.option(EdnsCode::Subnet)? {
        EdnsOption::Subnet(s) => Some(*s),
        _ => None,
    }
}

pub fn endpoint(ep: &str) -> String {
    format!("{ep}.epsrv-oss.cn-hangzhou.{SUFFIX}.")
}

pub fn zone_domain(ep: &str, zone: &str) -> String {
    format!("{ep}-{zone}.epsrv-oss.cn-hangzhou.{SUFFIX}.")
}

/// The answer section's addresses, as text, sorted.
pub fn addrs(m: &Message) -> Vec<String> {
    let mut v: Vec<String> = m
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(a.0.to_string()),
            RData::AAAA(a) => Some(a.0.to_string()),
            _ => None,
        })
        .collect();
    v.sort();
    v
}

pub fn assert_rcode(m: &Message, rcode: ResponseCode) {
    assert_eq!(m.metadata.response_code, rcode, "rcode of {m:?}");
}

/// NXDOMAIN/NODATA shape (RFC 2308): no answer, the zone's SOA in the
/// authority section with TTL = min(SOA TTL, SOA minimum).
pub fn assert_negative(m: &Message, rcode: ResponseCode, negative_ttl: u32) {
    assert_rcode(m, rcode);
    assert!(m.metadata.authoritative, "AA on negative answer");
    assert!(m.answers.is_empty(), "no answers: {:?}", m.answers);
    assert_eq!(m.authorities.len(), 1, "one SOA in authority");
    let soa: &Record = &m.authorities[0];
    assert_eq!(soa.record_type(), RecordType::SOA);
    assert_eq!(soa.name, Name::from_str(&format!("{SUFFIX}.")).unwrap());
    assert_eq!(soa.ttl, negative_ttl);
}
