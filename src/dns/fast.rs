//! The wire-level fast path for the common question: one A or AAAA (or a
//! name that does not exist) in the generated zone, with or without EDNS and
//! ECS. It reads the query in place, looks the name up by its lowercase wire
//! form, and writes the reply from precomputed records: no decoding into
//! `Message`, no allocation. Anything unusual — another opcode, type or
//! class, an OPT we do not fully understand, a reply that would not fit —
//! is left to the general path (`message::respond`), which gives the same
//! answer; `tests` holds the two to that.

use std::net::IpAddr;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

use super::message::{Origin, Transport, mask};
use super::metrics::Metrics;
use crate::snapshot::wire::WireAnswer;
use crate::snapshot::{Client, Snapshot};

const HEADER: usize = 12;
const OPT: u16 = 41;
const ECS: u16 = 8;

/// The parts of a query the fast path needs.
struct Query<'p> {
    /// The question as sent: name, type and class.
    question: &'p [u8],
    qtype: RecordType,
    /// Length of the lowercase name in `name_buf`, root octet included (the
    /// tables' key form).
    name_len: usize,
    edns: Option<Edns<'p>>,
}

struct Edns<'p> {
    payload: u16,
    ecs: Option<Ecs<'p>>,
}

struct Ecs<'p> {
    family: u16,
    source_prefix: u8,
    /// The address octets as sent (ceil(source / 8) of them).
    address: &'p [u8],
}

/// Answers `packet` into `out` when it is the common case; false leaves it
/// (and `out`) to the general path.
pub fn respond(
    snapshot: &Snapshot,
    metrics: &Metrics,
    packet: &[u8],
    origin: Origin,
    out: &mut Vec<u8>,
) -> bool {
    let mut name_buf = [0u8; 255];
    let Some(q) = parse(packet, &mut name_buf) else {
        return false;
    };
    let tables = &snapshot.tables;
    let ecs = q.edns.as_ref().and_then(|e| e.ecs.as_ref());
    let client = match ecs {
        Some(ecs) if tables.ecs => Client {
            addr: masked(ecs),
            source_prefix: Some(ecs.source_prefix),
            vpc: None,
            may_forward: false,
        },
        _ => Client {
            addr: origin.src,
            source_prefix: None,
            vpc: None,
            may_forward: false,
        },
    };
    let answer = snapshot.wire_answer(&name_buf[..q.name_len], q.qtype, &client);
    let (rcode, scope_prefix) = match &answer {
        WireAnswer::General => return false,
        WireAnswer::Addresses { scope_prefix, .. } => (ResponseCode::NoError, *scope_prefix),
        WireAnswer::NoData => (ResponseCode::NoError, 0),
        WireAnswer::NxDomain => (ResponseCode::NXDomain, 0),
        WireAnswer::ServFail => (ResponseCode::ServFail, 0),
    };
    out.clear();
    // Header: ID; QR, opcode QUERY, AA (not on SERVFAIL, as the general
    // path), RD copied; CD copied, RCODE.
    let aa = if rcode == ResponseCode::ServFail {
        0
    } else {
        0x04
    };
    out.extend_from_slice(&packet[0..2]);
    out.push(0x80 | aa | (packet[2] & 0x01));
    out.push((packet[3] & 0x10) | rcode.low());
    let (answers, ttl, authority): (&[IpAddr], u32, bool) = match &answer {
        WireAnswer::Addresses { ips, ttl, .. } => (ips, *ttl, false),
        WireAnswer::NoData | WireAnswer::NxDomain => (&[], 0, true),
        _ => (&[], 0, false),
    };
    let counts = [
        1u16,
        answers.len() as u16,
        u16::from(authority),
        u16::from(q.edns.is_some()),
    ];
    for c in counts {
        out.extend_from_slice(&c.to_be_bytes());
    }
    out.extend_from_slice(q.question);
    for ip in answers {
        address_rr(*ip, ttl, out);
    }
    if authority {
        negative_soa(snapshot, q.name_len, out);
    }
    if let Some(edns) = &q.edns {
        out.extend_from_slice(&[0, 0, 41]);
        out.extend_from_slice(&tables.udp_payload.to_be_bytes());
        out.extend_from_slice(&[0, 0, 0, 0]);
        match edns.ecs.as_ref().filter(|_| tables.ecs) {
            Some(ecs) => {
                let len = 4 + ecs.address.len() as u16;
                out.extend_from_slice(&(4 + len).to_be_bytes());
                out.extend_from_slice(&ECS.to_be_bytes());
                out.extend_from_slice(&len.to_be_bytes());
                out.extend_from_slice(&ecs.family.to_be_bytes());
                out.push(ecs.source_prefix);
                out.push(scope_prefix);
                out.extend_from_slice(ecs.address);
            }
            None => out.extend_from_slice(&[0, 0]),
        }
    }
    let limit = match (origin.transport, &q.edns) {
        (Transport::Tcp, _) => u16::MAX as usize,
        (Transport::Udp, None) => 512,
        (Transport::Udp, Some(e)) => e.payload.clamp(512, tables.udp_payload) as usize,
    };
    if out.len() > limit {
        // Truncation is the general path's business.
        out.clear();
        return false;
    }
    metrics.count(rcode);
    true
}

