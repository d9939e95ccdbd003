//! How a zone file is read: as RFC 1035 says (its own SOA and NS), or in
//! the cloud's PrivateZone style, whose SOA and NS the zone synthesizes
//! (the user manages neither) and which allows a CNAME at the apex,
//! answered for every type but SOA and NS: the same semantics as the zones
//! of the PrivateZone API.

use hickory_proto::rr::rdata::{NS, SOA};
use hickory_proto::rr::{Name, RData, Record};

#[derive(Debug, Clone)]
pub(crate) enum ZoneStyle {
    Rfc1035,
    /// Boxed: a zone is read in one style once, and the plain style stays
    /// small.
    PrivateZone(Box<Apex>),
}

/// A PrivateZone-style zone's synthesized SOA and NS.
#[derive(Debug, Clone)]
pub(crate) struct Apex {
    pub(crate) soa: Record,
    pub(crate) ns: Record,
}

impl ZoneStyle {
    /// The PrivateZone style for `origin`, with `synthesized_apex`.
    pub(crate) fn private_zone(origin: &Name, soa: SOA, ttl: u32) -> ZoneStyle {
        let (soa, ns) = synthesized_apex(origin, soa, ttl);
        ZoneStyle::PrivateZone(Box::new(Apex { soa, ns }))
    }
}

/// A PrivateZone-style zone's apex: the SOA `soa` and an NS naming its
/// primary server (`soa.mname`), both with TTL `ttl`.
pub(crate) fn synthesized_apex(origin: &Name, soa: SOA, ttl: u32) -> (Record, Record) {
    let mut origin = origin.clone();
    origin.set_fqdn(true);
    let ns = Record::from_rdata(origin.clone(), ttl, RData::NS(NS(soa.mname.clone())));
    (Record::from_rdata(origin, ttl, RData::SOA(soa)), ns)
}
