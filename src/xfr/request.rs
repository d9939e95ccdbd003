//! A query from a configured secondary: its TSIG checked (RFC 8945 §5.2),
//! then AXFR, IXFR or the SOA of a transferred zone answered here, signed
//! message by message; anything else is answered by the general path and
//! signed afterwards (`General`).

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::tsig::TsigError;
use hickory_proto::rr::{DNSClass, RData, RecordType};

use super::content::soa_serial;
use super::stream::{message, pack, reply_meta};
use super::tsig::{self, Refusal, Signed, StreamSigner};
use super::zones::Zones;
use crate::model::{Secondary, Transfer, TsigKey};

/// What to do with a secondary's query.
pub(crate) enum Handling {
    /// These messages, in order (over UDP there is one).
    Reply(Vec<Vec<u8>>),
    /// Answer it as any query, from `General::query`, then `General::finish`.
    General(Box<General>),
}

/// A query for the general path; when it was signed, the TSIG record is
/// taken off for answering and the answer is signed.
pub(crate) struct General {
    unsigned: Option<Vec<u8>>,
    signing: Option<(TsigKey, hickory_proto::rr::rdata::tsig::TSIG)>,
}

impl General {
    /// An unsigned query: answered as is.
    pub(crate) fn plain() -> Self {
        General {
            unsigned: None,
            signing: None,
        }
    }

    /// The query to answer: without its TSIG record when it had one.
    pub(crate) fn query<'a>(&'a self, packet: &'a [u8]) -> &'a [u8] {
        self.unsigned.as_deref().unwrap_or(packet)
    }

    /// Signs the general path's reply when the query was signed.
    pub(crate) fn finish(&self, reply: &mut Vec<u8>) {
        if let Some((key, request)) = &self.signing {
            StreamSigner::new(key, request, tsig::now()).sign(reply, None, Vec::new());
        }
    }
}

pub(crate) fn handle(
    access: &Transfer,
    secondary: &Secondary,
    zones: &std::sync::Mutex<Zones>,
    packet: &[u8],
    tcp: bool,
) -> Handling {
    let general = || Handling::General(Box::new(General::plain()));
    // Whatever cannot be read is the general path's to refuse (FORMERR).
    let Ok(signed) = tsig::find(packet) else {
        return general();
    };
    let Ok(msg) = Message::from_vec(packet) else {
        return general();
    };
    if msg.metadata.message_type != MessageType::Query {
        return general();
    }
    let key = secondary.key.map(|k| &access.keys[k]);
    let now = tsig::now();
    let reply = |rcode: ResponseCode| reply_meta(&msg.metadata, rcode);
    if let Some(signed) = &signed {
        match tsig::verify_request(packet, signed, key, now) {
            Ok(()) => {}
            Err(refusal) => return refused(&msg, signed, key, refusal, now),
        }
    }
    let signer = |msgs: Vec<Vec<u8>>| sign_all(msgs, key, signed.as_ref(), now);
    let q = match msg.queries.as_slice() {
        [q] if msg.metadata.op_code == OpCode::Query && q.query_class() == DNSClass::IN => q,
        _ => return general_of(packet, key, signed),
    };
    let apex = q.name().to_lowercase();
    match q.query_type() {
        RecordType::AXFR | RecordType::IXFR => {
            // A secondary with a key transfers only with it.
            if key.is_some() && signed.is_none() {
                let m = message(&reply(ResponseCode::Refused), Some(q), &[]);
                return Handling::Reply(vec![m]);
            }
            let zones = zones.lock().unwrap_or_else(|e| e.into_inner());
            let Some(zone) = zones.get(&apex) else {
                // RFC 5936 §2.2.1: not authoritative for that zone.
                return Handling::Reply(signer(vec![message(
                    &reply(ResponseCode::NotAuth),
                    Some(q),
                    &[],
                )]));
            };
            let records = if q.query_type() == RecordType::AXFR {
                if !tcp {
                    // RFC 5936 §4.2: AXFR is not sent over UDP.
                    return Handling::Reply(signer(vec![message(
                        &reply(ResponseCode::FormErr),
                        Some(q),
                        &[],
                    )]));
                }
                zone.axfr()
            } else {
                let client = msg.authorities.iter().find_map(|r| match &r.data {
                    RData::SOA(_) => Some(soa_serial(r)),
                    _ => None,
                });
                match client {
                    // RFC 1995 §3: over UDP, the SOA alone when the answer
                    // might not fit tells the client to use TCP.
                    Some(_) if !tcp => vec![zone.soa.clone()],
                    Some(serial) => zone.ixfr(serial),
                    None => {
                        return Handling::Reply(signer(vec![message(
                            &reply(ResponseCode::FormErr),
                            Some(q),
                            &[],
                        )]));
                    }
                }
            };
            drop(zones);
            tracing::debug!(zone = %apex, kind = %q.query_type(), records = records.len(), "transfer");
            Handling::Reply(signer(pack(&reply(ResponseCode::NoError), q, &records)))
        }
        // The serial a secondary checks is the transfer serial.
        RecordType::SOA => {
            let zones = zones.lock().unwrap_or_else(|e| e.into_inner());
            match zones.get(&apex) {
                Some(zone) if q.name().num_labels() == zone.apex.num_labels() => {
                    tracing::debug!(zone = %apex, serial = zone.serial(), tcp, "SOA to a secondary");
                    let m = message(
                        &reply(ResponseCode::NoError),
                        Some(q),
                        std::slice::from_ref(&zone.soa),
                    );
                    Handling::Reply(signer(vec![m]))
                }
                _ => general_of(packet, key, signed),
            }
        }
        _ => general_of(packet, key, signed),
    }
}

/// A query for the general path, signed or not.
fn general_of(packet: &[u8], key: Option<&TsigKey>, signed: Option<Signed>) -> Handling {
    let (Some(key), Some(signed)) = (key, signed) else {
        return Handling::General(Box::new(General::plain()));
    };
    Handling::General(Box::new(General {
        unsigned: Some(signed.unsigned_query(packet)),
        signing: Some((key.clone(), signed.tsig)),
    }))
}

fn sign_all(
    mut msgs: Vec<Vec<u8>>,
    key: Option<&TsigKey>,
    signed: Option<&Signed>,
    now: u64,
) -> Vec<Vec<u8>> {
    if let (Some(key), Some(signed)) = (key, signed) {
        let mut signer = StreamSigner::new(key, &signed.tsig, now);
        for m in &mut msgs {
            signer.sign(m, None, Vec::new());
        }
    }
    msgs
}

/// NOTAUTH with the TSIG error (§5.2): BADKEY and BADSIG unsigned,
/// BADTIME signed with our time.
fn refused(
    msg: &Message,
    signed: &Signed,
    key: Option<&TsigKey>,
    refusal: Refusal,
    now: u64,
) -> Handling {
    let meta = reply_meta(&msg.metadata, ResponseCode::NotAuth);
    let mut m = message(&meta, msg.queries.first(), &[]);
    match (refusal, key) {
        (Refusal::OutOfTime, Some(key)) => {
            StreamSigner::new(key, &signed.tsig, now).sign(
                &mut m,
                Some(TsigError::BadTime),
                tsig::time_other(now),
            );
        }
        (Refusal::WrongMac, _) => tsig::append_unsigned(&mut m, signed, TsigError::BadSig),
        _ => tsig::append_unsigned(&mut m, signed, TsigError::BadKey),
    }
    Handling::Reply(vec![m])
}
