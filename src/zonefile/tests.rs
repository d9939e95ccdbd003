//! Loading and answering, as the integrator will use them.

use std::{borrow::Cow, fs, path::Path};

use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::*;

const ZONE: &str = r#"$ORIGIN corp.lab.
$TTL 300
@        3600 IN SOA ns1 hostmaster ( 2026112601 3600 600 86400 60 )
         IN NS    ns1
ns1      IN A     127.0.0.53
www      IN A     127.0.0.10
www      IN AAAA  ::1
MixedCase IN A    127.0.0.11
@        IN MX    10 mx1
mx1      IN A     127.0.0.25
@        IN TXT   "v=spf1 -all"
_ldap._tcp IN SRV 0 100 389 dc1
dc1      IN A     127.0.0.30
oss      IN CNAME ep-lab1.epsrv-oss.cn-hangzhou.privatelink.aliyuncs.com.
alias    IN CNAME www
alias2   IN CNAME alias
gone     IN CNAME nothere
*.apps   IN A     127.0.0.80
*.apps   IN TXT   "wild"
real.apps IN TXT  "real"
host.team.apps IN A 127.0.0.81
a.b.deep IN A     127.0.0.40
*.wc     IN CNAME www
sub      IN NS    ns.sub
ns.sub   IN A     127.0.0.54
loop1    IN CNAME loop2
loop2    IN CNAME loop1
"#;

/// As a query name decoded from the wire: ASCII case kept.
fn name(s: &str) -> Name {
    Name::from_ascii(s).unwrap()
}

fn origin() -> Name {
    name("corp.lab.")
}

fn zone() -> PrivateZone {
    PrivateZone::from_str(&origin(), ZONE, Path::new("corp.lab.zone")).unwrap()
}

/// The message of loading `text` as `corp.lab.zone`, which must fail.
fn error(text: &str) -> String {
    PrivateZone::from_str(&origin(), text, Path::new("corp.lab.zone"))
        .unwrap_err()
        .to_string()
}

fn records<'a>(answer: ZoneAnswer<'a>) -> Cow<'a, [Record]> {
    match answer {
        ZoneAnswer::Records(records) => records,
        other => panic!("expected records, got {other:?}"),
    }
}

fn rdata(answer: ZoneAnswer<'_>) -> Vec<String> {
    let mut out: Vec<String> = records(answer).iter().map(|r| r.data.to_string()).collect();
    out.sort();
    out
}

const SOA_LINE: &str = "@ 3600 IN SOA ns1 hostmaster ( 1 3600 600 86400 60 )\n";

// ---- record types ---------------------------------------------------------

#[test]
fn answers_each_record_type() {
    let zone = zone();
    let q = |n: &str, t| rdata(zone.lookup(&name(n), t));
    assert_eq!(q("www.corp.lab.", RecordType::A), ["127.0.0.10"]);
    assert_eq!(q("www.corp.lab.", RecordType::AAAA), ["::1"]);
    assert_eq!(q("corp.lab.", RecordType::MX), ["10 mx1.corp.lab."]);
    assert_eq!(q("corp.lab.", RecordType::TXT), ["v=spf1 -all"]);
    assert_eq!(
        q("_ldap._tcp.corp.lab.", RecordType::SRV),
        ["0 100 389 dc1.corp.lab."]
    );
    assert_eq!(q("corp.lab.", RecordType::NS), ["ns1.corp.lab."]);
    assert_eq!(q("alias.corp.lab.", RecordType::CNAME), ["www.corp.lab."]);
    assert_eq!(
        zone.lookup(&origin(), RecordType::SOA),
        ZoneAnswer::Records(Cow::Borrowed(std::slice::from_ref(zone.soa())))
    );
    assert_eq!(zone.soa().name, origin());
    assert_eq!(zone.soa().ttl, 3600);
    assert!(zone.len() >= 25);
}

#[test]
fn ttls_come_from_the_record_or_ttl_directive() {
    let zone = zone();
    assert_eq!(
        records(zone.lookup(&name("www.corp.lab."), RecordType::A))[0].ttl,
        300
    );
    let text = format!("$TTL 120\n{SOA_LINE}a 30 A 127.0.0.1\nb A 127.0.0.2\n");
    let zone = PrivateZone::from_str(&origin(), &text, Path::new("z")).unwrap();
    assert_eq!(
        records(zone.lookup(&name("a.corp.lab."), RecordType::A))[0].ttl,
        30
    );
    assert_eq!(
        records(zone.lookup(&name("b.corp.lab."), RecordType::A))[0].ttl,
        120
    );
}

