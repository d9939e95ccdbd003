//! Tables for a changed model derived from the tables of the model before:
//! when only endpoints changed (what a control API write does), the
//! changed endpoints are taken out and added anew, and everything else is
//! shared with the previous tables. The result answers exactly as
//! `Tables::build` of the new model would (a differential test holds them
//! equal); anything else that changed takes a full build.

use std::collections::HashMap;
use std::sync::Arc;

use super::tables::{GeneratedZone, Slot, Tables, Target};
use crate::model::{Endpoint, Model};

/// New tables, the health slots they added (whose health must be read;
/// every other slot is as it was) and the targets whose slots they freed.
pub(crate) struct Updated {
    pub(crate) tables: Tables,
    pub(crate) fresh: Vec<Slot>,
    pub(crate) freed: Vec<Arc<Target>>,
}

impl Tables {
    /// The tables of `new`, derived from these (built from `old`), with the
    /// SOA serial `serial`; `None` when more than endpoints changed.
    pub(crate) fn update(&self, old: &Model, new: &Model, serial: u32) -> Option<Updated> {
        if !only_endpoints_differ(old, new) {
            return None;
        }
        let (changed, gone) = match new.changed_since(old) {
            Some((here, there)) => recently_changed(new, here, there),
            None => compared(old, new),
        };
        let mut t = self.renewed(new, serial);
        let mut freed = Vec::new();
        for id in gone {
            freed.extend(t.remove_endpoint(id));
        }
        for ep in &changed {
            freed.extend(t.remove_endpoint(&ep.id));
        }
        let mut fresh = Vec::new();
        for ep in changed {
            t.add_endpoint(ep);
            fresh.extend(
                t.placed
                    .get(ep.id.as_str())
                    .expect("just added")
                    .slots
                    .iter()
                    .copied(),
            );
        }
        t.fast_path = !t.shadows_generated_zone();
        Some(Updated {
            tables: t,
            fresh,
            freed,
        })
    }

    /// A copy of these tables sharing every entry, with the generated
    /// zone at serial `serial` (still served where these tables are,
    /// `serve_on`) and the custom domains' negative SOA with it.
    fn renewed(&self, model: &Model, serial: u32) -> Tables {
        let mut zone = GeneratedZone::new(&model.server, serial);
        zone.ns_host_a = self.zone.ns_host_a.clone();
        zone.ns_host_aaaa = self.zone.ns_host_aaaa.clone();
        let mut views = self.views.clone();
        for c in views.iter_mut().flat_map(|v| v.custom.iter_mut()) {
            c.soa_negative.data = zone.soa_negative.data.clone();
        }
        Tables {
            zone,
            endpoints: self.endpoints.clone(),
            zone_domains: self.zone_domains.clone(),
            vpcs: self.vpcs.clone(),
            targets: self.targets.clone(),
            all_down: self.all_down,
            ecs: self.ecs,
            ecs_trusted: self.ecs_trusted.clone(),
            udp_payload: self.udp_payload,
            vpc_nets: self.vpc_nets.clone(),
            views,
            inbound: self.inbound.clone(),
            forward: self.forward,
            wire_names: self.wire_names.clone(),
            apex_wire: self.apex_wire.clone(),
            fast_path: self.fast_path,
            private_shadows: self.private_shadows,
            endpoint_domains: self.endpoint_domains.clone(),
            placed: self.placed.clone(),
            serial,
            ttl: self.ttl,
            degraded_ttl: self.degraded_ttl,
        }
    }
}

/// Whether `old` and `new` differ in nothing the tables hold besides
/// their endpoints.
/// The endpoints of `new` changed since the model before, and the ids of
/// those removed, from the ids of the changes between them
/// (`Model::changed_since`): each change puts its endpoint last
/// (`model::change_endpoint`), so one changed on `new`'s side is among
/// its last `here.len()`; one changed on the other side only (rare: a
/// published view and a desired one that branched) is looked up.
fn recently_changed<'a>(
    new: &'a Model,
    here: Vec<&'a str>,
    there: Vec<&'a str>,
) -> (Vec<&'a Arc<Endpoint>>, Vec<&'a str>) {
    let tail: Vec<&Arc<Endpoint>> = new.endpoints.iter().rev().take(here.len()).collect();
    let mut ids: Vec<&str> = here.iter().chain(&there).copied().collect();
    ids.sort_unstable();
    ids.dedup();
    let mut changed = Vec::new();
    let mut gone = Vec::new();
    for id in ids {
        let found = match tail.iter().find(|e| e.id == id) {
            Some(e) => Some(*e),
            None if !here.contains(&id) => new.endpoints.iter().find(|e| e.id == id),
            None => None,
        };
        match found {
            Some(e) => changed.push(e),
            None => gone.push(id),
        }
    }
    (changed, gone)
}

/// The same by comparing every endpoint (O(n) pointer compares: a changed
/// model shares its unchanged endpoints with the one before), for models
/// not in one line of recent changes.
fn compared<'a>(old: &'a Model, new: &'a Model) -> (Vec<&'a Arc<Endpoint>>, Vec<&'a str>) {
    let before: HashMap<&str, &Arc<Endpoint>> =
        old.endpoints.iter().map(|e| (e.id.as_str(), e)).collect();
    let mut gone: HashMap<&str, ()> = before.keys().map(|id| (*id, ())).collect();
    let mut changed = Vec::new();
    for ep in &new.endpoints {
        gone.remove(ep.id.as_str());
        let same = before
            .get(ep.id.as_str())
            .is_some_and(|old| Arc::ptr_eq(old, ep) || ***old == **ep);
        if !same {
            changed.push(ep);
        }
    }
    (changed, gone.into_keys().collect())
}

fn only_endpoints_differ(old: &Model, new: &Model) -> bool {
    let zones_same = old.private_zones.len() == new.private_zones.len()
        && old
            .private_zones
            .iter()
            .zip(&new.private_zones)
            .all(|(a, b)| {
                a.name == b.name
                    && a.vpc_indexes == b.vpc_indexes
                    && std::sync::Arc::ptr_eq(&a.zone, &b.zone)
            });
    zones_same
        && old.server == new.server
        && old.vpcs == new.vpcs
        && old.vswitches == new.vswitches
        && old.inbound == new.inbound
        && old.forward.is_some() == new.forward.is_some()
}
