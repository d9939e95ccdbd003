//! `epdns check --config FILE` on configs that each break one validation rule.
//!
//! Every config is the valid `base()` with one piece replaced or appended, so a
//! test fails for its own rule only; `base_config_passes` proves the base is
//! valid. Each rejection must exit non-zero and name, on stderr, the file, the
//! line, the object and the field (`file:line: object: field: message`, one
//! error a line). These configs are only validated, never served: addresses
//! are 127.0.0.0/8 and fd00::/8 only.

use std::path::PathBuf;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_epdns");

/// A valid config. Indexes, for the expected error objects:
/// vpc[0] vpc-a (cn-hangzhou, v4 + v6), vpc[1] vpc-b (cn-hangzhou, v4 only);
/// vswitch[0] vsw-h (zone h, v4 + v6), vswitch[1] vsw-i (zone i, v4 only),
/// vswitch[2] vsw-b (in vpc-b);
/// service[0] epsrv-oss (affinity, dual-stack, custom domain),
/// service[1] epsrv-plain (none of those), service[2] epsrv-rds (other region);
/// endpoint[0] ep-lab1, endpoint[1] ep-lab6 (dual-stack),
/// endpoint[2] ep-xr1 (cross-region), endpoint[3] ep-plain.
fn base() -> String {
    r#"[server]
listen = ["127.0.0.1:5300", "[::1]:5300"]
suffix = "privatelink.aliyuncs.com"
ttl = 60

[[vpc]]
id = "vpc-a"
region = "cn-hangzhou"
cidrs = ["127.0.0.0/16", "fd00::/48"]

[[vpc]]
id = "vpc-b"
region = "cn-hangzhou"
cidrs = ["127.1.0.0/16"]

[[vswitch]]
id = "vsw-h"
vpc = "vpc-a"
zone = "cn-hangzhou-h"
cidr = "127.0.1.0/24"
ipv6_cidr = "fd00:0:0:1::/64"

[[vswitch]]
id = "vsw-i"
vpc = "vpc-a"
zone = "cn-hangzhou-i"
cidr = "127.0.2.0/24"

[[vswitch]]
id = "vsw-b"
vpc = "vpc-b"
zone = "cn-hangzhou-h"
cidr = "127.1.1.0/24"

[[service]]
id = "epsrv-oss"
region = "cn-hangzhou"
zone_affinity = true
dual_stack = true
custom_domain = "oss-cn-hangzhou-internal.aliyuncs.com"

[[service]]
id = "epsrv-plain"
region = "cn-hangzhou"

[[service]]
id = "epsrv-rds"
region = "cn-shanghai"

[[endpoint]]
id = "ep-lab1"
vpc = "vpc-a"
service = "epsrv-oss"
ip_version = "ipv4"
zone_affinity = true
custom_domain = true
zones = [ { vswitch = "vsw-h", ip = "127.0.1.10" },
          { vswitch = "vsw-i", ip = "127.0.2.10" } ]

[[endpoint]]
id = "ep-lab6"
vpc = "vpc-a"
service = "epsrv-oss"
ip_version = "dual-stack"
zones = [ { vswitch = "vsw-h", ip = "127.0.1.11", ipv6 = "fd00:0:0:1::11" } ]

[[endpoint]]
id = "ep-xr1"
vpc = "vpc-a"
service = "epsrv-rds"
cross_region = true
zones = [ { vswitch = "vsw-h", ip = "127.0.1.20" } ]

[[endpoint]]
id = "ep-plain"
vpc = "vpc-a"
service = "epsrv-plain"
zones = [ { vswitch = "vsw-i", ip = "127.0.2.30" } ]
"#
    .to_string()
}

const EP_PLAIN: &str = "endpoint 'ep-plain' (endpoint[3])";
const EP_PLAIN_ZONES: &str = r#"zones = [ { vswitch = "vsw-i", ip = "127.0.2.30" } ]"#;

/// `base()` with `from` (which must occur exactly once) replaced by `to`.
fn replace(from: &str, to: &str) -> String {
    let text = base();
    assert_eq!(
        text.matches(from).count(),
        1,
        "{from:?} must occur once in base()"
    );
    text.replacen(from, to, 1)
}

/// `base()` with `lines` added to endpoint `ep-plain` (service epsrv-plain).
fn ep_plain_with(lines: &str) -> String {
    let anchor = "service = \"epsrv-plain\"\n";
    replace(anchor, &format!("{anchor}{lines}\n"))
}

/// `base()` with `ep-plain`'s zones replaced by `zones`.
fn ep_plain_zones(zones: &str) -> String {
    replace(EP_PLAIN_ZONES, zones)
}

/// `base()` with `extra` appended.
fn append(extra: &str) -> String {
    format!("{}\n{extra}\n", base())
}

/// Runs `epdns check --config <tmp>/bad.toml` on `text`; returns the output and
/// the path as the CLI prints it.
fn check(text: &str) -> (Output, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path: PathBuf = dir.path().join("bad.toml");
    std::fs::write(&path, text).expect("write config");
    let out = Command::new(BIN)
        .args(["check", "--config"])
        .arg(&path)
        .output()
        .expect("run epdns");
    (out, path.display().to_string())
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn assert_ok(text: &str) {
    let (out, path) = check(text);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "expected {path} to pass, got {:?}\nstderr:\n{}\nconfig:\n{text}",
        out.status,
        stderr(&out)
    );
    assert!(
        stdout.starts_with(&format!("{path}: ok")),
        "stdout: {stdout}"
    );
}

/// The error lines of `err` about `object` and `field` (`<path>:<line>:
/// <object>: <field>: <message>`), each as (line, message).
fn errors_about(err: &str, path: &str, object: &str, field: &str) -> Vec<(usize, String)> {
    let tail = format!(": {object}: {field}: ");
    err.lines()
        .filter_map(|l| {
            let rest = l.strip_prefix(path)?.strip_prefix(':')?;
            let digits = rest.find(|c: char| !c.is_ascii_digit())?;
            let line = rest[..digits].parse().ok()?;
            let message = rest[digits..].strip_prefix(&tail)?;
            Some((line, message.to_string()))
        })
        .collect()
}

/// Asserts `text` is rejected with an error line
/// `<path>:<line>: <object>: <field>: ...<fragment>...`; returns stderr, the
/// path and that line number.
fn assert_rejected_on(
    text: &str,
    object: &str,
    field: &str,
    fragment: &str,
) -> (String, String, usize) {
    let (out, path) = check(text);
    let err = stderr(&out);
    assert!(
        !out.status.success(),
        "expected a rejection, got success\nconfig:\n{text}"
    );
    let found = errors_about(&err, &path, object, field)
        .into_iter()
        .find(|(_, m)| m.contains(fragment));
    let Some((line, _)) = found else {
        panic!("no line `{path}:<line>: {object}: {field}: ...{fragment}...` in stderr:\n{err}");
    };
    (err, path, line)
}

/// As `assert_rejected_on`; returns stderr and the path.
fn assert_rejected(text: &str, object: &str, field: &str, fragment: &str) -> (String, String) {
    let (err, path, _) = assert_rejected_on(text, object, field, fragment);
    (err, path)
}

