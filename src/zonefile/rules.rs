//! Rules a parsed zone must follow beyond syntax.
//!
//! Each rule is monotone (adding records never fixes a violation), which lets
//! `load` find the record that broke it by parsing ever longer prefixes.

use std::collections::{BTreeMap, HashMap};

use hickory_proto::rr::{DNSClass, LowerName, Name, RecordSet, RecordType, RrKey};

use super::error::ZoneRule;

/// The first rule that `records` breaks, if any.
pub(crate) fn check(
    origin: &Name,
    records: &BTreeMap<RrKey, RecordSet>,
) -> Result<(), Box<ZoneRule>> {
    // For each owner: (has a CNAME, has other data).
    let mut kinds: HashMap<&LowerName, (bool, bool)> = HashMap::new();
    for (key, set) in records {
        let owner = set.name();
        if !origin.zone_of(owner) {
            return Err(Box::new(ZoneRule::OutsideOrigin {
                owner: owner.clone(),
                origin: origin.clone(),
            }));
        }
        if set.dns_class() != DNSClass::IN {
            return Err(Box::new(ZoneRule::NotClassIn {
                owner: owner.clone(),
                class: set.dns_class().to_string(),
            }));
        }
        match set.record_type() {
            RecordType::SOA if owner != origin => {
                return Err(Box::new(ZoneRule::SoaNotAtApex {
                    owner: owner.clone(),
                    origin: origin.clone(),
                }));
            }
            // DNSSEC records may sit beside a CNAME (RFC 4035 §2.5).
            RecordType::RRSIG | RecordType::NSEC => {}
            rtype => {
                let kind = kinds.entry(key.name()).or_default();
                if rtype == RecordType::CNAME {
                    kind.0 = true;
                } else {
                    kind.1 = true;
                }
                if kind.0 && kind.1 {
                    return Err(Box::new(ZoneRule::CnameAndOtherData {
                        owner: owner.clone(),
                    }));
                }
            }
        }
    }
    Ok(())
}
