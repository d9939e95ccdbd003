//! Zone affinity over real sockets: clients bind source addresses in different
//! zones, with and without EDNS Client Subnet (RFC 7871).

mod common;

use std::net::IpAddr;

use common::*;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;

/// The base lab with zone affinity on for ep-lab1.
fn affinity_config() -> LabConfig {
    base_lab().edit("endpoint", "ep-lab1", "zone_affinity = true")
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn source_address_picks_the_same_zone_eni() {
    let s = Server::start(&affinity_config());
    let q = query_msg(&endpoint("ep-lab1"), RecordType::A);
    assert_eq!(addrs(&s.udp_from(ip("127.0.1.50"), &q)), ["127.0.1.10"]);
    assert_eq!(addrs(&s.udp_from(ip("127.0.2.50"), &q)), ["127.0.2.10"]);
    // In no vSwitch: every ENI.
    assert_eq!(
        addrs(&s.udp_from(ip("127.0.9.50"), &q)),
        ["127.0.1.10", "127.0.2.10"]
    );
    // Zone domains are not narrowed.
    let zq = query_msg(&zone_domain("ep-lab1", "cn-hangzhou-i"), RecordType::A);
    assert_eq!(addrs(&s.udp_from(ip("127.0.1.50"), &zq)), ["127.0.2.10"]);
}

#[test]
fn affinity_off_answers_every_eni_to_everyone() {
    let s = Server::start(&base_lab());
    let q = query_msg(&endpoint("ep-lab1"), RecordType::A);
    assert_eq!(
        addrs(&s.udp_from(ip("127.0.1.50"), &q)),
        ["127.0.1.10", "127.0.2.10"]
    );
    // ECS is still echoed, with scope 0: the answer did not depend on it.
    let m = s.udp_from(
        ip("127.0.1.50"),
        &ecs_query(&endpoint("ep-lab1"), RecordType::A, "127.0.2.0/24"),
    );
    assert_eq!(addrs(&m).len(), 2);
    let ecs = ecs_of(&m).expect("ECS echoed");
    assert_eq!(ecs.scope_prefix(), 0);
    assert_eq!(ecs.source_prefix(), 24);
}

#[test]
fn ecs_address_wins_over_the_source_address() {
    let s = Server::start(&affinity_config());
    // The resolver at 127.0.1.50 asks for a client in zone i.
    let m = s.udp_from(
        ip("127.0.1.50"),
        &ecs_query(&endpoint("ep-lab1"), RecordType::A, "127.0.2.0/24"),
    );
    assert_rcode(&m, ResponseCode::NoError);
    assert_eq!(addrs(&m), ["127.0.2.10"]);
    let ecs = ecs_of(&m).expect("ECS echoed");
    assert_eq!(ecs.addr(), ip("127.0.2.0"), "address echoed");
    assert_eq!(ecs.source_prefix(), 24, "source prefix echoed");
    assert_eq!(ecs.scope_prefix(), 24, "depended on the vSwitch's /24");

    // A /32 inside zone h: scope is the vSwitch's /24, capped by the source.
    let m = s.udp_msg(&ecs_query(
        &endpoint("ep-lab1"),
        RecordType::A,
        "127.0.1.77/32",
    ));
    assert_eq!(addrs(&m), ["127.0.1.10"]);
    assert_eq!(ecs_of(&m).unwrap().scope_prefix(), 24);

    // A client outside every vSwitch: all ENIs, valid for its whole prefix.
    let m = s.udp_from(
        ip("127.0.1.50"),
        &ecs_query(&endpoint("ep-lab1"), RecordType::A, "127.0.9.0/24"),
    );
    assert_eq!(addrs(&m), ["127.0.1.10", "127.0.2.10"]);
    assert_eq!(ecs_of(&m).unwrap().scope_prefix(), 24);

    // Source prefix 0: the client wants no address used, nothing matches.
    let m = s.udp_from(
        ip("127.0.1.50"),
        &ecs_query(&endpoint("ep-lab1"), RecordType::A, "0.0.0.0/0"),
    );
    assert_eq!(addrs(&m), ["127.0.1.10", "127.0.2.10"]);
    assert_eq!(ecs_of(&m).unwrap().scope_prefix(), 0);
}

#[test]
fn ecs_scope_is_zero_for_static_and_negative_answers() {
    let s = Server::start(&affinity_config());
    for (name, t) in [
        (zone_domain("ep-lab1", "cn-hangzhou-h"), RecordType::A),
        (format!("nope.{SUFFIX}."), RecordType::A),
        (endpoint("ep-lab1"), RecordType::MX),
        (format!("{SUFFIX}."), RecordType::SOA),
    ] {
        let m = s.udp_msg(&ecs_query(&name, t, "127.0.2.0/24"));
        assert_eq!(
            ecs_of(&m).expect("ECS echoed").scope_prefix(),
            0,
            "{name} {t}"
        );
    }
}

#[test]
fn no_ecs_in_the_reply_when_the_query_had_none() {
    let s = Server::start(&affinity_config());
    let m = s.udp_from(
        ip("127.0.1.50"),
        &edns_query(&endpoint("ep-lab1"), RecordType::A, 1232),
    );
    assert_eq!(addrs(&m), ["127.0.1.10"]);
    assert!(m.edns.is_some());
    assert!(ecs_of(&m).is_none());
}

#[test]
fn ecs_disabled_uses_the_source_address_and_echoes_nothing() {
    let s = Server::start(&affinity_config().server("ecs = false"));
    let m = s.udp_from(
        ip("127.0.1.50"),
        &ecs_query(&endpoint("ep-lab1"), RecordType::A, "127.0.2.0/24"),
    );
    assert_eq!(addrs(&m), ["127.0.1.10"], "source address, not ECS");
    assert!(ecs_of(&m).is_none(), "ECS not supported, not echoed");
}

/// A query for ep-lab1 A with one raw EDNS option (code, data).
fn raw_ecs_query(option_data: &[u8]) -> Vec<u8> {
    let mut p = query_msg(&endpoint("ep-lab1"), RecordType::A)
        .to_vec()
        .unwrap();
    p[11] = 1; // ARCOUNT
    p.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0]);
    let rdlen = 4 + option_data.len() as u16;
    p.extend_from_slice(&rdlen.to_be_bytes());
    p.extend_from_slice(&8u16.to_be_bytes()); // OPTION-CODE: ECS
    p.extend_from_slice(&(option_data.len() as u16).to_be_bytes());
    p.extend_from_slice(option_data);
    p
}

