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

use super::{rules::to_name, types};

/// Types decoded into hickory's structures.
const STRUCTURED: &[u16] = &[1, 2, 5, 6, 12, 15, 16, 28, 33];

/// The hickory RDATA of type `code` from its wire form; `scratch` is a
/// buffer for the round-trip check.
pub(crate) fn rdata(code: u16, wire: &[u8], scratch: &mut Vec<u8>) -> Result<RData, String> {
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
        // An address is its bytes; anything else must come back unchanged.
        if matches!(code, 1 | 28) || emits(&data, scratch) && scratch[..] == *wire {
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

/// Writes the RDATA into `out` as hickory sends it, names uncompressed.
fn emits(data: &RData, out: &mut Vec<u8>) -> bool {
    out.clear();
    let mut encoder = BinEncoder::new(out);
    encoder.set_name_encoding(NameEncoding::Uncompressed);
    data.emit(&mut encoder).is_ok()
}

/// The records of one owner and type.
pub(crate) struct RrSet {
    /// The owner in lowercase wire form (the index key).
    pub(crate) key: Box<[u8]>,
    pub(crate) rtype: RecordType,
    pub(crate) records: Vec<Record>,
}

/// The RRsets of one owner: its name as first spelled, and where its sets are.
struct Owner {
    name: Name,
    sets: Vec<(u16, usize)>,
}

/// Groups records into RRsets as they are read, as BIND loads them: one
/// TTL per set, the first record's (RFC 2181 §5.2; BIND warns and uses the
/// first), and a record given twice kept once. Owners are spelled as first
/// written.
#[derive(Default)]
pub(crate) struct RrSets {
    owners: HashMap<Box<[u8]>, Owner>,
    sets: Vec<RrSet>,
    key: Vec<u8>,
}

impl RrSets {
    /// Adds a record at `owner` (wire form, case as written).
    pub(crate) fn add(&mut self, owner: &[u8], ttl: u32, code: u16, data: RData) {
        self.key.clear();
        self.key.extend(owner.iter().map(u8::to_ascii_lowercase));
        let entry = match self.owners.get_mut(&self.key[..]) {
            Some(entry) => entry,
            None => self
                .owners
                .entry(self.key.as_slice().into())
                .or_insert_with(|| Owner {
                    name: to_name(owner),
                    sets: Vec::new(),
                }),
        };
        let at = match entry.sets.iter().find(|(c, _)| *c == code) {
            Some(&(_, at)) => at,
            None => {
                self.sets.push(RrSet {
                    key: self.key.as_slice().into(),
                    rtype: RecordType::from(code),
                    // Most sets hold one record: no room for more until needed.
                    records: Vec::with_capacity(1),
                });
                entry.sets.push((code, self.sets.len() - 1));
                self.sets.len() - 1
            }
        };
        let set = &mut self.sets[at];
        if set.records.iter().any(|r| r.data == data) {
            return;
        }
        let ttl = set.records.first().map_or(ttl, |r| r.ttl);
        set.records
            .push(Record::from_rdata(entry.name.clone(), ttl, data));
    }

    pub(crate) fn finish(self) -> Vec<RrSet> {
        self.sets
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structured_types_round_trip_and_others_stay_opaque() {
        let mut buf = Vec::new();
        let a = rdata(1, &[127, 0, 0, 1], &mut buf).unwrap();
        assert!(matches!(a, RData::A(_)));
        // A TXT with an empty string and a non-UTF-8 byte.
        let txt = rdata(16, b"\x00\x02\xc3\x85", &mut buf).unwrap();
        assert!(matches!(txt, RData::TXT(_)));
        assert!(emits(&txt, &mut buf));
        assert_eq!(buf, b"\x00\x02\xc3\x85");
        // An SOA whose names share a suffix: hickory must not compress it away.
        let soa = b"\x02ns\x04corp\x00\x02hm\x04corp\x00\x00\x00\x00\x01\x00\x00\x00\x02\x00\x00\x00\x03\x00\x00\x00\x04\x00\x00\x00\x05";
        assert!(matches!(rdata(6, soa, &mut buf).unwrap(), RData::SOA(_)));
        let caa = rdata(257, b"\x00\x05issueca.example", &mut buf).unwrap();
        assert!(matches!(caa, RData::Unknown { .. }));
        assert!(emits(&caa, &mut buf));
        assert_eq!(buf, b"\x00\x05issueca.example");
        assert!(rdata(1, &[1, 2, 3], &mut buf).is_err());
    }
}
