//! Parsing a zone with hickory, and pinning any fault on a file and line.
//!
//! hickory's zone parser stops at the first fault without saying where. Its
//! parse is sequential, so a prefix of the zone fails exactly when it contains
//! the faulty entry; the rules in `rules` are monotone too. So when the whole
//! zone fails we binary-search the shortest failing prefix of entries: its last
//! entry is the culprit. That costs about log2(entries) extra parses, and only
//! for a broken zone; a good zone is parsed once.
//!
//! Most mistakes are local to one entry (a bad address, an unknown type), so
//! first each entry is parsed on its own, which is cheap; the first one that
//! fails is only a suspect until the prefixes just before and just after it
//! confirm it. Otherwise (a missing TTL, a rule broken by two records) the
//! binary search decides.

use std::collections::BTreeMap;

use hickory_proto::{
    rr::{Name, RecordSet, RecordType, RrKey},
    serialize::txt::{ParseError, Parser},
};

use super::{
    error::{ZoneFileError, ZoneRule},
    rules,
    source::ZoneText,
};

/// What a parsed zone can be blamed for.
enum Fault {
    Syntax(ParseError),
    Rule(Box<ZoneRule>),
}

/// Parses the expanded zone and checks its rules.
pub(crate) fn parse(
    origin: &Name,
    source: &ZoneText,
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
    // No path: `ZoneText` has already expanded every $INCLUDE.
    let (_, records) = Parser::new(text, None, Some(origin.clone()))
        .parse()
        .map_err(Fault::Syntax)?;
    rules::check(origin, &records).map_err(Fault::Rule)?;
    Ok(records)
}

/// The error for the first faulty entry of a zone known to fail as a whole.
fn locate(origin: &Name, source: &ZoneText) -> ZoneFileError {
    let (culprit, fault) = suspect(origin, source)
        .and_then(|index| confirm(origin, source, index))
        .unwrap_or_else(|| search(origin, source));
    let entry = &source.entries[culprit];
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

/// The first `count` entries of the expanded text.
fn prefix(source: &ZoneText, count: usize) -> &str {
    match count {
        0 => "",
        n => &source.text[..source.entries[n - 1].end],
    }
}

/// The first entry that does not parse on its own (with a default TTL, and
/// the origin as owner when it has none).
fn suspect(origin: &Name, source: &ZoneText) -> Option<usize> {
    let mut probe = String::new();
    source.entries.iter().position(|entry| {
        let raw = &source.text[entry.start..entry.end];
        probe.clear();
        probe.push_str("$TTL 0\n");
        if raw.starts_with([' ', '\t']) {
            probe.push('@');
        }
        probe.push_str(raw);
        Parser::new(probe.as_str(), None, Some(origin.clone()))
            .parse()
            .is_err()
    })
}

/// The suspect's fault, if the zone up to it passes and up to and including
/// it fails.
fn confirm(origin: &Name, source: &ZoneText, index: usize) -> Option<(usize, Fault)> {
    attempt(origin, prefix(source, index)).ok()?;
    match attempt(origin, prefix(source, index + 1)) {
        Err(fault) => Some((index, fault)),
        Ok(_) => None,
    }
}

/// The first faulty entry by binary search over prefixes.
fn search(origin: &Name, source: &ZoneText) -> (usize, Fault) {
    // Invariant: prefix(low) passes, prefix(high) fails.
    let (mut low, mut high) = (0, source.entries.len());
    let mut fault = None;
    while high - low > 1 {
        let mid = low + (high - low) / 2;
        match attempt(origin, prefix(source, mid)) {
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
        None => match attempt(origin, prefix(source, high)) {
            Err(f) => f,
            Ok(_) => Fault::Syntax(ParseError::Message("zone failed to parse")),
        },
    };
    // An empty text cannot fail, so there is at least one entry.
    (high.max(1) - 1, fault)
}