#[test]
fn malformed_ecs_is_formerr() {
    let s = Server::start(&affinity_config());
    for (what, data) in [
        ("unknown family", &[0, 3, 24, 0, 127, 0, 2][..]),
        ("IPv4 prefix 33", &[0, 1, 33, 0, 127, 0, 2, 0, 0][..]),
        ("non-zero scope in a query", &[0, 1, 24, 24, 127, 0, 2][..]),
    ] {
        let reply = s.udp_raw(&raw_ecs_query(data)).expect(what);
        let m = Message::from_vec(&reply).unwrap();
        assert_rcode(&m, ResponseCode::FormErr);
    }
}

#[test]
fn ecs_address_bits_beyond_the_prefix_are_ignored() {
    let s = Server::start(&affinity_config());
    // 127.0.2.0/23 written with a stray bit in the third octet's last bit:
    // masked, 127.0.2.0/23 holds neither /24 wholly, so all ENIs; and
    // 127.0.2.77/24 (stray last octet is not even sent: 3 octets) → zone i.
    let reply = s
        .udp_raw(&raw_ecs_query(&[0, 1, 23, 0, 127, 0, 3]))
        .unwrap();
    let m = Message::from_vec(&reply).unwrap();
    assert_eq!(addrs(&m), ["127.0.1.10", "127.0.2.10"]);
    assert_eq!(ecs_of(&m).unwrap().scope_prefix(), 23);
    // /20 with bits set beyond it that would point into zone i: masked to
    // 127.0.0.0/20, which matches no /24.
    let reply = s
        .udp_raw(&raw_ecs_query(&[0, 1, 20, 0, 127, 0, 2]))
        .unwrap();
    let m = Message::from_vec(&reply).unwrap();
    assert_eq!(addrs(&m), ["127.0.1.10", "127.0.2.10"]);
}