#[test]
fn names_are_case_insensitive_and_answers_keep_the_zone_case() {
    let zone = zone();
    let answer = records(zone.lookup(&name("MIXEDCASE.Corp.LAB."), RecordType::A));
    assert_eq!(answer[0].name.to_string(), "MixedCase.corp.lab.");
    let answer = records(zone.lookup(&name("WWW.CORP.LAB."), RecordType::A));
    assert_eq!(answer[0].name.to_string(), "www.corp.lab.");
}

#[test]
fn any_returns_every_record_of_the_name() {
    let zone = zone();
    assert_eq!(
        rdata(zone.lookup(&name("www.corp.lab."), RecordType::ANY)),
        ["127.0.0.10", "::1"]
    );
    assert_eq!(
        zone.lookup(&name("deep.corp.lab."), RecordType::ANY),
        ZoneAnswer::NoData
    );
}

// ---- negative answers -----------------------------------------------------

#[test]
fn nxdomain_nodata_and_empty_non_terminals() {
    let zone = zone();
    assert_eq!(
        zone.lookup(&name("nope.corp.lab."), RecordType::A),
        ZoneAnswer::NxDomain
    );
    assert_eq!(
        zone.lookup(&name("www.corp.lab."), RecordType::MX),
        ZoneAnswer::NoData
    );
    // deep and b.deep exist only because a.b.deep does (RFC 8020).
    for ent in ["deep.corp.lab.", "b.deep.corp.lab."] {
        assert_eq!(zone.lookup(&name(ent), RecordType::A), ZoneAnswer::NoData);
    }
    assert_eq!(
        zone.lookup(&name("c.b.deep.corp.lab."), RecordType::A),
        ZoneAnswer::NxDomain
    );
}

#[test]
fn negative_ttl_is_the_lesser_of_soa_ttl_and_minimum() {
    assert_eq!(zone().negative_ttl(), 60);
    let text = "@ 30 IN SOA ns1 hostmaster ( 1 3600 600 86400 60 )\n";
    let zone = PrivateZone::from_str(&origin(), text, Path::new("z")).unwrap();
    assert_eq!(zone.negative_ttl(), 30);
}

#[test]
fn names_outside_the_zone_are_not_contained() {
    let zone = zone();
    assert!(zone.contains(&name("WWW.corp.lab.")));
    assert!(zone.contains(&name("corp.lab.")));
    assert!(!zone.contains(&name("lab.")));
    assert!(!zone.contains(&name("www.corp.lab.example.")));
    assert_eq!(
        zone.lookup(&name("www.other.lab."), RecordType::A),
        ZoneAnswer::NxDomain
    );
}

// ---- wildcards (RFC 4592) -------------------------------------------------

#[test]
fn wildcard_synthesizes_with_the_query_name_as_owner() {
    let zone = zone();
    let answer = records(zone.lookup(&name("Web1.Apps.corp.lab."), RecordType::A));
    assert_eq!(answer.len(), 1);
    assert_eq!(answer[0].name.to_string(), "Web1.Apps.corp.lab.");
    assert_eq!(answer[0].data.to_string(), "127.0.0.80");
    // Several labels below the closest encloser match too.
    let answer = records(zone.lookup(&name("x.y.apps.corp.lab."), RecordType::TXT));
    assert_eq!(answer[0].name, name("x.y.apps.corp.lab."));
    assert_eq!(
        zone.lookup(&name("web1.apps.corp.lab."), RecordType::AAAA),
        ZoneAnswer::NoData
    );
}

