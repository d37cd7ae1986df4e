//! One table's log: listing its versions, replaying them into the table's
//! state (which files are in it, which were removed and when), writing the
//! next version, and a checkpoint every ten ([`checkpoint`] is its format).

use std::collections::BTreeMap;

use bytes::Bytes;
use chrono::{Duration, Utc};
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStoreExt};

use super::LOG_FOLDER;
use super::actions::{Action, Add, Metadata, Protocol, READER_VERSION, Remove, WRITER_VERSION, decode_path};
use super::checkpoint;
use super::error::DeltaError;
use crate::storage::Location;

/// What a table's log folder holds: its JSON versions and checkpoints.
#[derive(Debug, Clone, Default)]
pub struct LogListing {
    pub commits: BTreeMap<u64, ObjectMeta>,
    /// Each checkpoint's version and its files (one, or the parts of a
    /// multi-part checkpoint, all present).
    pub checkpoints: BTreeMap<u64, Vec<Path>>,
}

/// A table's log, at `<warehouse>/<table>/_delta_log/`.
#[derive(Clone)]
pub struct TableLog {
    pub location: Location,
    pub table: String,
    /// The table's folder, below which the adds' paths are relative.
    pub root: Path,
}

/// A table at one version.
#[derive(Debug, Clone, Default)]
pub struct TableState {
    /// None: the table has no log yet.
    pub version: Option<u64>,
    pub protocol: Option<Protocol>,
    pub metadata: Option<Metadata>,
    /// The table's files, by decoded path relative to the table's folder.
    pub files: BTreeMap<String, Add>,
    /// Files removed and not added again, by decoded path: still readable at
    /// earlier versions until vacuumed.
    pub removed: BTreeMap<String, Remove>,
}

impl TableLog {
    pub fn new(location: &Location, table: &str) -> TableLog {
        let root = location.url.store_path().join(table);
        TableLog { location: location.clone(), table: table.to_string(), root }
    }

    fn log_folder(&self) -> Path {
        self.root.clone().join(LOG_FOLDER)
    }

    fn commit_path(&self, version: u64) -> Path {
        self.log_folder().join(format!("{version:020}.json").as_str())
    }

    pub fn checkpoint_path(&self, version: u64) -> Path {
        self.log_folder().join(format!("{version:020}.checkpoint.parquet").as_str())
    }

    pub fn last_checkpoint_path(&self) -> Path {
        self.log_folder().join("_last_checkpoint")
    }

    /// The log folder's JSON versions and complete checkpoints.
    pub async fn listing(&self) -> Result<LogListing, DeltaError> {
        let mut listing = LogListing::default();
        let mut parts: BTreeMap<(u64, u32), Vec<Path>> = BTreeMap::new();
        for meta in self.location.list_under(&self.log_folder()).await? {
            let Some(name) = meta.location.filename() else { continue };
            let mut pieces = name.split('.');
            let Some(version) = pieces.next().and_then(|v| v.parse::<u64>().ok()) else { continue };
            match pieces.collect::<Vec<_>>().as_slice() {
                ["json"] => {
                    listing.commits.insert(version, meta);
                }
                // `<v>.checkpoint.parquet`, or part i of n: `<v>.checkpoint.<i>.<n>.parquet`
                ["checkpoint", "parquet"] => parts.entry((version, 1)).or_default().push(meta.location),
                ["checkpoint", _, n, "parquet"] => {
                    if let Ok(n) = n.parse() {
                        parts.entry((version, n)).or_default().push(meta.location);
                    }
                }
                _ => {}
            }
        }
        for ((version, n), mut files) in parts {
            if files.len() == n as usize {
                files.sort();
                listing.checkpoints.insert(version, files);
            }
        }
        Ok(listing)
    }

    /// The latest version, None without a log.
    pub async fn latest_version(&self) -> Result<Option<u64>, DeltaError> {
        let listing = self.listing().await?;
        Ok(listing.commits.keys().chain(listing.checkpoints.keys()).max().copied())
    }

    /// The actions of one version.
    pub async fn read_commit(&self, version: u64) -> Result<Vec<Action>, DeltaError> {
        let path = self.commit_path(version);
        let bytes = self.location.get_bytes(&path).await?;
        let url = || self.location.url.url_of(&path);
        let text =
            std::str::from_utf8(&bytes).map_err(|e| DeltaError::Corrupt { url: url(), message: e.to_string() })?;
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .enumerate()
            .map(|(i, line)| {
                Action::from_line(line)
                    .map_err(|m| DeltaError::Corrupt { url: url(), message: format!("line {}: {m}", i + 1) })
            })
            .collect()
    }

    /// The table at `version` (the latest when None): the newest checkpoint
    /// at or before it, then the JSON versions after the checkpoint.
    pub async fn state(&self, version: Option<u64>) -> Result<TableState, DeltaError> {
        let listing = self.listing().await?;
        let latest = listing.commits.keys().chain(listing.checkpoints.keys()).max().copied();
        let Some(last) = version.or(latest) else {
            return Ok(TableState::default());
        };
        if latest.is_none_or(|l| last > l) {
            return Err(DeltaError::Invalid { table: self.table.clone(), message: format!("no version {last}") });
        }
        let start = listing.checkpoints.range(..=last).next_back().map(|(v, _)| *v);
        let first_json = start.map_or(0, |c| c + 1);
        if let Some(missing) = (first_json..=last).find(|v| !listing.commits.contains_key(v)) {
            return Err(DeltaError::Incomplete { table: self.table.clone(), missing });
        }
        let mut state = TableState { version: Some(last), ..TableState::default() };
        if let Some(checkpoint) = start {
            let parts = listing.checkpoints.get(&checkpoint).map_or(&[][..], Vec::as_slice);
            state.apply(checkpoint::read(&self.location, parts).await?);
        }
        let commits: Vec<Vec<Action>> =
            futures::stream::iter((first_json..=last).map(|v| self.read_commit(v))).buffered(16).try_collect().await?;
        for actions in commits {
            state.apply(actions);
        }
        Ok(state)
    }

