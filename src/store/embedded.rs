//! The embedded store: one redb file under the state directory. redb is
//! pure Rust (no C toolchain), crash-safe (copy-on-write B-trees with a
//! checksummed commit slot), and its default `Durability::Immediate` fsyncs
//! before `commit` returns, which is what "acknowledged means durable"
//! needs.

use std::path::{Path, PathBuf};

use redb::{Database, ReadableTable, TableDefinition};

use super::{Store, StoreError};

/// Objects: key `kind \0 id`, value the object's bytes.
const OBJECTS: TableDefinition<&str, &[u8]> = TableDefinition::new("objects");
/// One row, `revision`.
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const REVISION: &str = "revision";

pub(crate) struct RedbStore {
    db: Database,
    path: PathBuf,
}

impl RedbStore {
    /// Opens (or creates) `dir/state.redb`, creating `dir` when missing.
    pub(crate) fn open(dir: &Path) -> Result<RedbStore, StoreError> {
        let path = dir.join("state.redb");
        let err = |message: String| StoreError::Backend {
            path: path.display().to_string(),
            message,
        };
        std::fs::create_dir_all(dir).map_err(|e| err(format!("creating the folder: {e}")))?;
        let db = Database::create(&path).map_err(|e| err(e.to_string()))?;
        let store = RedbStore { db, path };
        // Both tables exist from the start, so reads never meet a missing one.
        store.write(|_, _| Ok(()))?;
        Ok(store)
    }

    fn err(&self, e: impl std::fmt::Display) -> StoreError {
        StoreError::Backend {
            path: self.path.display().to_string(),
            message: e.to_string(),
        }
    }

    /// One durable transaction: `f` changes the objects, then the revision
    /// is incremented and the commit fsynced.
    fn write(
        &self,
        f: impl FnOnce(&mut redb::Table<&str, &[u8]>, &mut u64) -> Result<(), redb::StorageError>,
    ) -> Result<u64, StoreError> {
        let txn = self.db.begin_write().map_err(|e| self.err(e))?;
        let revision = {
            let mut objects = txn.open_table(OBJECTS).map_err(|e| self.err(e))?;
            let mut meta = txn.open_table(META).map_err(|e| self.err(e))?;
            let mut revision = meta
                .get(REVISION)
                .map_err(|e| self.err(e))?
                .map_or(0, |v| v.value());
            f(&mut objects, &mut revision).map_err(|e| self.err(e))?;
            meta.insert(REVISION, revision).map_err(|e| self.err(e))?;
            revision
        };
        txn.commit().map_err(|e| self.err(e))?;
        Ok(revision)
    }
}

fn key(kind: &str, id: &str) -> String {
    format!("{kind}\0{id}")
}

impl Store for RedbStore {
    fn get(&self, kind: &str, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let txn = self.db.begin_read().map_err(|e| self.err(e))?;
        let objects = txn.open_table(OBJECTS).map_err(|e| self.err(e))?;
        let value = objects
            .get(key(kind, id).as_str())
            .map_err(|e| self.err(e))?;
        Ok(value.map(|v| v.value().to_vec()))
    }

    fn put(&mut self, kind: &str, id: &str, value: &[u8]) -> Result<u64, StoreError> {
        let k = key(kind, id);
        self.write(|objects, revision| {
            objects.insert(k.as_str(), value)?;
            *revision += 1;
            Ok(())
        })
    }

    fn delete(&mut self, kind: &str, id: &str) -> Result<u64, StoreError> {
        let k = key(kind, id);
        self.write(|objects, revision| {
            objects.remove(k.as_str())?;
            *revision += 1;
            Ok(())
        })
    }

    fn list(&self, kind: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let txn = self.db.begin_read().map_err(|e| self.err(e))?;
        let objects = txn.open_table(OBJECTS).map_err(|e| self.err(e))?;
        // `kind \0` .. `kind \x01`: every key of that kind and nothing else.
        let (from, to) = (format!("{kind}\0"), format!("{kind}\u{1}"));
        let mut out = Vec::new();
        for row in objects
            .range(from.as_str()..to.as_str())
            .map_err(|e| self.err(e))?
        {
            let (k, v) = row.map_err(|e| self.err(e))?;
            let id = k.value()[from.len()..].to_string();
            out.push((id, v.value().to_vec()));
        }
        Ok(out)
    }

    fn revision(&self) -> Result<u64, StoreError> {
        let txn = self.db.begin_read().map_err(|e| self.err(e))?;
        let meta = txn.open_table(META).map_err(|e| self.err(e))?;
        Ok(meta
            .get(REVISION)
            .map_err(|e| self.err(e))?
            .map_or(0, |v| v.value()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_are_filed_by_kind_and_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = RedbStore::open(dir.path()).unwrap();
        assert_eq!(s.revision().unwrap(), 0);
        assert_eq!(s.put("endpoint", "ep-b", b"2").unwrap(), 1);
        assert_eq!(s.put("endpoint", "ep-a", b"1").unwrap(), 2);
        assert_eq!(s.put("zone", "z1", b"z").unwrap(), 3);
        assert_eq!(s.put("endpoint", "ep-a", b"1'").unwrap(), 4);
        assert_eq!(s.delete("endpoint", "ep-b").unwrap(), 5);
        drop(s);
        let s = RedbStore::open(dir.path()).unwrap();
        assert_eq!(s.revision().unwrap(), 5);
        assert_eq!(
            s.list("endpoint").unwrap(),
            [("ep-a".to_string(), b"1'".to_vec())]
        );
        assert_eq!(s.get("zone", "z1").unwrap(), Some(b"z".to_vec()));
        assert_eq!(s.get("zone", "ep-a").unwrap(), None);
    }
}
