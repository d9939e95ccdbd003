//! Parsing a zone with hickory, and pinning any fault on a file and line.
//!
//! hickory's zone parser stops at the first fault without saying where. Its
//! parse is sequential, so a prefix of the zone fails exactly when it contains
//! the faulty entry; the rules in `rules` are monotone too. So when the whole
//! zone fails we binary-search the shortest failing prefix of entries: its last
//! entry is the culprit. That costs about log2(entries) extra parses, and only
//! for a broken zone; a good zone is parsed once.

use std::collections::BTreeMap;

use hickory_proto::{
    rr::{Name, RecordSet, RecordType, RrKey},
    serialize::txt::{ParseError, Parser},
};

use super::{
    error::{ZoneFileError, ZoneRule},
    rules,
    source::Source,
};

/// What a parsed zone can be blamed for.
enum Fault {
    Syntax(ParseError),
    Rule(Box<ZoneRule>),
}

/// Parses the expanded zone and checks its rules.
pub(crate) fn parse(
    origin: &Name,
    source: &Source,
) -> Result<BTreeMap<RrKey, RecordSet>, ZoneFileError> {
    let records = match attempt(origin, &source.text) {
        Ok(records) => records,
        Err(_) => return Err(locate(origin, source)),
    };
    let has_soa = records.contains_key(&RrKey::new(origin.into(), RecordType::SOA));
    if !has_soa {
        return Err(ZoneFileError::NoSoa {
            path: source.files[0].clone(),
            origin: origin.clone(),
        });
    }
    Ok(records)
}

fn attempt(origin: &Name, text: &str) -> Result<BTreeMap<RrKey, RecordSet>, Fault> {
    // No path: `Source` has already expanded every $INCLUDE.
    let (_, records) = Parser::new(text, None, Some(origin.clone()))
        .parse()
        .map_err(Fault::Syntax)?;
    rules::check(origin, &records).map_err(Fault::Rule)?;
    Ok(records)
}

/// The error for the first faulty entry of a zone known to fail as a whole.
fn locate(origin: &Name, source: &Source) -> ZoneFileError {
    let entries = &source.entries;
    let prefix = |count: usize| match count {
        0 => "",
        n => &source.text[..entries[n - 1].end],
    };
    // Invariant: prefix(low) passes, prefix(high) fails.
    let (mut low, mut high) = (0, entries.len());
    let mut fault = None;
    while high - low > 1 {
        let mid = low + (high - low) / 2;
        match attempt(origin, prefix(mid)) {
            Ok(_) => low = mid,
            Err(f) => {
                high = mid;
                fault = Some(f);
            }
        }
    }
    let fault = match fault {
        Some(f) => f,
        // The search never tried `high` itself: re-run it for its fault.
        None => match attempt(origin, prefix(high)) {
            Err(f) => f,
            Ok(_) => Fault::Syntax(ParseError::Message("zone failed to parse")),
        },
    };
    // An empty text cannot fail, so there is at least one entry.
    let entry = &entries[high.max(1) - 1];
    let path = source.files[entry.file].clone();
    let text = source.excerpt(entry);
    let line = entry.line;
    match fault {
        Fault::Syntax(source) => ZoneFileError::Syntax {
            path,
            line,
            text,
            source,
        },
        Fault::Rule(rule) => ZoneFileError::Rule {
            path,
            line,
            text,
            rule,
        },
    }
}