#[test]
fn wildcard_does_not_match_existing_names_or_below_other_enclosers() {
    let zone = zone();
    // real.apps exists: no synthesis, even for a type it lacks.
    assert_eq!(
        zone.lookup(&name("real.apps.corp.lab."), RecordType::A),
        ZoneAnswer::NoData
    );
    // team.apps is an empty non-terminal: it exists, so no synthesis.
    assert_eq!(
        zone.lookup(&name("team.apps.corp.lab."), RecordType::A),
        ZoneAnswer::NoData
    );
    // Below team.apps the closest encloser is team.apps, which has no `*`.
    assert_eq!(
        zone.lookup(&name("other.team.apps.corp.lab."), RecordType::A),
        ZoneAnswer::NxDomain
    );
    // The wildcard name itself is an ordinary exact match.
    assert_eq!(
        rdata(zone.lookup(&name("*.apps.corp.lab."), RecordType::A)),
        ["127.0.0.80"]
    );
}

#[test]
fn wildcard_cname_is_synthesized_too() {
    let zone = zone();
    match zone.lookup(&name("x.wc.corp.lab."), RecordType::A) {
        ZoneAnswer::Cname(cname) => {
            assert_eq!(cname.name, name("x.wc.corp.lab."));
            assert_eq!(cname.data.to_string(), "www.corp.lab.");
        }
        other => panic!("{other:?}"),
    }
}

// ---- delegation -----------------------------------------------------------

#[test]
fn names_at_and_below_a_cut_are_referrals_with_glue() {
    let zone = zone();
    for qname in ["sub.corp.lab.", "ns.sub.corp.lab.", "x.y.sub.corp.lab."] {
        match zone.lookup(&name(qname), RecordType::A) {
            ZoneAnswer::Delegation { ns, glue } => {
                assert_eq!(ns.len(), 1, "{qname}");
                assert_eq!(ns[0].data.to_string(), "ns.sub.corp.lab.");
                assert_eq!(glue.len(), 1);
                assert_eq!(glue[0].data.to_string(), "127.0.0.54");
            }
            other => panic!("{qname}: {other:?}"),
        }
    }
    // DS belongs to the parent side of the cut.
    assert_eq!(
        zone.lookup(&name("sub.corp.lab."), RecordType::DS),
        ZoneAnswer::NoData
    );
    // NS at the apex is authoritative data, not a cut.
    assert!(matches!(
        zone.lookup(&origin(), RecordType::NS),
        ZoneAnswer::Records(_)
    ));
}

// ---- directives -----------------------------------------------------------

#[test]
fn origin_directive_changes_relative_names() {
    let text = format!("{SOA_LINE}$ORIGIN eng.corp.lab.\nbuild 60 A 127.0.0.5\n");
    let zone = PrivateZone::from_str(&origin(), &text, Path::new("z")).unwrap();
    assert_eq!(
        rdata(zone.lookup(&name("build.eng.corp.lab."), RecordType::A)),
        ["127.0.0.5"]
    );
}

#[test]
fn include_reads_files_beside_the_zone_and_restores_the_origin() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("hosts.inc"),
        "; hosts\n$ORIGIN elsewhere.corp.lab.\nh1 60 A 127.0.0.61\n",
    )
    .unwrap();
    fs::write(dir.path().join("eng.inc"), "h2 60 A 127.0.0.62\n").unwrap();
    let main = dir.path().join("corp.lab.zone");
    fs::write(
        &main,
        format!("{SOA_LINE}$INCLUDE hosts.inc\nafter1 60 A 127.0.0.63\n$INCLUDE eng.inc eng\nafter2 60 A 127.0.0.64\n"),
    )
    .unwrap();
    let zone = PrivateZone::load(&origin(), &main).unwrap();
    for (qname, ip) in [
        ("h1.elsewhere.corp.lab.", "127.0.0.61"),
        ("h2.eng.corp.lab.", "127.0.0.62"),
        // The included file's $ORIGIN does not leak into the parent (RFC 1035 §5.1).
        ("after1.corp.lab.", "127.0.0.63"),
        ("after2.corp.lab.", "127.0.0.64"),
    ] {
        assert_eq!(
            rdata(zone.lookup(&name(qname), RecordType::A)),
            [ip],
            "{qname}"
        );
    }
}

