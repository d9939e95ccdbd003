//! One DNS message in, one out: decoding, the checks a server owes every query
//! (opcode, QDCOUNT, class, EDNS version, ECS), the answer from the snapshot,
//! and encoding with truncation for UDP.

use std::borrow::Cow;

use hickory_proto::op::{Edns, Message, MessageType, Metadata, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::opt::EdnsOption;
use hickory_proto::rr::rdata::tsig::{TSIG, TsigError, make_tsig_record};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::BinEncoder;

use super::client::{Origin, Transport, client_of};
use super::metrics::Metrics;
use crate::snapshot::{Answer, Client, Snapshot};
use crate::wire::reply::{HEADER_LEN, ReplyHeader};

/// What to do with a query once answered (`respond::respond`).
pub enum Outcome {
    /// `out` holds the reply.
    Reply,
    /// Send nothing.
    Drop,
    /// The answer needs an upstream resolver: resolve `name`/`qtype`, then
    /// `finish` builds the reply.
    Forward(Box<PendingForward>),
}

/// The general path: decodes into a `Message`, answers any question.
pub fn respond_general(
    snapshot: &Snapshot,
    metrics: &Metrics,
    packet: &[u8],
    origin: Origin,
    out: &mut Vec<u8>,
) -> Outcome {
    out.clear();
    let msg = match Message::from_vec(packet) {
        Ok(m) => m,
        Err(_) => return header_only_formerr(packet, metrics, out),
    };
    if msg.metadata.message_type != MessageType::Query {
        return Outcome::Drop;
    }
    // hickory leaves a TSIG record among the additionals (its TSIG support
    // is behind features we do not enable). It must be the last record
    // (RFC 8945 §5.1), else the message is malformed.
    let tsig = msg
        .additionals
        .iter()
        .enumerate()
        .find_map(|(at, r)| match &r.data {
            RData::TSIG(t) => Some((at, &r.name, t)),
            _ => None,
        });
    if let Some((at, key, tsig)) = tsig {
        if at + 1 != msg.additionals.len() {
            return header_only_formerr(packet, metrics, out);
        }
        return unknown_tsig_key(snapshot, metrics, &msg, key, tsig, out);
    }
    let edns_in = msg.edns.as_ref();
    let mut meta = Metadata::response_from_request(&msg.metadata);
    meta.recursion_available = false;
    meta.authentic_data = false;
    let mut reply = Reply {
        meta,
        query: msg.queries.first(),
        edns: edns_in.map(|e| our_edns(snapshot, e)),
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
        match client_of(&snapshot.tables, origin, edns_in) {
            Err(()) => reply.meta.response_code = ResponseCode::FormErr,
            Ok((client, ecs)) => {
                let answer = question(snapshot, q, &client);
                if let (Some((mut ecs, used)), Some(edns)) = (ecs, reply.edns.as_mut()) {
                    ecs.set_scope_prefix(used.scope(answer.depends));
                    edns.options_mut().insert(EdnsOption::Subnet(ecs));
                }
                reply.meta.response_code = answer.rcode;
                reply.meta.authoritative = answer.authoritative;
                if let Some(name) = answer.forward.clone() {
                    return Outcome::Forward(Box::new(PendingForward {
                        name,
                        qtype: q.query_type(),
                        meta: reply.meta,
                        query: q.clone(),
                        edns: reply.edns,
                        chain: answer.answers.iter().map(|r| r.as_ref().clone()).collect(),
                        limit: limit(snapshot, origin.transport, edns_in),
                    }));
                }
                reply.answer = Some(answer);
            }
        }
    }
    metrics.count(reply.meta.response_code);
    let limit = limit(snapshot, origin.transport, edns_in);
    let (an, ns, ar) = match &reply.answer {
        Some(a) => (&a.answers[..], &a.authority[..], &a.additionals[..]),
        None => (&[][..], &[][..], &[][..]),
    };
    // Addresses added for NS, MX and SRV targets are a courtesy that may be
    // left out when they do not fit (RFC 2181 §9: TC only when required
    // data is missing); the glue of a referral is required (RFC 9471).
    let referral = ns.iter().any(|r| r.record_type() == RecordType::NS);
    let (query, edns) = (reply.query, reply.edns.as_ref());
    let mut encode = |meta: &mut Metadata, additionals: &[Cow<'_, Record>]| {
        let sections = [an, ns, additionals].map(|s| s.iter().map(|r| r.as_ref()));
        encode_limited(meta, query, sections, edns, limit, out)
    };
    let mut fits = encode(&mut reply.meta, ar);
    if fits && reply.meta.truncation && !ar.is_empty() && !referral {
        reply.meta.truncation = false;
        fits = encode(&mut reply.meta, &[]);
    }
    if fits { Outcome::Reply } else { Outcome::Drop }
}

/// A query waiting for an upstream answer (resolver mode).
pub struct PendingForward {
    pub(crate) name: Name,
    pub(crate) qtype: RecordType,
    meta: Metadata,
    query: Query,
    edns: Option<Edns>,
    /// What we answered before the chain left our data.
    chain: Vec<Record>,
    limit: usize,
}

impl PendingForward {
    /// Builds the reply from the upstream's answer; false when it cannot be
    /// encoded at all.
    pub(crate) fn finish(
        self: Box<Self>,
        metrics: &Metrics,
        rcode: ResponseCode,
        answers: &[Record],
        authorities: &[Record],
        out: &mut Vec<u8>,
    ) -> bool {
        let mut this = *self;
        out.clear();
        // A chain that left our data keeps its RCODE unless the rest failed.
        if this.chain.is_empty() || rcode != ResponseCode::NoError {
            this.meta.response_code = rcode;
        }
        this.meta.recursion_available = true;
        metrics.count(this.meta.response_code);
        let an = this.chain.iter().chain(answers.iter());
        let sections = [
            Box::new(an) as Box<dyn Iterator<Item = &Record>>,
            Box::new(authorities.iter()),
            Box::new(std::iter::empty()),
        ];
        encode_limited(
            &mut this.meta,
            Some(&this.query),
            sections,
            this.edns.as_ref(),
            this.limit,
            out,
        )
    }
}

fn limit(snapshot: &Snapshot, transport: Transport, edns: Option<&Edns>) -> usize {
    match transport {
        Transport::Tcp => u16::MAX as usize,
        Transport::Udp => udp_limit(snapshot, edns),
    }
}

/// Encodes the reply; when it is larger than `limit`, sends it empty with TC
/// instead (RFC 2181 §9: never a partial RRset; TC tells the client to retry
/// over TCP). False when nothing can be encoded.
fn encode_limited<'r, I: Iterator<Item = &'r Record>>(
    meta: &mut Metadata,
    query: Option<&Query>,
    sections: [I; 3],
    edns: Option<&Edns>,
    limit: usize,
    out: &mut Vec<u8>,
) -> bool {
    let [mut an, mut ns, mut ar] = sections;
    let fits =
        emit(meta, query, &mut an, &mut ns, &mut ar, edns, out).is_ok() && out.len() <= limit;
    if fits {
        return true;
    }
    meta.truncation = true;
    out.clear();
    let none = || std::iter::empty::<&Record>();
    emit(
        meta,
        query,
        &mut none(),
        &mut none(),
        &mut none(),
        edns,
        out,
    )
    .is_ok()
}

fn emit<'r>(
    meta: &Metadata,
    query: Option<&Query>,
    an: &mut impl Iterator<Item = &'r Record>,
    ns: &mut impl Iterator<Item = &'r Record>,
    ar: &mut impl Iterator<Item = &'r Record>,
    edns: Option<&Edns>,
    out: &mut Vec<u8>,
) -> Result<(), hickory_proto::ProtoError> {
    let mut enc = BinEncoder::new(out);
    hickory_proto::op::emit_message_parts(
        meta,
        &mut query.into_iter(),
        an,
        ns,
        ar,
        edns,
        None,
        &mut enc,
    )?;
    Ok(())
}

