//! The pieces of a reply the fast path writes itself: the header, address
//! records owned by the question's name, and the OPT record with its ECS
//! option. What to write is decided by the caller; this is only bytes.

use std::net::IpAddr;

/// Length of the DNS header; the question's name starts here.
pub(crate) const HEADER_LEN: usize = 12;
/// RR type of the OPT pseudo-record (RFC 6891).
pub(crate) const TYPE_OPT: u16 = 41;
/// EDNS option code of EDNS Client Subnet (RFC 7871).
pub(crate) const OPTION_ECS: u16 = 8;

const TYPE_A: u16 = 1;
const TYPE_AAAA: u16 = 28;
const CLASS_IN: u16 = 1;

/// The header of a reply (QR set).
pub(crate) struct ReplyHeader {
    pub(crate) id: [u8; 2],
    /// The query's opcode (4 bits).
    pub(crate) opcode: u8,
    pub(crate) authoritative: bool,
    /// RD and CD as the query had them.
    pub(crate) recursion_desired: bool,
    pub(crate) checking_disabled: bool,
    /// The low 4 bits of the RCODE.
    pub(crate) rcode: u8,
    /// QDCOUNT, ANCOUNT, NSCOUNT, ARCOUNT.
    pub(crate) counts: [u16; 4],
}

impl ReplyHeader {
    // The writers build fixed-size arrays and append each in one copy: on
    // the fast path a per-field `extend` costs more than the rest of a
    // header.
    #[inline]
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        let mut h = [0u8; HEADER_LEN];
        h[0..2].copy_from_slice(&self.id);
        h[2] = 0x80
            | (self.opcode & 0x0F) << 3
            | u8::from(self.authoritative) << 2
            | u8::from(self.recursion_desired);
        h[3] = u8::from(self.checking_disabled) << 4 | (self.rcode & 0x0F);
        for (i, c) in self.counts.iter().enumerate() {
            h[4 + 2 * i..6 + 2 * i].copy_from_slice(&c.to_be_bytes());
        }
        out.extend_from_slice(&h);
    }
}

/// An A or AAAA record (by the family of `ip`) whose owner is the question's
/// name: a pointer to offset 12.
#[inline]
pub(crate) fn address_record(ip: IpAddr, ttl: u32, out: &mut Vec<u8>) {
    match ip {
        IpAddr::V4(v4) => {
            out.extend_from_slice(&rr_head(TYPE_A, ttl, 4));
            out.extend_from_slice(&v4.octets());
        }
        IpAddr::V6(v6) => {
            out.extend_from_slice(&rr_head(TYPE_AAAA, ttl, 16));
            out.extend_from_slice(&v6.octets());
        }
    }
}

/// Owner (a pointer to the question's name), TYPE, CLASS IN, TTL, RDLENGTH.
#[inline]
fn rr_head(rtype: u16, ttl: u32, rdlength: u16) -> [u8; 12] {
    let mut h = [0u8; 12];
    h[0..2].copy_from_slice(&(0xC000 | HEADER_LEN as u16).to_be_bytes());
    h[2..4].copy_from_slice(&rtype.to_be_bytes());
    h[4..6].copy_from_slice(&CLASS_IN.to_be_bytes());
    h[6..10].copy_from_slice(&ttl.to_be_bytes());
    h[10..12].copy_from_slice(&rdlength.to_be_bytes());
    h
}

/// The ECS option of a reply (RFC 7871 §7.2.1): family, source prefix and
/// address as the query sent them, and our scope prefix.
pub(crate) struct EcsReply<'a> {
    pub(crate) family: u16,
    pub(crate) source_prefix: u8,
    pub(crate) scope_prefix: u8,
    /// ceil(source_prefix / 8) octets.
    pub(crate) address: &'a [u8],
}

/// The DO bit (RFC 3225) in the high octet of the OPT record's flags.
pub(crate) const FLAG_DO: u8 = 0x80;

