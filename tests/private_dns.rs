//! The PrivateZone stand-in: custom service domains and private zones answer
//! only inside the VPCs they belong to; inbound listeners answer as for their
//! VPC; CNAME chains are followed across everything epdns serves.

mod common;

use std::net::{IpAddr, SocketAddr};

use common::*;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{RData, RecordType};

const CUSTOM: &str = "oss-cn-hangzhou-internal.aliyuncs.com.";

const CORP_LAB: &str = r#"
$ORIGIN corp.lab.
$TTL 300
@       IN SOA ns.corp.lab. hostmaster.corp.lab. 1 3600 600 86400 120
@       IN NS  ns.corp.lab.
ns      IN A   127.0.0.53
www     IN A   127.0.5.1
www     IN AAAA ::1
@       IN MX  10 mail.corp.lab.
mail    IN A   127.0.5.2
@       IN TXT "v=lab"
_ldap._tcp IN SRV 0 5 389 ldap.corp.lab.
ldap    IN A   127.0.5.3
*.apps  IN A   127.0.5.4
oss     IN CNAME ep-lab1.epsrv-oss.cn-hangzhou.privatelink.aliyuncs.com.
alias   IN CNAME www
loop1   IN CNAME loop2
loop2   IN CNAME loop1
away    IN CNAME www.example.test.
"#;

const CORP_B: &str = r#"
$ORIGIN corp.lab.
$TTL 300
@       IN SOA ns.corp.lab. hostmaster.corp.lab. 7 3600 600 86400 60
@       IN NS  ns.corp.lab.
ns      IN A   127.0.0.53
www     IN A   127.1.5.1
"#;

/// Two VPCs (vpc-lab 127.0.0.0/16, vpc-b 127.1.0.0/16); 127.2.x.x is in none.
/// vpc-lab has an inbound listener on 127.0.0.2.
fn config() -> LabConfig {
    LabConfig::new()
        .server("ttl = 60")
        .soa(300, 30)
        .vpc("vpc-lab", "cn-hangzhou", &["127.0.0.0/16"])
        .vpc("vpc-b", "cn-hangzhou", &["127.1.0.0/16"])
        .vswitch("vsw-h", "vpc-lab", "cn-hangzhou-h", "127.0.1.0/24")
        .vswitch("vsw-i", "vpc-lab", "cn-hangzhou-i", "127.0.2.0/24")
        .vswitch("vsw-b", "vpc-b", "cn-hangzhou-h", "127.1.1.0/24")
        .service("epsrv-oss", "cn-hangzhou")
        .with(
            r#"zone_affinity = true
                 custom_domain = "oss-cn-hangzhou-internal.aliyuncs.com""#,
        )
        .endpoint(
            "ep-lab1",
            "vpc-lab",
            "epsrv-oss",
            &[eni("vsw-h", "127.0.1.10"), eni("vsw-i", "127.0.2.10")],
        )
        .with("zone_affinity = true\ncustom_domain = true")
        // vpc-b has its own endpoint to the service, without the custom domain.
        .endpoint("ep-b1", "vpc-b", "epsrv-oss", &[eni("vsw-b", "127.1.1.10")])
        .private_zone("corp.lab", &["vpc-lab"], "corp-lab.zone", CORP_LAB)
        // The same zone name, other records, for vpc-b.
        .private_zone("corp.lab", &["vpc-b"], "corp-b.zone", CORP_B)
        .inbound("127.0.0.2:0", "vpc-lab")
}

struct Lab {
    s: Server,
    inbound: SocketAddr,
}

