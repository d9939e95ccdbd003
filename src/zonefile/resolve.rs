//! Following CNAME chains inside one zone.

use std::borrow::Cow;

use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::{answer::ZoneAnswer, zone::PrivateZone};

/// A CNAME chain followed within one zone, and where it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution<'a> {
    /// The CNAME records followed, in order (for the answer section).
    pub chain: Vec<Record>,
    /// How the last name of the chain resolved.
    pub last: Outcome<'a>,
}

/// The end of a chain. The response code follows the last name (RFC 6604):
/// NXDOMAIN only when `NxDomain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome<'a> {
    /// Records of the query type at the last name.
    Records(Cow<'a, [Record]>),
    /// The last name is delegated away from this zone.
    Delegation {
        ns: &'a [Record],
        glue: &'a [Record],
    },
    NoData,
    NxDomain,
    /// The chain leaves this zone: the caller resolves this target elsewhere
    /// (another source of epdns, or nowhere).
    LeavesZone(Name),
    /// The chain came back to a name already followed: this target.
    Loop(Name),
    /// `max_chain` CNAMEs were followed and this name (the last target) has
    /// yet another CNAME, not followed and not in `chain`.
    TooLong(Name),
}

impl PrivateZone {
    /// Answers `qname`/`qtype`, following at most `max_chain` CNAMEs within
    /// this zone, and stopping at a loop or where the chain leaves the zone.
    ///
    /// A building block for the caller, which follows chains across sources
    /// (zones, endpoint domains) with its own loop cut.
    pub fn resolve(&self, qname: &Name, qtype: RecordType, max_chain: usize) -> Resolution<'_> {
        let mut chain: Vec<Record> = Vec::new();
        let mut current = qname.clone();
        loop {
            let (cname, target) = match followed(self.lookup(&current, qtype)) {
                Ok(step) => step,
                Err(last) => return Resolution { chain, last },
            };
            if chain.len() >= max_chain {
                return Resolution {
                    chain,
                    last: Outcome::TooLong(current),
                };
            }
            chain.push(cname);
            let last = if !self.contains(&target) {
                Outcome::LeavesZone(target)
            } else if chain.iter().any(|r| r.name == target) {
                Outcome::Loop(target)
            } else {
                current = target;
                continue;
            };
            return Resolution { chain, last };
        }
    }
}

/// The CNAME to follow and its target, or the end of the chain.
fn followed(answer: ZoneAnswer<'_>) -> Result<(Record, Name), Outcome<'_>> {
    match answer {
        ZoneAnswer::Cname(cname) => match &cname.data {
            RData::CNAME(target) => {
                let target = target.0.clone();
                Ok((cname.into_owned(), target))
            }
            // Cannot happen: hickory builds CNAME data for every CNAME record.
            _ => Err(Outcome::NoData),
        },
        ZoneAnswer::Records(records) => Err(Outcome::Records(records)),
        ZoneAnswer::Delegation { ns, glue } => Err(Outcome::Delegation { ns, glue }),
        ZoneAnswer::NoData => Err(Outcome::NoData),
        ZoneAnswer::NxDomain => Err(Outcome::NxDomain),
    }
}
