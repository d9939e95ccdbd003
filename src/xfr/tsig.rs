//! TSIG (RFC 8945) on raw message bytes: verifying a signed request,
//! signing each message of a reply stream (§5.3.1: the first over the
//! request's MAC and every variable, the next ones over the previous MAC
//! and the time only), and signing NOTIFY and checking its answer.
//!
//! Working on bytes keeps the MAC over exactly what goes on the wire:
//! hickory's own TSIG signer is behind its DNSSEC features, which would
//! also change how every query is parsed.

use std::time::{SystemTime, UNIX_EPOCH};

use hickory_proto::op::Query;
use hickory_proto::rr::rdata::tsig::{TSIG, TsigAlgorithm as WireAlgorithm, TsigError};
use hickory_proto::rr::{Name, RData, Record};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder, BinEncodable, BinEncoder};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Sha256, Sha512};

use crate::model::{TsigAlgorithm, TsigKey};

/// Seconds of clock difference a signature may have (RFC 8945 §10
/// recommends 300).
pub(crate) const FUDGE: u16 = 300;

/// Header offset of ARCOUNT.
const ARCOUNT: usize = 10;

/// A TSIG record found at the end of a message.
#[derive(Debug, Clone)]
pub(crate) struct Signed {
    pub(crate) key: Name,
    pub(crate) tsig: TSIG,
    /// Where the TSIG record starts in the message.
    start: usize,
}

impl Signed {
    /// The message without its TSIG record (ARCOUNT one less, ID as sent).
    pub(crate) fn unsigned_query(&self, msg: &[u8]) -> Vec<u8> {
        let mut m = msg[..self.start].to_vec();
        let ar = u16::from_be_bytes([m[ARCOUNT], m[ARCOUNT + 1]]) - 1;
        m[ARCOUNT..ARCOUNT + 2].copy_from_slice(&ar.to_be_bytes());
        m
    }
}

/// Why a signed request is not accepted (§5.2), with what the reply must
/// carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Not a key we have for this peer: NOTAUTH, BADKEY, unsigned.
    UnknownKey,
    /// The MAC is wrong: NOTAUTH, BADSIG, unsigned.
    WrongMac,
    /// Signed outside the fudge: NOTAUTH, BADTIME, signed, with our time.
    OutOfTime,
}

/// The TSIG record of `msg`, when its last additional record is one.
/// `Err` when the message cannot be walked.
pub(crate) fn find(msg: &[u8]) -> Result<Option<Signed>, String> {
    if msg.len() < 12 {
        return Err("shorter than a DNS header".into());
    }
    let count = |at: usize| u16::from_be_bytes([msg[at], msg[at + 1]]) as usize;
    let (qd, an, ns, ar) = (count(4), count(6), count(8), count(10));
    if ar == 0 {
        return Ok(None);
    }
    // The decoder starts at the message's first byte, past the header:
    // compression pointers count from there, and a decoder over the
    // records alone would follow them to the wrong bytes (a name after
    // the question, such as an IXFR query's SOA, is a pointer).
    let mut d = BinDecoder::new(msg);
    d.read_slice(12).map_err(|e| format!("header: {e}"))?;
    for _ in 0..qd {
        Query::read(&mut d).map_err(|e| format!("question: {e}"))?;
    }
    for _ in 0..an + ns + ar - 1 {
        Record::read(&mut d).map_err(|e| format!("record: {e}"))?;
    }
    let start = msg.len() - d.len();
    let last = Record::read(&mut d).map_err(|e| format!("last record: {e}"))?;
    match last.data {
        RData::TSIG(tsig) => Ok(Some(Signed {
            key: last.name.to_lowercase(),
            tsig,
            start,
        })),
        _ => Ok(None),
    }
}

/// Checks a signed request against `key` (§5.2 in its order: key, MAC,
/// time). The request's MAC, for signing the reply, on success.
pub(crate) fn verify_request(
    msg: &[u8],
    signed: &Signed,
    key: Option<&TsigKey>,
    now: u64,
) -> Result<(), Refusal> {
    let Some(key) =
        key.filter(|k| k.name == signed.key && wire(k.algorithm) == signed.tsig.algorithm)
    else {
        return Err(Refusal::UnknownKey);
    };
    // A truncated MAC (§5.2.2.1) is not offered by the servers we talk to.
    let mut mac = Hmacs::new(key);
    mac.update(&unsigned_part(msg, signed, signed.tsig.oid));
    mac.update(&variables(&signed.key, &signed.tsig));
    if !mac.verify(&signed.tsig.mac) {
        return Err(Refusal::WrongMac);
    }
    if now.abs_diff(signed.tsig.time) > u64::from(signed.tsig.fudge) {
        return Err(Refusal::OutOfTime);
    }
    Ok(())
}

