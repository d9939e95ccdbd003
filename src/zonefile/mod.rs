//! Private zones from RFC 1035 zone files: the PrivateZone stand-in.
//!
//! A zone file is read as BIND 9 reads it, checked against the rules of a
//! zone, and indexed once so that a lookup is a few hash probes with no
//! allocation (only wildcard answers allocate, for the renamed records).
//!
//! - [`PrivateZone::load`] / [`PrivateZone::from_str`]: load and validate;
//!   [`PrivateZone::load_with`] takes other [`Limits`].
//! - [`PrivateZone::lookup`]: one name and type → [`ZoneAnswer`].
//! - [`ptr_name`]: reverse name of an address (for ENI PTR records).
//!
//! The parser is our own (`lexer`, `text`, `rdata`, `parse`): hickory's
//! text parser refuses many types BIND loads and re-encodes `\DDD` and
//! multi-line TXT wrongly, and NLnet Labs' `domain` 0.12 lacks ~40 of
//! BIND's types and `$GENERATE`, reads `@` in RDATA as a label, and stops
//! at the first fault. What it reads:
//! - every type BIND 9.18 reads for class IN, and RFC 3597's `TYPEn`,
//!   `CLASSn` and `\# length hex` for any type; MD/MF (obsolete) and meta
//!   types are refused, as BIND does;
//! - `$ORIGIN`, `$TTL`, `$INCLUDE file [origin]` (relative to the including
//!   file's directory; the includer's origin and owner are back in force
//!   after it, RFC 1035 §5.1), BIND's `$GENERATE`; TTLs with units (`1h30m`);
//! - `\DDD` and `\X` escapes kept byte for byte, quoted strings holding
//!   blanks and `;`, entries over several lines in parentheses, `@` and
//!   relative names in RDATA.
//!
//! RDATA is built in wire form; A, AAAA, NS, CNAME, SOA, PTR, MX, TXT and
//! SRV are decoded into hickory's types (kept only if hickory writes them
//! back byte for byte), every other type is served as opaque RDATA exactly
//! as loaded.
//!
//! Faults: every one in the zone, each with file:line:column and the entry
//! it is in (at most 100, then a count). Rules: an owner outside the
//! origin, a CNAME beside other data or a second CNAME, an SOA below the
//! apex or a second one, a class other than IN; no SOA at the apex (in the
//! PrivateZone style, [`ZoneStyle`]: any SOA or apex NS, which the zone
//! synthesizes; a CNAME may then sit at the apex alone). A file
//! none of whose entries parses is reported without quoting any of it (it
//! may be any file, e.g. `/etc/shadow`).
//!
//! Limits ([`Limits`]): `$INCLUDE` depth 16, 256 files and 64 MiB in all,
//! 1,000,000 `$GENERATE`d records; only regular files are opened (a FIFO
//! would block the load), checked before and after opening.
//!
//! As BIND: an RRset whose records give different TTLs takes the first; a
//! record given twice is kept once; an SOA with no TTL and no `$TTL` takes
//! its MINIMUM.
//!
//! - Names are matched case-insensitively; answers carry owners as the file
//!   first spells them (a wildcard answer: as the query spells it).
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
mod style;
mod text;
mod types;
mod zone;

#[cfg(test)]
mod tests;

pub use answer::ZoneAnswer;
#[cfg(test)]
pub(crate) use error::FaultKind;
pub use error::{ZoneFault, ZoneFileError};
pub(crate) use ptr::ptr_name;
pub use read::Limits;
pub(crate) use style::{ZoneStyle, synthesized_apex};
pub use zone::PrivateZone;