    /// Writes `actions` as `version`, unless that version exists (another
    /// writer got there first: false).
    pub async fn try_commit(&self, version: u64, actions: &[Action]) -> Result<bool, DeltaError> {
        let mut body = actions.iter().map(Action::to_line).collect::<Vec<_>>().join("\n");
        body.push('\n');
        Ok(self.location.create_if_absent(&self.commit_path(version), body.into()).await?)
    }

    /// A table-relative (decoded) path as a store path.
    pub fn file_path(&self, relative: &str) -> Path {
        crate::warehouse::commit::join_rel(&self.root, relative)
    }

    /// Fails unless cvm may append to a table of this protocol.
    pub fn check_writable(&self, state: &TableState) -> Result<(), DeltaError> {
        match &state.protocol {
            Some(p) if p.min_reader_version > READER_VERSION || p.min_writer_version > WRITER_VERSION => {
                Err(DeltaError::Unsupported {
                    table: self.table.clone(),
                    reader: p.min_reader_version,
                    writer: p.min_writer_version,
                })
            }
            _ => Ok(()),
        }
    }

    /// Writes the checkpoint of `state` (the table at its version) if one is
    /// due there, then deletes versions past the log's retention. Removals
    /// older than `retention` are left out: their files are vacuumed.
    pub async fn checkpoint_if_due(&self, state: &TableState, retention: Duration) -> Result<bool, DeltaError> {
        let Some(version) = state.version.filter(|v| checkpoint::is_due(*v)) else {
            return Ok(false);
        };
        let cutoff = (Utc::now() - retention).timestamp_millis();
        let mut actions: Vec<Action> = Vec::new();
        actions.extend(state.protocol.clone().map(Action::Protocol));
        actions.extend(state.metadata.clone().map(Action::MetaData));
        actions.extend(state.files.values().cloned().map(Action::Add));
        actions.extend(
            state
                .removed
                .values()
                .filter(|r| r.deletion_timestamp.is_none_or(|t| t >= cutoff))
                .cloned()
                .map(Action::Remove),
        );
        let invalid = |message: String| DeltaError::Invalid { table: self.table.clone(), message };
        let batch =
            checkpoint::to_batch(&actions).map_err(|e| invalid(format!("building checkpoint {version}: {e}")))?;
        let bytes = crate::warehouse::tables::parquet_bytes(batch.schema(), &[batch])
            .map_err(|e| invalid(format!("writing checkpoint {version}: {e}")))?;
        let size_in_bytes = bytes.len();
        self.location.put_bytes(&self.checkpoint_path(version), bytes).await?;
        let last = serde_json::json!({"version": version, "size": actions.len(), "sizeInBytes": size_in_bytes,
            "numOfAddFiles": state.files.len()});
        self.location.put_bytes(&self.last_checkpoint_path(), Bytes::from(last.to_string())).await?;
        tracing::info!(table = self.table, version, actions = actions.len(), "wrote a Delta checkpoint");
        self.clean_up().await?;
        Ok(true)
    }

    /// Deletes JSON versions and checkpoints before the newest checkpoint
    /// whose version is older than [`checkpoint::LOG_RETENTION`]: the log then starts there.
    pub(super) async fn clean_up(&self) -> Result<(), DeltaError> {
        let listing = self.listing().await?;
        let cutoff = Utc::now() - checkpoint::LOG_RETENTION;
        let Some(start) = listing
            .checkpoints
            .keys()
            .rev()
            .copied()
            .find(|v| listing.commits.get(v).is_some_and(|meta| meta.last_modified < cutoff))
        else {
            return Ok(());
        };
        let old = listing
            .commits
            .range(..start)
            .map(|(_, meta)| meta.location.clone())
            .chain(listing.checkpoints.range(..start).flat_map(|(_, parts)| parts.iter().cloned()));
        let mut deleted = 0;
        for path in old {
            match self.location.store.delete(&path).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => deleted += 1,
                Err(source) => {
                    return Err(crate::storage::StorageError { url: self.location.url.url_of(&path), source }.into());
                }
            }
        }
        tracing::info!(table = self.table, start, deleted, "log versions past the retention cleaned up");
        Ok(())
    }
}

impl TableState {
    pub fn apply(&mut self, actions: Vec<Action>) {
        for action in actions {
            match action {
                Action::Protocol(p) => self.protocol = Some(p),
                Action::MetaData(m) => self.metadata = Some(m),
                Action::Add(add) => {
                    let path = decode_path(&add.path);
                    self.removed.remove(&path);
                    self.files.insert(path, add);
                }
                Action::Remove(remove) => {
                    let path = decode_path(&remove.path);
                    self.files.remove(&path);
                    self.removed.insert(path, remove);
                }
                Action::CommitInfo(_) | Action::Other(_) => {}
            }
        }
    }
}

/// The folder part of a decoded table-relative path (`snapshot_date=…/campaign=…`).
pub fn partition_of(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// Whether `path` lies in `partition` or below it.
pub fn in_partition(path: &str, partition: &str) -> bool {
    let dir = partition_of(path);
    partition.is_empty() || dir == partition || dir.strip_prefix(partition).is_some_and(|rest| rest.starts_with('/'))
}