/// Signs the messages of one reply stream in order.
pub(crate) struct StreamSigner<'k> {
    key: &'k TsigKey,
    /// The request's MAC, then each signed message's.
    prior: Vec<u8>,
    first: bool,
    time: u64,
    original_id: u16,
}

impl<'k> StreamSigner<'k> {
    /// For the reply to a request whose TSIG was `request` (the MAC of
    /// which the first reply covers).
    pub(crate) fn new(key: &'k TsigKey, request: &TSIG, now: u64) -> Self {
        StreamSigner {
            key,
            prior: request.mac.clone(),
            first: true,
            time: now,
            original_id: request.oid,
        }
    }

    /// A request of our own (NOTIFY): nothing before it.
    pub(crate) fn request(key: &'k TsigKey, id: u16, now: u64) -> Self {
        StreamSigner {
            key,
            prior: Vec::new(),
            first: true,
            time: now,
            original_id: id,
        }
    }

    /// Appends the TSIG record to `msg` (a whole unsigned message).
    pub(crate) fn sign(&mut self, msg: &mut Vec<u8>, error: Option<TsigError>, other: Vec<u8>) {
        let mut mac = Hmacs::new(self.key);
        if !self.prior.is_empty() {
            mac.update(&(self.prior.len() as u16).to_be_bytes());
            mac.update(&self.prior);
        }
        mac.update(msg);
        let tsig = TSIG::new(
            wire(self.key.algorithm),
            self.time,
            FUDGE,
            Vec::new(),
            self.original_id,
            error,
            other,
        );
        if self.first {
            mac.update(&variables(&self.key.name, &tsig));
        } else {
            // §5.3.1: later messages cover only the time and fudge.
            mac.update(&time_and_fudge(&tsig));
        }
        let digest = mac.finish();
        self.prior = digest.clone();
        self.first = false;
        append(msg, &self.key.name, tsig.set_mac(digest));
    }

    /// Checks the answer to a request this signer signed (NOTIFY's ack).
    pub(crate) fn verify_answer(&self, msg: &[u8]) -> Result<(), String> {
        let signed = find(msg)?.ok_or("the answer is not signed")?;
        if signed.key != self.key.name || signed.tsig.algorithm != wire(self.key.algorithm) {
            return Err(format!("the answer is signed with key {}", signed.key));
        }
        if let Some(e) = signed.tsig.error {
            return Err(format!("the peer says {e:?}"));
        }
        let mut mac = Hmacs::new(self.key);
        mac.update(&(self.prior.len() as u16).to_be_bytes());
        mac.update(&self.prior);
        mac.update(&unsigned_part(msg, &signed, signed.tsig.oid));
        mac.update(&variables(&signed.key, &signed.tsig));
        if mac.verify(&signed.tsig.mac) {
            Ok(())
        } else {
            Err("the answer's MAC is wrong".into())
        }
    }
}

/// An unsigned error reply's TSIG (§5.3.2: BADKEY and BADSIG): the
/// request's key, algorithm, time and fudge, an empty MAC.
pub(crate) fn append_unsigned(msg: &mut Vec<u8>, request: &Signed, error: TsigError) {
    let tsig = TSIG::new(
        request.tsig.algorithm.clone(),
        request.tsig.time,
        request.tsig.fudge,
        Vec::new(),
        request.tsig.oid,
        Some(error),
        Vec::new(),
    );
    append(msg, &request.key, tsig);
}

/// The current time in seconds, as TSIG counts it.
pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// BADTIME's other data: our time, 48 bits (§5.2.3).
pub(crate) fn time_other(now: u64) -> Vec<u8> {
    now.to_be_bytes()[2..].to_vec()
}

/// The message before its TSIG record, with ARCOUNT one less and the
/// original ID in place (§4.3.2).
fn unsigned_part(msg: &[u8], signed: &Signed, original_id: u16) -> Vec<u8> {
    let mut m = msg[..signed.start].to_vec();
    m[0..2].copy_from_slice(&original_id.to_be_bytes());
    let ar = u16::from_be_bytes([m[ARCOUNT], m[ARCOUNT + 1]]) - 1;
    m[ARCOUNT..ARCOUNT + 2].copy_from_slice(&ar.to_be_bytes());
    m
}