#[test]
fn include_errors_name_the_included_file_and_its_line() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("hosts.inc"),
        "ok 60 A 127.0.0.1\n\nbad 60 A 127.0.0.999\n",
    )
    .unwrap();
    let main = dir.path().join("corp.lab.zone");
    fs::write(&main, format!("{SOA_LINE}$INCLUDE hosts.inc\n")).unwrap();
    let message = PrivateZone::load(&origin(), &main).unwrap_err().to_string();
    assert!(message.contains("hosts.inc:3:"), "{message}");
    assert!(message.contains("127.0.0.999"), "{message}");

    fs::write(&main, format!("{SOA_LINE}\n$INCLUDE missing.inc\n")).unwrap();
    let message = PrivateZone::load(&origin(), &main).unwrap_err().to_string();
    assert!(message.contains("corp.lab.zone:3:"), "{message}");
    assert!(message.contains("missing.inc"), "{message}");

    fs::write(dir.path().join("self.inc"), "$INCLUDE self.inc\n").unwrap();
    fs::write(&main, format!("{SOA_LINE}$INCLUDE self.inc\n")).unwrap();
    let message = PrivateZone::load(&origin(), &main).unwrap_err().to_string();
    assert!(message.contains("self.inc:1:"), "{message}");
    assert!(message.contains("includes itself"), "{message}");
}

#[test]
fn missing_file_is_named() {
    let message = PrivateZone::load(&origin(), Path::new("/nonexistent/corp.lab.zone"))
        .unwrap_err()
        .to_string();
    assert!(
        message.starts_with("/nonexistent/corp.lab.zone: cannot read"),
        "{message}"
    );
}

// ---- reverse zones --------------------------------------------------------

#[test]
fn reverse_zones_answer_ptr_for_ptr_name() {
    let v4 = "@ 60 IN SOA ns1.corp.lab. hostmaster.corp.lab. ( 1 3600 600 86400 60 )\n10 PTR www.corp.lab.\n";
    let zone = PrivateZone::from_str(&name("0.0.127.in-addr.arpa."), v4, Path::new("v4")).unwrap();
    let qname = ptr_name("127.0.0.10".parse().unwrap());
    assert_eq!(
        rdata(zone.lookup(&qname, RecordType::PTR)),
        ["www.corp.lab."]
    );

    let v6_origin = name(&format!("{}ip6.arpa.", "0.".repeat(16)));
    let v6 = format!(
        "@ 60 IN SOA ns1.corp.lab. hostmaster.corp.lab. ( 1 3600 600 86400 60 )\n1{} PTR localhost.\n",
        ".0".repeat(15)
    );
    let zone = PrivateZone::from_str(&v6_origin, &v6, Path::new("v6")).unwrap();
    let qname = ptr_name("::1".parse().unwrap());
    assert!(zone.contains(&qname));
    assert_eq!(rdata(zone.lookup(&qname, RecordType::PTR)), ["localhost."]);
}

// ---- errors name the file and the right line -------------------------------

#[test]
fn bad_address_is_pinned_on_its_line() {
    let text = format!(
        "{SOA_LINE}; hosts\nok 60 A 127.0.0.1\nbad 60 A 127.0.0.300\nlater 60 A 127.0.0.2\n"
    );
    let message = error(&text);
    assert!(message.starts_with("corp.lab.zone:4:10: "), "{message}");
    assert!(message.contains("`bad 60 A 127.0.0.300`"), "{message}");

    let message = error(&format!("{SOA_LINE}six 60 AAAA 127.0.0.1\n"));
    assert!(message.starts_with("corp.lab.zone:2:13: "), "{message}");
}

#[test]
fn unknown_type_is_pinned_on_its_line() {
    let message = error(&format!("{SOA_LINE}\n\nwww 60 IN AX 127.0.0.1\n"));
    assert!(message.starts_with("corp.lab.zone:4:11: "), "{message}");
    assert!(message.contains("AX"), "{message}");
}

#[test]
fn missing_ttl_is_pinned_on_its_record() {
    // As BIND: with no $TTL and no TTL given, an SOA takes its MINIMUM and
    // later records the last TTL given ...
    let text = "@ IN SOA ns1 hostmaster (\n 1 3600 600 86400 60 )\nwww A 127.0.0.1\n";
    let zone = PrivateZone::from_str(&origin(), text, Path::new("z")).unwrap();
    assert_eq!(zone.soa().ttl, 60);
    assert_eq!(
        records(zone.lookup(&name("www.corp.lab."), RecordType::A))[0].ttl,
        60
    );
    // ... but any other first record needs one.
    let text = "; no $TTL and no TTL on the first record\n\nwww IN A 127.0.0.1\n{SOA_LINE}";
    let text = text.replace("{SOA_LINE}", SOA_LINE);
    let message = error(&text);
    assert!(
        message.starts_with("corp.lab.zone:3:1: no TTL"),
        "{message}"
    );
}

