//! CNAME chains through `Snapshot::answer`, the path the server takes: a
//! private zone loaded from a file beside the config, followed within the
//! zone, into the generated zone, a custom domain and another private zone;
//! loops and the `MAX_CNAME_CHAIN` cap; the RCODE of the last name (RFC 6604).

use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Arc;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, RecordType};

use super::answer::{Answer, Client, MAX_CNAME_CHAIN, Snapshot};
use super::tables::Tables;
use crate::load::load_str;

const CFG: &str = r#"
[server]
[server.soa]
ttl = 300
minimum = 30
[[vpc]]
id = "v"
region = "r1"
cidrs = ["127.0.0.0/16"]
[[vswitch]]
id = "sa"
vpc = "v"
zone = "za"
cidr = "127.0.1.0/24"
[[vswitch]]
id = "sb"
vpc = "v"
zone = "zb"
cidr = "127.0.2.0/24"
[[service]]
id = "s"
region = "r1"
zone_affinity = true
custom_domain = "oss.example.internal"
[[endpoint]]
id = "e"
vpc = "v"
service = "s"
zone_affinity = true
custom_domain = true
zones = [ { vswitch = "sa", ip = "127.0.1.10" }, { vswitch = "sb", ip = "127.0.2.10" } ]
[[private_zone]]
name = "corp.lab"
file = "corp.lab.zone"
vpcs = ["v"]
[[private_zone]]
name = "other.lab"
file = "other.lab.zone"
vpcs = ["v"]
"#;

const CORP: &str = "\
$ORIGIN corp.lab.
$TTL 300
@       3600 IN SOA ns1.corp.lab. hostmaster.corp.lab. 7 3600 600 86400 60
        IN NS    ns1
ns1     IN A     127.0.0.53
www     IN A     127.0.0.10
alias   IN CNAME www
alias2  IN CNAME alias
gone    IN CNAME nothere
ep      IN CNAME e.s.r1.privatelink.aliyuncs.com.
epnx    IN CNAME nope.s.r1.privatelink.aliyuncs.com.
custom  IN CNAME oss.example.internal.
other   IN CNAME host.other.lab.
out     IN CNAME www.example.com.
*.wc    IN CNAME www
loop1   IN CNAME loop2
loop2   IN CNAME loop1
a       IN CNAME b
b       IN CNAME c
c       IN CNAME b
";

const OTHER: &str = "\
$ORIGIN other.lab.
$TTL 120
@       IN SOA ns1.other.lab. hostmaster.other.lab. 1 3600 600 86400 60
        IN NS  ns1
ns1     IN A   127.0.0.54
host    IN A   127.0.0.20
";

/// A chain of `links` CNAMEs: `<p>0 → <p>1 → … → <p><links>`, whose last
/// name has an A record.
fn chain(p: &str, links: usize) -> String {
    let mut z = String::new();
    for i in 0..links {
        z += &format!("{p}{i} IN CNAME {p}{}\n", i + 1);
    }
    z += &format!("{p}{links} IN A 127.0.0.99\n");
    z
}

fn snapshot(cfg: &str) -> Snapshot {
    let dir = tempfile::tempdir().unwrap();
    let corp = format!("{CORP}{}{}{}", chain("d", 8), chain("n", 9), chain("c", 10));
    std::fs::write(dir.path().join("corp.lab.zone"), corp).unwrap();
    std::fs::write(dir.path().join("other.lab.zone"), OTHER).unwrap();
    let model = load_str(cfg, &dir.path().join("epdns.toml")).unwrap_or_else(|e| panic!("{e}"));
    Snapshot::all_up(Arc::new(Tables::build(&model, 1)))
}

/// A client of VPC `v` in zone za, asking without ECS.
fn member() -> Client {
    Client {
        addr: IpAddr::from([127, 0, 1, 50]),
        source_prefix: None,
        vpc: Some(0),
        may_forward: true,
    }
}

fn ask<'s>(s: &'s Snapshot, name: &str, qtype: RecordType) -> Answer<'s> {
    s.answer(&Name::from_str(name).unwrap(), qtype, &member())
}