/// The OPT record: root owner, our UDP payload size, extended RCODE 0,
/// version 0, the DO flag as given (the query's, RFC 3225 §3), and the ECS
/// option when given.
#[inline]
pub(crate) fn opt(
    udp_payload: u16,
    dnssec_ok: bool,
    ecs: Option<&EcsReply<'_>>,
    out: &mut Vec<u8>,
) {
    // Owner (root), TYPE, CLASS = payload size, TTL = extended RCODE,
    // version and flags, RDLENGTH.
    let mut rr = [0u8; 11];
    rr[1..3].copy_from_slice(&TYPE_OPT.to_be_bytes());
    rr[3..5].copy_from_slice(&udp_payload.to_be_bytes());
    if dnssec_ok {
        rr[7] = FLAG_DO;
    }
    let Some(ecs) = ecs else {
        out.extend_from_slice(&rr);
        return;
    };
    let len = 4 + ecs.address.len() as u16;
    rr[9..11].copy_from_slice(&(4 + len).to_be_bytes());
    let mut option = [0u8; 8];
    option[0..2].copy_from_slice(&OPTION_ECS.to_be_bytes());
    option[2..4].copy_from_slice(&len.to_be_bytes());
    option[4..6].copy_from_slice(&ecs.family.to_be_bytes());
    option[6] = ecs.source_prefix;
    option[7] = ecs.scope_prefix;
    out.extend_from_slice(&rr);
    out.extend_from_slice(&option);
    out.extend_from_slice(ecs.address);
}

#[cfg(test)]
mod tests {
    use hickory_proto::op::{Message, OpCode, ResponseCode};
    use hickory_proto::rr::rdata::opt::{EdnsCode, EdnsOption};
    use hickory_proto::rr::{RData, RecordType};

    use super::*;

    #[test]
    fn a_written_reply_decodes_as_written() {
        let mut out = Vec::new();
        ReplyHeader {
            id: [0xAB, 0xCD],
            opcode: 0,
            authoritative: true,
            recursion_desired: true,
            checking_disabled: true,
            rcode: ResponseCode::NXDomain.low(),
            counts: [1, 2, 0, 1],
        }
        .write(&mut out);
        out.extend_from_slice(b"\x01a\x03lab\x00\x00\x01\x00\x01");
        address_record("127.0.0.9".parse().unwrap(), 60, &mut out);
        address_record("fd00::9".parse().unwrap(), 5, &mut out);
        let ecs = EcsReply {
            family: 1,
            source_prefix: 24,
            scope_prefix: 16,
            address: &[127, 0, 2],
        };
        opt(1232, true, Some(&ecs), &mut out);

        let m = Message::from_vec(&out).expect("decodes");
        assert_eq!(m.metadata.id, 0xABCD);
        assert_eq!(m.metadata.op_code, OpCode::Query);
        assert!(m.metadata.authoritative);
        assert!(m.metadata.recursion_desired);
        assert!(m.metadata.checking_disabled);
        assert!(!m.metadata.truncation);
        assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
        assert_eq!(m.answers.len(), 2);
        assert_eq!(m.answers[0].name.to_string(), "a.lab.");
        assert_eq!(m.answers[0].ttl, 60);
        assert_eq!(
            m.answers[0].data,
            RData::A(std::net::Ipv4Addr::new(127, 0, 0, 9).into())
        );
        assert_eq!(m.answers[1].record_type(), RecordType::AAAA);
        assert_eq!(m.answers[1].ttl, 5);
        let edns = m.edns.expect("OPT");
        assert_eq!(edns.max_payload(), 1232);
        assert_eq!(edns.version(), 0);
        assert!(edns.flags().dnssec_ok);
        let Some(EdnsOption::Subnet(s)) = edns.option(EdnsCode::Subnet) else {
            panic!("no ECS in {edns:?}")
        };
        assert_eq!(s.source_prefix(), 24);
        assert_eq!(s.scope_prefix(), 16);
        assert_eq!(s.addr(), "127.0.2.0".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn header_keeps_the_opcode() {
        let mut out = Vec::new();
        ReplyHeader {
            id: [0, 7],
            opcode: 4,
            authoritative: false,
            recursion_desired: false,
            checking_disabled: false,
            rcode: ResponseCode::FormErr.low(),
            counts: [0; 4],
        }
        .write(&mut out);
        assert_eq!(out, [0, 7, 0x80 | 4 << 3, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    }
}
