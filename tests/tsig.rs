//! TSIG (RFC 8945): epdns has no TSIG keys, so a signed query names a key
//! it does not know. §5.2: the reply is NOTAUTH with TSIG error BADKEY,
//! unsigned (§5.3.2: empty MAC), and carries no data.

mod common;

use std::process::Command;
use std::str::FromStr;

use common::*;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::rdata::tsig::{TSIG, TsigAlgorithm, TsigError, make_tsig_record};
use hickory_proto::rr::{DNSClass, Name, RData, RecordType};

const ZONE: &str = r#"
$ORIGIN corp.lab.
$TTL 300
@        IN SOA ns hostmaster 1 3600 600 86400 120
@        IN NS  ns
ns       IN A   127.0.0.53
www      IN A   127.0.5.1
"#;

fn config() -> LabConfig {
    LabConfig::new()
        .vpc("vpc-lab", "cn-hangzhou", &["127.0.0.0/8"])
        .private_zone("corp.lab", &["vpc-lab"], "corp.lab.zone", ZONE)
}

/// A query for `name` signed with key `xfr-key.` (hmac-sha256), MAC made up:
/// the server cannot check it without the key anyway.
fn signed(name: &str, qtype: RecordType, edns: bool) -> Message {
    let mut m = if edns {
        edns_query(name, qtype, 1232)
    } else {
        query_msg(name, qtype)
    };
    let tsig = TSIG::new(
        TsigAlgorithm::HmacSha256,
        1_780_000_000,
        300,
        vec![0xAB; 32],
        m.metadata.id,
        None,
        Vec::new(),
    );
    m.signature = Some(Box::new(make_tsig_record(
        Name::from_str("xfr-key.").unwrap(),
        tsig,
    )));
    m
}

fn assert_badkey(query: &Message, reply: &Message) {
    assert_eq!(reply.metadata.id, query.metadata.id);
    assert_eq!(reply.metadata.response_code, ResponseCode::NotAuth);
    assert_eq!(reply.queries, query.queries, "question echoed");
    assert!(reply.answers.is_empty() && reply.authorities.is_empty());
    // Without hickory's DNSSEC features the TSIG record stays among the
    // additionals, where it must be the last.
    let record = reply
        .additionals
        .last()
        .expect("a TSIG record in the reply");
    assert_eq!(reply.additionals.len(), 1);
    assert_eq!(record.name, Name::from_str("xfr-key.").unwrap());
    assert_eq!(record.dns_class, DNSClass::ANY);
    assert_eq!(record.ttl, 0);
    let RData::TSIG(tsig) = &record.data else {
        panic!("last additional is {record:?}, not a TSIG")
    };
    assert_eq!(tsig.error, Some(TsigError::BadKey));
    assert!(tsig.mac.is_empty(), "unsigned: no MAC");
    assert_eq!(tsig.oid, query.metadata.id);
    assert_eq!(tsig.algorithm, TsigAlgorithm::HmacSha256);
    assert_eq!(tsig.time, 1_780_000_000, "the query's time signed");
}

#[test]
fn a_query_signed_with_an_unknown_key_gets_notauth_badkey() {
    let server = Server::start(&config());
    // Unsigned, the question has an answer; signed, it gets none.
    let plain = server.udp("www.corp.lab.", RecordType::A);
    assert_eq!(plain.answers.len(), 1);
    for (name, qtype) in [
        ("www.corp.lab.", RecordType::A),
        (
            "ep-x.epsrv-oss.cn-hangzhou.privatelink.aliyuncs.com.",
            RecordType::A,
        ),
        ("corp.lab.", RecordType::AXFR),
    ] {
        for edns in [false, true] {
            let q = signed(name, qtype, edns);
            let r = server.udp_msg(&q);
            assert_badkey(&q, &r);
            assert_eq!(r.edns.is_some(), edns, "OPT echoed when sent");
            let r = &server.tcp(std::slice::from_ref(&q))[0];
            assert_badkey(&q, r);
        }
    }
}

/// BIND's own client signing with a key the server does not know: dig
/// reports the TSIG error it got back.
#[test]
fn dig_signed_query_is_told_badkey() {
    if !require_tools(&["dig"]) {
        return;
    }
    let server = Server::start(&config());
    let out = Command::new("dig")
        .arg(format!("@{}", server.addr.ip()))
        .args(["-p", &server.addr.port().to_string()])
        .args(["-y", "hmac-sha256:xfr-key:c2VjcmV0c2VjcmV0c2VjcmV0"])
        .args(["+tries=1", "+time=5", "www.corp.lab.", "A"])
        .output()
        .expect("run dig");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("status: NOTAUTH"), "{text}");
    assert!(text.contains("BADKEY"), "{text}");
}