/// A section as `owner TTL TYPE data` lines.
fn lines(records: &[std::borrow::Cow<'_, hickory_proto::rr::Record>]) -> Vec<String> {
    records
        .iter()
        .map(|r| format!("{} {} {} {}", r.name, r.ttl, r.record_type(), r.data))
        .collect()
}

/// NOERROR, authoritative, these answers and nothing else.
fn assert_answers(a: &Answer<'_>, want: &[String]) {
    assert_eq!(a.rcode, ResponseCode::NoError, "{a:?}");
    assert!(a.authoritative, "{a:?}");
    assert_eq!(lines(&a.answers), want);
    assert!(a.authority.is_empty(), "{a:?}");
    assert!(a.additionals.is_empty(), "{a:?}");
    assert_eq!(a.forward, None);
}

fn cname(owner: &str, target: &str) -> String {
    format!("{owner} 300 CNAME {target}")
}

#[test]
fn chain_is_followed_within_the_zone() {
    let s = snapshot(CFG);
    // Matched case-insensitively; owners as the zone file spells them.
    let a = ask(&s, "Alias2.corp.lab.", RecordType::A);
    assert_answers(
        &a,
        &[
            cname("alias2.corp.lab.", "alias.corp.lab."),
            cname("alias.corp.lab.", "www.corp.lab."),
            "www.corp.lab. 300 A 127.0.0.10".into(),
        ],
    );
    // A question for the CNAME itself is answered, not followed.
    let a = ask(&s, "alias2.corp.lab.", RecordType::CNAME);
    assert_answers(&a, &[cname("alias2.corp.lab.", "alias.corp.lab.")]);
}

#[test]
fn chain_is_followed_across_sources() {
    let s = snapshot(CFG);
    // Into the generated zone: the endpoint domain, narrowed by zone
    // affinity to the client's zone.
    let a = ask(&s, "ep.corp.lab.", RecordType::A);
    assert_answers(
        &a,
        &[
            cname("ep.corp.lab.", "e.s.r1.privatelink.aliyuncs.com."),
            "e.s.r1.privatelink.aliyuncs.com. 60 A 127.0.1.10".into(),
        ],
    );
    // Into the VPC's custom service domain.
    let a = ask(&s, "custom.corp.lab.", RecordType::A);
    assert_answers(
        &a,
        &[
            cname("custom.corp.lab.", "oss.example.internal."),
            "oss.example.internal. 60 A 127.0.1.10".into(),
        ],
    );
    // Into another private zone of the VPC.
    let a = ask(&s, "other.corp.lab.", RecordType::A);
    assert_answers(
        &a,
        &[
            cname("other.corp.lab.", "host.other.lab."),
            "host.other.lab. 120 A 127.0.0.20".into(),
        ],
    );
}

#[test]
fn wildcard_cname_is_synthesized_and_followed() {
    let s = snapshot(CFG);
    let a = ask(&s, "x.wc.corp.lab.", RecordType::A);
    assert_answers(
        &a,
        &[
            cname("x.wc.corp.lab.", "www.corp.lab."),
            "www.corp.lab. 300 A 127.0.0.10".into(),
        ],
    );
}

#[test]
fn loops_are_cut_where_a_name_comes_back() {
    let s = snapshot(CFG);
    // Back to the question's name.
    let a = ask(&s, "loop1.corp.lab.", RecordType::A);
    assert_answers(
        &a,
        &[
            cname("loop1.corp.lab.", "loop2.corp.lab."),
            cname("loop2.corp.lab.", "loop1.corp.lab."),
        ],
    );
    // Back to a name followed before.
    let a = ask(&s, "a.corp.lab.", RecordType::A);
    assert_answers(
        &a,
        &[
            cname("a.corp.lab.", "b.corp.lab."),
            cname("b.corp.lab.", "c.corp.lab."),
            cname("c.corp.lab.", "b.corp.lab."),
        ],
    );
}

#[test]
fn at_most_eight_targets_are_followed() {
    assert_eq!(MAX_CNAME_CHAIN, 8);
    let s = snapshot(CFG);
    let links = |p: &str, n: usize| -> Vec<String> {
        (0..n)
            .map(|i| {
                cname(
                    &format!("{p}{i}.corp.lab."),
                    &format!("{p}{}.corp.lab.", i + 1),
                )
            })
            .collect()
    };
    // Eight links: every target followed, the address answered.
    let mut want = links("d", 8);
    want.push("d8.corp.lab. 300 A 127.0.0.99".into());
    assert_answers(&ask(&s, "d0.corp.lab.", RecordType::A), &want);
    // Nine links: eight targets followed; the eighth's CNAME is answered
    // but its target (n9) is not looked up, so no address.
    assert_answers(&ask(&s, "n0.corp.lab.", RecordType::A), &links("n", 9));
    // Ten links: cut at the same place.
    assert_answers(&ask(&s, "c0.corp.lab.", RecordType::A), &links("c", 9));
}

#[test]
fn the_last_name_sets_the_rcode() {
    let s = snapshot(CFG);
    // NXDOMAIN inside the zone: the CNAME, then the zone's SOA with
    // TTL min(SOA TTL, MINIMUM) = 60.
    let a = ask(&s, "gone.corp.lab.", RecordType::A);
    assert_eq!(a.rcode, ResponseCode::NXDomain);
    assert!(a.authoritative);
    assert_eq!(
        lines(&a.answers),
        [cname("gone.corp.lab.", "nothere.corp.lab.")]
    );
    assert_eq!(
        lines(&a.authority),
        ["corp.lab. 60 SOA ns1.corp.lab. hostmaster.corp.lab. 7 3600 600 86400 60"]
    );
    // NXDOMAIN in the generated zone: its SOA (negative TTL 30).
    let a = ask(&s, "epnx.corp.lab.", RecordType::A);
    assert_eq!(a.rcode, ResponseCode::NXDomain);
    assert_eq!(
        lines(&a.answers),
        [cname(
            "epnx.corp.lab.",
            "nope.s.r1.privatelink.aliyuncs.com."
        )]
    );
    assert_eq!(a.authority.len(), 1);
    assert_eq!(a.authority[0].name.to_string(), "privatelink.aliyuncs.com.");
    assert_eq!(a.authority[0].ttl, 30);
    // NODATA at the end: NOERROR, the CNAME, the SOA.
    let a = ask(&s, "alias.corp.lab.", RecordType::MX);
    assert_eq!(a.rcode, ResponseCode::NoError);
    assert_eq!(
        lines(&a.answers),
        [cname("alias.corp.lab.", "www.corp.lab.")]
    );
    assert_eq!(a.authority.len(), 1);
    assert_eq!(a.authority[0].name.to_string(), "corp.lab.");
}

#[test]
fn a_chain_leaving_what_we_serve_stops_or_is_forwarded() {
    // Without [forward]: answered as far as it goes, authoritative.
    let s = snapshot(CFG);
    let a = ask(&s, "out.corp.lab.", RecordType::A);
    assert_answers(&a, &[cname("out.corp.lab.", "www.example.com.")]);
    // In resolver mode: the rest is resolved upstream for a member.
    let cfg = format!("{CFG}[forward]\nupstreams = [\"127.0.0.53:53\"]\n");
    let s = snapshot(&cfg);
    let a = ask(&s, "out.corp.lab.", RecordType::A);
    assert_eq!(
        lines(&a.answers),
        [cname("out.corp.lab.", "www.example.com.")]
    );
    assert_eq!(a.forward, Some(Name::from_str("www.example.com.").unwrap()));
    // A client that may not forward gets the chain as far as it goes.
    let outsider = Client {
        may_forward: false,
        ..member()
    };
    let a = s.answer(
        &Name::from_str("out.corp.lab.").unwrap(),
        RecordType::A,
        &outsider,
    );
    assert_eq!(a.forward, None);
    assert_eq!(
        lines(&a.answers),
        [cname("out.corp.lab.", "www.example.com.")]
    );
}

#[test]
fn private_names_need_the_view() {
    let s = snapshot(CFG);
    let nobody = Client {
        vpc: None,
        may_forward: false,
        ..member()
    };
    let a = s.answer(
        &Name::from_str("alias.corp.lab.").unwrap(),
        RecordType::A,
        &nobody,
    );
    assert_eq!(a.rcode, ResponseCode::Refused);
    assert!(a.answers.is_empty());
}