/// The TSIG variables of §4.3.3.
fn variables(key: &Name, tsig: &TSIG) -> Vec<u8> {
    let mut buf = Vec::with_capacity(64);
    let mut enc = BinEncoder::new(&mut buf);
    tsig.emit_tsig_for_mac(&mut enc, key)
        .expect("writing to a Vec does not fail");
    buf
}

fn time_and_fudge(tsig: &TSIG) -> [u8; 8] {
    let mut b = [0u8; 8];
    b[..6].copy_from_slice(&tsig.time.to_be_bytes()[2..]);
    b[6..].copy_from_slice(&tsig.fudge.to_be_bytes());
    b
}

/// Appends the TSIG record and counts it in ARCOUNT.
fn append(msg: &mut Vec<u8>, key: &Name, tsig: TSIG) {
    let record = hickory_proto::rr::rdata::tsig::make_tsig_record(key.clone(), tsig);
    let mut buf = Vec::with_capacity(128);
    let mut enc = BinEncoder::new(&mut buf);
    record
        .emit(&mut enc)
        .expect("writing to a Vec does not fail");
    msg.extend_from_slice(&buf);
    let ar = u16::from_be_bytes([msg[ARCOUNT], msg[ARCOUNT + 1]]).wrapping_add(1);
    msg[ARCOUNT..ARCOUNT + 2].copy_from_slice(&ar.to_be_bytes());
}

pub(crate) fn wire(a: TsigAlgorithm) -> WireAlgorithm {
    match a {
        TsigAlgorithm::HmacSha256 => WireAlgorithm::HmacSha256,
        TsigAlgorithm::HmacSha512 => WireAlgorithm::HmacSha512,
    }
}

/// One HMAC over the key's hash.
enum Hmacs {
    Sha256(Hmac<Sha256>),
    Sha512(Hmac<Sha512>),
}

