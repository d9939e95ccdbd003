//! The zone-file loader against BIND 9 itself: a zone holding every type
//! BIND knows, plus RFC 3597 generic records, loads in a running epdns, and
//! `dig` shows each record epdns serves exactly as BIND's `named-compilezone`
//! prints it from the same file.
//!
//! Both sides are BIND's own renderings (dig and named-compilezone share
//! libdns's presentation code), so a difference is a difference in the
//! bytes: in what epdns loaded or in how it serves them.
//!
//! Needs `named-compilezone` (Debian: bind9-utils, pulled in by bind9) and
//! `dig` (bind9-dnsutils). Missing: the test fails under CI=true and prints
//! a SKIPPED line otherwise.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

/// Every type BIND 9.18 reads from a zone file for class IN (MD and MF
/// excepted: BIND refuses them as obsolete, and so does epdns), written
/// the way operators write them: multi-line entries, quoted strings with
/// `;` and blanks, `\DDD` escapes, `@` and relative names in RDATA,
/// generic RFC 3597 syntax for known and unknown types, `CLASS1`, and
/// `$GENERATE`.
const ZONE: &str = r#"$TTL 300
@               IN SOA   ns1 hostmaster ( 2026120101 ; serial
                                          1h 10m 1d 60 )
                IN NS    ns1
