//! Publishing a run's outputs: every table is first written under the run's
//! own staging prefix `<warehouse>/_staging/<run_id>/`, and only when the
//! whole run has succeeded are its partitions moved into place, each one
//! replacing the partition of the same key whole. A failed run therefore
//! leaves every published partition as it was.
//!
//! (Readers can still see a partition being replaced for the moment of the
//! move; making the switch atomic across tables is issue 5's protocol.)

use std::collections::BTreeMap;

use object_store::path::Path;

use crate::storage::{Location, StorageError, StoreUrl};

/// The staging area of one run.
pub struct RunStaging {
    warehouse: Location,
    prefix: Path,
}

impl RunStaging {
    pub fn new(warehouse: &StoreUrl, run_id: &str) -> Result<RunStaging, StorageError> {
        let location = Location::open(warehouse)?;
        let prefix = warehouse.store_path().join("_staging").join(run_id);
        Ok(RunStaging { warehouse: location, prefix })
    }

    /// URL of a table's staging folder (ends in `/`), for the engine's writers.
    pub fn table_url(&self, table: &str) -> String {
        format!("{}/", self.warehouse.url.url_of(&self.prefix.clone().join(table)))
    }

    /// URL of one partition's staging folder.
    pub fn partition_url(&self, table: &str, partition: &str) -> String {
        format!("{}/", self.warehouse.url.url_of(&self.prefix.clone().join(table).join(partition)))
    }

    /// Writes one small file of a table's partition directly.
    pub async fn put(&self, table: &str, partition: &str, name: &str, bytes: bytes::Bytes) -> Result<(), StorageError> {
        let path = join_rel(&self.prefix.clone().join(table), partition).join(name);
        self.warehouse.put_bytes(&path, bytes).await
    }

    /// Moves a table's staged partitions into place. `expected` names
    /// partitions (`key=value`) that must be replaced even when the run wrote
    /// nothing for them (e.g. a snapshot that now has no rejects).
    /// Returns the partitions published.
    pub async fn publish(&self, table: &str, expected: &[String]) -> Result<Vec<String>, StorageError> {
        let staged_root = self.prefix.clone().join(table);
        let target_root = self.warehouse.url.store_path().join(table);
        let mut by_partition: BTreeMap<String, Vec<Path>> = BTreeMap::new();
        for p in expected {
            by_partition.entry(p.clone()).or_default();
        }
        for meta in self.warehouse.list_under(&staged_root).await? {
            let rel = relative(&staged_root, &meta.location);
            let partition = rel.rsplit_once('/').map(|(dir, _)| dir.to_string()).unwrap_or_default();
            by_partition.entry(partition).or_default().push(meta.location);
        }
        for (partition, mut files) in by_partition.clone() {
            let target = join_rel(&target_root, &partition);
            self.warehouse.delete_prefix(&target).await?;
            files.sort();
            for (i, file) in files.iter().enumerate() {
                let name = format!("part-{i:05}.parquet");
                self.warehouse.rename(file, &target.clone().join(name.as_str())).await?;
            }
        }
        Ok(by_partition.into_keys().collect())
    }

    /// Removes what is left of the staging prefix.
    pub async fn clean_up(&self) -> Result<(), StorageError> {
        self.warehouse.delete_prefix(&self.prefix).await?;
        // a local filesystem keeps the emptied folders
        if let Ok(dir) = self.warehouse.url.join(&format!("_staging/{}/", self.prefix.filename().unwrap_or("")))
            && let Ok(path) = dir.url().to_file_path()
        {
            let _ = std::fs::remove_dir_all(path);
        }
        Ok(())
    }
}

fn relative(root: &Path, path: &Path) -> String {
    let root = root.as_ref();
    path.as_ref().strip_prefix(root).unwrap_or(path.as_ref()).trim_start_matches('/').to_string()
}

fn join_rel(root: &Path, rel: &str) -> Path {
    rel.split('/').filter(|p| !p.is_empty()).fold(root.clone(), |acc, part| acc.join(part))
}
