//! The wire-level fast path for the common question: one A or AAAA (or a
//! name that does not exist) in the generated zone, with or without EDNS and
//! ECS. It reads the query in place, looks the name up by its lowercase wire
//! form and decides; `wire::reply` writes the reply. No decoding into
//! `Message` and no allocation (`tests/fast_path_alloc.rs` counts them).
//! Anything unusual (another opcode, type or class, an OPT we do not fully
//! understand, a reply that would not fit) is left to the general path
//! (`message::respond_general`), which gives the same answer: the tests in
//! `respond.rs` hold the two to that.

use std::net::IpAddr;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

use super::client::{EcsQuery, EcsUse, Origin, Transport, judge, mask};
use super::metrics::Metrics;
use crate::snapshot::fast_answer::FastAnswer;
use crate::snapshot::{Client, Depends, Snapshot};
use crate::wire::reply::{
    self as wire, EcsReply, FLAG_DO, HEADER_LEN, OPTION_ECS, ReplyHeader, TYPE_OPT,
};

/// The parts of a query the fast path needs.
struct Query<'p> {
    /// The question as sent: name, type and class.
    question: &'p [u8],
    qtype: RecordType,
    /// Length of the name in `name_buf` (lowercase: names with capitals are
    /// left to the general path), root octet included (the tables' key form).
    name_len: usize,
    edns: Option<Edns<'p>>,
}

struct Edns<'p> {
    payload: u16,
    /// The DO bit, copied into the reply (RFC 3225 §3).
    dnssec_ok: bool,
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
    // With `[server] ecs` off the option is neither used nor echoed.
    let ecs = q
        .edns
        .as_ref()
        .and_then(|e| e.ecs.as_ref())
        .filter(|_| tables.ecs);
    let (client, used) = match ecs {
        Some(ecs) => {
            let query = EcsQuery {
                addr: masked(ecs),
                source_prefix: ecs.source_prefix,
            };
            judge(tables, origin, Some(query))
        }
        // No view is needed here: the fast path answers only names that
        // every view sees alike.
        None => (
            Client {
                addr: origin.src,
                source_prefix: None,
                vpc: None,
                may_forward: false,
            },
            EcsUse::Ignored,
        ),
    };
    let answer = snapshot.fast_answer(&name_buf[..q.name_len], q.qtype, &client);
    let (rcode, affinity) = match &answer {
        FastAnswer::General => return false,
        FastAnswer::Addresses { affinity, .. } => (ResponseCode::NoError, *affinity),
        FastAnswer::NoData => (ResponseCode::NoError, None),
        FastAnswer::NxDomain => (ResponseCode::NXDomain, None),
        FastAnswer::ServFail => (ResponseCode::ServFail, None),
    };
    let scope_prefix = used.scope(Depends {
        affinity,
        view: false,
    });
    let (answers, ttl, authority): (&[IpAddr], u32, bool) = match &answer {
        FastAnswer::Addresses { ips, ttl, .. } => (ips, *ttl, false),
        FastAnswer::NoData | FastAnswer::NxDomain => (&[], 0, true),
        _ => (&[], 0, false),
    };
    out.clear();
    ReplyHeader {
        id: [packet[0], packet[1]],
        opcode: 0,
        // AA on every answer but SERVFAIL, as the general path.
        authoritative: rcode != ResponseCode::ServFail,
        recursion_desired: packet[2] & 0x01 != 0,
        checking_disabled: packet[3] & 0x10 != 0,
        rcode: rcode.low(),
        counts: [
            1,
            answers.len() as u16,
            u16::from(authority),
            u16::from(q.edns.is_some()),
        ],
    }
    .write(out);
    out.extend_from_slice(q.question);
    for ip in answers {
        wire::address_record(*ip, ttl, out);
    }
    if authority {
        // The question's name is at or below the apex: point at its tail.
        let apex_at = HEADER_LEN + q.name_len - tables.apex_wire.len();
        tables.zone.negative_soa.write(apex_at as u16, out);
    }
    if q.edns.is_some() {
        let echo = ecs.map(|ecs| EcsReply {
            family: ecs.family,
            source_prefix: ecs.source_prefix,
            scope_prefix,
            address: ecs.address,
        });
        let dnssec_ok = q.edns.as_ref().is_some_and(|e| e.dnssec_ok);
        wire::opt(tables.udp_payload, dnssec_ok, echo.as_ref(), out);
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
    if p.len() < HEADER_LEN + 5 || p[2] & 0xF8 != 0 {
        return None;
    }
    let counts = [u16_at(p, 4)?, u16_at(p, 6)?, u16_at(p, 8)?, u16_at(p, 10)?];
    if counts[0] != 1 || counts[1] != 0 || counts[2] != 0 || counts[3] > 1 {
        return None;
    }
    let mut at = HEADER_LEN;
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
        // A name with capitals (a resolver's 0x20 case randomization, RFC
        // draft-vixie-dnsext-dns0x20) is the general path's: the fast path
        // points its owners at the question and would echo the capitals,
        // where the general path writes the stored, lowercase names (hickory
        // compresses only byte-equal names), and the two must write the
        // same bytes.
        if label.iter().any(u8::is_ascii_uppercase) {
            return None;
        }
        name[len + 1..len + 1 + l].copy_from_slice(label);
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
    let question = &p[HEADER_LEN..at];
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
    if *p.get(at)? != 0 || u16_at(p, at + 1)? != TYPE_OPT {
        return None;
    }
    let payload = u16_at(p, at + 3)?;
    // Extended RCODE and version must be 0 (BADVERS is the general path's).
    if *p.get(at + 5)? != 0 || *p.get(at + 6)? != 0 {
        return None;
    }
    let dnssec_ok = *p.get(at + 7)? & FLAG_DO != 0;
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
        if code == OPTION_ECS {
            if ecs.is_some() {
                return None;
            }
            ecs = Some(parse_ecs(data)?);
        }
        o += 4 + olen;
    }
    Some((
        Edns {
            payload,
            dnssec_ok,
            ecs,
        },
        end,
    ))
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
