//! One table's log: listing its versions, replaying them into the table's
//! state (which files are in it, which were removed and when), writing the
//! next version.

use std::collections::BTreeMap;

use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;

use super::LOG_FOLDER;
use super::actions::{Action, Add, Metadata, Protocol, READER_VERSION, Remove, WRITER_VERSION, decode_path};
use crate::storage::{Location, StorageError};

#[derive(Debug, thiserror::Error)]
pub enum DeltaError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("{url}: not a Delta Lake commit cvm can read: {message}")]
    Corrupt { url: String, message: String },
    #[error(
        "{table}: the Delta table needs reader version {reader} and writer version {writer} (table features); \
         cvm writes versions {READER_VERSION} and {WRITER_VERSION} only and will not append to it"
    )]
    Unsupported { table: String, reader: i32, writer: i32 },
    #[error(
        "{table}: the log starts at a checkpoint (versions before {first} were cleaned up by another tool); \
         cvm replays the JSON commits and cannot read it"
    )]
    Checkpointed { table: String, first: u64 },
    #[error("{table}: {message}")]
    Invalid { table: String, message: String },
    #[error(transparent)]
    Conflict(#[from] super::Conflict),
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

    /// The versions in the log, ascending (JSON commits only).
    pub async fn versions(&self) -> Result<Vec<u64>, DeltaError> {
        let mut versions: Vec<u64> = self
            .location
            .list_under(&self.log_folder())
            .await?
            .iter()
            .filter_map(|m| m.location.filename()?.strip_suffix(".json")?.parse().ok())
            .collect();
        versions.sort_unstable();
        Ok(versions)
    }

    /// The latest version, None without a log.
    pub async fn latest_version(&self) -> Result<Option<u64>, DeltaError> {
        Ok(self.versions().await?.last().copied())
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

    /// The table at `version` (the latest when None).
    pub async fn state(&self, version: Option<u64>) -> Result<TableState, DeltaError> {
        let versions: Vec<u64> =
            self.versions().await?.into_iter().filter(|v| version.is_none_or(|at| *v <= at)).collect();
        let Some(&last) = versions.last() else {
            return match version {
                Some(v) => Err(DeltaError::Invalid { table: self.table.clone(), message: format!("no version {v}") }),
                None => Ok(TableState::default()),
            };
        };
        if versions.first() != Some(&0) || versions.len() as u64 != last + 1 {
            return Err(DeltaError::Checkpointed { table: self.table.clone(), first: versions[0] });
        }
        let commits: Vec<Vec<Action>> =
            futures::stream::iter(versions.iter().map(|v| self.read_commit(*v))).buffered(16).try_collect().await?;
        let mut state = TableState { version: Some(last), ..TableState::default() };
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
        crate::commit::join_rel(&self.root, relative)
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