ns1             IN A     127.0.0.53
a               IN A     127.0.0.1
a               IN A     127.0.0.2
ns              IN NS    ns1.all.lab.
cname           IN CNAME @
mb              IN MB    mail
mg              IN MG    mail
mr              IN MR    mail
null            IN NULL  \# 3 010203
wks             IN WKS   127.0.0.1 6 25 80
ptr             IN PTR   a
hinfo           IN HINFO "Generic PC" "Linux 6"
minfo           IN MINFO rmail emailbx
mx              IN MX    10 mail
txt             IN TXT   "\195\133LAND" "a;b" "quote\"d" plain \065\\
txt2            IN TXT   ( "v=DKIM1; k=rsa; "
                           "p=MIGfMA0G CSqGSIb3" ; a comment ( with a parenthesis
                           "tail" )
rp              IN RP    mbox.all.lab. txt
afsdb           IN AFSDB 1 afs.all.lab.
x25             IN X25   "311061700956"
isdn            IN ISDN  "150862028003217" "004"
isdn1           IN ISDN  "150862028003217"
rt              IN RT    2 relay
nsap            IN NSAP  0x47.0005.80.005a00.0000.0001.e133.ffffff000161.00
nsap-ptr        IN NSAP-PTR nsap
sig             IN SIG   A 8 3 300 20270101000000 20260101000000 12345 all.lab. AwEAAbM=
key             IN KEY   256 3 8 AwEAAbM=
px              IN PX    10 map822 mapx400
gpos            IN GPOS  -22.6882 116.8652 250.0
aaaa            IN AAAA  2001:db8::1
loc             IN LOC   51 30 12.748 N 0 7 39.611 W 0.00m 0.00m 0.00m 0.00m
loc2            IN LOC   42 21 43.528 N 71 05 06.284 W -24m 30m 10000m 10m
loc3            IN LOC   42 N 71 W 10m
nxt             IN NXT   a.all.lab. A NXT
eid             IN EID   12345678
nimloc          IN NIMLOC 32203245
srv             IN SRV   0 100 389 a
atma            IN ATMA  39246f00e7c9c0312000100100001234567800
atma-e164       IN ATMA  +358400123456
naptr           IN NAPTR 100 10 "S" "SIP+D2U" "!^.*$!sip:x@y!" _sip._udp
kx              IN KX    10 a
cert            IN CERT  PKIX 1 RSASHA256 AwEAAbM=
a6              IN A6    0 2001:db8::1
a6-prefix       IN A6    64 ::1:2:3:4 prefix.all.lab.
dname           IN DNAME target.example.
sink            IN SINK  1 0 0 AQID
apl             IN APL   1:127.0.0.0/8 !2:2001:db8::/32 1:0.0.0.0/0
ds              IN DS    12345 8 2 ( 49FD46E6C4B45C55D4AC69CBD3CD34AC
                                     1AFE51DE5A7A7D1A2B3C4D5E6F708192 )
sshfp           IN SSHFP 4 2 123456789abcdef67890123456789abcdef67890123456789abcdef123456789
ipseckey        IN IPSECKEY 10 1 2 127.0.0.1 AQNRU3mG7TVTO2BkR47usntb102uFJtugbo6BSGvgqt4AQ==
ipseckey3       IN IPSECKEY 10 3 2 gw.all.lab. AQNRU3mG7TVTO2BkR47usntb102uFJtugbo6BSGvgqt4AQ==
ipseckey0       IN IPSECKEY 10 0 2 . AQNRU3mG7TVTO2BkR47usntb102uFJtugbo6BSGvgqt4AQ==
rrsig           IN RRSIG A 8 3 300 20270101000000 20260101000000 12345 all.lab. AwEAAbM=
nsec            IN NSEC  a.all.lab. A NS SOA MX TXT AAAA RRSIG NSEC DNSKEY TYPE65534
dnskey          IN DNSKEY 257 3 8 ( AwEAAbM= )
dhcid           IN DHCID AAIBY2/AuCccgoJbsaxcQc9TUapptP69lOjxfNuVAA2kjEA=
2vptu5timamqttgl4luu9kg21e0aor3s IN NSEC3 1 1 12 aabbccdd 2vptu5timamqttgl4luu9kg21e0aor3s A RRSIG
nsec3param      IN NSEC3PARAM 1 0 12 aabbccdd
nsec3param-nosalt IN NSEC3PARAM 1 0 0 -
tlsa            IN TLSA  3 1 1 d2abde240d7cd3ee6b4b28c54df034b97983a1d16e8a410e4561cb106618e971
smimea          IN SMIMEA 3 1 1 d2abde240d7cd3ee6b4b28c54df034b97983a1d16e8a410e4561cb106618e971
hip             IN HIP   2 200100107B1A74DF365639CC39F1D578 AwEAAbM= rvs.all.lab.
ninfo           IN NINFO "info"
rkey            IN RKEY  0 3 8 AwEAAbM=
talink          IN TALINK a.all.lab. b.all.lab.
cds             IN CDS   12345 8 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE5A7A7D1A2B3C4D5E6F708192
cdnskey         IN CDNSKEY 257 3 8 AwEAAbM=
openpgpkey      IN OPENPGPKEY AwEAAbM=
csync           IN CSYNC 66 3 A NS AAAA
zonemd          IN ZONEMD 2026120101 1 1 ( 7162c5a06cd5a73e10c33e5fa55c6ec4c53e2b1a1d47d41e
                                           d7bd9a5b4cd7e37c6ae6d55f8fca3f5f2d50e8b7ab1e4d2a )
svcb            IN SVCB  1 . alpn="h2,h3" port=8443 ipv4hint=127.0.0.1 mandatory=alpn
svcb-alias      IN SVCB  0 target.all.lab.
https           IN HTTPS 1 . alpn=h2 ech=AEn+DQBF ipv6hint=2001:db8::1 no-default-alpn key65000="x y"
spf             IN SPF   "v=spf1 -all"
nid             IN NID   10 0014:4fff:ff20:ee64
l32             IN L32   10 10.1.2.0
l64             IN L64   10 2001:0DB8:1140:1000
lp              IN LP    10 l64-subnet1.all.lab.
eui48           IN EUI48 00-00-5e-00-53-2a
eui64           IN EUI64 00-00-5e-ef-10-00-00-2a
uri             IN URI   10 1 "ftp://ftp1.example.com/public"
caa             IN CAA   0 issue "letsencrypt.org; validationmethods=dns-01"
caa-critical    IN CAA   128 tbs "Unknown"
avc             IN AVC   "app-name:WOLFGANG|app-class:OAM|business=yes"
doa             IN DOA   0 1 2 "image/pgn" AwEAAbM=
doa-empty       IN DOA   0 1 2 "" -
amtrelay        IN AMTRELAY 10 0 1 127.0.0.1
amtrelay-name   IN AMTRELAY 10 1 3 relay.all.lab.
resinfo         IN RESINFO qnamemin exterr=15,16,17 "infourl=https://resolver.example.com/guide"
wallet          IN WALLET "BTC" "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"
ta              IN TA    12345 8 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE5A7A7D1A2B3C4D5E6F708192
dlv             IN DLV   12345 8 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE5A7A7D1A2B3C4D5E6F708192
keydata         IN KEYDATA 20270101000000 20260101000000 19700101000000 257 3 8 AwEAAbM=
hightype        IN TYPE65534 \# 5 07ED260001
empty-generic   IN TYPE65280 \# 0
generic-a       IN TYPE1 \# 4 7F000002
generic-txt     TYPE16 \# 6 05 68 65 6c 6c 6f
classn          CLASS1 A 127.0.0.3
esc\.dot\065    IN A     127.0.0.4
rel-at          IN MX    20 @
Mixed.Case      IN TXT   "owner case"
ttl-units   1h30m IN A   127.0.0.5
$GENERATE 1-3 gen$ A 127.0.1.$
$GENERATE 1-2/1 gen-${10,3,d} CNAME a
$GENERATE 0-17/17 ${0,3,n}.rev PTR host-$.all.lab.
"#;

/// A VPC holding the test's source address, bound to the zone.
fn config() -> LabConfig {
    LabConfig::new()
        .vpc("vpc-lab", "cn-hangzhou", &["127.0.0.0/8"])
        .private_zone("all.lab", &["vpc-lab"], "all.lab.zone", ZONE)
}

/// Differences between the two renderings that are not differences in
/// what is served, each with its reason. Empty today: every record of the
/// zone is served exactly as BIND prints it.
const ACCEPTED: &[(&str, &str)] = &[];

/// One record as a presentation line: owner (lowercase: DNS names compare
/// without case, RFC 4343), TTL, class, type, RDATA with blanks collapsed.
type Line = (String, String, String, String, String);

fn parse_lines(text: &str) -> BTreeSet<Line> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with(';'))
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let owner = words.next()?.to_ascii_lowercase();
            let ttl = words.next()?.to_string();
            let class = words.next()?.to_string();
            let rtype = words.next()?.to_string();
            let rdata = words.collect::<Vec<_>>().join(" ");
            Some((owner, ttl, class, rtype, rdata))
        })
        .collect()
}

