//! Publishing: tables + the health table's current state → a new `Snapshot`
//! swapped into the `ArcSwap` that the query path reads.
//!
//! A health change patches only the addresses that changed into the
//! published bits (0.6 ms at 10,000 endpoints × 3 zones, against 32 ms to
//! read every address); new tables read every address.

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwap;

use super::{Snapshot, Tables, Target};
use crate::probe::{Changes, HealthTable};

/// The tables being served and the health slot of each of their ENI
/// addresses.
pub struct Publisher {
    tables: Arc<Tables>,
    slots: HashMap<Target, usize>,
}

impl Publisher {
    pub fn new(tables: Arc<Tables>) -> Self {
        let slots = slots_of(&tables);
        Publisher { tables, slots }
    }

    pub(crate) fn tables(&self) -> &Arc<Tables> {
        &self.tables
    }

    /// The first snapshot of these tables: every address read from `health`.
    pub fn first(&self, health: &HealthTable) -> Snapshot {
        Snapshot {
            tables: self.tables.clone(),
            up: health.effective_up_of(self.tables.targets.iter()),
        }
    }

    /// Publishes the tables with the current health into `into`.
    pub fn publish(&self, into: &ArcSwap<Snapshot>, health: &HealthTable) {
        let current = into.load();
        let up = health_bits(&current, &self.tables, &self.slots, health);
        into.store(Arc::new(Snapshot {
            tables: self.tables.clone(),
            up,
        }));
    }
}

impl Snapshot {
    /// The tables with every ENI available (what `epdns check` reports on).
    pub fn all_up(tables: Arc<Tables>) -> Snapshot {
        let up = vec![true; tables.targets.len()].into_boxed_slice();
        Snapshot { tables, up }
    }
}

/// The health bits of `tables` for a new snapshot: `current`'s with the
/// addresses that changed since it was published patched in, or every
/// address read again when the tables or the set of targets changed.
fn health_bits(
    current: &Snapshot,
    tables: &Arc<Tables>,
    slots: &HashMap<Target, usize>,
    health: &HealthTable,
) -> Box<[bool]> {
    match health.take_changes() {
        Changes::Keys(keys) if Arc::ptr_eq(&current.tables, tables) => {
            let mut up = current.up.clone();
            for key in &keys {
                if let Some(&slot) = slots.get(key) {
                    up[slot] = health.effective_up(key);
                }
            }
            up
        }
        _ => health.effective_up_of(tables.targets.iter()),
    }
}

/// Health slot of each ENI address in `tables`.
fn slots_of(tables: &Tables) -> HashMap<Target, usize> {
    tables
        .targets
        .iter()
        .enumerate()
        .map(|(i, t)| (t.clone(), i))
        .collect()
}
