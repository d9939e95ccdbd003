//! Additional-section addresses (RFC 1034 §4.3.2 step 6): an NS, MX or SRV
//! answer from a private zone carries the in-zone A/AAAA of its targets, as
//! NSD, Knot and BIND give them; and the generated zone's apex NS answer
//! gives the addresses the server really listens on.

mod common;

use common::*;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{RData, RecordType};

const ZONE: &str = r#"
$ORIGIN corp.lab.
$TTL 300
@        IN SOA ns hostmaster 1 3600 600 86400 120
@        IN NS  ns
@        IN NS  ns.outside.test.
ns       IN A   127.0.0.53
ns       IN AAAA fd00::53
@        IN MX  10 mail
@        IN MX  20 mail
@        IN MX  30 Wild.Hosts
@        IN MX  40 alias
@        IN MX  50 deep.sub
mail     IN A   127.0.5.2
mail     IN A   127.0.5.3
_ldap._tcp IN SRV 0 5 389 ldap
ldap     IN AAAA fd00::389
*.hosts  IN A   127.0.5.4
alias    IN CNAME mail
sub      IN NS  ns.sub
ns.sub   IN A   127.0.6.1
deep.sub IN A   127.0.6.2
nomx     IN MX  0 nothing
"#;

fn config() -> LabConfig {
    LabConfig::new()
        .server(r#"listen = ["127.0.0.66:5353"]"#)
        .vpc("vpc-lab", "cn-hangzhou", &["127.0.0.0/8"])
        .private_zone("corp.lab", &["vpc-lab"], "corp.lab.zone", ZONE)
}

/// (name, type, data) of every record in a section, sorted.
fn section(records: &[hickory_proto::rr::Record]) -> Vec<(String, RecordType, String)> {
    let mut v: Vec<_> = records
        .iter()
        .map(|r| {
            (
                r.name.to_string().to_ascii_lowercase(),
                r.record_type(),
                r.data.to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

fn rr(name: &str, t: RecordType, data: &str) -> (String, RecordType, String) {
    (name.to_string(), t, data.to_string())
}

#[test]
fn mx_answer_carries_its_in_zone_targets_addresses() {
    let server = Server::start(&config());
    let m = server.udp("corp.lab.", RecordType::MX);
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert!(m.metadata.authoritative);
    assert_eq!(m.answers.len(), 5);
    // `mail` twice in the MX set, once here; the wildcard answers for
    // `wild.hosts` under the name as written; `alias` owns a CNAME and
    // `deep.sub` is below a zone cut: neither adds anything.
    assert_eq!(
        section(&m.additionals),
        [
            rr("mail.corp.lab.", RecordType::A, "127.0.5.2"),
            rr("mail.corp.lab.", RecordType::A, "127.0.5.3"),
            rr("wild.hosts.corp.lab.", RecordType::A, "127.0.5.4"),
        ]
    );
    // A target without addresses adds nothing.
    let m = server.udp("nomx.corp.lab.", RecordType::MX);
    assert_eq!(m.answers.len(), 1);
    assert!(m.additionals.is_empty(), "{:?}", m.additionals);
}

#[test]
fn ns_and_srv_answers_carry_a_and_aaaa() {
    let server = Server::start(&config());
    let m = server.udp("corp.lab.", RecordType::NS);
    assert_eq!(m.answers.len(), 2);
    assert_eq!(
        section(&m.additionals),
        [
            rr("ns.corp.lab.", RecordType::A, "127.0.0.53"),
            rr("ns.corp.lab.", RecordType::AAAA, "fd00::53"),
        ],
        "the out-of-zone name server adds nothing"
    );
    let m = server.udp("_ldap._tcp.corp.lab.", RecordType::SRV);
    assert_eq!(m.answers.len(), 1);
    assert_eq!(
        section(&m.additionals),
        [rr("ldap.corp.lab.", RecordType::AAAA, "fd00::389")]
    );
    // A referral keeps its glue, as before.
    let m = server.udp("x.sub.corp.lab.", RecordType::A);
    assert!(!m.metadata.authoritative);
    assert_eq!(
        section(&m.additionals),
        [rr("ns.sub.corp.lab.", RecordType::A, "127.0.6.1")]
    );
}

#[test]
fn additional_addresses_that_do_not_fit_are_left_out_without_tc() {
    // 20 MX targets with an address each: the MX set fits in 512 octets,
    // the addresses do not. RFC 2181 §9: TC only when the answer itself is
    // cut; the optional addresses are dropped instead.
    let mut zone = String::from(
        "$ORIGIN big.lab.\n$TTL 300\n@ IN SOA ns hostmaster 1 3600 600 86400 120\n@ IN NS ns\nns IN A 127.0.0.53\n",
    );
    for i in 0..20 {
        zone.push_str(&format!("@ IN MX {i} m{i}\nm{i} IN A 127.0.7.{i}\n"));
    }
    let config = LabConfig::new()
        .vpc("vpc-lab", "cn-hangzhou", &["127.0.0.0/8"])
        .private_zone("big.lab", &["vpc-lab"], "big.lab.zone", &zone);
    let server = Server::start(&config);
    let m = server.udp_msg(&edns_query("big.lab.", RecordType::MX, 512));
    assert!(!m.metadata.truncation);
    assert_eq!(m.answers.len(), 20);
    assert!(m.additionals.is_empty());
    // Over TCP everything fits.
    let m = &server.tcp(&[query_msg("big.lab.", RecordType::MX)])[0];
    assert_eq!(m.answers.len(), 20);
    assert_eq!(m.additionals.len(), 20);
}

/// The apex NS of the generated zone: its name server's addresses are
/// where the server listens (`--listen`), not the config's `listen`.
#[test]
fn generated_apex_ns_gives_the_addresses_served() {
    let server = Server::start_with_args(&config(), &["--listen", "127.0.0.8:0"]);
    let m: Message = server.udp("privatelink.aliyuncs.com.", RecordType::NS);
    assert_eq!(m.answers.len(), 1);
    let served: Vec<String> = m
        .additionals
        .iter()
        .map(|r| match &r.data {
            RData::A(a) => a.0.to_string(),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(served, ["127.0.0.1", "127.0.0.8"]);
    let m = server.udp("ns.privatelink.aliyuncs.com.", RecordType::A);
    assert_eq!(served, addrs(&m));
}
