//! Rules a zone's records must follow beyond syntax, checked record by
//! record as they are read so that each fault is pinned on the record that
//! breaks the rule (the later one when two records conflict).

use std::collections::HashMap;

use hickory_proto::rr::Name;

use super::{error::ZoneRule, text};

const SOA: u16 = 6;
const CNAME: u16 = 5;

#[derive(Default)]
struct Kinds {
    /// The RDATA of its CNAME.
    cname: Option<Vec<u8>>,
    /// It has data other than a CNAME (and DNSSEC records).
    other: bool,
}

/// What the rules remember of the records seen so far.
pub(crate) struct Rules {
    origin: Vec<u8>,
    /// What each owner (lowercase) holds so far.
    kinds: HashMap<Box<[u8]>, Kinds>,
    soa: Option<Vec<u8>>,
    /// Scratch space for an owner's lowercase form.
    key: Vec<u8>,
}

impl Rules {
    /// `origin`: the zone apex, wire form.
    pub(crate) fn new(origin: &[u8]) -> Self {
        Self {
            origin: origin.to_vec(),
            kinds: HashMap::new(),
            soa: None,
            key: Vec::new(),
        }
    }

    pub(crate) fn has_soa(&self) -> bool {
        self.soa.is_some()
    }

    /// Checks a record of type `code` at `owner` (wire form) with `rdata`.
    pub(crate) fn check(
        &mut self,
        owner: &[u8],
        code: u16,
        rdata: &[u8],
    ) -> Result<(), Box<ZoneRule>> {
        if !text::is_subdomain(owner, &self.origin) {
            return Err(Box::new(ZoneRule::OutsideOrigin {
                owner: to_name(owner),
                origin: to_name(&self.origin),
            }));
        }
        if code == SOA {
            if !owner.eq_ignore_ascii_case(&self.origin) {
                return Err(Box::new(ZoneRule::SoaNotAtApex {
                    owner: to_name(owner),
                    origin: to_name(&self.origin),
                }));
            }
            match &self.soa {
                Some(first) if first != rdata => {
                    return Err(Box::new(ZoneRule::TwoSoas {
                        owner: to_name(owner),
                    }));
                }
                _ => self.soa = Some(rdata.to_vec()),
            }
        }
        // DNSSEC records may sit beside a CNAME (RFC 4035 §2.5, RFC 2535 §2.3.5).
        if matches!(code, 24 | 30 | 46 | 47) {
            return Ok(());
        }
        self.key.clear();
        self.key.extend(owner.iter().map(u8::to_ascii_lowercase));
        let kind = match self.kinds.get_mut(&self.key[..]) {
            Some(kind) => kind,
            None => self.kinds.entry(self.key.as_slice().into()).or_default(),
        };
        if code == CNAME {
            match &kind.cname {
                Some(first) if first != rdata => {
                    return Err(Box::new(ZoneRule::TwoCnames {
                        owner: to_name(owner),
                    }));
                }
                _ => kind.cname = Some(rdata.to_vec()),
            }
        } else {
            kind.other = true;
        }
        if kind.cname.is_some() && kind.other {
            return Err(Box::new(ZoneRule::CnameAndOtherData {
                owner: to_name(owner),
            }));
        }
        Ok(())
    }
}

/// A wire-form name (checked when it was read) as a hickory name.
pub(crate) fn to_name(wire: &[u8]) -> Name {
    Name::from_labels(text::labels(wire)).unwrap_or_else(|_| Name::root())
}
