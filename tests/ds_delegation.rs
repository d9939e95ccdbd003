//! DS belongs to the parent side of a zone cut (RFC 4035 §3.1.4.1): at a
//! delegation the parent answers it (the DS records, or NODATA with the
//! parent's SOA), also when epdns serves the child zone too.

mod common;

use common::*;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;

const PARENT: &str = r#"
$ORIGIN corp.lab.
$TTL 300
@        IN SOA ns hostmaster 11 3600 600 86400 120
@        IN NS  ns
ns       IN A   127.0.0.53
sub      IN NS  ns.sub
sub      IN DS  12345 8 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE5A7A7D1A2B3C4D5E6F708192
ns.sub   IN A   127.0.6.1
unsigned IN NS  ns.unsigned
ns.unsigned IN A 127.0.6.2
"#;

const CHILD: &str = r#"
$ORIGIN sub.corp.lab.
$TTL 300
@        IN SOA ns hostmaster 22 3600 600 86400 60
@        IN NS  ns
ns       IN A   127.0.6.1
www      IN A   127.0.6.80
"#;

const LONE: &str = r#"
$ORIGIN lone.lab.
$TTL 300
@        IN SOA ns hostmaster 33 3600 600 86400 90
@        IN NS  ns
ns       IN A   127.0.6.3
"#;

fn config() -> LabConfig {
    LabConfig::new()
        .vpc("vpc-lab", "cn-hangzhou", &["127.0.0.0/8"])
        .private_zone("corp.lab", &["vpc-lab"], "corp.lab.zone", PARENT)
        .private_zone("sub.corp.lab", &["vpc-lab"], "sub.corp.lab.zone", CHILD)
        .private_zone("lone.lab", &["vpc-lab"], "lone.lab.zone", LONE)
}

fn soa_serial(m: &Message) -> u32 {
    match m.authorities.as_slice() {
        [soa] => match &soa.data {
            hickory_proto::rr::RData::SOA(s) => s.serial,
            other => panic!("authority is {other:?}, not an SOA"),
        },
        other => panic!("authority is {other:?}, not one SOA"),
    }
}

#[test]
fn ds_at_a_delegation_comes_from_the_parent_zone() {
    let server = Server::start(&config());
    // The child zone is served too: DS still comes from the parent.
    let m = server.udp("sub.corp.lab.", RecordType::DS);
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert!(m.metadata.authoritative);
    assert_eq!(m.answers.len(), 1);
    assert_eq!(m.answers[0].record_type(), RecordType::DS);
    assert_eq!(m.answers[0].name.to_string(), "sub.corp.lab.");
    // Every other type at the child apex is the child's.
    let m = server.udp("sub.corp.lab.", RecordType::SOA);
    assert!(m.metadata.authoritative);
    assert_eq!(m.answers.len(), 1);
    let m = server.udp("sub.corp.lab.", RecordType::TXT);
    assert_eq!(soa_serial(&m), 22, "NODATA from the child");
    let m = server.udp("www.sub.corp.lab.", RecordType::A);
    assert_eq!(m.answers.len(), 1);
    assert!(m.metadata.authoritative);
}

#[test]
fn no_ds_at_a_delegation_is_nodata_with_the_parents_soa() {
    let server = Server::start(&config());
    // The child is not served here: the parent still answers, not a referral.
    let m = server.udp("unsigned.corp.lab.", RecordType::DS);
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert!(m.metadata.authoritative);
    assert!(m.answers.is_empty());
    assert_eq!(soa_serial(&m), 11);
    // Below the cut, DS is the child's business: a referral.
    let m = server.udp("x.unsigned.corp.lab.", RecordType::DS);
    assert!(!m.metadata.authoritative);
    assert_eq!(m.authorities[0].record_type(), RecordType::NS);
}

#[test]
fn ds_at_an_apex_without_a_served_parent_is_the_zones_nodata() {
    let server = Server::start(&config());
    let m = server.udp("lone.lab.", RecordType::DS);
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert!(m.answers.is_empty());
    assert_eq!(soa_serial(&m), 33);
}