fn question<'s>(snapshot: &'s Snapshot, q: &Query, client: &Client) -> Answer<'s> {
    let qtype = q.query_type();
    if q.query_class() != DNSClass::IN {
        return Answer::refused();
    }
    match qtype {
        // Meta types that are never a question (RFC 6891 §6.1.1, RFC 8945).
        RecordType::OPT | RecordType::TSIG => Answer {
            rcode: ResponseCode::FormErr,
            ..Answer::refused()
        },
        // Zone transfers go only to configured secondaries, whose queries
        // `xfr/` takes before this path.
        RecordType::AXFR | RecordType::IXFR => Answer::refused(),
        _ => snapshot.answer(q.name(), qtype, client),
    }
}

/// Our OPT record for a query that had one: our UDP size, version 0, and
/// the query's DO bit (RFC 3225 §3: the responder MUST copy it).
fn our_edns(snapshot: &Snapshot, query: &Edns) -> Edns {
    let mut e = Edns::new();
    e.set_max_payload(snapshot.tables.udp_payload);
    e.set_version(0);
    e.set_dnssec_ok(query.flags().dnssec_ok);
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

/// A signed query from a client that is not a configured secondary (their
/// queries go to `xfr/`): epdns holds no key for it, so the key is unknown:
/// RFC 8945 §5.2 wants NOTAUTH with TSIG error BADKEY, and the reply unsigned
/// (§5.3.2): the query's key name, algorithm, time and fudge, an empty
/// MAC, the query's ID as the original ID. Nothing else is answered.
fn unknown_tsig_key(
    snapshot: &Snapshot,
    metrics: &Metrics,
    msg: &Message,
    key: &Name,
    q: &TSIG,
    out: &mut Vec<u8>,
) -> Outcome {
    let mut meta = Metadata::response_from_request(&msg.metadata);
    meta.recursion_available = false;
    meta.authentic_data = false;
    meta.response_code = ResponseCode::NotAuth;
    let rdata = TSIG::new(
        q.algorithm.clone(),
        q.time,
        q.fudge,
        Vec::new(),
        msg.metadata.id,
        Some(TsigError::BadKey),
        Vec::new(),
    );
    let reply_tsig = make_tsig_record(key.clone(), rdata);
    let edns = msg.edns.as_ref().map(|e| our_edns(snapshot, e));
    metrics.count(ResponseCode::NotAuth);
    let none = || std::iter::empty::<&Record>();
    let mut enc = BinEncoder::new(out);
    let written = hickory_proto::op::emit_message_parts(
        &meta,
        &mut msg.queries.iter(),
        &mut none(),
        &mut none(),
        &mut none(),
        edns.as_ref(),
        Some(&reply_tsig),
        &mut enc,
    );
    match written {
        Ok(_) => Outcome::Reply,
        Err(_) => Outcome::Drop,
    }
}

/// A query we cannot decode still gets FORMERR when its header is readable
/// (RFC 1035 §4.1.1), echoing the ID, opcode and RD with no sections.
fn header_only_formerr(packet: &[u8], metrics: &Metrics, out: &mut Vec<u8>) -> Outcome {
    if packet.len() < HEADER_LEN || packet[2] & 0x80 != 0 {
        return Outcome::Drop;
    }
    metrics.count(ResponseCode::FormErr);
    ReplyHeader {
        id: [packet[0], packet[1]],
        opcode: (packet[2] >> 3) & 0x0F,
        authoritative: false,
        recursion_desired: packet[2] & 0x01 != 0,
        checking_disabled: false,
        rcode: ResponseCode::FormErr.low(),
        counts: [0; 4],
    }
    .write(out);
    Outcome::Reply
}
