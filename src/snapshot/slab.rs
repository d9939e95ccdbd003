//! A persistent list with stable indexes: what the answer tables index by
//! number (endpoint answers, zone domains, health slots). Cloning it is
//! O(1) and a change copies only the chunk it touches (an `imbl::Vector`
//! underneath), so tables derived from others by one API write share every
//! untouched entry. A removed entry leaves a hole that the next insert
//! reuses, so that no other index moves.

use std::sync::Arc;

/// Entries are `Arc`ed: a chunk copied on write copies pointers only.
#[derive(Clone)]
pub(crate) struct Slab<T> {
    items: imbl::Vector<Option<Arc<T>>>,
    /// Holes, reused last-freed first.
    free: Vec<u32>,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab {
            items: imbl::Vector::new(),
            free: Vec::new(),
        }
    }
}

impl<T> Slab<T> {
    /// Stores `item`; its index stays the same until it is removed.
    pub(crate) fn insert(&mut self, item: Arc<T>) -> u32 {
        match self.free.pop() {
            Some(i) => {
                self.items.set(i as usize, Some(item));
                i
            }
            None => {
                self.items.push_back(Some(item));
                (self.items.len() - 1) as u32
            }
        }
    }

    /// Takes entry `i` out, leaving a hole.
    pub(crate) fn remove(&mut self, i: u32) -> Option<Arc<T>> {
        let old = self.items.set(i as usize, None);
        if old.is_some() {
            self.free.push(i);
        }
        old
    }

    pub(crate) fn get(&self, i: u32) -> Option<&Arc<T>> {
        self.items.get(i as usize).and_then(Option::as_ref)
    }

    /// How many indexes exist, holes included: the size of a vector
    /// indexed like this one.
    pub(crate) fn capacity(&self) -> usize {
        self.items.len()
    }

    /// The live entries with their indexes, in index order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, &Arc<T>)> {
        self.items
            .iter()
            .enumerate()
            .filter_map(|(i, t)| t.as_ref().map(|t| (i as u32, t)))
    }

    /// The live entries, in index order.
    pub(crate) fn values(&self) -> impl Iterator<Item = &T> {
        self.items.iter().flatten().map(|t| &**t)
    }

    pub(crate) fn live(&self) -> usize {
        self.items.len() - self.free.len()
    }
}

/// Entries that names point at are live: a hole there is a bug in the
/// tables, not a client's doing.
impl<T> std::ops::Index<usize> for Slab<T> {
    type Output = T;

    fn index(&self, i: usize) -> &T {
        self.items[i]
            .as_deref()
            .unwrap_or_else(|| panic!("slab entry {i} read while empty"))
    }
}

impl<T> FromIterator<T> for Slab<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        Slab {
            items: iter.into_iter().map(|t| Some(Arc::new(t))).collect(),
            free: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_stay_put_and_holes_are_reused() {
        let mut s: Slab<&str> = ["a", "b", "c"].into_iter().collect();
        assert_eq!(s.remove(1).as_deref(), Some(&"b"));
        assert_eq!(s.remove(1), None, "a hole is removed once");
        assert_eq!(s[2], "c");
        assert_eq!(s.live(), 2);
        assert_eq!(s.insert(Arc::new("d")), 1);
        assert_eq!(s.insert(Arc::new("e")), 3);
        let live: Vec<_> = s.iter().map(|(i, v)| (i, **v)).collect();
        assert_eq!(live, [(0, "a"), (1, "d"), (2, "c"), (3, "e")]);
    }

    #[test]
    fn a_clone_shares_entries_and_changes_apart() {
        let a: Slab<String> = ["x".to_string()].into_iter().collect();
        let mut b = a.clone();
        assert!(Arc::ptr_eq(a.get(0).unwrap(), b.get(0).unwrap()));
        b.remove(0);
        assert_eq!(b.insert(Arc::new("y".to_string())), 0);
        assert_eq!((a[0].as_str(), b[0].as_str()), ("x", "y"));
    }
}
