//! Endpoint services.

use std::collections::HashSet;

use super::{Errors, Obj, dns_name, id_rules, label};
use crate::config::file::ServiceSection;
use crate::model::types::*;

pub(super) fn services(sections: &[ServiceSection], errs: &mut Errors) -> Vec<Service> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (i, s) in sections.iter().enumerate() {
        let obj = Obj::item("service", i, &s.id);
        id_rules(&s.id, &mut seen, &obj, errs);
        if let Err(m) = label(&s.region) {
            errs.push(&obj, "region", m);
        }
        let custom_domain = s.custom_domain.as_ref().and_then(|d| match dns_name(d) {
            Ok(n) => Some(n),
            Err(m) => {
                errs.push(&obj, "custom_domain", m);
                None
            }
        });
        out.push(Service {
            id: s.id.clone(),
            region: s.region.clone(),
            zone_affinity: s.zone_affinity,
            dual_stack: s.dual_stack,
            custom_domain,
        });
    }
    out
}