/// As `assert_rejected`, and the error names line `line`.
fn assert_rejected_at(text: &str, line: usize, object: &str, field: &str, fragment: &str) {
    let (err, _, found) = assert_rejected_on(text, object, field, fragment);
    assert_eq!(
        found, line,
        "the error names the wrong line; stderr:\n{err}"
    );
}

/// As `assert_rejected`, and that error is the only one: the config breaks
/// exactly one rule.
fn assert_only_error(text: &str, object: &str, field: &str, fragment: &str) {
    let (err, _) = assert_rejected(text, object, field, fragment);
    assert_eq!(
        err.lines().filter(|l| !l.trim().is_empty()).count(),
        1,
        "expected exactly one error, stderr:\n{err}"
    );
}

/// 1-based number of the line of `text` that contains `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    let found: Vec<_> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains(needle))
        .collect();
    assert_eq!(found.len(), 1, "{needle:?} must be on one line");
    found[0].0 + 1
}

/// A TOML-level rejection: non-zero, path first, then toml's message naming
/// the line; returns stderr.
fn assert_toml_error(text: &str, line: usize) -> String {
    let (out, path) = check(text);
    let err = stderr(&out);
    assert!(!out.status.success(), "expected a rejection\n{text}");
    assert!(
        err.starts_with(&format!("{path}: ")),
        "stderr does not start with the path {path}:\n{err}"
    );
    assert!(
        err.contains(&format!("line {line},")),
        "stderr does not name line {line}:\n{err}"
    );
    err
}

// ---- valid configs ----------------------------------------------------------

#[test]
fn base_config_passes() {
    assert_ok(&base());
}

#[test]
fn shipped_configs_pass() {
    // The embedded default (no --config).
    let out = Command::new(BIN).arg("check").output().expect("run epdns");
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(": ok"), "stdout: {stdout}");
    // zones/lab.toml from the source tree.
    let lab = concat!(env!("CARGO_MANIFEST_DIR"), "/zones/lab.toml");
    let out = Command::new(BIN)
        .args(["check", "--config", lab])
        .output()
        .expect("run epdns");
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with(&format!("{lab}: ok")),
        "stdout: {stdout}"
    );
}

// ---- TOML level ---------------------------------------------------------------