/// An A or AAAA record whose owner is the question's name (a pointer to
/// offset 12).
fn address_rr(ip: IpAddr, ttl: u32, out: &mut Vec<u8>) {
    out.extend_from_slice(&[0xC0, 0x0C]);
    match ip {
        IpAddr::V4(v4) => {
            out.extend_from_slice(&[0, 1, 0, 1]); // A, IN
            out.extend_from_slice(&ttl.to_be_bytes());
            out.extend_from_slice(&[0, 4]);
            out.extend_from_slice(&v4.octets());
        }
        IpAddr::V6(v6) => {
            out.extend_from_slice(&[0, 28, 0, 1]); // AAAA, IN
            out.extend_from_slice(&ttl.to_be_bytes());
            out.extend_from_slice(&[0, 16]);
            out.extend_from_slice(&v6.octets());
        }
    }
}

/// The zone's SOA, owner and names compressed to the apex inside the
/// question (the question's name is at or below the apex).
fn negative_soa(snapshot: &Snapshot, name_len: usize, out: &mut Vec<u8>) {
    let t = &snapshot.tables;
    let soa = &t.zone.negative_soa;
    let apex_at = (HEADER + name_len - t.apex_wire.len()) as u16;
    let apex_ptr = (0xC000 | apex_at).to_be_bytes();
    out.extend_from_slice(&apex_ptr);
    out.extend_from_slice(&6u16.to_be_bytes()); // SOA
    out.extend_from_slice(&1u16.to_be_bytes()); // IN
    out.extend_from_slice(&soa.ttl.to_be_bytes());
    let rdlen = soa.mname_labels.len() + 2 + soa.rname_labels.len() + 2 + soa.counters.len();
    out.extend_from_slice(&(rdlen as u16).to_be_bytes());
    out.extend_from_slice(&soa.mname_labels);
    out.extend_from_slice(&apex_ptr);
    out.extend_from_slice(&soa.rname_labels);
    out.extend_from_slice(&apex_ptr);
    out.extend_from_slice(&soa.counters);
}

/// The ECS address with the bits beyond the source prefix cleared (the
/// general path's rule).
fn masked(ecs: &Ecs<'_>) -> IpAddr {
    let mut octets = [0u8; 16];
    octets[..ecs.address.len()].copy_from_slice(ecs.address);
    let addr = if ecs.family == 1 {
        IpAddr::from([octets[0], octets[1], octets[2], octets[3]])
    } else {
        IpAddr::from(octets)
    };
    mask(addr, ecs.source_prefix).expect("parse_ecs checked the prefix against the family")
}

fn u16_at(p: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*p.get(at)?, *p.get(at + 1)?]))
}

/// Reads a plain query: QR 0, opcode QUERY, one question of class IN and
/// type A or AAAA, no answer or authority records, at most one additional
/// record which is a version-0 OPT whose options we can read. The
/// lowercase name goes to `name`.
fn parse<'p>(p: &'p [u8], name: &mut [u8; 255]) -> Option<Query<'p>> {
    if p.len() < HEADER + 5 || p[2] & 0xF8 != 0 {
        return None;
    }
    let counts = [u16_at(p, 4)?, u16_at(p, 6)?, u16_at(p, 8)?, u16_at(p, 10)?];
    if counts[0] != 1 || counts[1] != 0 || counts[2] != 0 || counts[3] > 1 {
        return None;
    }
    let mut at = HEADER;
    let mut len = 0;
    loop {
        let l = *p.get(at)? as usize;
        at += 1;
        if l == 0 {
            break;
        }
        // Pointers or extended labels in a question: not the common case.
        if l > 63 || len + 1 + l > 254 {
            return None;
        }
        name[len] = l as u8;
        let label = p.get(at..at + l)?;
        for (d, s) in name[len + 1..len + 1 + l].iter_mut().zip(label) {
            *d = s.to_ascii_lowercase();
        }
        len += 1 + l;
        at += l;
    }
    name[len] = 0;
    len += 1;
    let qtype = match u16_at(p, at)? {
        1 => RecordType::A,
        28 => RecordType::AAAA,
        _ => return None,
    };
    if u16_at(p, at + 2)? != 1 {
        return None;
    }
    at += 4;
    let question = &p[HEADER..at];
    let edns = if counts[3] == 1 {
        let (edns, end) = parse_opt(p, at)?;
        at = end;
        Some(edns)
    } else {
        None
    };
    // Trailing octets: let the general path judge.
    (at == p.len()).then_some(Query {
        question,
        qtype,
        name_len: len,
        edns,
    })
}

