//! From wire-form RDATA to the hickory records that answers are built from.
//!
//! Types whose structure epdns uses (addresses, CNAME targets, the SOA, the
//! targets of NS, MX and SRV) are decoded by hickory, and kept decoded only
//! if hickory writes them back byte for byte; every other type is served as
//! opaque RDATA (`RData::Unknown`), exactly as loaded.

use std::collections::HashMap;

use hickory_proto::{
    rr::{Name, RData, Record, RecordType, rdata::NULL},
    serialize::binary::{BinDecoder, BinEncodable, BinEncoder, NameEncoding, Restrict},
};

use super::{parse::Parsed, rules::to_name, types};

/// Types decoded into hickory's structures.
const STRUCTURED: &[u16] = &[1, 2, 5, 6, 12, 15, 16, 28, 33];

/// The hickory RDATA of type `code` from its wire form.
pub(crate) fn rdata(code: u16, wire: &[u8]) -> Result<RData, String> {
    let rtype = RecordType::from(code);
    if STRUCTURED.contains(&code) {
        let mut decoder = BinDecoder::new(wire);
        let data = RData::read(&mut decoder, rtype, Restrict::new(wire.len() as u16))
            .map_err(|e| format!("RDATA is not a valid {}: {e}", types::rtype_name(code)))?;
        if !decoder.is_empty() {
            return Err(format!(
                "RDATA is longer than a {} holds",
                types::rtype_name(code)
            ));
        }
        if emits(&data).as_deref() == Some(wire) {
            return Ok(data);
        }
    }
    Ok(RData::Unknown {
        code: rtype,
        rdata: match wire.is_empty() {
            true => NULL::new(),
            false => NULL::with(wire.to_vec()),
        },
    })
}

/// The RDATA as hickory writes it, names uncompressed.
fn emits(data: &RData) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut encoder = BinEncoder::new(&mut out);
    encoder.set_name_encoding(NameEncoding::Uncompressed);
    data.emit(&mut encoder).ok()?;
    Some(out)
}

/// The records of one owner and type.
pub(crate) struct RrSet {
    /// The owner in lowercase wire form (the index key).
    pub key: Box<[u8]>,
    pub rtype: RecordType,
    pub records: Vec<Record>,
}

/// Groups records into RRsets as BIND loads them: one TTL per set, the
/// first record's (RFC 2181 §5.2; BIND warns and uses the first), and a
/// record given twice kept once. Owners are spelled as first written.
pub(crate) fn rrsets(parsed: Vec<Parsed>) -> Vec<RrSet> {
    let mut names: HashMap<Box<[u8]>, Name> = HashMap::new();
    let mut index: HashMap<(Box<[u8]>, u16), usize> = HashMap::new();
    let mut sets: Vec<RrSet> = Vec::new();
    for record in parsed {
        let key: Box<[u8]> = record.owner.to_ascii_lowercase().into();
        let name = names
            .entry(key.clone())
            .or_insert_with(|| to_name(&record.owner))
            .clone();
        let at = *index.entry((key.clone(), record.code)).or_insert_with(|| {
            sets.push(RrSet {
                key,
                rtype: RecordType::from(record.code),
                records: Vec::new(),
            });
            sets.len() - 1
        });
        let set = &mut sets[at];
        if set.records.iter().any(|r| r.data == record.data) {
            continue;
        }
        let ttl = set.records.first().map_or(record.ttl, |r| r.ttl);
        set.records.push(Record::from_rdata(name, ttl, record.data));
    }
    sets
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structured_types_round_trip_and_others_stay_opaque() {
        let a = rdata(1, &[127, 0, 0, 1]).unwrap();
        assert!(matches!(a, RData::A(_)));
        // A TXT with an empty string and a non-UTF-8 byte.
        let txt = rdata(16, b"\x00\x02\xc3\x85").unwrap();
        assert_eq!(emits(&txt).unwrap(), b"\x00\x02\xc3\x85");
        let caa = rdata(257, b"\x00\x05issueca.example").unwrap();
        assert!(matches!(caa, RData::Unknown { .. }));
        assert_eq!(emits(&caa).unwrap(), b"\x00\x05issueca.example");
        assert!(rdata(1, &[1, 2, 3]).is_err());
    }
}
