//! Every DNS byte epdns writes by hand, and the lowercase wire form of names
//! that the answer tables and the zone index are keyed by.
//!
//! The general answer path encodes through hickory's `Message`; the fast path
//! (`dns/fast.rs`) and the precomputed negative SOA write the wire format
//! themselves, and they do it here. This module depends on nothing else in
//! epdns (no snapshot, dns, model or config), so both `snapshot/` and `dns/`
//! may use it.

pub(crate) mod name;
pub(crate) mod reply;
pub(crate) mod soa;

pub(crate) use name::WireName;
pub(crate) use soa::NegativeSoa;
