//! One DNS message in, one out: decoding, the checks a server owes every query
//! (opcode, QDCOUNT, class, EDNS version, ECS), the answer from the snapshot,
//! and encoding with truncation for UDP.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hickory_proto::op::{Edns, Message, MessageType, Metadata, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::opt::{ClientSubnet, EdnsCode, EdnsOption};
use hickory_proto::rr::{DNSClass, Record, RecordType};
use hickory_proto::serialize::binary::BinEncoder;

use super::metrics::Metrics;
use crate::snapshot::{Answer, Client, Snapshot};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}

/// Answers one query message into `out` (cleared first). Returns false when
/// nothing must be sent: the packet is a response, or too short to echo an ID.
pub fn respond(
    snapshot: &Snapshot,
    metrics: &Metrics,
    packet: &[u8],
    src: IpAddr,
    transport: Transport,
    out: &mut Vec<u8>,
) -> bool {
    out.clear();
    let msg = match Message::from_vec(packet) {
        Ok(m) => m,
        Err(_) => return header_only_formerr(packet, metrics, out),
    };
    if msg.metadata.message_type != MessageType::Query {
        return false;
    }
    let edns_in = msg.edns.as_ref();
    let mut meta = Metadata::response_from_request(&msg.metadata);
    meta.recursion_available = false;
    meta.authentic_data = false;
    let mut reply = Reply {
        meta,
        query: msg.queries.first(),
        edns: edns_in.map(|_| our_edns(snapshot)),
        answer: None,
    };

    if msg.metadata.op_code != OpCode::Query {
        reply.meta.response_code = ResponseCode::NotImp;
    } else if msg.queries.len() != 1 {
        // RFC 9619: QDCOUNT must be 1 for QUERY.
        reply.query = None;
        reply.meta.response_code = ResponseCode::FormErr;
    } else if edns_in.is_some_and(|e| e.version() > 0) {
        reply.meta.response_code = ResponseCode::BADVERS;
    } else {
        let q = &msg.queries[0];
        match client_of(snapshot, src, edns_in) {
            Err(()) => reply.meta.response_code = ResponseCode::FormErr,
            Ok((client, ecs)) => {
                let answer = question(snapshot, q, &client);
                if let (Some(mut ecs), Some(edns)) = (ecs, reply.edns.as_mut()) {
                    ecs.set_scope_prefix(answer.scope_prefix);
                    edns.options_mut().insert(EdnsOption::Subnet(ecs));
                }
                reply.meta.response_code = answer.rcode;
                reply.meta.authoritative = answer.authoritative;
                reply.answer = Some(answer);
            }
        }
    }
    metrics.count(reply.meta.response_code);

    let limit = match transport {
        Transport::Tcp => u16::MAX as usize,
        Transport::Udp => udp_limit(snapshot, edns_in),
    };
    if reply.encode(out).is_err() || out.len() > limit {
        // RFC 2181 §9: never send a partial RRset; TC tells the client to
        // retry over TCP.
        reply.answer = None;
        reply.meta.truncation = true;
        out.clear();
        if reply.encode(out).is_err() {
            return false;
        }
    }
    true
}

fn question<'s>(snapshot: &'s Snapshot, q: &Query, client: &Client) -> Answer<'s> {
    let qtype = q.query_type();
    if q.query_class() != DNSClass::IN {
        return refused();
    }
    match qtype {
        // Meta types that are never a question (RFC 6891 §6.1.1, RFC 8945).
        RecordType::OPT | RecordType::TSIG => Answer {
            rcode: ResponseCode::FormErr,
            ..refused()
        },
        // Zone transfers are not offered.
        RecordType::AXFR | RecordType::IXFR => refused(),
        _ => snapshot.answer(q.name(), qtype, client),
    }
}

fn refused<'s>() -> Answer<'s> {
    Answer::refused()
}

/// The client address the answer may depend on: the ECS address when present
/// and trusted (masked to its source prefix), else the source address. The
/// returned option is what to echo (RFC 7871 §7.2.1), `None` without ECS.
fn client_of(
    snapshot: &Snapshot,
    src: IpAddr,
    edns: Option<&Edns>,
) -> Result<(Client, Option<ClientSubnet>), ()> {
    let plain = Client {
        addr: src,
        source_prefix: None,
    };
    let Some(EdnsOption::Subnet(ecs)) = edns.and_then(|e| e.option(EdnsCode::Subnet)) else {
        return Ok((plain, None));
    };
    if ecs.scope_prefix() != 0 {
        // RFC 7871 §6: SCOPE PREFIX-LENGTH must be 0 in queries.
        return Err(());
    }
    if !snapshot.tables.ecs {
        // Not trusting ECS means not supporting it: no option in the reply.
        return Ok((plain, None));
    }
    let prefix = ecs.source_prefix();
    let addr = mask(ecs.addr(), prefix).ok_or(())?;
    Ok((
        Client {
            addr,
            source_prefix: Some(prefix),
        },
        Some(*ecs),
    ))
}

/// `addr` with the bits beyond `prefix` cleared; `None` if the prefix is too
/// long for the family.
fn mask(addr: IpAddr, prefix: u8) -> Option<IpAddr> {
    Some(match addr {
        IpAddr::V4(a) if prefix <= 32 => {
            let m = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(u32::from(a) & m))
        }
        IpAddr::V6(a) if prefix <= 128 => {
            let m = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(a) & m))
        }
        _ => return None,
    })
}

fn our_edns(snapshot: &Snapshot) -> Edns {
    let mut e = Edns::new();
    e.set_max_payload(snapshot.tables.udp_payload);
    e.set_version(0);
    e
}

/// RFC 6891 §6.2.5: the requestor's payload size, at least 512, at most ours.
fn udp_limit(snapshot: &Snapshot, edns: Option<&Edns>) -> usize {
    match edns {
        None => 512,
        Some(e) => e.max_payload().clamp(512, snapshot.tables.udp_payload) as usize,
    }
}

struct Reply<'a> {
    meta: Metadata,
    query: Option<&'a Query>,
    edns: Option<Edns>,
    answer: Option<Answer<'a>>,
}

impl Reply<'_> {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), hickory_proto::ProtoError> {
        let mut enc = BinEncoder::new(out);
        let empty: [&Record; 0] = [];
        let (an, ns, ar) = match &self.answer {
            Some(a) => (&a.answers[..], &a.authority[..], &a.additionals[..]),
            None => (&empty[..], &empty[..], &empty[..]),
        };
        hickory_proto::op::emit_message_parts(
            &self.meta,
            &mut self.query.into_iter(),
            &mut an.iter().copied(),
            &mut ns.iter().copied(),
            &mut ar.iter().copied(),
            self.edns.as_ref(),
            None,
            &mut enc,
        )?;
        Ok(())
    }
}

/// A query we cannot decode still gets FORMERR when its header is readable
/// (RFC 1035 §4.1.1), echoing the ID, opcode and RD with no sections.
fn header_only_formerr(packet: &[u8], metrics: &Metrics, out: &mut Vec<u8>) -> bool {
    if packet.len() < 12 || packet[2] & 0x80 != 0 {
        return false;
    }
    metrics.count(ResponseCode::FormErr);
    out.extend_from_slice(&packet[0..2]);
    // QR=1, opcode and RD kept; AA/TC cleared. RCODE=1.
    out.push(0x80 | (packet[2] & 0x79));
    out.push(ResponseCode::FormErr.low());
    out.extend_from_slice(&[0; 8]);
    true
}
