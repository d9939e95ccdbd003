//! The generated zone's SOA for negative answers (RFC 2308), precomputed in
//! pieces so that the fast path writes it without building a `Record`.

use hickory_proto::rr::Name;
use hickory_proto::rr::rdata::SOA;

use super::WireName;

const TYPE_SOA: u16 = 6;
const CLASS_IN: u16 = 1;

/// The SOA record of a zone, owned by its apex, with the negative-caching
/// TTL. The owner, and MNAME and RNAME when they are at or below the apex,
/// are written as pointers to wherever the reply already holds the apex
/// (inside the question's name), so only the labels above it are stored.
pub(crate) struct NegativeSoa {
    ttl: u32,
    mname: SoaName,
    rname: SoaName,
    /// SERIAL, REFRESH, RETRY, EXPIRE, MINIMUM.
    counters: [u8; 20],
}

/// MNAME or RNAME on the wire.
struct SoaName {
    /// Below the apex: the labels above it (e.g. `\x02ns`), written before a
    /// pointer to the apex. Elsewhere: the whole name, root octet included.
    labels: Box<[u8]>,
    at_apex: bool,
}

impl SoaName {
    fn new(name: &Name, apex: &Name) -> Self {
        let wire = WireName::new(name);
        if apex.zone_of(name) {
            let above = wire.labels() - WireName::new(apex).labels();
            SoaName {
                labels: wire.leading(above).into(),
                at_apex: true,
            }
        } else {
            SoaName {
                labels: wire.bytes().into(),
                at_apex: false,
            }
        }
    }

    fn len(&self) -> usize {
        self.labels.len() + if self.at_apex { 2 } else { 0 }
    }

    fn write(&self, apex_ptr: [u8; 2], out: &mut Vec<u8>) {
        out.extend_from_slice(&self.labels);
        if self.at_apex {
            out.extend_from_slice(&apex_ptr);
        }
    }
}

impl NegativeSoa {
    /// `soa` is the zone's SOA data, `apex` its owner, `ttl` the negative
    /// answer's TTL (RFC 2308 §5: min(SOA TTL, MINIMUM)).
    pub(crate) fn new(soa: &SOA, apex: &Name, ttl: u32) -> Self {
        let mut counters = [0u8; 20];
        counters[0..4].copy_from_slice(&soa.serial.to_be_bytes());
        counters[4..8].copy_from_slice(&soa.refresh.to_be_bytes());
        counters[8..12].copy_from_slice(&soa.retry.to_be_bytes());
        counters[12..16].copy_from_slice(&soa.expire.to_be_bytes());
        counters[16..20].copy_from_slice(&soa.minimum.to_be_bytes());
        NegativeSoa {
            ttl,
            mname: SoaName::new(&soa.mname, apex),
            rname: SoaName::new(&soa.rname, apex),
            counters,
        }
    }

    /// Appends the record; the reply holds the apex's name at offset
    /// `apex_at` (below 0x4000, as every offset inside a question is).
    pub(crate) fn write(&self, apex_at: u16, out: &mut Vec<u8>) {
        debug_assert!(apex_at < 0x4000, "a compression pointer has 14 bits");
        let apex_ptr = (0xC000 | apex_at).to_be_bytes();
        let rdlen = self.mname.len() + self.rname.len() + self.counters.len();
        let mut head = [0u8; 12];
        head[0..2].copy_from_slice(&apex_ptr);
        head[2..4].copy_from_slice(&TYPE_SOA.to_be_bytes());
        head[4..6].copy_from_slice(&CLASS_IN.to_be_bytes());
        head[6..10].copy_from_slice(&self.ttl.to_be_bytes());
        head[10..12].copy_from_slice(&(rdlen as u16).to_be_bytes());
        out.extend_from_slice(&head);
        self.mname.write(apex_ptr, out);
        self.rname.write(apex_ptr, out);
        out.extend_from_slice(&self.counters);
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use hickory_proto::op::Message;
    use hickory_proto::rr::{RData, Record, RecordType};

    use super::*;

    /// A reply whose question names `qname`, with the SOA written after it,
    /// decodes to the same record hickory would have sent.
    fn written(qname: &str, soa: &SOA, apex: &Name) -> Record {
        let mut out = vec![0, 1, 0x84, 0, 0, 1, 0, 0, 0, 1, 0, 0];
        let q = WireName::new(&Name::from_str(qname).unwrap());
        out.extend_from_slice(q.bytes());
        out.extend_from_slice(&[0, 1, 0, 1]);
        let apex_at = 12 + q.bytes().len() - WireName::new(apex).bytes().len();
        NegativeSoa::new(soa, apex, 30).write(apex_at as u16, &mut out);
        let m = Message::from_vec(&out).expect("decodes");
        m.authorities[0].clone()
    }

    #[test]
    fn names_below_and_outside_the_apex_round_trip() {
        let apex = Name::from_str("privatelink.aliyuncs.com.").unwrap();
        let n = |s: &str| Name::from_str(s).unwrap();
        for (mname, rname) in [
            (
                "ns.privatelink.aliyuncs.com.",
                "hostmaster.privatelink.aliyuncs.com.",
            ),
            ("privatelink.aliyuncs.com.", "a.b.privatelink.aliyuncs.com."),
            ("ns1.example.net.", "hostmaster.privatelink.aliyuncs.com."),
        ] {
            let soa = SOA::new(n(mname), n(rname), 7, 3600, 600, 86400, 60);
            for qname in ["x.y.privatelink.aliyuncs.com.", "privatelink.aliyuncs.com."] {
                let r = written(qname, &soa, &apex);
                let want = Record::from_rdata(apex.clone(), 30, RData::SOA(soa.clone()));
                assert_eq!(r, want, "{mname} {rname} in reply to {qname}");
                assert_eq!(r.record_type(), RecordType::SOA);
            }
        }
    }
}
