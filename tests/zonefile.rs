//! The sample private zone shipped in `zones/` loads and answers.

use std::{path::Path, str::FromStr};

use epdns::zonefile::{Outcome, PrivateZone, ZoneAnswer};
use hickory_proto::rr::{Name, RData, RecordType};

fn sample() -> PrivateZone {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("zones/corp.lab.zone");
    PrivateZone::load(&Name::from_str("corp.lab.").unwrap(), &path).expect("sample zone loads")
}

fn name(s: &str) -> Name {
    Name::from_str(s).unwrap()
}

#[test]
fn sample_zone_answers_each_kind_of_record() {
    let zone = sample();
    assert_eq!(zone.origin(), &name("corp.lab."));
    assert_eq!(zone.negative_ttl(), 60);
    for (qname, qtype, count) in [
        ("corp.lab.", RecordType::SOA, 1),
        ("corp.lab.", RecordType::NS, 1),
        ("corp.lab.", RecordType::MX, 1),
        ("corp.lab.", RecordType::TXT, 1),
        ("www.corp.lab.", RecordType::A, 1),
        ("www.corp.lab.", RecordType::AAAA, 1),
        ("app.corp.lab.", RecordType::A, 2),
        ("_ldap._tcp.corp.lab.", RecordType::SRV, 1),
        ("anything.dev.corp.lab.", RecordType::A, 1),
    ] {
        match zone.lookup(&name(qname), qtype) {
            ZoneAnswer::Records(records) => assert_eq!(records.len(), count, "{qname} {qtype}"),
            other => panic!("{qname} {qtype}: {other:?}"),
        }
    }
    assert_eq!(
        zone.lookup(&name("_tcp.corp.lab."), RecordType::A),
        ZoneAnswer::NoData
    );
    assert_eq!(
        zone.lookup(&name("nope.corp.lab."), RecordType::A),
        ZoneAnswer::NxDomain
    );
}

#[test]
fn sample_zone_sends_oss_to_the_endpoint_domain() {
    let zone = sample();
    let resolution = zone.resolve(&name("oss.corp.lab."), RecordType::A, 8);
    assert_eq!(resolution.chain.len(), 1);
    assert!(matches!(resolution.chain[0].data, RData::CNAME(_)));
    assert_eq!(
        resolution.last,
        Outcome::LeavesZone(name(
            "ep-lab1.epsrv-oss.cn-hangzhou.privatelink.aliyuncs.com."
        ))
    );
}
