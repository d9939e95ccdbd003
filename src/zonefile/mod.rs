//! Private zones from RFC 1035 zone files: the PrivateZone stand-in.
//!
//! A zone file is parsed by hickory's zone parser, checked against the rules
//! of a zone, and indexed once so that a lookup is a few hash probes with no
//! allocation (only wildcard answers allocate, for the renamed records).
//! Errors name the file and line of the faulty record.
//!
//! - [`PrivateZone::load`] / [`PrivateZone::from_str`]: load and validate.
//! - [`PrivateZone::lookup`]: one name and type → [`ZoneAnswer`].
//! - [`ptr_name`]: reverse name of an address (for ENI PTR records).
//!
//! Behaviour, and where it comes from:
//! - `$ORIGIN`, `$TTL`, `@`, blank owners, wildcards: hickory's parser.
//!   `$INCLUDE file [origin]` is expanded here: relative to the including
//!   file's directory, with the parent's origin restored afterwards (RFC 1035
//!   §5.1), loops and nesting deeper than 16 files refused.
//! - Rejected, with file and line: syntax hickory refuses (bad address,
//!   unknown type, no TTL and no `$TTL`, garbage), an owner outside the
//!   origin, a CNAME beside other data, an SOA below the apex, a class other
//!   than IN. Rejected with the file only: no SOA at the apex.
//! - Inherited from hickory, not detected: a second CNAME at a name replaces
//!   the first, and an RRset whose records give different TTLs takes the last.
//! - Names are matched case-insensitively; answers carry owners as the file
//!   spells them (a wildcard answer: as the query spells it).
//! - Wildcards follow RFC 4592: only `*.<closest encloser>` synthesizes, and
//!   never for a name that exists, empty non-terminals included (RFC 8020).
//! - NS below the apex is a zone cut: the cut and everything below it answer
//!   `Delegation` (DS at the cut excepted); data below a cut is never served.
//! - ANY answers every record of the name (not RFC 8482's minimal answer).

mod answer;
mod error;
mod generate;
mod index;
pub(crate) mod key;
mod lexer;
mod parse;
mod ptr;
mod rdata;
mod read;
mod records;
mod rules;
mod text;
mod types;
mod zone;

#[cfg(test)]
mod tests;

pub use answer::ZoneAnswer;
pub use error::{FaultKind, IncludeProblem, ReadProblem, ZoneFault, ZoneFileError, ZoneRule};
pub use ptr::ptr_name;
pub use read::Limits;
pub use zone::PrivateZone;
