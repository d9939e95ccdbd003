//! What a zone answers for one name and type.

use std::borrow::Cow;

use hickory_proto::rr::Record;

/// The authoritative answer of a private zone for a query name and type.
// Returned by value and consumed at once by the caller; boxing the owned
// (wildcard) CNAME would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZoneAnswer<'a> {
    /// The records of the name and type: borrowed from the zone, or owned when
    /// synthesized from a wildcard (owner rewritten to the query name, in the
    /// query's case).
    Records(Cow<'a, [Record]>),
    /// The name owns a CNAME and the query is for another type: answer it and
    /// follow its target, which may lie outside this zone (an endpoint domain).
    Cname(Cow<'a, Record>),
    /// The name is at or below a zone cut: a referral, not authoritative.
    /// `glue` holds the in-zone addresses of the name servers.
    Delegation {
        ns: &'a [Record],
        glue: &'a [Record],
    },
    /// The name exists (perhaps as an empty non-terminal) without this type.
    NoData,
    /// The name does not exist in the zone.
    NxDomain,
}
