//! The staging area of one run, `<warehouse>/_staging/<run_id>/`: every
//! table a run writes goes there first, and is moved beside the published
//! files only when the whole run has succeeded ([`crate::run::publish`]).

use std::collections::BTreeMap;

use object_store::ObjectMeta;
use object_store::path::Path;

use crate::storage::{Location, StorageError};
use crate::warehouse::commit::{Change, CommittedFile, join_rel};

/// The folder of the runs' staging prefixes, below the warehouse.
pub const STAGING: &str = "_staging";

/// The staging area of one run.
pub struct RunStaging {
    warehouse: Location,
    prefix: Path,
    run_id: String,
}

impl RunStaging {
    pub fn new(warehouse: &Location, run_id: &str) -> RunStaging {
        let prefix = warehouse.url.store_path().join(STAGING).join(run_id);
        RunStaging { warehouse: warehouse.clone(), prefix, run_id: run_id.to_string() }
    }

    /// The warehouse the run stages in (and publishes to).
    pub fn location(&self) -> &Location {
        &self.warehouse
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

    /// Whether the run has staged any file of a table's partition.
    pub async fn has_files(&self, table: &str, partition: &str) -> Result<bool, StorageError> {
        let folder = join_rel(&self.prefix.clone().join(table), partition);
        Ok(!self.warehouse.list_under(&folder).await?.is_empty())
    }

    /// Moves a table's staged files into its partition folders, each under a
    /// name of this run's own (`part-<run_id>-<n>.parquet`): nothing published
    /// is touched, and readers do not see the files until [`crate::run::publish::publish`]
    /// commits them. `expected` names partitions (`key=value`) the run
    /// replaces even when it wrote nothing for them (e.g. a snapshot that
    /// now has no rejects). Adds the table's part to `change`.
    pub async fn move_into_place(
        &self,
        table: &str,
        expected: &[String],
        change: &mut Change,
    ) -> Result<Vec<String>, StorageError> {
        let staged_root = self.prefix.clone().join(table);
        let target_root = self.warehouse.url.store_path().join(table);
        let mut by_partition: BTreeMap<String, Vec<ObjectMeta>> = BTreeMap::new();
        for p in expected {
            by_partition.entry(p.clone()).or_default();
        }
        for meta in self.warehouse.list_under(&staged_root).await? {
            let rel = relative(&staged_root, &meta.location);
            let partition = rel.rsplit_once('/').map(|(dir, _)| dir.to_string()).unwrap_or_default();
            by_partition.entry(partition).or_default().push(meta);
        }
        let root = self.warehouse.url.store_path();
        for (partition, files) in &mut by_partition {
            files.sort_by(|a, b| a.location.cmp(&b.location));
            let target = join_rel(&target_root, partition);
            for (i, file) in files.iter().enumerate() {
                let name = format!("part-{}-{i:05}.parquet", self.run_id);
                let to = target.clone().join(name.as_str());
                self.warehouse.rename(&file.location, &to).await?;
                change.added.push(CommittedFile {
                    path: relative(&root, &to),
                    table: table.to_string(),
                    partition: partition.clone(),
                    bytes: file.size,
                });
            }
            change.replaced.insert((table.to_string(), partition.clone()));
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

/// `path` below `root`, without a leading `/`.
pub(crate) fn relative(root: &Path, path: &Path) -> String {
    let root = root.as_ref();
    path.as_ref().strip_prefix(root).unwrap_or(path.as_ref()).trim_start_matches('/').to_string()
}
