//! What a client sees from the generated zone: endpoint and zone domain names,
//! the apex, negative answers, and the protocol rules (RFC 1034/1035, 2308,
//! 6891, 7766, 8906).

mod common;

use common::*;
use hickory_proto::op::{OpCode, ResponseCode};
use hickory_proto::rr::{DNSClass, RData, RecordType};

#[test]
fn endpoint_domain_answers_every_eni_authoritatively() {
    let s = Server::start(&base_lab());
    let m = s.udp(&endpoint("ep-lab1"), RecordType::A);
    assert_rcode(&m, ResponseCode::NoError);
    assert!(m.metadata.authoritative, "AA");
    assert!(!m.metadata.truncation);
    assert!(!m.metadata.recursion_available, "not a resolver");
    assert!(m.metadata.recursion_desired, "RD copied");
    assert_eq!(addrs(&m), ["127.0.1.10", "127.0.2.10"]);
    for r in &m.answers {
        assert_eq!(r.ttl, 60);
        assert_eq!(r.dns_class, DNSClass::IN);
        assert_eq!(r.name.to_string(), endpoint("ep-lab1"));
    }
    assert!(m.authorities.is_empty() && m.additionals.is_empty());
    assert!(m.edns.is_none(), "no OPT when the query had none");
}

#[test]
fn zone_domain_answers_that_zones_eni() {
    let s = Server::start(&base_lab());
    let m = s.udp(&zone_domain("ep-lab1", "cn-hangzhou-i"), RecordType::A);
    assert_rcode(&m, ResponseCode::NoError);
    assert!(m.metadata.authoritative);
    assert_eq!(addrs(&m), ["127.0.2.10"]);
    assert_eq!(m.answers[0].ttl, 60);
}

#[test]
fn dual_stack_endpoint_answers_aaaa() {
    let s = Server::start(&base_lab());
    let m = s.udp(&endpoint("ep-lab6"), RecordType::AAAA);
    assert_rcode(&m, ResponseCode::NoError);
    assert_eq!(addrs(&m), ["fd00:1::11", "fd00:2::11"]);
    let z = s.udp(&zone_domain("ep-lab6", "cn-hangzhou-h"), RecordType::AAAA);
    assert_eq!(addrs(&z), ["fd00:1::11"]);
}

#[test]
fn ipv4_endpoint_has_no_aaaa_nodata_with_soa() {
    let s = Server::start(&base_lab());
    let m = s.udp(&endpoint("ep-lab1"), RecordType::AAAA);
    // min(SOA TTL 300, minimum 30)
    assert_negative(&m, ResponseCode::NoError, 30);
    let z = s.udp(&zone_domain("ep-lab1", "cn-hangzhou-h"), RecordType::AAAA);
    assert_negative(&z, ResponseCode::NoError, 30);
}

#[test]
fn other_types_at_an_endpoint_are_nodata() {
    let s = Server::start(&base_lab());
    for t in [RecordType::MX, RecordType::TXT, RecordType::CNAME] {
        let m = s.udp(&endpoint("ep-lab1"), t);
        assert_negative(&m, ResponseCode::NoError, 30);
    }
}

#[test]
fn any_query_returns_the_addresses() {
    let s = Server::start(&base_lab());
    let m = s.udp(&endpoint("ep-lab6"), RecordType::ANY);
    assert_rcode(&m, ResponseCode::NoError);
    assert_eq!(
        addrs(&m),
        ["127.0.1.11", "127.0.2.11", "fd00:1::11", "fd00:2::11"]
    );
}

#[test]
fn cross_region_endpoint_has_no_zone_domains() {
    let s = Server::start(&base_lab());
    let xr = "ep-xr1.epsrv-rds.cn-shanghai.privatelink.aliyuncs.com.";
    let m = s.udp(xr, RecordType::A);
    assert_eq!(addrs(&m), ["127.0.1.20"]);
    let zd = "ep-xr1-cn-hangzhou-h.epsrv-rds.cn-shanghai.privatelink.aliyuncs.com.";
    let m = s.udp(zd, RecordType::A);
    assert_negative(&m, ResponseCode::NXDomain, 30);
}