#[test]
fn garbage_is_pinned_on_its_token() {
    let message = error(&format!("{SOA_LINE}www 60 A 127.0.0.1\nthis is garbage\n"));
    assert!(message.starts_with("corp.lab.zone:3:6: "), "{message}");
    assert!(message.contains("`this is garbage`"), "{message}");

    let message = error(&format!(
        "{SOA_LINE}www 60 A 127.0.0.1 )\nok 60 A 127.0.0.2\n"
    ));
    assert!(
        message.starts_with("corp.lab.zone:2:20: `)` without `(`"),
        "{message}"
    );

    // A parenthesis never closed: blamed on the parenthesis.
    let message = error(&format!(
        "{SOA_LINE}txt 60 TXT ( \"a\"\nwww 60 A 127.0.0.1\n"
    ));
    assert!(
        message.starts_with("corp.lab.zone:2:12: `(` is never closed"),
        "{message}"
    );
}

#[test]
fn bad_field_in_a_multi_line_record_is_pinned_on_its_token() {
    let text =
        "$TTL 60\n@ IN SOA ns1 hostmaster (\n 1 ; serial\n soon ; refresh\n 600 86400 60 )\n";
    let message = error(text);
    assert!(message.starts_with("corp.lab.zone:4:2: "), "{message}");
}

#[test]
fn zone_without_soa_is_rejected() {
    let message = error("$TTL 60\nwww A 127.0.0.1\n");
    assert_eq!(
        message,
        "corp.lab.zone: no SOA record at the zone apex corp.lab."
    );
}

#[test]
fn records_outside_the_origin_are_pinned_on_their_line() {
    let message = error(&format!(
        "{SOA_LINE}www 60 A 127.0.0.1\nwww.other.lab. 60 A 127.0.0.2\n"
    ));
    assert!(message.starts_with("corp.lab.zone:3:1: "), "{message}");
    assert!(message.contains("outside the zone corp.lab."), "{message}");
}

#[test]
fn cname_beside_other_data_is_pinned_on_the_later_record() {
    let message = error(&format!(
        "{SOA_LINE}www 60 A 127.0.0.1\nmail 60 MX 10 www\nwww 60 CNAME mail\n"
    ));
    assert!(message.starts_with("corp.lab.zone:4:1: "), "{message}");
    assert!(
        message.contains("www.corp.lab. has a CNAME and other data"),
        "{message}"
    );

    let message = error(&format!("{SOA_LINE}x 60 CNAME www\nx 60 TXT \"t\"\n"));
    assert!(message.starts_with("corp.lab.zone:3:1: "), "{message}");
}

#[test]
fn soa_below_the_apex_is_rejected() {
    let message = error(&format!(
        "{SOA_LINE}sub 60 SOA ns1 hostmaster ( 1 3600 600 86400 60 )\n"
    ));
    assert!(message.starts_with("corp.lab.zone:2:1: "), "{message}");
    assert!(message.contains("not at the zone apex"), "{message}");
}

#[test]
fn classes_other_than_in_are_rejected() {
    let message = error(&format!(
        "{SOA_LINE}www 60 A 127.0.0.1\nver 60 CH TXT \"x\"\n"
    ));
    assert!(message.starts_with("corp.lab.zone:3:1: "), "{message}");
    assert!(message.contains("only IN is served"), "{message}");
}

#[test]
fn records_lists_the_whole_zone() {
    let zone = zone();
    assert_eq!(zone.records().count(), zone.len());
    assert!(zone.records().any(|r| r.record_type() == RecordType::SRV));
}

#[test]
fn error_reports_line_and_path_accessors() {
    let err = PrivateZone::from_str(
        &origin(),
        &format!("{SOA_LINE}bad 60 A x\n"),
        Path::new("corp.lab.zone"),
    )
    .unwrap_err();
    assert_eq!(err.line(), Some(2));
    assert_eq!(err.path(), Path::new("corp.lab.zone"));
    assert!(matches!(err.faults()[0].kind, FaultKind::Syntax(_)));
}