/// An OPT RR at `at`: root owner, version 0, no extended RCODE, options we
/// can read (at most one ECS, well formed). Returns it and where it ends.
fn parse_opt(p: &[u8], at: usize) -> Option<(Edns<'_>, usize)> {
    if *p.get(at)? != 0 || u16_at(p, at + 1)? != OPT {
        return None;
    }
    let payload = u16_at(p, at + 3)?;
    // Extended RCODE and version must be 0 (BADVERS is the general path's).
    if *p.get(at + 5)? != 0 || *p.get(at + 6)? != 0 {
        return None;
    }
    let rdlen = u16_at(p, at + 9)? as usize;
    let start = at + 11;
    let end = start + rdlen;
    let rdata = p.get(start..end)?;
    let mut ecs = None;
    let mut o = 0;
    while o < rdata.len() {
        let code = u16_at(rdata, o)?;
        let olen = u16_at(rdata, o + 2)? as usize;
        let data = rdata.get(o + 4..o + 4 + olen)?;
        if code == ECS {
            if ecs.is_some() {
                return None;
            }
            ecs = Some(parse_ecs(data)?);
        }
        o += 4 + olen;
    }
    Some((Edns { payload, ecs }, end))
}

/// A well-formed query ECS option; anything else is the general path's to
/// refuse.
fn parse_ecs(d: &[u8]) -> Option<Ecs<'_>> {
    let family = u16_at(d, 0)?;
    let source_prefix = *d.get(2)?;
    let scope = *d.get(3)?;
    let max = match family {
        1 => 32,
        2 => 128,
        _ => return None,
    };
    let address = &d[4..];
    if scope != 0 || source_prefix > max || address.len() != (source_prefix as usize).div_ceil(8) {
        return None;
    }
    Some(Ecs {
        family,
        source_prefix,
        address,
    })
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::path::Path;
    use std::str::FromStr;
    use std::sync::Arc;

    use hickory_proto::op::{Edns, Message, OpCode, Query as HQuery};
    use hickory_proto::rr::rdata::opt::{ClientSubnet, EdnsOption};
    use hickory_proto::rr::{Name, RecordType};

    use super::*;
    use crate::dns::message::{Outcome, respond_general};
    use crate::load::load_str;
    use crate::snapshot::{AllDownPolicy, Tables};

    const CFG: &str = r#"
[server]
degraded_ttl = 7
[[vpc]]
id = "v"
region = "r1"
cidrs = ["127.0.0.0/16", "fd00::/16"]
[[vswitch]]
id = "sa"
vpc = "v"
zone = "za"
cidr = "127.0.1.0/24"
ipv6_cidr = "fd00:1::/64"
[[vswitch]]
id = "sb"
vpc = "v"
zone = "zb"
cidr = "127.0.2.0/25"
ipv6_cidr = "fd00:2::/64"
[[service]]
id = "s"
region = "r1"
zone_affinity = true
dual_stack = true
[[endpoint]]
id = "e"
vpc = "v"
service = "s"
ip_version = "dual-stack"
zone_affinity = true
zones = [ { vswitch = "sa", ip = "127.0.1.10", ipv6 = "fd00:1::10" },
          { vswitch = "sb", ip = "127.0.2.10", ipv6 = "fd00:2::10" } ]