#[test]
fn apex_answers_soa_and_ns_with_glue() {
    let s = Server::start(&base_lab());
    let m = s.udp(&format!("{SUFFIX}."), RecordType::SOA);
    assert_rcode(&m, ResponseCode::NoError);
    assert!(m.metadata.authoritative);
    assert_eq!(m.answers.len(), 1);
    let RData::SOA(soa) = &m.answers[0].data else {
        panic!("SOA expected: {:?}", m.answers)
    };
    assert_eq!(m.answers[0].ttl, 300);
    assert_eq!(soa.mname.to_string(), format!("ns.{SUFFIX}."));
    assert_eq!(soa.rname.to_string(), format!("hostmaster.{SUFFIX}."));
    assert_eq!(soa.minimum, 30);

    let m = s.udp(&format!("{SUFFIX}."), RecordType::NS);
    assert_rcode(&m, ResponseCode::NoError);
    assert_eq!(m.answers.len(), 1);
    let RData::NS(ns) = &m.answers[0].data else {
        panic!("NS expected")
    };
    assert_eq!(ns.0.to_string(), format!("ns.{SUFFIX}."));
    // The name server's address is where it listens.
    assert_eq!(
        addrs(&s.udp(&format!("ns.{SUFFIX}."), RecordType::A)),
        [s.addr.ip().to_string()]
    );
    assert_eq!(m.additionals.len(), 1, "glue for ns.{SUFFIX}");
}

#[test]
fn unknown_name_is_nxdomain_with_soa() {
    let s = Server::start(&base_lab());
    for name in [
        format!("nope.{SUFFIX}."),
        format!("ep-missing.epsrv-oss.cn-hangzhou.{SUFFIX}."),
        format!("deeper.{}", endpoint("ep-lab1")),
    ] {
        let m = s.udp(&name, RecordType::A);
        assert_negative(&m, ResponseCode::NXDomain, 30);
    }
}

#[test]
fn negative_ttl_is_the_smaller_of_soa_ttl_and_minimum() {
    let s = Server::start(&base_lab().soa(20, 600));
    let m = s.udp(&format!("nope.{SUFFIX}."), RecordType::A);
    assert_negative(&m, ResponseCode::NXDomain, 20);
}

#[test]
fn empty_non_terminals_are_nodata_not_nxdomain() {
    let s = Server::start(&base_lab());
    // RFC 8020: names above existing names exist.
    for name in [
        format!("epsrv-oss.cn-hangzhou.{SUFFIX}."),
        format!("cn-hangzhou.{SUFFIX}."),
    ] {
        let m = s.udp(&name, RecordType::A);
        assert_negative(&m, ResponseCode::NoError, 30);
    }
}

#[test]
fn names_are_case_insensitive_and_the_question_is_echoed_as_sent() {
    let s = Server::start(&base_lab());
    let asked = "EP-Lab1.EPSRV-oss.Cn-HangZhou.PrivateLink.ALIYUNCS.com.";
    let m = s.udp(asked, RecordType::A);
    assert_rcode(&m, ResponseCode::NoError);
    assert_eq!(addrs(&m), ["127.0.1.10", "127.0.2.10"]);
    // hickory's encoder may fold case, so compare the question's octets on
    // the wire: a query in mixed case, built by hand.
    let mut q = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in asked.trim_end_matches('.').split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    let r = s.udp_raw(&q).expect("answer");
    assert_eq!(&r[..2], &q[..2], "ID echoed");
    assert_eq!(&r[4..6], &[0, 1], "QDCOUNT 1");
    assert_eq!(&r[12..q.len()], &q[12..], "question echoed as sent");
    assert_eq!(&r[6..8], &[0, 2], "two answers");
}