#[test]
fn rdata_types_are_what_the_file_says() {
    let zone = zone();
    let mx = records(zone.lookup(&origin(), RecordType::MX));
    assert!(matches!(mx[0].data, RData::MX(_)));
}

#[test]
fn arbitrary_text_is_rejected_with_a_line_inside_the_file() {
    // A small deterministic generator: no dependency, same cases every run.
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let alphabet: &[&str] = &[
        "a",
        " ",
        "(",
        ")",
        "\"",
        ";",
        "\\",
        "\n",
        "\t",
        "A",
        "60",
        "127.0.0.1",
        "@",
        "$TTL",
        "$ORIGIN",
        "IN",
        "CNAME",
        "*",
    ];
    for _ in 0..300 {
        let mut text = String::from(SOA_LINE);
        for _ in 0..(next() % 40) {
            text.push_str(alphabet[(next() % alphabet.len() as u64) as usize]);
        }
        let lines = text.lines().count().max(1);
        if let Err(err) = PrivateZone::from_str(&origin(), &text, Path::new("fuzz.zone")) {
            if let Some(line) = err.line() {
                assert!((1..=lines).contains(&line), "{err} in {text:?}");
            }
            assert!(err.to_string().starts_with("fuzz.zone"), "{err}");
        }
    }
}

// ---- what hickory's parser refused or served wrong -----------------------

/// The RDATA of a record as it goes on the wire (names uncompressed).
fn wire(record: &Record) -> Vec<u8> {
    use hickory_proto::serialize::binary::{BinEncodable, BinEncoder, NameEncoding};
    let mut out = Vec::new();
    let mut encoder = BinEncoder::new(&mut out);
    encoder.set_name_encoding(NameEncoding::Uncompressed);
    record.data.emit(&mut encoder).unwrap();
    out
}

#[test]
fn types_and_syntax_bind_reads_load_byte_for_byte() {
    let text = format!(
        r#"$TTL 60
{SOA_LINE}ds IN DS 12345 8 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE5A7A7D1A2B3C4D5E6F708192
rp IN RP mbox txt
spf IN SPF "v=spf1 -all"
loc IN LOC 51 30 12.748 N 0 7 39.611 W 0.00m 0.00m 0.00m 0.00m
mb IN MB mail
mg IN MG mail
mr IN MR mail
dname IN DNAME target.example.
hightype IN TYPE65534 \# 5 07ED260001
www2 IN CNAME @
esc IN TXT "\195\133LAND"
dkim IN TXT ( "v=DKIM1; k=rsa; "
              "p=MIGf MA0G" ; comment
              "tail" )
"#
    );
    let zone = PrivateZone::from_str(&origin(), &text, Path::new("z")).unwrap();
    let one = |n: &str, t: RecordType| records(zone.lookup(&name(n), t))[0].clone();
    for (n, t) in [
        ("ds.corp.lab.", 43),
        ("rp.corp.lab.", 17),
        ("spf.corp.lab.", 99),
        ("loc.corp.lab.", 29),
        ("mb.corp.lab.", 7),
        ("mg.corp.lab.", 8),
        ("dname.corp.lab.", 39),
    ] {
        let t = RecordType::from(t);
        assert_eq!(one(n, t).record_type(), t, "{n}");
    }
    assert_eq!(
        wire(&one("hightype.corp.lab.", RecordType::from(65534))),
        b"\x07\xed\x26\x00\x01"
    );
    assert_eq!(
        wire(&one("www2.corp.lab.", RecordType::CNAME)),
        b"\x04corp\x03lab\x00"
    );
    assert_eq!(
        wire(&one("esc.corp.lab.", RecordType::TXT)),
        b"\x06\xc3\x85LAND"
    );
    assert_eq!(
        wire(&one("dkim.corp.lab.", RecordType::TXT)),
        b"\x10v=DKIM1; k=rsa; \x0bp=MIGf MA0G\x04tail"
    );
    assert_eq!(
        wire(&one("mr.corp.lab.", RecordType::from(9))),
        b"\x04mail\x04corp\x03lab\x00"
    );
}

