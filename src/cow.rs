//! A hash map that changed copies share: the entries are split into 256
//! shards, each behind its own `Arc`, so cloning the map copies 256
//! pointers and a change copies only the shard it touches (when another
//! copy still holds it). The tables and the model's claims keep every
//! name, address and slot of 10⁵ endpoints in these: an API write then
//! costs a few small shard copies, not a rebuild, while the memory stays
//! that of plain hash maps (a hash trie such as `imbl`'s sizes every node
//! for 32 entries, several times this at 10⁵ entries).

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};
use std::sync::Arc;

use rustc_hash::FxBuildHasher;

const SHARDS: usize = 256;

pub(crate) struct CowMap<K, V> {
    shards: Vec<Arc<HashMap<K, V, FxBuildHasher>>>,
    len: usize,
}

impl<K, V> Clone for CowMap<K, V> {
    fn clone(&self) -> Self {
        CowMap {
            shards: self.shards.clone(),
            len: self.len,
        }
    }
}

impl<K, V> Default for CowMap<K, V> {
    fn default() -> Self {
        let empty = Arc::new(HashMap::with_hasher(FxBuildHasher));
        CowMap {
            shards: vec![empty; SHARDS],
            len: 0,
        }
    }
}

impl<K: std::fmt::Debug, V: std::fmt::Debug> std::fmt::Debug for CowMap<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.shards.iter().flat_map(|s| s.iter()))
            .finish()
    }
}

/// The shard of a key: bits of its hash that the shard's own table uses
/// for neither the bucket (low bits, below 2²⁰ entries) nor the tag (top
/// seven), so that the keys of one shard still spread in its table.
fn shard<Q: Hash + ?Sized>(key: &Q) -> usize {
    (FxBuildHasher.hash_one(key) >> 20) as usize % SHARDS
}

impl<K: Hash + Eq + Clone, V: Clone> CowMap<K, V> {
    pub(crate) fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.shards[shard(key)].get(key)
    }

    pub(crate) fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let s = &mut self.shards[shard(key)];
        if !s.contains_key(key) {
            return None;
        }
        Arc::make_mut(s).get_mut(key)
    }

    pub(crate) fn insert(&mut self, key: K, value: V) -> Option<V> {
        let old = Arc::make_mut(&mut self.shards[shard(&key)]).insert(key, value);
        if old.is_none() {
            self.len += 1;
        }
        old
    }

    pub(crate) fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let s = &mut self.shards[shard(key)];
        if !s.contains_key(key) {
            return None;
        }
        let old = Arc::make_mut(s).remove(key);
        self.len -= 1;
        old
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether `self` and `other` share shard `i` of `key` (tests).
    #[cfg(test)]
    pub(crate) fn shares_shard_of<Q: Hash + ?Sized>(&self, other: &Self, key: &Q) -> bool {
        let i = shard(key);
        Arc::ptr_eq(&self.shards[i], &other.shards[i])
    }
}

impl<K: Hash + Eq + Clone, V: Clone> FromIterator<(K, V)> for CowMap<K, V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut map = CowMap::default();
        for (k, v) in iter {
            map.insert(k, v);
        }
        map
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_changes_apart_and_shares_what_it_did_not_change() {
        let a: CowMap<String, u32> = (0..1000).map(|i| (format!("k{i}"), i)).collect();
        let mut b = a.clone();
        assert_eq!(b.insert("k1".to_string(), 7), Some(1));
        assert_eq!(b.remove("k2"), Some(2));
        assert_eq!(b.remove("k2"), None);
        *b.get_mut("k3").unwrap() = 9;
        assert_eq!(
            (a.get("k1"), a.get("k2"), a.get("k3")),
            (Some(&1), Some(&2), Some(&3))
        );
        assert_eq!(
            (b.get("k1"), b.get("k2"), b.get("k3")),
            (Some(&7), None, Some(&9))
        );
        assert_eq!((a.len, b.len), (1000, 999));
        let untouched = (4..1000)
            .map(|i| format!("k{i}"))
            .find(|k| {
                [1, 2, 3]
                    .iter()
                    .all(|j| shard(k.as_str()) != shard(format!("k{j}").as_str()))
            })
            .unwrap();
        assert!(a.shares_shard_of(&b, untouched.as_str()));
        assert!(!a.shares_shard_of(&b, "k1"));
    }
}
