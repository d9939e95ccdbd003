//! A record sequence (an AXFR's or an IXFR's) as DNS messages: as many as
//! it takes (RFC 5936 §2.2: a zone need not fit one message), the question
//! in the first only, each message at most `MESSAGE_BYTES` so that a TSIG
//! record still fits under the 64 KiB of a TCP message.

use hickory_proto::op::{Metadata, Query, ResponseCode};
use hickory_proto::rr::Record;
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder};

/// The records of one message stop growing past this size. Knot and BIND
/// fill messages up to 64 KiB; 16 KiB keeps each under its share of a
/// TCP window and leaves room for names that compress less.
pub(crate) const MESSAGE_BYTES: usize = 16 << 10;

/// The messages carrying `records`, answering `query` with `meta`'s ID,
/// opcode and flags. A record too large for any message is not possible
/// here (one record is at most 64 KiB of RDATA; it then goes alone).
pub(crate) fn pack(meta: &Metadata, query: &Query, records: &[Record]) -> Vec<Vec<u8>> {
    let mut messages = Vec::new();
    let mut start = 0;
    let mut size = 0;
    for (i, r) in records.iter().enumerate() {
        let len = encoded_len(r);
        if i > start && size + len > MESSAGE_BYTES {
            messages.push(message(
                meta,
                (start == 0).then_some(query),
                &records[start..i],
            ));
            start = i;
            size = 0;
        }
        size += len;
    }
    messages.push(message(
        meta,
        (start == 0).then_some(query),
        &records[start..],
    ));
    messages
}

/// One message with `answers` (a reply without data when empty).
pub(crate) fn message(meta: &Metadata, query: Option<&Query>, answers: &[Record]) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    let mut enc = BinEncoder::new(&mut out);
    let none = || std::iter::empty::<&Record>();
    hickory_proto::op::emit_message_parts(
        meta,
        &mut query.into_iter(),
        &mut answers.iter(),
        &mut none(),
        &mut none(),
        None,
        None,
        &mut enc,
    )
    .expect("a message within 64 KiB encodes into a Vec");
    out
}

/// The reply's header: our answer to `request`, authoritative.
pub(crate) fn reply_meta(request: &Metadata, rcode: ResponseCode) -> Metadata {
    let mut meta = Metadata::response_from_request(request);
    meta.authoritative = rcode == ResponseCode::NoError;
    meta.recursion_available = false;
    meta.authentic_data = false;
    meta.response_code = rcode;
    meta
}

/// The RCODE of a message we built (its header's low four bits; our
/// replies carry no extended RCODE).
pub(crate) fn rcode_of(msg: &[u8]) -> ResponseCode {
    ResponseCode::from_low(msg.get(3).map_or(0, |b| b & 0x0F))
}

/// A record's size without compression: an upper bound of its share.
fn encoded_len(r: &Record) -> usize {
    let mut buf = Vec::with_capacity(64);
    let mut enc = BinEncoder::new(&mut buf);
    match r.emit(&mut enc) {
        Ok(()) => buf.len(),
        Err(_) => MESSAGE_BYTES,
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use hickory_proto::op::{Message, MessageType, OpCode};
    use hickory_proto::rr::rdata::TXT;
    use hickory_proto::rr::{Name, RData, RecordType};

    use super::*;

    #[test]
    fn a_large_sequence_spans_messages_that_parse_back_whole() {
        let apex = Name::from_str("big.lab.").unwrap();
        let records: Vec<Record> = (0..400)
            .map(|i| {
                let name = Name::from_str(&format!("n{i}.big.lab.")).unwrap();
                Record::from_rdata(name, 60, RData::TXT(TXT::new(vec!["x".repeat(200)])))
            })
            .collect();
        let mut request = Metadata::new(7, MessageType::Query, OpCode::Query);
        request.recursion_desired = false;
        let meta = reply_meta(&request, ResponseCode::NoError);
        let query = Query::query(apex, RecordType::AXFR);
        let messages = pack(&meta, &query, &records);
        assert!(messages.len() >= 5, "{} messages", messages.len());
        let mut back = Vec::new();
        for (i, m) in messages.iter().enumerate() {
            assert!(m.len() <= u16::MAX as usize - 1024);
            let parsed = Message::from_vec(m).unwrap();
            assert_eq!(parsed.metadata.id, 7);
            assert!(parsed.metadata.authoritative);
            assert_eq!(parsed.queries.len(), usize::from(i == 0));
            back.extend(parsed.answers);
        }
        assert_eq!(back, records);
    }
}