#[test]
fn generate_makes_one_record_per_value() {
    let text = format!(
        "$TTL 60\n{SOA_LINE}$GENERATE 1-3 host-$ A 127.0.0.$\n$GENERATE 10-11 ${{0,3,d}}.r PTR host-${{-9}}\n"
    );
    let zone = PrivateZone::from_str(&origin(), &text, Path::new("z")).unwrap();
    assert_eq!(
        rdata(zone.lookup(&name("host-3.corp.lab."), RecordType::A)),
        ["127.0.0.3"]
    );
    assert_eq!(
        rdata(zone.lookup(&name("011.r.corp.lab."), RecordType::PTR)),
        ["host-2.corp.lab."]
    );
}

#[test]
fn every_fault_of_a_zone_is_reported_with_line_and_column() {
    let text = format!(
        "$TTL 60\n{SOA_LINE}a A 127.0.0.300\nok A 127.0.0.1\nb AAAA nonsense\nc MX ten mail\n\"quoted\n"
    );
    let err = PrivateZone::from_str(&origin(), &text, Path::new("corp.lab.zone")).unwrap_err();
    let message = err.to_string();
    let lines: Vec<&str> = message.lines().collect();
    assert_eq!(lines.len(), 4, "{message}");
    assert!(
        lines[0].starts_with("corp.lab.zone:3:5: expected an IPv4 address"),
        "{message}"
    );
    assert!(
        lines[1].starts_with("corp.lab.zone:5:8: expected an IPv6 address"),
        "{message}"
    );
    assert!(
        lines[2].starts_with("corp.lab.zone:6:6: expected a preference"),
        "{message}"
    );
    assert!(
        lines[3].starts_with("corp.lab.zone:7:1: quoted string not closed"),
        "{message}"
    );
    assert_eq!(err.faults().len(), 4);
    assert_eq!(
        (err.faults()[1].line, err.faults()[1].column),
        (Some(5), Some(8))
    );
}

#[test]
fn faults_past_the_cap_are_counted() {
    let mut text = format!("$TTL 60\n{SOA_LINE}");
    for i in 0..150 {
        text.push_str(&format!("h{i} A bad\n"));
    }
    let err = PrivateZone::from_str(&origin(), &text, Path::new("z")).unwrap_err();
    assert_eq!(err.faults().len(), 101);
    assert!(
        err.to_string().ends_with("50 more faults not listed"),
        "{err}"
    );
}

#[test]
fn rrsets_take_the_first_ttl_and_drop_repeated_records() {
    let text = format!("{SOA_LINE}a 30 A 127.0.0.1\na 90 A 127.0.0.2\na 90 A 127.0.0.1\n");
    let zone = PrivateZone::from_str(&origin(), &text, Path::new("z")).unwrap();
    let set = records(zone.lookup(&name("a.corp.lab."), RecordType::A));
    assert_eq!(set.len(), 2);
    assert!(set.iter().all(|r| r.ttl == 30));
}

#[test]
fn second_cname_and_second_soa_are_rejected() {
    let message = error(&format!("{SOA_LINE}x 60 CNAME a\nx 60 CNAME b\n"));
    assert!(
        message.starts_with("corp.lab.zone:3:1: x.corp.lab. has two CNAME records"),
        "{message}"
    );
    let message = error(&format!(
        "{SOA_LINE}@ 60 SOA ns2 hostmaster ( 2 3600 600 86400 60 )\n"
    ));
    assert!(
        message.starts_with("corp.lab.zone:2:1: a second SOA"),
        "{message}"
    );
}

#[test]
fn obsolete_and_meta_types_are_refused() {
    let message = error(&format!("{SOA_LINE}m 60 MD mail\n"));
    assert!(
        message.starts_with("corp.lab.zone:2:9: MD and MF are obsolete"),
        "{message}"
    );
    let message = error(&format!("{SOA_LINE}m 60 OPT \\# 0\n"));
    assert!(
        message.starts_with("corp.lab.zone:2:6: OPT is not a type of zone data"),
        "{message}"
    );
    let message = error(&format!("{SOA_LINE}m 60 A \\# 3 010203\n"));
    assert!(message.contains("not a valid A"), "{message}");
}