#[test]
fn names_outside_our_zones_are_refused() {
    let s = Server::start(&base_lab());
    for name in ["example.com.", "aliyuncs.com.", "."] {
        let m = s.udp(name, RecordType::A);
        assert_rcode(&m, ResponseCode::Refused);
        assert!(!m.metadata.authoritative, "no AA on REFUSED");
        assert!(m.answers.is_empty() && m.authorities.is_empty());
    }
}

#[test]
fn other_classes_and_zone_transfers_are_refused() {
    let s = Server::start(&base_lab());
    let mut m = query_msg(&endpoint("ep-lab1"), RecordType::A);
    m.queries[0].set_query_class(DNSClass::CH);
    assert_rcode(&s.udp_msg(&m), ResponseCode::Refused);
    let axfr = query_msg(&format!("{SUFFIX}."), RecordType::AXFR);
    assert_rcode(&s.tcp(&[axfr])[0], ResponseCode::Refused);
}

#[test]
fn unknown_opcode_is_notimp() {
    let s = Server::start(&base_lab());
    for op in [OpCode::Status, OpCode::Notify, OpCode::Update] {
        let mut m = query_msg(&endpoint("ep-lab1"), RecordType::A);
        m.metadata.op_code = op;
        let r = s.udp_msg(&m);
        assert_rcode(&r, ResponseCode::NotImp);
        assert_eq!(r.metadata.op_code, op, "opcode echoed");
    }
}

#[test]
fn edns_is_echoed_with_our_payload_size() {
    let s = Server::start(&base_lab());
    let m = s.udp_msg(&edns_query(&endpoint("ep-lab1"), RecordType::A, 4096));
    assert_rcode(&m, ResponseCode::NoError);
    let e = m.edns.as_ref().expect("OPT in the answer");
    assert_eq!(e.version(), 0);
    assert_eq!(e.max_payload(), 1232);
    assert!(
        e.option(hickory_proto::rr::rdata::opt::EdnsCode::Subnet)
            .is_none()
    );
    assert_eq!(addrs(&m).len(), 2);
}

#[test]
fn edns_version_above_zero_is_badvers() {
    let s = Server::start(&base_lab());
    let mut q = edns_query(&endpoint("ep-lab1"), RecordType::A, 1232);
    q.edns.as_mut().unwrap().set_version(1);
    let m = s.udp_msg(&q);
    // BADVERS and BADSIG share code 16 (RFC 6891, 8945); hickory decodes it
    // as BADSIG.
    assert_eq!(u16::from(m.metadata.response_code), 16, "BADVERS");
    assert!(m.answers.is_empty());
    assert_eq!(m.edns.as_ref().expect("OPT carries BADVERS").version(), 0);
}

#[test]
fn malformed_queries_get_formerr_or_are_dropped() {
    let s = Server::start(&base_lab());
    let good = query_msg(&endpoint("ep-lab1"), RecordType::A)
        .to_vec()
        .unwrap();
    // The question is cut short: the header can still be echoed.
    let cut = &good[..good.len() - 3];
    let r = hickory_proto::op::Message::from_vec(&s.udp_raw(cut).expect("FORMERR")).unwrap();
    assert_rcode(&r, ResponseCode::FormErr);
    assert_eq!(&r.metadata.id.to_be_bytes()[..], &good[..2]);
    // Shorter than a header: nothing to answer.
    assert!(s.udp_raw(&good[..5]).is_none());
    // A response is never answered (no reflection loops).
    let mut resp = good.clone();
    resp[2] |= 0x80;
    assert!(s.udp_raw(&resp).is_none());
    // Still serving after all that.
    assert_eq!(addrs(&s.udp(&endpoint("ep-lab1"), RecordType::A)).len(), 2);
}

#[test]
fn two_questions_are_formerr() {
    let s = Server::start(&base_lab());
    let mut m = query_msg(&endpoint("ep-lab1"), RecordType::A);
    m.add_query(hickory_proto::op::Query::query(
        endpoint("ep-lab6").parse().unwrap(),
        RecordType::A,
    ));
    assert_rcode(&s.udp_msg(&m), ResponseCode::FormErr);
}