[[endpoint]]
id = "p"
vpc = "v"
service = "s"
zones = [ { vswitch = "sa", ip = "127.0.1.11" } ]
[[endpoint]]
id = "x"
vpc = "v"
service = "s"
zones = [ { vswitch = "sa", ip = "127.0.1.12" }, { vswitch = "sb", ip = "127.0.2.12" } ]
"#;

    pub(super) fn snapshot(policy: AllDownPolicy, down: &[&str]) -> Snapshot {
        let model = load_str(CFG, Path::new("t.toml")).unwrap();
        let mut tables = Tables::build(&model, 9);
        tables.all_down = policy;
        let tables = Arc::new(tables);
        let up = tables
            .targets
            .iter()
            .map(|t| !down.contains(&t.ip.to_string().as_str()))
            .collect();
        Snapshot { tables, up }
    }

    pub(super) fn query(name: &str, t: RecordType, edns: Option<(u16, Option<&str>)>) -> Vec<u8> {
        let mut m = Message::query();
        m.metadata.op_code = OpCode::Query;
        m.metadata.recursion_desired = name.len().is_multiple_of(2);
        m.metadata.checking_disabled = name.len().is_multiple_of(3);
        m.add_query(HQuery::query(Name::from_str(name).unwrap(), t));
        if let Some((payload, ecs)) = edns {
            let mut e = Edns::new();
            e.set_max_payload(payload);
            if let Some(net) = ecs {
                let net = ipnet::IpNet::from_str(net).unwrap();
                e.options_mut()
                    .insert(EdnsOption::Subnet(ClientSubnet::from(net)));
            }
            m.set_edns(e);
        }
        m.to_vec().unwrap()
    }

    /// Both paths, decoded; `None` for the fast one when it declined.
    fn both(s: &Snapshot, packet: &[u8], src: &str) -> (Option<Message>, Message) {
        let origin = Origin {
            src: src.parse().unwrap(),
            listener: SocketAddr::from(([127, 0, 0, 1], 53)),
            transport: Transport::Udp,
        };
        let m = Metrics::default();
        let mut out = Vec::new();
        let fast = respond(s, &m, packet, origin, &mut out)
            .then(|| Message::from_vec(&out).expect("fast reply decodes"));
        let mut out = Vec::new();
        assert!(matches!(
            respond_general(s, &m, packet, origin, &mut out),
            Outcome::Reply
        ));
        (
            fast,
            Message::from_vec(&out).expect("general reply decodes"),
        )
    }

    /// The fast path must say exactly what the general path says, for every
    /// question it takes, and take the common ones.
    #[test]
    fn fast_path_answers_as_the_general_path() {
        let names = [
            "e.s.r1.privatelink.aliyuncs.com.",
            "E.S.R1.PrivateLink.Aliyuncs.COM.",
            "p.s.r1.privatelink.aliyuncs.com.",
            "x.s.r1.privatelink.aliyuncs.com.",
            "e-za.s.r1.privatelink.aliyuncs.com.",
            "e-zb.s.r1.privatelink.aliyuncs.com.",
            "p-za.s.r1.privatelink.aliyuncs.com.",
            "nope.s.r1.privatelink.aliyuncs.com.",
            "nope.privatelink.aliyuncs.com.",
            "a.b.c.e.s.r1.privatelink.aliyuncs.com.",
            "s.r1.privatelink.aliyuncs.com.",
            "privatelink.aliyuncs.com.",
            "example.com.",
            "xprivatelink.aliyuncs.com.",
        ];
        let types = [
            RecordType::A,
            RecordType::AAAA,
            RecordType::MX,
            RecordType::ANY,
        ];
        let edns_cases: [Option<(u16, Option<&str>)>; 7] = [
            None,
            Some((512, None)),
            Some((4096, None)),
            Some((1232, Some("127.0.1.0/24"))),
            Some((1232, Some("127.0.2.77/25"))),
            Some((1232, Some("127.0.0.0/16"))),
            Some((1232, Some("fd00:2::/64"))),
        ];
        let healths: [(AllDownPolicy, &[&str]); 5] = [
            (AllDownPolicy::All, &[]),
            (AllDownPolicy::All, &["127.0.1.10"]),
            (
                AllDownPolicy::All,
                &["127.0.1.10", "127.0.2.10", "127.0.1.12", "127.0.2.12"],
            ),
            (
                AllDownPolicy::None,
                &["127.0.1.10", "127.0.2.10", "127.0.1.11"],
            ),
            (
                AllDownPolicy::ServFail,
                &["127.0.1.10", "127.0.2.10", "fd00:2::10"],
            ),
        ];
        let mut taken = 0;
        let mut compared = 0;
        for (policy, down) in healths {
            let s = snapshot(policy, down);
            for name in names {
                for t in types {
                    for edns in edns_cases {
                        for src in ["127.0.1.50", "127.0.2.50", "127.0.9.9"] {
                            let p = query(name, t, edns);
                            let (fast, general) = both(&s, &p, src);
                            compared += 1;
                            let Some(fast) = fast else { continue };
                            taken += 1;
                            let ctx = format!("{name} {t} {edns:?} from {src}, down {down:?}");
                            assert_eq!(fast.metadata, general.metadata, "{ctx}");
                            assert_eq!(fast.queries, general.queries, "{ctx}");
                            assert_eq!(fast.answers, general.answers, "{ctx}");
                            assert_eq!(fast.authorities, general.authorities, "{ctx}");
                            assert_eq!(fast.additionals, general.additionals, "{ctx}");
                            assert_eq!(fast.edns, general.edns, "{ctx}");
                        }
                    }
                }
            }
        }
        // A/AAAA for endpoint and zone domains and NXDOMAIN under the apex,
        // in every EDNS case: the fast path must have taken most of them.
        assert!(taken > compared / 4, "fast path took {taken} of {compared}");
    }

    #[test]
    fn fast_path_declines_what_it_does_not_handle() {
        let s = snapshot(AllDownPolicy::All, &[]);
        let ep = "e.s.r1.privatelink.aliyuncs.com.";
        let origin = Origin {
            src: "127.0.0.1".parse().unwrap(),
            listener: SocketAddr::from(([127, 0, 0, 1], 53)),
            transport: Transport::Udp,
        };
        let m = Metrics::default();
        let mut out = Vec::new();
        let mut declines = |p: &[u8]| !respond(&s, &m, p, origin, &mut out);
        // Opcode NOTIFY.
        let mut p = query(ep, RecordType::A, None);
        p[2] |= 4 << 3;
        assert!(declines(&p));
        // A response.
        let mut p = query(ep, RecordType::A, None);
        p[2] |= 0x80;
        assert!(declines(&p));
        // EDNS version 1.
        let mut p = query(ep, RecordType::A, Some((1232, None)));
        let opt = p.len() - 11;
        p[opt + 6] = 1;
        assert!(declines(&p));
        // Trailing garbage, truncated question, class CH.
        let mut p = query(ep, RecordType::A, None);
        p.push(0);
        assert!(declines(&p));
        let p = query(ep, RecordType::A, None);
        assert!(declines(&p[..p.len() - 1]));
        let mut p = query(ep, RecordType::A, None);
        let n = p.len();
        p[n - 1] = 3;
        assert!(declines(&p));
        // A name outside the zone.
        assert!(declines(&query("example.com.", RecordType::A, None)));
    }
}