fn lab() -> Lab {
    let s = Server::start(&config());
    let inbound = s.inbound("vpc-lab");
    Lab { s, inbound }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

const IN_LAB: &str = "127.0.1.50";
const IN_LAB_I: &str = "127.0.2.50";
const IN_B: &str = "127.1.1.50";
const OUTSIDE: &str = "127.2.0.50";

impl Lab {
    fn ask(&self, from: &str, name: &str, t: RecordType) -> Message {
        self.s.udp_from(ip(from), &query_msg(name, t))
    }
}

#[test]
fn custom_domain_answers_inside_its_vpc_only() {
    let lab = lab();
    let m = lab.ask(IN_LAB_I, CUSTOM, RecordType::A);
    assert_rcode(&m, ResponseCode::NoError);
    assert!(m.metadata.authoritative);
    // Same affinity as the endpoint: zone i's ENI for a zone-i client.
    assert_eq!(addrs(&m), ["127.0.2.10"]);
    assert_eq!(
        m.answers[0].name.to_string(),
        CUSTOM,
        "owned by the custom name"
    );
    assert_eq!(m.answers[0].ttl, 60);
    // A client of the VPC in no vSwitch: every ENI.
    assert_eq!(
        addrs(&lab.ask("127.0.9.1", CUSTOM, RecordType::A)),
        ["127.0.1.10", "127.0.2.10"]
    );
    // vpc-b's endpoint did not enable it; outsiders are not in a VPC.
    for from in [IN_B, OUTSIDE] {
        let m = lab.ask(from, CUSTOM, RecordType::A);
        assert_rcode(&m, ResponseCode::Refused);
        assert!(m.answers.is_empty());
    }
}

#[test]
fn custom_domain_negative_answers_carry_its_soa() {
    let lab = lab();
    let m = lab.ask(IN_LAB, CUSTOM, RecordType::AAAA);
    assert_rcode(&m, ResponseCode::NoError);
    assert!(m.answers.is_empty());
    assert_eq!(m.authorities.len(), 1);
    assert_eq!(m.authorities[0].record_type(), RecordType::SOA);
    assert_eq!(m.authorities[0].name.to_string(), CUSTOM);
    assert_eq!(m.authorities[0].ttl, 30);
    let m = lab.ask(IN_LAB, &format!("bucket.{CUSTOM}"), RecordType::A);
    assert_rcode(&m, ResponseCode::NXDomain);
    assert_eq!(m.authorities[0].name.to_string(), CUSTOM);
}

#[test]
fn private_zone_answers_its_records_to_bound_vpcs() {
    let lab = lab();
    let m = lab.ask(IN_LAB, "www.corp.lab.", RecordType::A);
    assert_rcode(&m, ResponseCode::NoError);
    assert!(m.metadata.authoritative);
    assert_eq!(addrs(&m), ["127.0.5.1"]);
    assert_eq!(m.answers[0].ttl, 300);
    assert_eq!(
        addrs(&lab.ask(IN_LAB, "www.corp.lab.", RecordType::AAAA)),
        ["::1"]
    );

    let m = lab.ask(IN_LAB, "corp.lab.", RecordType::MX);
    let RData::MX(mx) = &m.answers[0].data else {
        panic!("MX: {m:?}")
    };
    assert_eq!(mx.exchange.to_string(), "mail.corp.lab.");
    let m = lab.ask(IN_LAB, "corp.lab.", RecordType::TXT);
    assert_eq!(m.answers[0].record_type(), RecordType::TXT);
    let m = lab.ask(IN_LAB, "_ldap._tcp.corp.lab.", RecordType::SRV);
    let RData::SRV(srv) = &m.answers[0].data else {
        panic!("SRV: {m:?}")
    };
    assert_eq!(srv.port, 389);
    // Wildcard, with the owner rewritten to the query name.
    let m = lab.ask(IN_LAB, "shop.apps.corp.lab.", RecordType::A);
    assert_eq!(addrs(&m), ["127.0.5.4"]);
    assert_eq!(m.answers[0].name.to_string(), "shop.apps.corp.lab.");
    let m = lab.ask(IN_LAB, "corp.lab.", RecordType::SOA);
    assert_eq!(m.answers.len(), 1);
}

#[test]
fn private_zone_negative_answers_carry_its_soa() {
    let lab = lab();
    let m = lab.ask(IN_LAB, "nope.corp.lab.", RecordType::A);
    assert_rcode(&m, ResponseCode::NXDomain);
    assert!(m.metadata.authoritative);
    let soa = &m.authorities[0];
    assert_eq!(soa.record_type(), RecordType::SOA);
    assert_eq!(soa.name.to_string(), "corp.lab.");
    assert_eq!(soa.ttl, 120, "min(SOA TTL 300, minimum 120)");
    let m = lab.ask(IN_LAB, "www.corp.lab.", RecordType::MX);
    assert_rcode(&m, ResponseCode::NoError);
    assert!(m.answers.is_empty());
    assert_eq!(m.authorities[0].name.to_string(), "corp.lab.");
}

#[test]
fn private_zone_is_invisible_outside_its_vpcs() {
    let lab = lab();
    let m = lab.ask(OUTSIDE, "www.corp.lab.", RecordType::A);
    assert_rcode(&m, ResponseCode::Refused);
}

#[test]
fn same_zone_name_answers_per_vpc() {
    let lab = lab();
    assert_eq!(
        addrs(&lab.ask(IN_LAB, "www.corp.lab.", RecordType::A)),
        ["127.0.5.1"]
    );
    assert_eq!(
        addrs(&lab.ask(IN_B, "www.corp.lab.", RecordType::A)),
        ["127.1.5.1"]
    );
    // vpc-b's zone has no mail host.
    assert_rcode(
        &lab.ask(IN_B, "mail.corp.lab.", RecordType::A),
        ResponseCode::NXDomain,
    );
    let m = lab.ask(IN_B, "nope.corp.lab.", RecordType::A);
    assert_eq!(m.authorities[0].ttl, 60, "vpc-b's own SOA");
}

#[test]
fn cname_into_an_endpoint_domain_is_followed_with_affinity() {
    let lab = lab();
    let m = lab.ask(IN_LAB_I, "oss.corp.lab.", RecordType::A);
    assert_rcode(&m, ResponseCode::NoError);
    assert!(m.metadata.authoritative);
    assert_eq!(m.answers.len(), 2, "CNAME + the zone-i ENI: {m:?}");
    let RData::CNAME(target) = &m.answers[0].data else {
        panic!("CNAME first: {m:?}")
    };
    assert_eq!(target.0.to_string(), endpoint("ep-lab1"));
    assert_eq!(addrs(&m), ["127.0.2.10"]);
    assert_eq!(m.answers[1].name.to_string(), endpoint("ep-lab1"));
}

#[test]
fn cname_within_a_zone_and_loops() {
    let lab = lab();
    let m = lab.ask(IN_LAB, "alias.corp.lab.", RecordType::A);
    assert_eq!(m.answers[0].record_type(), RecordType::CNAME);
    assert_eq!(addrs(&m), ["127.0.5.1"]);
    // A loop is cut: the CNAMEs once each, no address, still an answer.
    let m = lab.ask(IN_LAB, "loop1.corp.lab.", RecordType::A);
    assert_rcode(&m, ResponseCode::NoError);
    assert!(
        m.answers
            .iter()
            .all(|r| r.record_type() == RecordType::CNAME)
    );
    assert!(m.answers.len() <= 2, "{m:?}");
    // A chain leaving what we serve: answered as far as it goes.
    let m = lab.ask(IN_LAB, "away.corp.lab.", RecordType::A);
    assert_rcode(&m, ResponseCode::NoError);
    assert_eq!(m.answers.len(), 1);
    assert_eq!(m.answers[0].record_type(), RecordType::CNAME);
}

#[test]
fn asking_for_the_cname_itself_does_not_follow_it() {
    let lab = lab();
    let m = lab.ask(IN_LAB, "oss.corp.lab.", RecordType::CNAME);
    assert_eq!(m.answers.len(), 1);
    assert_eq!(m.answers[0].record_type(), RecordType::CNAME);
}

#[test]
fn inbound_listener_answers_as_for_its_vpc() {
    let lab = lab();
    // An on-premises resolver outside every VPC asks the inbound listener.
    let q = query_msg("www.corp.lab.", RecordType::A);
    let m = udp_query(lab.inbound, ip(OUTSIDE), &q);
    assert_eq!(addrs(&m), ["127.0.5.1"]);
    let m = udp_query(lab.inbound, ip(OUTSIDE), &query_msg(CUSTOM, RecordType::A));
    assert_eq!(addrs(&m), ["127.0.1.10", "127.0.2.10"]);
    // Even a vpc-b client gets vpc-lab's view there.
    let m = udp_query(lab.inbound, ip(IN_B), &q);
    assert_eq!(addrs(&m), ["127.0.5.1"]);
    // TCP too.
    let m = &tcp_query(lab.inbound, &[q])[0];
    assert_eq!(addrs(m), ["127.0.5.1"]);
}

#[test]
fn endpoint_domains_still_answer_everyone() {
    let lab = lab();
    for from in [IN_LAB, IN_B, OUTSIDE] {
        let m = lab.ask(from, &endpoint("ep-b1"), RecordType::A);
        assert_eq!(addrs(&m), ["127.1.1.10"], "from {from}");
    }
}

#[test]
fn ecs_from_an_untrusted_resolver_does_not_select_the_view() {
    let lab = lab();
    // A resolver outside every VPC, not in `ecs_trusted`, passes a vpc-b
    // subnet: it is answered for its own address (more in tests/ecs_trust.rs).
    let m = lab.s.udp_from(
        ip(OUTSIDE),
        &ecs_query("www.corp.lab.", RecordType::A, "127.1.1.0/24"),
    );
    assert_rcode(&m, ResponseCode::Refused);
    assert!(m.answers.is_empty());
}

/// The reverse (in-addr.arpa) name of an IPv4 address.
fn reverse(ip: &str) -> String {
    let octets: Vec<&str> = ip.split('.').rev().collect();
    format!("{}.in-addr.arpa.", octets.join("."))
}

#[test]
fn eni_addresses_have_ptr_records_inside_their_vpc() {
    let lab = lab();
    let m = lab.ask(IN_LAB, &reverse("127.0.1.10"), RecordType::PTR);
    assert_rcode(&m, ResponseCode::NoError);
    assert!(m.metadata.authoritative);
    let RData::PTR(target) = &m.answers[0].data else {
        panic!("PTR: {m:?}")
    };
    assert_eq!(
        target.0.to_string(),
        zone_domain("ep-lab1", "cn-hangzhou-h")
    );
    assert_eq!(m.answers[0].ttl, 60);
    // vpc-b's ENI, from vpc-b.
    let m = lab.ask(IN_B, &reverse("127.1.1.10"), RecordType::PTR);
    let RData::PTR(target) = &m.answers[0].data else {
        panic!("PTR: {m:?}")
    };
    assert_eq!(target.0.to_string(), zone_domain("ep-b1", "cn-hangzhou-h"));
    // Other types: NODATA with an SOA.
    let m = lab.ask(IN_LAB, &reverse("127.0.1.10"), RecordType::A);
    assert_rcode(&m, ResponseCode::NoError);
    assert!(m.answers.is_empty());
    assert_eq!(m.authorities[0].record_type(), RecordType::SOA);
    // Not another VPC's ENI, not outsiders, not addresses that are no ENI.
    for (from, name) in [
        (IN_B, &reverse("127.0.1.10")),
        (OUTSIDE, &reverse("127.0.1.10")),
        (IN_LAB, &reverse("127.0.1.99")),
    ] {
        assert_rcode(&lab.ask(from, name, RecordType::PTR), ResponseCode::Refused);
    }
}
