//! Mapping hickory-resolver's lookup results onto a [`Forwarded`] reply.
//!
//! hickory reports negative answers as errors (`NoRecordsFound`, carrying the
//! response code and the SOA), so the error side needs as much care as the
//! success side: only transport failures and upstream error codes may become
//! SERVFAIL, never an NXDOMAIN or NODATA.

use std::time::Duration;

use crate::dns::log_gate::LogGate;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, Record, RecordType};
use hickory_resolver::lookup::Lookup;
use hickory_resolver::net::{DnsError, NetError, NoRecords};
use tracing::debug;

use super::Forwarded;

/// Turns the resolver's result for `name`/`qtype` into a reply. Exposed to
/// the crate so the mapping can be tested without sockets.
pub(crate) fn map_result(
    name: &Name,
    qtype: RecordType,
    result: Result<Lookup, NetError>,
) -> Forwarded {
    match result {
        Ok(lookup) => positive(&lookup),
        Err(NetError::Dns(DnsError::NoRecordsFound(no_records))) => {
            negative(name, qtype, no_records)
        }
        Err(err) => {
            // A client can ask for names that fail upstream as fast as it likes.
            static FAILED: LogGate = LogGate::new(Duration::from_secs(1));
            if let Some(left_out) = FAILED.pass() {
                debug!(%name, ?qtype, error = %err, left_out, "forwarding failed, answering SERVFAIL");
            }
            Forwarded::servfail()
        }
    }
}

fn positive(lookup: &Lookup) -> Forwarded {
    let answers = lookup.answers().to_vec();
    // hickory can accept a reply whose matching record sits outside the
    // answer section; with nothing to answer it is a NODATA, so keep the SOA
    // as a negative answer would.
    let authorities = if answers.is_empty() {
        soa_records(lookup.authorities().iter().cloned(), None)
    } else {
        Vec::new()
    };
    Forwarded {
        rcode: ResponseCode::NoError,
        answers,
        authorities,
    }
}

fn negative(name: &Name, qtype: RecordType, no_records: NoRecords) -> Forwarded {
    let rcode = match no_records.response_code {
        code @ (ResponseCode::NXDomain | ResponseCode::NoError) => code,
        // hickory only builds NoRecordsFound from NXDOMAIN/NOERROR replies;
        // anything else would be a change upstream: fail safe.
        other => {
            static UNEXPECTED: LogGate = LogGate::new(Duration::from_secs(1));
            if let Some(left_out) = UNEXPECTED.pass() {
                debug!(%name, ?qtype, rcode = ?other, left_out, "unexpected negative rcode, answering SERVFAIL");
            }
            return Forwarded::servfail();
        }
    };
    let authorities = match no_records.soa {
        Some(soa) => soa_records(
            std::iter::once((*soa).into_record_of_rdata()),
            no_records.negative_ttl,
        ),
        // The SOA field is only filled from the authority section; look there
        // too in case a later hickory fills one but not the other.
        None => soa_records(
            no_records
                .authorities
                .iter()
                .flat_map(|a| a.iter().cloned()),
            no_records.negative_ttl,
        ),
    };
    Forwarded {
        rcode,
        answers: Vec::new(),
        authorities,
    }
}

/// The SOA records among `records`, their TTL capped to the (cache-aged)
/// negative TTL: RFC 2308 §3 has the SOA of a negative answer carry the
/// negative-caching TTL, and the cache decrements it separately from the SOA.
fn soa_records(records: impl Iterator<Item = Record>, negative_ttl: Option<u32>) -> Vec<Record> {
    records
        .filter(|r| r.record_type() == RecordType::SOA)
        .map(|mut r| {
            if let Some(ttl) = negative_ttl {
                r.ttl = r.ttl.min(ttl);
            }
            r
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::Query;
    use hickory_proto::rr::RData;
    use hickory_proto::rr::rdata::{A, CNAME, SOA};
    use std::str::FromStr;
    use std::time::Instant;

    fn name(s: &str) -> Name {
        Name::from_str(s).unwrap()
    }

    fn soa(ttl: u32, minimum: u32) -> Record<SOA> {
        Record::from_rdata(
            name("up.test."),
            ttl,
            SOA::new(
                name("ns.up.test."),
                name("admin.up.test."),
                1,
                3600,
                600,
                86400,
                minimum,
            ),
        )
    }

    #[test]
    fn lookup_maps_to_noerror_with_chain() {
        let cname = Record::from_rdata(
            name("alias.up.test."),
            300,
            RData::CNAME(CNAME(name("www.up.test."))),
        );
        let a = Record::from_rdata(name("www.up.test."), 60, RData::A(A::new(127, 0, 0, 7)));
        let query = Query::query(name("alias.up.test."), RecordType::A);
        let lookup = Lookup::new_with_deadline(query, [cname.clone(), a.clone()], Instant::now());
        let out = map_result(&name("alias.up.test."), RecordType::A, Ok(lookup));
        assert_eq!(out.rcode, ResponseCode::NoError);
        assert_eq!(out.answers, vec![cname, a]);
        assert!(out.authorities.is_empty());
    }

    #[test]
    fn nxdomain_keeps_rcode_and_soa_with_negative_ttl() {
        let query = Query::query(name("missing.up.test."), RecordType::A);
        let mut nr = NoRecords::new(query, ResponseCode::NXDomain);
        nr.soa = Some(Box::new(soa(3600, 30)));
        nr.negative_ttl = Some(30);
        let out = map_result(&name("missing.up.test."), RecordType::A, Err(nr.into()));
        assert_eq!(out.rcode, ResponseCode::NXDomain);
        assert!(out.answers.is_empty());
        assert_eq!(out.authorities.len(), 1);
        assert_eq!(out.authorities[0].record_type(), RecordType::SOA);
        assert_eq!(out.authorities[0].name, name("up.test."));
        assert_eq!(out.authorities[0].ttl, 30);
    }

    #[test]
    fn nodata_is_noerror_without_answers() {
        let query = Query::query(name("www.up.test."), RecordType::AAAA);
        let mut nr = NoRecords::new(query, ResponseCode::NoError);
        nr.soa = Some(Box::new(soa(20, 300)));
        nr.negative_ttl = Some(20);
        let out = map_result(&name("www.up.test."), RecordType::AAAA, Err(nr.into()));
        assert_eq!(out.rcode, ResponseCode::NoError);
        assert!(out.answers.is_empty());
        assert_eq!(out.authorities.len(), 1);
        assert_eq!(out.authorities[0].ttl, 20);
    }

    #[test]
    fn negative_without_soa_has_empty_authority() {
        let query = Query::query(name("missing.up.test."), RecordType::A);
        let nr = NoRecords::new(query, ResponseCode::NXDomain);
        let out = map_result(&name("missing.up.test."), RecordType::A, Err(nr.into()));
        assert_eq!(out.rcode, ResponseCode::NXDomain);
        assert!(out.authorities.is_empty());
    }

    #[test]
    fn failures_map_to_servfail() {
        let n = name("www.up.test.");
        for err in [
            NetError::Timeout,
            NetError::NoConnections,
            NetError::Truncated,
            NetError::Busy,
            NetError::from(std::io::Error::from(std::io::ErrorKind::ConnectionRefused)),
            NetError::Dns(DnsError::ResponseCode(ResponseCode::ServFail)),
            NetError::Dns(DnsError::ResponseCode(ResponseCode::Refused)),
        ] {
            let out = map_result(&n, RecordType::A, Err(err));
            assert_eq!(out, Forwarded::servfail());
        }
    }
}
