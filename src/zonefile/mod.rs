//! Private zones from RFC 1035 zone files: the PrivateZone stand-in.
//!
//! A zone file is parsed by hickory's zone parser (so `$ORIGIN`, `$TTL`,
//! `$INCLUDE` and wildcards behave as hickory defines them), checked against
//! the rules of a zone, and indexed once so that a lookup is a few hash probes
//! with no allocation. Errors name the file and line of the faulty record.
//!
//! - [`PrivateZone::load`] / [`PrivateZone::from_str`]: load and validate.
//! - [`PrivateZone::lookup`]: one name and type → [`ZoneAnswer`].
//! - [`PrivateZone::resolve`]: the same, following CNAMEs within the zone.
//! - [`ptr_name`]: reverse name of an address (for ENI PTR records).

mod answer;
mod error;
mod index;
mod key;
mod load;
mod ptr;
mod resolve;
mod rules;
mod source;
mod zone;

#[cfg(test)]
mod tests;

pub use answer::ZoneAnswer;
pub use error::{IncludeProblem, ZoneFileError, ZoneRule};
pub use ptr::ptr_name;
pub use resolve::{Outcome, Resolution};
pub use zone::PrivateZone;