impl Hmacs {
    fn new(key: &TsigKey) -> Self {
        match key.algorithm {
            TsigAlgorithm::HmacSha256 => Hmacs::Sha256(
                Hmac::new_from_slice(&key.secret).expect("HMAC takes a key of any length"),
            ),
            TsigAlgorithm::HmacSha512 => Hmacs::Sha512(
                Hmac::new_from_slice(&key.secret).expect("HMAC takes a key of any length"),
            ),
        }
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            Hmacs::Sha256(m) => m.update(data),
            Hmacs::Sha512(m) => m.update(data),
        }
    }

    fn finish(self) -> Vec<u8> {
        match self {
            Hmacs::Sha256(m) => m.finalize().into_bytes().to_vec(),
            Hmacs::Sha512(m) => m.finalize().into_bytes().to_vec(),
        }
    }

    /// Constant-time comparison.
    fn verify(self, mac: &[u8]) -> bool {
        match self {
            Hmacs::Sha256(m) => m.verify_slice(mac).is_ok(),
            Hmacs::Sha512(m) => m.verify_slice(mac).is_ok(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use base64::Engine;

    use super::*;
    use crate::xfr::stream::{message, reply_meta};
    use hickory_proto::op::{Message, MessageType, Metadata, OpCode, ResponseCode};
    use hickory_proto::rr::RecordType;

    /// `kdig -y hmac-sha256:xfr-key:<SECRET> SOA corp.lab`, as it went out.
    const KDIG_QUERY: &str = "70c60120000100000000000104636f7270036c61620000060001077866722d6b\
        65790000fa00ff00000000003d0b686d61632d7368613235360000006b0f01e3012c00207df123c2c859f8d1c2\
        58332e197d2739726e165d31c2cfa984af8c54d82625ee70c600000000";
    const SECRET: &str = "ZXBkbnMtdGVzdC10c2lnLXNlY3JldC0zMi1ieXRlcyE=";
    /// The query's time signed.
    const SIGNED_AT: u64 = 0x6b0f_01e3;

    fn key(name: &str, algorithm: TsigAlgorithm, secret: &str) -> TsigKey {
        TsigKey {
            name: Name::from_str(name).unwrap(),
            algorithm,
            secret: base64::engine::general_purpose::STANDARD
                .decode(secret)
                .unwrap()
                .into(),
        }
    }

    fn kdig_query() -> (Vec<u8>, Signed) {
        let bytes = hex::decode(KDIG_QUERY).unwrap();
        let signed = find(&bytes).unwrap().expect("signed");
        (bytes, signed)
    }

    #[test]
    fn a_query_kdig_signed_verifies_and_every_fault_is_named() {
        let (q, signed) = kdig_query();
        assert_eq!(signed.key.to_string(), "xfr-key.");
        let right = key("xfr-key.", TsigAlgorithm::HmacSha256, SECRET);
        assert_eq!(verify_request(&q, &signed, Some(&right), SIGNED_AT), Ok(()));
        assert_eq!(
            verify_request(&q, &signed, Some(&right), SIGNED_AT + 300),
            Ok(())
        );
        assert_eq!(
            verify_request(&q, &signed, Some(&right), SIGNED_AT + 301),
            Err(Refusal::OutOfTime)
        );
        let wrong = key("xfr-key.", TsigAlgorithm::HmacSha256, "d3Jvbmc=");
        assert_eq!(
            verify_request(&q, &signed, Some(&wrong), SIGNED_AT),
            Err(Refusal::WrongMac)
        );
        let other = key("other.", TsigAlgorithm::HmacSha256, SECRET);
        assert_eq!(
            verify_request(&q, &signed, Some(&other), SIGNED_AT),
            Err(Refusal::UnknownKey)
        );
        let sha512 = key("xfr-key.", TsigAlgorithm::HmacSha512, SECRET);
        assert_eq!(
            verify_request(&q, &signed, Some(&sha512), SIGNED_AT),
            Err(Refusal::UnknownKey)
        );
        assert_eq!(
            verify_request(&q, &signed, None, SIGNED_AT),
            Err(Refusal::UnknownKey)
        );
        // One bit of the question changed.
        let mut tampered = q.clone();
        tampered[14] ^= 0x20;
        let signed = find(&tampered).unwrap().unwrap();
        assert_eq!(
            verify_request(&tampered, &signed, Some(&right), SIGNED_AT),
            Err(Refusal::WrongMac)
        );
    }

    /// An IXFR query as secondaries send it: its SOA's names compressed
    /// to the question's, which a zone name of any length must not break.
    #[test]
    fn an_ixfr_query_with_compressed_names_is_found_and_verifies() {
        let k = key("xfr-key.", TsigAlgorithm::HmacSha256, SECRET);
        for zone in ["api.lab.", "privatelink.aliyuncs.com.", "a."] {
            let mut q = vec![0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0];
            q.extend_from_slice(&Name::from_str(zone).unwrap().to_bytes().unwrap());
            q.extend_from_slice(&[0, 251, 0, 1]);
            // Owner, MNAME and RNAME: pointers to the question's name.
            q.extend_from_slice(&[0xc0, 12, 0, 6, 0, 1, 0, 0, 0, 0, 0, 24]);
            q.extend_from_slice(&[0xc0, 12, 0xc0, 12]);
            q.extend_from_slice(&[0, 0, 0, 7, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4]);
            assert!(Message::from_vec(&q).is_ok(), "{zone}: the query parses");
            StreamSigner::request(&k, 0x1234, SIGNED_AT).sign(&mut q, None, Vec::new());
            let signed = find(&q).unwrap().expect("the TSIG record is found");
            assert_eq!(signed.key.to_string(), "xfr-key.");
            assert_eq!(verify_request(&q, &signed, Some(&k), SIGNED_AT), Ok(()));
        }
    }

    #[test]
    fn an_answer_signed_over_the_request_mac_verifies_and_a_changed_one_does_not() {
        for algorithm in [TsigAlgorithm::HmacSha256, TsigAlgorithm::HmacSha512] {
            let k = key("xfr-key.", algorithm, SECRET);
            let meta = Metadata::new(77, MessageType::Query, OpCode::Notify);
            let query = hickory_proto::op::Query::query(
                Name::from_str("corp.lab.").unwrap(),
                RecordType::SOA,
            );
            let mut request = message(&meta, Some(&query), &[]);
            let mut ours = StreamSigner::request(&k, 77, SIGNED_AT);
            ours.sign(&mut request, None, Vec::new());
            // The peer checks our request ...
            let signed = find(&request).unwrap().unwrap();
            assert_eq!(
                verify_request(&request, &signed, Some(&k), SIGNED_AT),
                Ok(())
            );
            // ... and answers over its MAC.
            let parsed = Message::from_vec(&request).unwrap();
            let mut answer = message(
                &reply_meta(&parsed.metadata, ResponseCode::NoError),
                Some(&query),
                &[],
            );
            StreamSigner::new(&k, &signed.tsig, SIGNED_AT).sign(&mut answer, None, Vec::new());
            assert_eq!(ours.verify_answer(&answer), Ok(()));
            let mut changed = answer.clone();
            changed[3] ^= 0x01;
            assert!(ours.verify_answer(&changed).is_err());
        }
    }
}