/// A tool from PATH or BIND's usual folders.
fn tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/bin")])
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// A missing tool fails the test under CI, and is reported loudly elsewhere.
fn missing(what: &str) {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{what} is missing: .ci/run must install it (Debian: bind9, bind9-dnsutils)");
    }
    eprintln!("SKIPPED zonefile_bind: {what} is missing (Debian: bind9, bind9-dnsutils)");
}

fn named_compilezone(tool: &Path, zone: &Path) -> String {
    // -k ignore: check-names is a naming policy (no `\.` in host names),
    // not part of the file format, and epdns has no such policy.
    let out = Command::new(tool)
        .args([
            "-k", "ignore", "-f", "text", "-F", "text", "-s", "full", "-o", "-", "all.lab",
        ])
        .arg(zone)
        .output()
        .expect("run named-compilezone");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "BIND refuses the test zone:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn every_bind_type_is_served_as_bind_prints_it() {
    let (Some(compile), Some(dig)) = (tool("named-compilezone"), tool("dig")) else {
        return missing("named-compilezone or dig");
    };
    let dir = tempfile::tempdir().unwrap();
    let zone_path = dir.path().join("all.lab.zone");
    std::fs::write(&zone_path, ZONE).unwrap();
    let bind = parse_lines(&named_compilezone(&compile, &zone_path));
    let types: BTreeSet<&str> = bind.iter().map(|l| l.3.as_str()).collect();
    assert!(
        types.len() >= 80,
        "the zone covers {} types: {types:?}",
        types.len()
    );

    let server = Server::start(&config());
    // One dig, one query per owner and type BIND printed.
    let queries: BTreeSet<(&str, &str)> =
        bind.iter().map(|l| (l.0.as_str(), l.3.as_str())).collect();
    let mut command = Command::new(dig);
    command
        .arg(format!("@{}", server.addr.ip()))
        .args(["-p", &server.addr.port().to_string()])
        // The authority section too: NS below the apex is a zone cut,
        // answered by a referral (RFC 1034 §4.3.2 step 3b).
        .args([
            "+noall",
            "+answer",
            "+authority",
            "+norecurse",
            "+tries=1",
            "+time=5",
        ]);
    for (owner, rtype) in &queries {
        command.args([owner, rtype]);
    }
    let out = command.output().expect("run dig");
    let dig_text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "dig failed:\n{dig_text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let epdns = parse_lines(&dig_text);

    let accepted = |l: &Line| ACCEPTED.iter().any(|(owner, _)| *owner == l.0);
    let missing_in_epdns: Vec<&Line> = bind.difference(&epdns).filter(|l| !accepted(l)).collect();
    let extra_in_epdns: Vec<&Line> = epdns.difference(&bind).filter(|l| !accepted(l)).collect();
    assert!(
        missing_in_epdns.is_empty() && extra_in_epdns.is_empty(),
        "BIND prints, epdns does not serve:\n{missing_in_epdns:#?}\nepdns serves, BIND does not print:\n{extra_in_epdns:#?}"
    );
    assert_eq!(epdns.len(), bind.len());
}