#[cfg(test)]
mod robustness {
    use std::net::SocketAddr;

    use rand::{RngExt, SeedableRng};

    use super::*;
    use crate::dns::message::{Outcome, respond as respond_any};
    use crate::snapshot::AllDownPolicy;

    /// Malformed input gets FORMERR or is dropped, never a panic: mutated
    /// copies of valid queries (flipped bits, cut short, grown) and random
    /// bytes, through both paths.
    #[test]
    fn mutated_and_random_packets_never_panic() {
        let s = tests::snapshot(AllDownPolicy::All, &[]);
        let m = Metrics::default();
        let origin = Origin {
            src: "127.0.1.50".parse().unwrap(),
            listener: SocketAddr::from(([127, 0, 0, 1], 53)),
            transport: Transport::Udp,
        };
        let seeds: Vec<Vec<u8>> = [
            ("e.s.r1.privatelink.aliyuncs.com.", RecordType::A, None),
            (
                "e.s.r1.privatelink.aliyuncs.com.",
                RecordType::AAAA,
                Some("127.0.1.0/24"),
            ),
            (
                "e-za.s.r1.privatelink.aliyuncs.com.",
                RecordType::A,
                Some("::/0"),
            ),
            ("x.privatelink.aliyuncs.com.", RecordType::A, None),
            ("example.com.", RecordType::MX, None),
        ]
        .into_iter()
        .map(|(name, t, ecs)| tests::query(name, t, Some((1232, ecs))))
        .collect();
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut out = Vec::new();
        let mut replies = 0;
        for round in 0..200_000 {
            let mut p = seeds[round % seeds.len()].clone();
            match round % 4 {
                0 => {
                    for _ in 0..rng.random_range(1..4) {
                        let i = rng.random_range(0..p.len());
                        p[i] ^= 1 << rng.random_range(0..8);
                    }
                }
                1 => p.truncate(rng.random_range(0..p.len())),
                2 => {
                    let i = rng.random_range(0..p.len());
                    p[i] = rng.random();
                    p.extend((0..rng.random_range(0..8)).map(|_| rng.random::<u8>()));
                }
                _ => {
                    p = (0..rng.random_range(0..64)).map(|_| rng.random()).collect();
                }
            }
            if let Outcome::Reply = respond_any(&s, &m, &p, origin, &mut out) {
                replies += 1;
                assert!(out.len() >= 12);
                assert_eq!(out[..2], p[..2], "ID echoed");
            }
        }
        assert!(replies > 10_000, "only {replies} replies");
    }
}