#[test]
fn ipv6_ecs_picks_the_zone_of_the_ipv6_cidr() {
    let s = Server::start(&affinity_config().edit("endpoint", "ep-lab6", "zone_affinity = true"));
    // A /56 cannot say which /64 vSwitch the client is in (masked, it would
    // land in whichever /64 holds the network address): every ENI, and that
    // answer holds for the whole /56.
    let m = s.udp_msg(&ecs_query(
        &endpoint("ep-lab6"),
        RecordType::AAAA,
        "fd00:2::/56",
    ));
    assert_eq!(addrs(&m), ["fd00:1::11", "fd00:2::11"]);
    assert_eq!(ecs_of(&m).unwrap().scope_prefix(), 56);
    let m = s.udp_msg(&ecs_query(
        &endpoint("ep-lab6"),
        RecordType::AAAA,
        "fd00:2::/64",
    ));
    assert_eq!(addrs(&m), ["fd00:2::11"]);
    assert_eq!(ecs_of(&m).unwrap().scope_prefix(), 64);
    let m = s.udp_msg(&ecs_query(
        &endpoint("ep-lab6"),
        RecordType::AAAA,
        "fd00:1::/64",
    ));
    assert_eq!(addrs(&m), ["fd00:1::11"]);
    assert_eq!(ecs_of(&m).unwrap().scope_prefix(), 64);
}

/// ep-lab1's A addresses as a client at `src` gets them.
fn answer_for(s: &Server, src: &str) -> Vec<String> {
    addrs(&s.udp_from(ip(src), &query_msg(&endpoint("ep-lab1"), RecordType::A)))
}

#[test]
fn service_dropping_affinity_keeps_it_for_endpoints_that_had_it() {
    let s = Server::start(&affinity_config());
    assert_eq!(answer_for(&s, "127.0.1.50"), ["127.0.1.10"]);
    // The service stops supporting zone affinity: ep-lab1 keeps it, and the
    // reload is accepted (a marker address change shows it landed).
    let dropped = affinity_config()
        .edit("service", "epsrv-oss", "zone_affinity = false")
        .eni("ep-lab1", "vsw-i", "127.0.2.12");
    assert_eq!(s.reload(&dropped), Reload::Ok);
    assert_eq!(answer_for(&s, "127.0.1.50"), ["127.0.1.10"]);
    assert_eq!(answer_for(&s, "127.0.2.50"), ["127.0.2.12"]);
    // Another endpoint may not enable it now: the reload is refused and the
    // running config keeps serving.
    let enabling = dropped
        .clone()
        .edit("endpoint", "ep-lab6", "zone_affinity = true")
        .eni("ep-lab1", "vsw-h", "127.0.1.13");
    assert_eq!(s.reload(&enabling), Reload::Rejected);
    assert_eq!(answer_for(&s, "127.0.1.50"), ["127.0.1.10"]);
    // ep-lab1 may disable it.
    let disabled = dropped
        .clone()
        .unset("endpoint", "ep-lab1", &["zone_affinity"]);
    assert_eq!(s.reload(&disabled), Reload::Ok);
    assert_eq!(answer_for(&s, "127.0.1.50"), ["127.0.1.10", "127.0.2.12"]);
    // And, once disabled, may not enable it again.
    assert_eq!(s.reload(&dropped), Reload::Rejected);
    assert_eq!(answer_for(&s, "127.0.1.50"), ["127.0.1.10", "127.0.2.12"]);
}