#[test]
fn duplicate_opt_is_formerr() {
    let s = Server::start(&base_lab());
    let mut p = edns_query(&endpoint("ep-lab1"), RecordType::A, 1232)
        .to_vec()
        .unwrap();
    // Append a second OPT RR (root name, type 41, payload 1232, no rdata).
    p.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]);
    p[11] += 1; // ARCOUNT
    let r = hickory_proto::op::Message::from_vec(&s.udp_raw(&p).expect("answer")).unwrap();
    assert_rcode(&r, ResponseCode::FormErr);
}

/// An endpoint with 40 zones: 40 A records do not fit in 512 octets.
fn big_config() -> LabConfig {
    let mut lab = base_lab();
    let mut zones = Vec::new();
    for i in 0..40 {
        let (vsw, net) = (format!("vsw-big{i}"), 100 + i);
        lab = lab.vswitch(
            &vsw,
            "vpc-lab",
            &format!("cn-hangzhou-z{i}"),
            &format!("127.0.{net}.0/24"),
        );
        zones.push(eni(&vsw, &format!("127.0.{net}.10")));
    }
    lab.endpoint("ep-big", "vpc-lab", "epsrv-oss", &zones)
}

#[test]
fn udp_answer_that_does_not_fit_sets_tc_and_tcp_gives_it_whole() {
    let s = Server::start(&big_config());
    let name = endpoint("ep-big");
    let m = s.udp(&name, RecordType::A);
    assert!(m.metadata.truncation, "TC without EDNS (512 octets)");
    assert!(m.answers.is_empty(), "no partial RRset");
    assert_eq!(m.queries.len(), 1, "question kept");

    let m = s.udp_msg(&edns_query(&name, RecordType::A, 1232));
    assert!(!m.metadata.truncation, "fits in 1232 octets");
    assert_eq!(m.answers.len(), 40);

    let m = s.udp_msg(&edns_query(&name, RecordType::A, 512));
    assert!(m.metadata.truncation, "client payload honoured");

    let m = &s.tcp(&[query_msg(&name, RecordType::A)])[0];
    assert!(!m.metadata.truncation);
    assert!(m.metadata.authoritative);
    assert_eq!(m.answers.len(), 40);
}

#[test]
fn tcp_answers_pipelined_queries_in_order() {
    let s = Server::start(&base_lab());
    let qs = [
        query_msg(&endpoint("ep-lab1"), RecordType::A),
        query_msg(&format!("nope.{SUFFIX}."), RecordType::A),
        query_msg(&endpoint("ep-lab6"), RecordType::AAAA),
        query_msg("example.com.", RecordType::A),
    ];
    let rs = s.tcp(&qs);
    for (q, r) in qs.iter().zip(&rs) {
        assert_eq!(q.metadata.id, r.metadata.id);
    }
    assert_eq!(addrs(&rs[0]), ["127.0.1.10", "127.0.2.10"]);
    assert_negative(&rs[1], ResponseCode::NXDomain, 30);
    assert_eq!(addrs(&rs[2]), ["fd00:1::11", "fd00:2::11"]);
    assert_rcode(&rs[3], ResponseCode::Refused);
}

#[test]
fn serves_on_ipv6_listeners_too() {
    if !require_ipv6_loopback() {
        return;
    }
    let s = Server::start_with_args(&base_lab(), &["--listen", "[::1]:0"]);
    let v6 = s.ready.dns[1];
    assert!(v6.is_ipv6(), "{:?}", s.ready);
    let q = query_msg(&endpoint("ep-lab1"), RecordType::A);
    let m = udp_query(v6, "::1".parse().unwrap(), &q);
    assert_eq!(addrs(&m), ["127.0.1.10", "127.0.2.10"]);
    let m = udp_query(
        v6,
        "::1".parse().unwrap(),
        &edns_query(&endpoint("ep-lab6"), RecordType::AAAA, 1232),
    );
    assert_eq!(addrs(&m), ["fd00:1::11", "fd00:2::11"]);
    drop(s);
}