#[test]
fn unknown_key_names_line_and_key() {
    let text = ep_plain_with("bogus_key = 1");
    let err = assert_toml_error(&text, line_of(&text, "bogus_key"));
    assert!(err.contains("unknown field `bogus_key`"), "{err}");

    // Inside an inline zone table.
    let text =
        ep_plain_zones(r#"zones = [ { vswitch = "vsw-i", ip = "127.0.2.30", addr = "x" } ]"#);
    let err = assert_toml_error(&text, line_of(&text, "addr = "));
    assert!(err.contains("unknown field `addr`"), "{err}");

    // In [server].
    let text = replace("ttl = 60\n", "ttl = 60\nlisten_udp = true\n");
    let err = assert_toml_error(&text, line_of(&text, "listen_udp"));
    assert!(err.contains("unknown field `listen_udp`"), "{err}");
}

#[test]
fn toml_syntax_error_names_line() {
    let text = replace(r#"id = "ep-plain""#, r#"id = "ep-plain"#);
    assert_toml_error(&text, line_of(&text, r#"id = "ep-plain"#));
}

// ---- ids ----------------------------------------------------------------------

#[test]
fn duplicate_vpc_id() {
    let text =
        append("[[vpc]]\nid = \"vpc-b\"\nregion = \"cn-hangzhou\"\ncidrs = [\"127.2.0.0/16\"]");
    assert_only_error(&text, "vpc 'vpc-b' (vpc[2])", "id", "duplicate id 'vpc-b'");
}

#[test]
fn duplicate_vswitch_id() {
    let text = append(
        "[[vswitch]]\nid = \"vsw-i\"\nvpc = \"vpc-a\"\nzone = \"cn-hangzhou-i\"\ncidr = \"127.0.9.0/24\"",
    );
    assert_only_error(
        &text,
        "vswitch 'vsw-i' (vswitch[3])",
        "id",
        "duplicate id 'vsw-i'",
    );
}

#[test]
fn duplicate_service_id() {
    let text = append("[[service]]\nid = \"epsrv-plain\"\nregion = \"cn-hangzhou\"");
    assert_only_error(
        &text,
        "service 'epsrv-plain' (service[3])",
        "id",
        "duplicate id 'epsrv-plain'",
    );
}

#[test]
fn duplicate_endpoint_id() {
    let text = append(
        "[[endpoint]]\nid = \"ep-plain\"\nvpc = \"vpc-a\"\nservice = \"epsrv-rds\"\ncross_region = true\nzones = [ { vswitch = \"vsw-i\", ip = \"127.0.2.31\" } ]",
    );
    assert_only_error(
        &text,
        "endpoint 'ep-plain' (endpoint[4])",
        "id",
        "duplicate id 'ep-plain'",
    );
}

#[test]
fn invalid_id_characters() {
    for bad in ["ep_plain", "Ep-plain", "ep-PLAIN"] {
        let text = replace(r#"id = "ep-plain""#, &format!("id = \"{bad}\""));
        assert_only_error(
            &text,
            &format!("endpoint '{bad}' (endpoint[3])"),
            "id",
            "lowercase letters, digits or '-'",
        );
    }
    let text =
        append("[[vpc]]\nid = \"vpc_c\"\nregion = \"cn-hangzhou\"\ncidrs = [\"127.2.0.0/16\"]");
    assert_only_error(&text, "vpc 'vpc_c' (vpc[2])", "id", "lowercase letters");
    let text = append("[[service]]\nid = \"EPSRV-X\"\nregion = \"cn-hangzhou\"");
    assert_only_error(
        &text,
        "service 'EPSRV-X' (service[3])",
        "id",
        "lowercase letters",
    );
}

// ---- references -----------------------------------------------------------------

#[test]
fn vswitch_references_missing_vpc() {
    let text = append(
        "[[vswitch]]\nid = \"vsw-z\"\nvpc = \"vpc-nope\"\nzone = \"cn-hangzhou-h\"\ncidr = \"127.0.9.0/24\"",
    );
    assert_only_error(
        &text,
        "vswitch 'vsw-z' (vswitch[3])",
        "vpc",
        "no VPC with id 'vpc-nope'",
    );
}

#[test]
fn endpoint_references_missing_vpc() {
    let text = replace(
        "vpc = \"vpc-a\"\nservice = \"epsrv-plain\"",
        "vpc = \"vpc-nope\"\nservice = \"epsrv-plain\"",
    );
    assert_rejected(&text, EP_PLAIN, "vpc", "no VPC with id 'vpc-nope'");
}

#[test]
fn endpoint_references_missing_vswitch() {
    let text = ep_plain_zones(r#"zones = [ { vswitch = "vsw-nope", ip = "127.0.2.30" } ]"#);
    assert_only_error(
        &text,
        EP_PLAIN,
        "zones[0].vswitch",
        "no vSwitch with id 'vsw-nope'",
    );
}

#[test]
fn endpoint_references_missing_service() {
    let text = replace(
        "service = \"epsrv-plain\"\nzones",
        "service = \"epsrv-nope\"\nzones",
    );
    assert_only_error(
        &text,
        EP_PLAIN,
        "service",
        "no service with id 'epsrv-nope'",
    );
}

// ---- CIDRs and addresses ------------------------------------------------------------

#[test]
fn vswitch_cidr_outside_vpc_ipv4() {
    let text = append(
        "[[vswitch]]\nid = \"vsw-x\"\nvpc = \"vpc-a\"\nzone = \"cn-hangzhou-j\"\ncidr = \"127.2.0.0/24\"",
    );
    assert_only_error(
        &text,
        "vswitch 'vsw-x' (vswitch[3])",
        "cidr",
        "127.2.0.0/24 is outside the CIDRs of VPC 'vpc-a'",
    );
    // Partly outside: a /15 that holds the VPC's /16 (a VPC of its own, so
    // that no other vSwitch overlaps it).
    let text = append(
        "[[vpc]]\nid = \"vpc-c\"\nregion = \"cn-hangzhou\"\ncidrs = [\"127.4.0.0/16\"]\n\n\
         [[vswitch]]\nid = \"vsw-x\"\nvpc = \"vpc-c\"\nzone = \"cn-hangzhou-j\"\ncidr = \"127.4.0.0/15\"",
    );
    assert_only_error(
        &text,
        "vswitch 'vsw-x' (vswitch[3])",
        "cidr",
        "127.4.0.0/15 is outside the CIDRs of VPC 'vpc-c'",
    );
}

#[test]
fn vswitch_ipv6_cidr_outside_vpc_ipv6() {
    let vsw = |vpc: &str, v6: &str| {
        append(&format!(
            "[[vswitch]]\nid = \"vsw-y\"\nvpc = \"{vpc}\"\nzone = \"cn-hangzhou-j\"\ncidr = \"127.{}.6.0/24\"\nipv6_cidr = \"{v6}\"",
            if vpc == "vpc-a" { 0 } else { 1 }
        ))
    };
    assert_only_error(
        &vsw("vpc-a", "fd01::/64"),
        "vswitch 'vsw-y' (vswitch[3])",
        "ipv6_cidr",
        "fd01::/64 is outside the IPv6 CIDRs of VPC 'vpc-a'",
    );
    // Inside the VPC's IPv6 CIDR: accepted.
    assert_ok(&vsw("vpc-a", "fd00:0:0:6::/64"));
    // A VPC that lists no IPv6 CIDR lets its vSwitches pick any.
    assert_ok(&vsw("vpc-b", "fd02::/64"));
}

#[test]
fn eni_ip_outside_vswitch_cidr() {
    let text = ep_plain_zones(r#"zones = [ { vswitch = "vsw-i", ip = "127.0.3.30" } ]"#);
    assert_only_error(
        &text,
        EP_PLAIN,
        "zones[0].ip",
        "127.0.3.30 is outside vSwitch 'vsw-i' CIDR 127.0.2.0/24",
    );
    let text = replace("ipv6 = \"fd00:0:0:1::11\"", "ipv6 = \"fd00:0:0:2::11\"");
    assert_only_error(
        &text,
        "endpoint 'ep-lab6' (endpoint[1])",
        "zones[0].ipv6",
        "fd00:0:0:2::11 is outside vSwitch 'vsw-h' CIDR fd00:0:0:1::/64",
    );
}

fn ep_plain_ip(ip: &str) -> String {
    ep_plain_zones(&format!(
        "zones = [ {{ vswitch = \"vsw-i\", ip = \"{ip}\" }} ]"
    ))
}

#[test]
fn eni_ip_reserved_first_address() {
    assert_only_error(
        &ep_plain_ip("127.0.2.0"),
        EP_PLAIN,
        "zones[0].ip",
        "127.0.2.0 is reserved in vSwitch 'vsw-i'",
    );
    let text = replace("ipv6 = \"fd00:0:0:1::11\"", "ipv6 = \"fd00:0:0:1::\"");
    assert_only_error(
        &text,
        "endpoint 'ep-lab6' (endpoint[1])",
        "zones[0].ipv6",
        "fd00:0:0:1:: is reserved in vSwitch 'vsw-h'",
    );
}

#[test]
fn eni_ip_reserved_last_three_addresses() {
    for last in [253, 254, 255] {
        let ip = format!("127.0.2.{last}");
        assert_only_error(
            &ep_plain_ip(&ip),
            EP_PLAIN,
            "zones[0].ip",
            &format!("{ip} is reserved in vSwitch 'vsw-i' CIDR 127.0.2.0/24"),
        );
    }
    let text = replace(
        "ipv6 = \"fd00:0:0:1::11\"",
        "ipv6 = \"fd00:0:0:1:ffff:ffff:ffff:fffd\"",
    );
    assert_only_error(
        &text,
        "endpoint 'ep-lab6' (endpoint[1])",
        "zones[0].ipv6",
        "is reserved in vSwitch 'vsw-h'",
    );
}

#[test]
fn eni_ip_next_to_reserved_is_accepted() {
    assert_ok(&ep_plain_ip("127.0.2.1"));
    assert_ok(&ep_plain_ip("127.0.2.252"));
    assert_ok(&replace(
        "ipv6 = \"fd00:0:0:1::11\"",
        "ipv6 = \"fd00:0:0:1::1\"",
    ));
    assert_ok(&replace(
        "ipv6 = \"fd00:0:0:1::11\"",
        "ipv6 = \"fd00:0:0:1:ffff:ffff:ffff:fffc\"",
    ));
}

#[test]
fn same_eni_address_twice_in_a_vpc() {
    // ep-lab1 zones[1] already has 127.0.2.10.
    assert_only_error(
        &ep_plain_ip("127.0.2.10"),
        EP_PLAIN,
        "zones[0].ip",
        "127.0.2.10 is already an ENI address of endpoint 'ep-lab1' (endpoint[0]) in this VPC",
    );
    // The IPv6 address of ep-lab6.
    let text = append(
        "[[endpoint]]\nid = \"ep-lab7\"\nvpc = \"vpc-a\"\nservice = \"epsrv-oss\"\nip_version = \"dual-stack\"\nzones = [ { vswitch = \"vsw-h\", ip = \"127.0.1.12\", ipv6 = \"fd00:0:0:1::11\" } ]",
    );
    assert_only_error(
        &text,
        "endpoint 'ep-lab7' (endpoint[4])",
        "zones[0].ipv6",
        "fd00:0:0:1::11 is already an ENI address of endpoint 'ep-lab6' (endpoint[1])",
    );
}

#[test]
fn bad_cidr_text() {
    let text = replace(
        r#"cidrs = ["127.1.0.0/16"]"#,
        r#"cidrs = ["127.1.0.0/16", "127.1.0.0/40"]"#,
    );
    assert_only_error(
        &text,
        "vpc 'vpc-b' (vpc[1])",
        "cidrs[1]",
        "'127.1.0.0/40' is not a CIDR",
    );
    for bad in ["127.0.9.0/33", "127.0.9.0", "fd00:0:0:9::/64"] {
        let text = append(&format!(
            "[[vswitch]]\nid = \"vsw-x\"\nvpc = \"vpc-a\"\nzone = \"cn-hangzhou-j\"\ncidr = \"{bad}\""
        ));
        assert_only_error(
            &text,
            "vswitch 'vsw-x' (vswitch[3])",
            "cidr",
            &format!("'{bad}' is not an IPv4 CIDR"),
        );
    }
    for bad in ["fd00:0:0:9::/129", "127.0.9.0/24", "fd00::g/64"] {
        let text = append(&format!(
            "[[vswitch]]\nid = \"vsw-x\"\nvpc = \"vpc-a\"\nzone = \"cn-hangzhou-j\"\ncidr = \"127.0.9.0/24\"\nipv6_cidr = \"{bad}\""
        ));
        assert_only_error(
            &text,
            "vswitch 'vsw-x' (vswitch[3])",
            "ipv6_cidr",
            &format!("'{bad}' is not an IPv6 CIDR"),
        );
    }
}

// ---- zones of an endpoint ----------------------------------------------------------

#[test]
fn two_zones_of_an_endpoint_in_the_same_zone() {
    // vsw-h2 is a second vSwitch in zone cn-hangzhou-h.
    let text = ep_plain_zones(
        r#"zones = [ { vswitch = "vsw-i", ip = "127.0.2.30" },
          { vswitch = "vsw-h", ip = "127.0.1.30" },
          { vswitch = "vsw-h2", ip = "127.0.4.30" } ]"#,
    ) + "\n[[vswitch]]\nid = \"vsw-h2\"\nvpc = \"vpc-a\"\nzone = \"cn-hangzhou-h\"\ncidr = \"127.0.4.0/24\"\n";
    assert_only_error(
        &text,
        EP_PLAIN,
        "zones[2].vswitch",
        "zone cn-hangzhou-h already has an ENI at zones[1]",
    );
}

#[test]
fn endpoint_with_no_zone() {
    assert_only_error(
        &ep_plain_zones("zones = []"),
        EP_PLAIN,
        "zones",
        "at least one zone",
    );
    assert_only_error(&ep_plain_zones(""), EP_PLAIN, "zones", "at least one zone");
}

#[test]
fn interface_endpoint_vswitch_in_another_vpc() {
    let text = ep_plain_zones(r#"zones = [ { vswitch = "vsw-b", ip = "127.1.1.30" } ]"#);
    assert_only_error(
        &text,
        EP_PLAIN,
        "zones[0].vswitch",
        "vSwitch 'vsw-b' is in VPC 'vpc-b', not in the endpoint's VPC 'vpc-a'",
    );
}

// ---- endpoint vs service -------------------------------------------------------------

#[test]
fn dual_stack_on_service_without_ipv6() {
    let text = replace("dual_stack = true", "dual_stack = false");
    assert_only_error(
        &text,
        "endpoint 'ep-lab6' (endpoint[1])",
        "ip_version",
        "dual-stack, but service 'epsrv-oss' does not support IPv6",
    );
}

#[test]
fn reverse_endpoint_is_ipv4_only() {
    let text = replace(
        "ip_version = \"dual-stack\"",
        "ip_version = \"dual-stack\"\nendpoint_type = \"reverse\"",
    );
    assert_only_error(
        &text,
        "endpoint 'ep-lab6' (endpoint[1])",
        "ip_version",
        "dual-stack, but a reverse endpoint is IPv4 only",
    );
    assert_ok(&ep_plain_with("endpoint_type = \"reverse\""));
    assert_only_error(
        &ep_plain_with("endpoint_type = \"gateway\""),
        EP_PLAIN,
        "endpoint_type",
        "'gateway' is not one of \"interface\", \"reverse\"",
    );
}

#[test]
fn dual_stack_zone_without_ipv6_address() {
    let text = replace(", ipv6 = \"fd00:0:0:1::11\"", "");
    assert_only_error(
        &text,
        "endpoint 'ep-lab6' (endpoint[1])",
        "zones[0].ipv6",
        "a dual-stack endpoint needs an IPv6 address in every zone",
    );
}

#[test]
fn ipv6_address_on_vswitch_without_ipv6_cidr() {
    let text = replace(
        r#"{ vswitch = "vsw-h", ip = "127.0.1.11", ipv6 = "fd00:0:0:1::11" }"#,
        r#"{ vswitch = "vsw-i", ip = "127.0.2.11", ipv6 = "fd00:0:0:2::11" }"#,
    );
    assert_only_error(
        &text,
        "endpoint 'ep-lab6' (endpoint[1])",
        "zones[0].ipv6",
        "vSwitch 'vsw-i' has no ipv6_cidr",
    );
}

#[test]
fn zone_affinity_where_service_does_not_support_it() {
    assert_only_error(
        &ep_plain_with("zone_affinity = true"),
        EP_PLAIN,
        "zone_affinity",
        "enabled, but service 'epsrv-plain' does not support zone affinity",
    );
}

#[test]
fn custom_domain_where_service_has_none() {
    assert_only_error(
        &ep_plain_with("custom_domain = true"),
        EP_PLAIN,
        "custom_domain",
        "enabled, but service 'epsrv-plain' has no custom domain",
    );
}

#[test]
fn cross_region_false_with_service_in_another_region() {
    let text = replace("cross_region = true", "cross_region = false");
    assert_only_error(
        &text,
        "endpoint 'ep-xr1' (endpoint[2])",
        "cross_region",
        "false, but service 'epsrv-rds' is in cn-shanghai and VPC 'vpc-a' in cn-hangzhou",
    );
}

#[test]
fn cross_region_true_with_service_in_the_same_region() {
    assert_only_error(
        &ep_plain_with("cross_region = true"),
        EP_PLAIN,
        "cross_region",
        "true, but service 'epsrv-plain' and VPC 'vpc-a' are both in cn-hangzhou",
    );
}

#[test]
fn bad_ip_version_value() {
    for bad in ["ipv6", "IPv4", "dualstack", ""] {
        assert_only_error(
            &ep_plain_with(&format!("ip_version = \"{bad}\"")),
            EP_PLAIN,
            "ip_version",
            &format!("'{bad}' is not one of \"ipv4\", \"dual-stack\""),
        );
    }
}

// ---- names -----------------------------------------------------------------------------

#[test]
fn generated_name_collision() {
    // Endpoint `ep-lab1` in zone `cn-hangzhou-h` and endpoint
    // `ep-lab1-cn-hangzhou-h`, same service: both generate
    // ep-lab1-cn-hangzhou-h.epsrv-oss.cn-hangzhou.<suffix>.
    let ep = |service: &str| {
        append(&format!(
            "[[endpoint]]\nid = \"ep-lab1-cn-hangzhou-h\"\nvpc = \"vpc-a\"\nservice = \"{service}\"\nzones = [ {{ vswitch = \"vsw-i\", ip = \"127.0.2.40\" }} ]"
        ))
    };
    assert_only_error(
        &ep("epsrv-oss"),
        "endpoint 'ep-lab1-cn-hangzhou-h' (endpoint[4])",
        "id",
        "generates ep-lab1-cn-hangzhou-h.epsrv-oss.cn-hangzhou.privatelink.aliyuncs.com., \
         already generated by endpoint 'ep-lab1' (endpoint[0]) zone cn-hangzhou-h",
    );
    // With another service the names differ.
    assert_ok(&ep("epsrv-plain"));
}

// ---- server --------------------------------------------------------------------------

#[test]
fn bad_listen_address() {
    for bad in ["127.0.0.1", "localhost:5300", "127.0.0.1:99999", "::1:5300"] {
        let text = replace(
            r#"listen = ["127.0.0.1:5300", "[::1]:5300"]"#,
            &format!(r#"listen = ["127.0.0.1:5300", "{bad}"]"#),
        );
        assert_only_error(
            &text,
            "[server]",
            "listen[1]",
            &format!("'{bad}' is not an address:port"),
        );
    }
}

// ---- all errors at once --------------------------------------------------------------

#[test]
fn several_errors_are_all_reported_each_with_its_line() {
    let text = ep_plain_with("ip_version = \"ipv6\"\nzone_affinity = true")
        .replace(r#""[::1]:5300""#, r#""[::1]""#)
        .replace(r#"ip = "127.0.2.30""#, r#"ip = "127.0.2.255""#)
        + "\n[[service]]\nid = \"epsrv-rds\"\nregion = \"cn-shanghai\"\n";
    let (err, path) = assert_rejected(&text, "[server]", "listen[1]", "not an address:port");
    let ep_plain_service = line_of(&text, r#"service = "epsrv-plain""#);
    // The appended service is the file's last table; its id the line after
    // its header.
    let dup_service = text.lines().count() - 1;
    let expected = [
        (line_of(&text, "listen = "), "[server]: listen[1]: "),
        (
            dup_service,
            "service 'epsrv-rds' (service[3]): id: duplicate id",
        ),
        (
            line_of(&text, r#"ip_version = "ipv6""#),
            "endpoint 'ep-plain' (endpoint[3]): ip_version: 'ipv6'",
        ),
        (
            ep_plain_service + 2,
            "endpoint 'ep-plain' (endpoint[3]): zone_affinity: enabled, but",
        ),
        (
            line_of(&text, "127.0.2.255"),
            "endpoint 'ep-plain' (endpoint[3]): zones[0].ip: 127.0.2.255 is reserved",
        ),
    ];
    for (line, e) in &expected {
        let want = format!("{path}:{line}: {e}");
        assert!(
            err.lines().any(|l| l.starts_with(&want)),
            "missing {want:?} in stderr:\n{err}"
        );
    }
    assert_eq!(err.lines().count(), expected.len(), "stderr:\n{err}");
}

#[test]
fn suffix_too_long_for_the_soa_names() {
    // 250 octets: `ns.<suffix>` fits in 255, `hostmaster.<suffix>` does not
    // (this used to pass validation and panic while building the tables).
    let a63 = "a".repeat(63);
    let suffix = format!("{a63}.{a63}.{a63}.{}", "b".repeat(56));
    let vpc = "[[vpc]]\nid = \"v\"\nregion = \"r\"\ncidrs = [\"127.0.0.0/16\"]\n";
    let text = format!("[server]\nsuffix = \"{suffix}\"\n{vpc}");
    assert_only_error(&text, "[server]", "suffix", "hostmaster.");
    // 253 octets: already `ns.<suffix>` is too long; reported once.
    let suffix = format!("{a63}.{a63}.{a63}.{}", "b".repeat(59));
    let text = format!("[server]\nsuffix = \"{suffix}\"\n{vpc}");
    assert_only_error(&text, "[server]", "suffix", "ns.");
}

#[test]
fn vpc_region_must_be_a_label() {
    // An unchecked region silently made every endpoint of the VPC
    // "cross-region"; it is checked like a service's region.
    let text = replace(
        "id = \"vpc-b\"\nregion = \"cn-hangzhou\"",
        "id = \"vpc-b\"\nregion = \"CN_Hangzhou\"",
    );
    assert_only_error(&text, "vpc 'vpc-b' (vpc[1])", "region", "lowercase letters");
}

#[test]
fn vswitch_cidrs_overlap_in_a_vpc() {
    let vsw = |vpc: &str, cidr: &str, v6: &str| {
        append(&format!(
            "[[vswitch]]\nid = \"vsw-o\"\nvpc = \"{vpc}\"\nzone = \"cn-hangzhou-j\"\ncidr = \"{cidr}\"{v6}"
        ))
    };
    // Same CIDR, a CIDR inside another, a CIDR holding another.
    for (cidr, other) in [
        ("127.0.2.0/24", "127.0.2.0/24"),
        ("127.0.2.128/25", "127.0.2.0/24"),
        ("127.0.0.0/22", "127.0.1.0/24"),
    ] {
        assert_only_error(
            &vsw("vpc-a", cidr, ""),
            "vswitch 'vsw-o' (vswitch[3])",
            "cidr",
            &format!("{cidr} overlaps {other} of vSwitch '"),
        );
    }
    assert_only_error(
        &vsw(
            "vpc-a",
            "127.0.9.0/24",
            "\nipv6_cidr = \"fd00:0:0:1:8000::/65\"",
        ),
        "vswitch 'vsw-o' (vswitch[3])",
        "ipv6_cidr",
        "fd00:0:0:1:8000::/65 overlaps fd00:0:0:1::/64 of vSwitch 'vsw-h' in VPC 'vpc-a'",
    );
    // The same CIDR in another VPC is fine.
    let text = append(
        "[[vpc]]\nid = \"vpc-c\"\nregion = \"cn-hangzhou\"\ncidrs = [\"127.0.0.0/16\"]\n\n\
         [[vswitch]]\nid = \"vsw-o\"\nvpc = \"vpc-c\"\nzone = \"cn-hangzhou-h\"\ncidr = \"127.0.1.0/24\"",
    );
    assert_ok(&text);
}

#[test]
fn ipv6_address_on_an_ipv4_endpoint() {
    let text = replace(
        r#"{ vswitch = "vsw-h", ip = "127.0.1.10" }"#,
        r#"{ vswitch = "vsw-h", ip = "127.0.1.10", ipv6 = "fd00:0:0:1::10" }"#,
    );
    assert_only_error(
        &text,
        "endpoint 'ep-lab1' (endpoint[0])",
        "zones[0].ipv6",
        "set, but the endpoint's ip_version is \"ipv4\"",
    );
}

#[test]
fn missing_config_file_is_named() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("absent.toml");
    let out = Command::new(BIN)
        .args(["check", "--config"])
        .arg(&path)
        .output()
        .expect("run epdns");
    let err = stderr(&out);
    assert!(!out.status.success());
    assert!(
        err.starts_with(&format!("{}: cannot read", path.display())),
        "{err}"
    );
}

#[test]
fn server_section_may_be_left_out() {
    let text = base();
    let start = text.find("[server]").expect("base has [server]");
    let end = text[start..].find("[[vpc]]").expect("[[vpc]] follows") + start;
    let without = format!("{}{}", &text[..start], &text[end..]);
    assert!(!without.contains("[server]"));
    assert_ok(&without);
}

// ---- PrivateZone, inbound, forwarding, probes, admin ------------------------

const EP_LAB6: &str = "endpoint 'ep-lab6' (endpoint[1])";

#[test]
fn custom_domain_enabled_twice_in_one_vpc() {
    let text = replace(
        "ip_version = \"dual-stack\"\n",
        "ip_version = \"dual-stack\"\ncustom_domain = true\n",
    );
    assert_only_error(
        &text,
        EP_LAB6,
        "custom_domain",
        "already enabled in VPC 'vpc-a' by endpoint 'ep-lab1'",
    );
    // Another VPC may enable the same custom domain for its own endpoint.
    assert_ok(&append(
        "[[endpoint]]\nid = \"ep-b1\"\nvpc = \"vpc-b\"\nservice = \"epsrv-oss\"\n\
         custom_domain = true\nzones = [ { vswitch = \"vsw-b\", ip = \"127.1.1.10\" } ]",
    ));
}

/// `check` with zone files written beside the config.
fn check_with_files(text: &str, files: &[(&str, &str)]) -> (Output, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, content) in files {
        std::fs::write(dir.path().join(name), content).unwrap();
    }
    let path: PathBuf = dir.path().join("bad.toml");
    std::fs::write(&path, text).unwrap();
    let out = Command::new(BIN)
        .args(["check", "--config"])
        .arg(&path)
        .output()
        .expect("run epdns");
    (out, path.display().to_string())
}

const ZONE: &str = "$ORIGIN corp.lab.\n$TTL 300\n@ IN SOA ns hostmaster 1 3600 600 86400 60\n@ IN NS ns\nns IN A 127.0.0.53\nwww IN A 127.0.5.1\n";
const PZ: &str = "private_zone 'corp.lab' (private_zone[0])";

fn private_zone(vpcs: &str, file: &str) -> String {
    append(&format!(
        "[[private_zone]]\nname = \"corp.lab\"\nfile = \"{file}\"\nvpcs = {vpcs}"
    ))
}

#[test]
fn private_zone_rules() {
    let ok = private_zone("[\"vpc-a\", \"vpc-b\"]", "corp.zone");
    let (out, _) = check_with_files(&ok, &[("corp.zone", ZONE)]);
    assert!(out.status.success(), "{}", stderr(&out));

    for (vpcs, field, fragment) in [
        ("[\"vpc-x\"]", "vpcs[0]", "no VPC with id 'vpc-x'"),
        ("[]", "vpcs", "at least one VPC"),
        (
            "[\"vpc-a\", \"vpc-a\"]",
            "vpcs[1]",
            "already bound to a zone corp.lab.",
        ),
    ] {
        let (out, path) =
            check_with_files(&private_zone(vpcs, "corp.zone"), &[("corp.zone", ZONE)]);
        let err = stderr(&out);
        assert!(!out.status.success());
        let vpcs_line = line_of(&private_zone(vpcs, "corp.zone"), "vpcs = ");
        assert!(
            errors_about(&err, &path, PZ, field)
                .iter()
                .any(|(line, m)| *line == vpcs_line && m.contains(fragment)),
            "{path}:{vpcs_line}: {PZ}: {field}: ...{fragment}... not in:\n{err}"
        );
    }
}

#[test]
fn private_zone_file_errors_name_the_file_and_line() {
    let text = private_zone("[\"vpc-a\"]", "corp.zone");
    let (out, path) = check_with_files(&text, &[]);
    assert!(!out.status.success());
    let err = stderr(&out);
    let file_line = line_of(&text, "file = ");
    assert!(
        err.starts_with(&format!("{path}:{file_line}: {PZ}: file: ")),
        "{err}"
    );
    assert!(err.contains("corp.zone"), "{err}");

    // Line 6 has a bad address.
    let broken = ZONE.replace("127.0.5.1", "127.0.5.300");
    let (out, _) = check_with_files(&text, &[("corp.zone", &broken)]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("corp.zone:6"), "file:line in {err}");
}

#[test]
fn inbound_listener_rules() {
    let inbound = |listen: &str, vpc: &str| {
        append(&format!(
            "[[inbound]]\nlisten = \"{listen}\"\nvpc = \"{vpc}\""
        ))
    };
    assert_ok(&inbound("127.0.0.2:5300", "vpc-a"));
    let obj = "inbound listener 0 (inbound[0])";
    assert_only_error(
        &inbound("127.0.0.2:5300", "vpc-x"),
        obj,
        "vpc",
        "no VPC with id 'vpc-x'",
    );
    assert_only_error(
        &inbound("127.0.0.2", "vpc-a"),
        obj,
        "listen",
        "not an address:port",
    );
    assert_only_error(
        &inbound("127.0.0.1:5300", "vpc-a"),
        obj,
        "listen",
        "already a listen address",
    );
}

#[test]
fn forward_rules() {
    let fwd = |body: &str| append(&format!("[forward]\n{body}"));
    assert_ok(&fwd("upstreams = [\"127.0.0.53:53\"]"));
    assert_only_error(
        &fwd("upstreams = [\"127.0.0.53\"]"),
        "[forward]",
        "upstreams[0]",
        "not an address:port",
    );
    assert_only_error(
        &fwd("upstreams = []"),
        "[forward]",
        "upstreams",
        "at least one upstream",
    );
    assert_only_error(
        &fwd("upstreams = [\"127.0.0.53:53\"]\ntimeout_ms = 0"),
        "[forward]",
        "timeout_ms",
        "between 1 and 30000",
    );
}

#[test]
fn probe_settings_name_the_field_and_where_it_was_set() {
    let probe = |body: &str| append(&format!("[probe]\n{body}"));
    assert_ok(&probe("kind = \"tcp\"\nport = 443"));
    // Every endpoint inherits [probe]: the first reported is ep-lab1.
    let ep = "endpoint 'ep-lab1' (endpoint[0])";
    assert_rejected(
        &probe("kind = \"ping\""),
        ep,
        "probe.kind",
        "'ping' (set in [probe])",
    );
    assert_rejected(&probe("kind = \"tcp\""), ep, "probe.port", "needs a port");
    assert_rejected(
        &probe("kind = \"tcp\"\nport = 443\ninterval_ms = 100\ntimeout_ms = 100"),
        ep,
        "probe.timeout_ms",
        "set in [probe]",
    );
    assert_rejected(&probe("fall = 0"), ep, "probe.fall", "at least 1");
    // An endpoint's own setting is named as such; kind "none" turns it off.
    let text = ep_plain_with("probe = { kind = \"http\", port = 80, path = \"no-slash\" }");
    assert_only_error(&text, EP_PLAIN, "probe.path", "set in this endpoint");
    let text = probe("kind = \"tcp\"\nport = 443").replace(
        "service = \"epsrv-plain\"\n",
        "service = \"epsrv-plain\"\nprobe = { kind = \"none\" }\n",
    );
    assert_ok(&text);
}

#[test]
fn server_policy_and_admin_rules() {
    assert_only_error(
        &replace("ttl = 60\n", "ttl = 60\nall_down = \"maybe\"\n"),
        "[server]",
        "all_down",
        "'maybe' is not one of",
    );
    assert_only_error(
        &replace("ttl = 60\n", "ttl = 60\ndegraded_ttl = 120\n"),
        "[server]",
        "degraded_ttl",
        "longer than ttl 60",
    );
    assert_ok(&replace(
        "ttl = 60\n",
        "ttl = 60\ndegraded_ttl = 5\nall_down = \"servfail\"\n",
    ));
    assert_only_error(
        &append("[admin]\nlisten = \"localhost\""),
        "[admin]",
        "listen",
        "not an address:port",
    );
    assert_ok(&append("[admin]\nlisten = \"127.0.0.1:8053\""));
}

// ---- lines --------------------------------------------------------------------

#[test]
fn an_error_names_the_line_of_its_field() {
    let text = append(
        "[[vswitch]]\nid = \"vsw-z\"\nvpc = \"vpc-nope\"\nzone = \"cn-hangzhou-h\"\ncidr = \"127.0.9.0/24\"",
    );
    assert_rejected_at(
        &text,
        line_of(&text, "vpc-nope"),
        "vswitch 'vsw-z' (vswitch[3])",
        "vpc",
        "no VPC with id 'vpc-nope'",
    );
    let text = replace("ttl = 60\n", "ttl = 60\nall_down = \"maybe\"\n");
    assert_rejected_at(
        &text,
        line_of(&text, "maybe"),
        "[server]",
        "all_down",
        "not one of",
    );
    // An element of an array written over several lines: its own line.
    let text = replace(
        r#"listen = ["127.0.0.1:5300", "[::1]:5300"]"#,
        "listen = [\n  \"127.0.0.1:5300\",\n  \"[::1]\",\n]",
    );
    assert_rejected_at(
        &text,
        line_of(&text, "\"[::1]\""),
        "[server]",
        "listen[1]",
        "not an address:port",
    );
}

#[test]
fn a_field_left_out_names_the_line_of_its_object() {
    // No zones: the `[[endpoint]]` header of ep-plain.
    let text = ep_plain_zones("");
    let header = line_of(&text, r#"id = "ep-plain""#) - 1;
    assert_eq!(text.lines().nth(header - 1), Some("[[endpoint]]"));
    assert_only_error(&text, EP_PLAIN, "zones", "at least one zone");
    assert_rejected_at(&text, header, EP_PLAIN, "zones", "at least one zone");
    // cross_region left out (false) for a service in another region.
    let text = replace("cross_region = true\n", "");
    let header = line_of(&text, r#"id = "ep-xr1""#) - 1;
    assert_eq!(text.lines().nth(header - 1), Some("[[endpoint]]"));
    assert_rejected_at(
        &text,
        header,
        "endpoint 'ep-xr1' (endpoint[2])",
        "cross_region",
        "false, but service 'epsrv-rds' is in cn-shanghai",
    );
}

#[test]
fn an_error_inside_an_inline_table_names_the_element_line() {
    // ep-lab1's zones are written over two lines; its second zone's address
    // is reserved.
    let text = replace(r#"ip = "127.0.2.10""#, r#"ip = "127.0.2.255""#);
    assert_rejected_at(
        &text,
        line_of(&text, "127.0.2.255"),
        "endpoint 'ep-lab1' (endpoint[0])",
        "zones[1].ip",
        "127.0.2.255 is reserved",
    );
    // A field the second element leaves out: that element's line.
    let text = replace(
        r#"zones = [ { vswitch = "vsw-h", ip = "127.0.1.11", ipv6 = "fd00:0:0:1::11" } ]"#,
        r#"zones = [ { vswitch = "vsw-h", ip = "127.0.1.11", ipv6 = "fd00:0:0:1::11" },
          { vswitch = "vsw-i", ip = "127.0.2.11" } ]"#,
    );
    assert_only_error(
        &text,
        EP_LAB6,
        "zones[1].ipv6",
        "a dual-stack endpoint needs an IPv6 address in every zone",
    );
    assert_rejected_at(
        &text,
        line_of(&text, "127.0.2.11"),
        EP_LAB6,
        "zones[1].ipv6",
        "needs an IPv6 address",
    );
}

#[test]
fn every_probe_error_names_the_line_where_its_value_is_set() {
    // Set in [probe], inherited by all four endpoints: three errors each.
    let text = append("[probe]\nkind = \"tcp\"\ninterval_ms = 5\nfall = 0");
    for ep in [
        "endpoint 'ep-lab1' (endpoint[0])",
        EP_LAB6,
        "endpoint 'ep-xr1' (endpoint[2])",
        EP_PLAIN,
    ] {
        // The missing port is asked for by the kind.
        assert_rejected_at(
            &text,
            line_of(&text, "kind = \"tcp\""),
            ep,
            "probe.port",
            "a tcp probe (kind set in [probe]) needs a port",
        );
        assert_rejected_at(
            &text,
            line_of(&text, "interval_ms = 5"),
            ep,
            "probe.interval_ms",
            "5ms is below the minimum",
        );
        assert_rejected_at(
            &text,
            line_of(&text, "fall = 0"),
            ep,
            "probe.fall",
            "must be at least 1 (set in [probe])",
        );
    }
    let (out, _) = check(&text);
    assert_eq!(stderr(&out).lines().count(), 12, "{}", stderr(&out));

    // An endpoint's own inline probe: both errors on its line.
    let text =
        ep_plain_with("probe = { kind = \"http\", port = 80, path = \"no-slash\", fall = 0 }");
    let line = line_of(&text, "no-slash");
    assert_rejected_at(&text, line, EP_PLAIN, "probe.path", "set in this endpoint");
    assert_rejected_at(&text, line, EP_PLAIN, "probe.fall", "set in this endpoint");
    let (out, _) = check(&text);
    assert_eq!(stderr(&out).lines().count(), 2, "{}", stderr(&out));
}

// ---- degenerate configs, the admin API off loopback, probe forms ----------

#[test]
fn an_empty_or_vpc_less_config_is_refused() {
    for text in ["", "# nothing yet\n", "[server]\nttl = 30\n"] {
        let (out, path) = check(text);
        assert!(!out.status.success());
        // No line: the error is about what the file lacks.
        assert_eq!(
            stderr(&out).trim(),
            format!(
                "{path}: config: vpc: the config declares no [[vpc]]: a lab config needs \
                 at least one (is the file empty or truncated?)"
            )
        );
    }
}

#[test]
fn a_vpc_cidr_holding_every_client_is_refused() {
    for (cidr, fragment) in [
        ("0.0.0.0/0", "wider than /8"),
        ("::/0", "wider than /16"),
        ("127.0.0.0/7", "wider than /8"),
        ("127.0.0.0/30", "narrower than /28"),
    ] {
        let text = base().replacen(
            "cidrs = [\"127.1.0.0/16\"]",
            &format!("cidrs = [\"127.1.0.0/16\", \"{cidr}\"]"),
            1,
        );
        assert_rejected_at(
            &text,
            line_of(&text, cidr),
            "vpc 'vpc-b' (vpc[1])",
            "cidrs[1]",
            fragment,
        );
    }
}

#[test]
fn the_admin_api_off_loopback_needs_a_token() {
    let text = append("[admin]\nlisten = \"0.0.0.0:8053\"");
    assert_rejected_at(
        &text,
        line_of(&text, "0.0.0.0:8053"),
        "[admin]",
        "listen",
        "set [admin] token",
    );
    let ok = append("[admin]\nlisten = \"0.0.0.0:8053\"\ntoken = \"0123456789abcdef\"");
    assert!(check(&ok).0.status.success(), "{}", stderr(&check(&ok).0));
    let short = append("[admin]\ntoken = \"short\"");
    assert_rejected(&short, "[admin]", "token", "at least 16 characters");
    let missing = append("[admin]\ntoken_env = \"EPDNS_TEST_NO_SUCH_VARIABLE\"");
    assert_rejected(
        &missing,
        "[admin]",
        "token_env",
        "EPDNS_TEST_NO_SUCH_VARIABLE is not set",
    );
}

#[test]
fn the_admin_flag_off_loopback_needs_a_token_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lab.toml");
    std::fs::write(&path, base()).unwrap();
    let out = std::process::Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&path)
        .args(["--listen", "127.0.0.1:0", "--admin", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("0.0.0.0:0 is reachable from other hosts"),
        "{err}"
    );
}

#[test]
fn probe_expect_lists_codes_and_ranges_and_https_is_a_kind() {
    let ok = append(
        "[probe]\nkind = \"https\"\nport = 443\nexpect = [200, 204, \"300-399\"]\ntls_verify = true\nserver_name = \"eni.lab\"\nca_file = \"ca.pem\"",
    );
    assert!(check(&ok).0.status.success(), "{}", stderr(&check(&ok).0));
    let bad = append("[probe]\nkind = \"http\"\nport = 80\nexpect = [200, \"3xx\"]");
    assert_rejected_at(
        &bad,
        line_of(&bad, "expect = "),
        "endpoint 'ep-lab1' (endpoint[0])",
        "probe.expect",
        "'3xx' is not a status code range like \"200-299\" (set in [probe])",
    );
    let out_of_range = append("[probe]\nkind = \"http\"\nport = 80\nexpect = [\"200-700\"]");
    assert_rejected(
        &out_of_range,
        "endpoint 'ep-lab1' (endpoint[0])",
        "probe.expect",
        "200-700 is outside the HTTP statuses 100-599",
    );
}

#[test]
fn privatezone_style_zone_files() {
    let styled = |style: &str| {
        append(&format!(
            "[[private_zone]]\nname = \"corp.lab\"\nfile = \"corp.zone\"\nvpcs = [\"vpc-a\"]\nstyle = \"{style}\""
        ))
    };
    // No SOA or NS, a CNAME at the apex: accepted in this style only.
    let cname_apex = "$TTL 60\n@ IN CNAME www\nwww IN A 127.0.5.1\n";
    let (out, _) = check_with_files(&styled("privatezone"), &[("corp.zone", cname_apex)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (out, _) = check_with_files(&styled("rfc1035"), &[("corp.zone", cname_apex)]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no SOA record"), "{}", stderr(&out));
    // The zone synthesizes its SOA and NS: a file's own are refused.
    let (out, path) = check_with_files(&styled("privatezone"), &[("corp.zone", ZONE)]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        errors_about(&err, &path, PZ, "file")
            .iter()
            .any(|(_, m)| m.contains("PrivateZone style: SOA at the apex of corp.lab.")),
        "{err}"
    );
    // A CNAME still stands alone.
    let beside = "$TTL 60\n@ IN CNAME www\n@ IN TXT \"x\"\nwww IN A 127.0.5.1\n";
    let (out, _) = check_with_files(&styled("privatezone"), &[("corp.zone", beside)]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("CNAME"), "{}", stderr(&out));
    let (out, path) = check_with_files(&styled("bind"), &[("corp.zone", ZONE)]);
    let err = stderr(&out);
    assert!(
        errors_about(&err, &path, PZ, "style")
            .iter()
            .any(|(_, m)| m.contains("'bind' is not one of \"rfc1035\", \"privatezone\"")),
        "{err}"
    );
}

/// The control API on, with `state` as its `[state]` section's body.
fn with_state(state: &str) -> String {
    append(&format!(
        "\n[api]\nlisten = \"127.0.0.1:8080\"\n\n[[access_key]]\nid = \"lab-key\"\nsecret = \"lab-secret\"\n\n[state]\n{state}\n"
    ))
}

#[test]
fn state_in_etcd_is_accepted() {
    assert_ok(&with_state(
        r#"etcd = "etcd://127.0.0.1:2379,127.0.0.2:2379/epdns/lab""#,
    ));
}

#[test]
fn state_in_a_folder_and_in_etcd_at_once_is_refused() {
    assert_only_error(
        &with_state("dir = \"/tmp/x\"\netcd = \"etcd://127.0.0.1:2379/epdns\""),
        "[state]",
        "etcd",
        "not both",
    );
}

#[test]
fn state_etcd_url_without_a_prefix_or_port_is_refused() {
    assert_only_error(
        &with_state(r#"etcd = "etcd://127.0.0.1:2379""#),
        "[state]",
        "etcd",
        "no key prefix",
    );
    assert_only_error(
        &with_state(r#"etcd = "etcd://localhost/epdns""#),
        "[state]",
        "etcd",
        "is not HOST:PORT",
    );
    assert_only_error(
        &with_state(r#"etcd = "http://127.0.0.1:2379/epdns""#),
        "[state]",
        "etcd",
        "is not etcd://",
    );
}

#[test]
fn tsig_keys_and_secondaries_are_checked_with_their_lines() {
    let ok = append(
        "[[tsig_key]]\nname = \"xfr-key\"\nalgorithm = \"hmac-sha256\"\nsecret = \"c2VjcmV0\"\n\
         [[secondary]]\naddress = \"127.0.0.20:53\"\ntsig_key = \"xfr-key\"",
    );
    assert_ok(&ok);
    let bad_secret = append(
        "[[tsig_key]]\nname = \"xfr-key\"\nalgorithm = \"hmac-sha256\"\nsecret = \"not base64!\"",
    );
    assert_rejected_at(
        &bad_secret,
        line_of(&bad_secret, "not base64!"),
        "tsig_key 'xfr-key' (tsig_key[0])",
        "secret",
        "the secret is not base64",
    );
    let bad_algorithm =
        append("[[tsig_key]]\nname = \"xfr-key\"\nalgorithm = \"hmac-md5\"\nsecret = \"c2VjcmV0\"");
    assert_rejected_at(
        &bad_algorithm,
        line_of(&bad_algorithm, "hmac-md5"),
        "tsig_key 'xfr-key' (tsig_key[0])",
        "algorithm",
        "'hmac-md5' is not supported",
    );
    let missing_key = append("[[secondary]]\naddress = \"127.0.0.20:53\"\ntsig_key = \"nobody\"");
    assert_rejected_at(
        &missing_key,
        line_of(&missing_key, "\"nobody\""),
        "secondary '127.0.0.20:53' (secondary[0])",
        "tsig_key",
        "no [[tsig_key]] is named 'nobody'",
    );
    let unknown_field = append("[[secondary]]\naddress = \"127.0.0.20:53\"\nkey = \"k\"");
    assert_toml_error(&unknown_field, line_of(&unknown_field, "key = \"k\""));
}
