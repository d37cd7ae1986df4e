//! The warehouse's commit log: what is published, and how a run's tables
//! become visible together or not at all, on every store (S3 has no atomic
//! rename, so cvm does not rely on one).
//!
//! 1. A run writes its tables under its own prefix `_staging/<run_id>/`.
//! 2. It moves each staged file into its table's partition folder under a
//!    name no other run uses, `part-<run_id>-<n>.parquet`. Nothing published
//!    is overwritten, and readers do not see the new files yet.
//! 3. It commits: `_commits/<seq>.json` (20 digits) is created only if no
//!    such object exists, which every store does atomically (one winner).
//!    A commit lists every published file of the warehouse; the one with
//!    the highest sequence number is what is published, so all of a run's
//!    files become visible in that one step. A run that loses the race for
//!    a number re-reads the log and tries the next.
//! 4. The files the commit replaced, and all but the last few commits, are
//!    deleted.
//!
//! Readers (cvm query, and the DuckDB and Spark recipes in the README) read
//! the files the latest commit lists, never a folder listing.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{NaiveDate, SecondsFormat, Utc};
use object_store::ObjectStoreExt;
use object_store::path::Path;
use serde::{Deserialize, Serialize};

use crate::storage::{Location, StorageError};
use crate::usage::FoldedFile;

/// The folder of the log, below the warehouse.
pub const COMMITS: &str = "_commits";
const FORMAT: &str = "cvm-commit/1";
/// Commits kept for audit (the files of older ones are gone anyway).
const KEEP_COMMITS: u64 = 20;
/// Attempts at the next sequence number when other runs commit at the same time.
const MAX_ATTEMPTS: usize = 20;

/// One commit: the whole published state of the warehouse.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Commit {
    pub format: String,
    pub seq: u64,
    pub committed_at: String,
    /// The run that made this commit.
    pub job: String,
    pub snapshot_date: NaiveDate,
    pub run_id: String,
    /// Every published file, sorted by path.
    pub files: Vec<CommittedFile>,
    /// The CDR extracts folded into usage_daily, sorted by URL: the state of
    /// the incremental build ([`crate::usage`]), committed with the files it
    /// describes.
    #[serde(default)]
    pub usage_inputs: Vec<FoldedFile>,
}

/// A published data file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CommittedFile {
    /// Path relative to the warehouse, e.g. `kpi/snapshot_date=2026-11-22/part-<run>-00000.parquet`.
    pub path: String,
    pub table: String,
    /// The hive partition folders between table and file, e.g. `snapshot_date=2026-11-22`.
    pub partition: String,
    pub bytes: u64,
}

impl CommittedFile {
    /// Whether this file lies in `partition` of `table` (or below it).
    pub fn is_in(&self, table: &str, partition: &str) -> bool {
        self.table == table
            && (partition.is_empty()
                || self.partition == partition
                || self.partition.strip_prefix(partition).is_some_and(|rest| rest.starts_with('/')))
    }
}

/// What a run publishes: the partitions it replaces (wholly, even those it
/// now leaves empty) and the files it adds.
#[derive(Debug, Clone)]
pub struct Change {
    pub job: String,
    pub snapshot_date: NaiveDate,
    pub run_id: String,
    /// (table, partition): every published file in or below it is replaced.
    pub replaced: BTreeSet<(String, String)>,
    pub added: Vec<CommittedFile>,
    /// CDR extracts folded into usage_daily by the run: each replaces the
    /// entry of the same URL.
    pub folded: Vec<FoldedFile>,
}

#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("{url}: not a cvm commit: {message}")]
    Corrupt { url: String, message: String },
    #[error("could not commit after {MAX_ATTEMPTS} attempts: other runs kept committing first")]
    Contended,
}

fn commit_path(location: &Location, seq: u64) -> Path {
    location.url.store_path().join(COMMITS).join(format!("{seq:020}.json").as_str())
}

/// Sequence numbers of the commits in the log, ascending.
async fn sequence_numbers(location: &Location) -> Result<Vec<u64>, StorageError> {
    let folder = location.url.store_path().join(COMMITS);
    let mut seqs: Vec<u64> = location
        .list_under(&folder)
        .await?
        .iter()
        .filter_map(|m| m.location.filename())
        .filter_map(|name| name.strip_suffix(".json"))
        .filter(|stem| stem.len() == 20)
        .filter_map(|stem| stem.parse().ok())
        .collect();
    seqs.sort_unstable();
    Ok(seqs)
}

/// The latest commit of the warehouse, if anything was ever published.
pub async fn latest(location: &Location) -> Result<Option<Commit>, CommitError> {
    // a commit removed by a concurrent tidy between list and read: list again
    for _ in 0..3 {
        let Some(&seq) = sequence_numbers(location).await?.last() else {
            return Ok(None);
        };
        let path = commit_path(location, seq);
        match location.store.get(&path).await {
            Ok(got) => {
                let url = location.url.url_of(&path);
                let bytes = got.bytes().await.map_err(|source| StorageError { url: url.clone(), source })?;
                let commit: Commit = serde_json::from_slice(&bytes)
                    .map_err(|e| CommitError::Corrupt { url: url.clone(), message: e.to_string() })?;
                if commit.format != FORMAT {
                    return Err(CommitError::Corrupt { url, message: format!("format {}", commit.format) });
                }
                return Ok(Some(commit));
            }
            Err(object_store::Error::NotFound { .. }) => continue,
            Err(source) => return Err(StorageError { url: location.url.url_of(&path), source }.into()),
        }
    }
    Ok(None)
}

/// Applies `change` on top of the latest commit and commits the result.
/// Returns the new commit and the files it no longer lists.
pub async fn commit(location: &Location, change: &Change) -> Result<(Commit, Vec<CommittedFile>), CommitError> {
    for _ in 0..MAX_ATTEMPTS {
        let base = latest(location).await?;
        let (kept, superseded): (Vec<CommittedFile>, Vec<CommittedFile>) = base
            .as_ref()
            .map(|c| c.files.clone())
            .unwrap_or_default()
            .into_iter()
            .partition(|f| !change.replaced.iter().any(|(table, partition)| f.is_in(table, partition)));
        let mut files = kept;
        files.extend(change.added.iter().cloned());
        files.sort();
        files.dedup_by(|a, b| a.path == b.path);
        let mut usage_inputs: BTreeMap<String, FoldedFile> = base
            .as_ref()
            .map(|c| c.usage_inputs.iter().map(|f| (f.url.clone(), f.clone())).collect())
            .unwrap_or_default();
        usage_inputs.extend(change.folded.iter().map(|f| (f.url.clone(), f.clone())));
        let next = Commit {
            format: FORMAT.to_string(),
            seq: base.as_ref().map_or(1, |c| c.seq + 1),
            committed_at: Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
            job: change.job.clone(),
            snapshot_date: change.snapshot_date,
            run_id: change.run_id.clone(),
            files,
            usage_inputs: usage_inputs.into_values().collect(),
        };
        let path = commit_path(location, next.seq);
        let body = serde_json::to_vec_pretty(&next).expect("a commit serialises");
        if location.create_if_absent(&path, body.into()).await? {
            let superseded = superseded.into_iter().filter(|f| !next.files.iter().any(|n| n.path == f.path)).collect();
            return Ok((next, superseded));
        }
        tracing::debug!(seq = next.seq, "another run committed first; retrying on top of it");
    }
    Err(CommitError::Contended)
}

/// After a commit: deletes the files it replaced and the commits older than
/// the last few. Failures are only logged: what is published is already right.
pub async fn tidy(location: &Location, commit: &Commit, superseded: &[CommittedFile]) {
    let root = location.url.store_path();
    for file in superseded {
        let path = join_rel(&root, &file.path);
        if let Err(e) = location.store.delete(&path).await
            && !matches!(e, object_store::Error::NotFound { .. })
        {
            tracing::warn!("could not delete replaced file {}: {e}", location.url.url_of(&path));
        }
    }
    match sequence_numbers(location).await {
        Ok(seqs) => {
            for seq in seqs.into_iter().filter(|s| s + KEEP_COMMITS <= commit.seq) {
                let path = commit_path(location, seq);
                if let Err(e) = location.store.delete(&path).await {
                    tracing::warn!("could not delete old commit {}: {e}", location.url.url_of(&path));
                }
            }
        }
        Err(e) => tracing::warn!("could not list the commit log: {e}"),
    }
}

/// Deletes the files in `table`'s folder that `commit` does not list (a
/// replaced file [`tidy`] could not delete, a dead run's moved files), so
/// that a plain listing of the folder shows exactly the published files.
/// Only for a run holding the warehouse's lock: a cluster's scheduler lists
/// the folders itself and cannot read through the commit as this process does.
pub async fn remove_strays(location: &Location, commit: &Commit, table: &str) -> Result<usize, StorageError> {
    let root = location.url.store_path();
    let published: std::collections::HashSet<Path> = commit.files.iter().map(|f| join_rel(&root, &f.path)).collect();
    let mut removed = 0;
    for meta in location.list_under(&root.clone().join(table)).await? {
        if published.contains(&meta.location) {
            continue;
        }
        match location.store.delete(&meta.location).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => removed += 1,
            Err(source) => return Err(StorageError { url: location.url.url_of(&meta.location), source }),
        }
    }
    if removed > 0 {
        tracing::info!(table, files = removed, "removed files the commit does not list");
    }
    Ok(removed)
}

/// `root` joined with a `/`-separated relative path.
pub fn join_rel(root: &Path, rel: &str) -> Path {
    rel.split('/').filter(|p| !p.is_empty()).fold(root.clone(), |acc, part| acc.join(part))
}

/// The run id in a published file's name (`part-<run_id>-<n>.parquet`).
pub fn run_id_of(file_name: &str) -> Option<&str> {
    let stem = file_name.strip_prefix("part-")?.strip_suffix(".parquet")?;
    stem.rsplit_once('-').map(|(run, _)| run)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(table: &str, partition: &str, name: &str) -> CommittedFile {
        CommittedFile {
            path: format!("{table}/{partition}/{name}"),
            table: table.into(),
            partition: partition.into(),
            bytes: 1,
        }
    }

    #[test]
    fn a_partition_contains_the_folders_below_it_only() {
        let f = file("campaigns", "snapshot_date=2026-11-22/campaign=upsell", "p.parquet");
        assert!(f.is_in("campaigns", "snapshot_date=2026-11-22"));
        assert!(f.is_in("campaigns", "snapshot_date=2026-11-22/campaign=upsell"));
        assert!(!f.is_in("campaigns", "snapshot_date=2026-11-2"));
        assert!(!f.is_in("kpi", "snapshot_date=2026-11-22"));
    }

    #[test]
    fn run_ids_are_read_back_from_file_names() {
        assert_eq!(run_id_of("part-20261122T010203Z-0badf00d-00003.parquet"), Some("20261122T010203Z-0badf00d"));
        assert_eq!(run_id_of("part-0.parquet"), None);
        assert_eq!(run_id_of("data.parquet"), None);
    }

    #[tokio::test]
    async fn commits_replace_partitions_and_keep_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let url =
            crate::storage::StoreUrl::parse(&format!("{}/", dir.path().display()), std::path::Path::new("/")).unwrap();
        let location = Location::open(&url).unwrap();
        assert!(latest(&location).await.unwrap().is_none());
        let day = |d: u32| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
        let change = |d: u32, run: &str, files: Vec<CommittedFile>| Change {
            job: "demo".into(),
            snapshot_date: day(d),
            run_id: run.into(),
            replaced: files.iter().map(|f| (f.table.clone(), f.partition.clone())).collect(),
            added: files,
            folded: Vec::new(),
        };
        let a = file("kpi", "snapshot_date=2026-11-21", "part-a-00000.parquet");
        let b = file("kpi", "snapshot_date=2026-11-22", "part-b-00000.parquet");
        let (c1, gone) = commit(&location, &change(21, "a", vec![a.clone()])).await.unwrap();
        assert_eq!((c1.seq, gone.len()), (1, 0));
        let (c2, _) = commit(&location, &change(22, "b", vec![b.clone()])).await.unwrap();
        assert_eq!(c2.files, vec![a.clone(), b.clone()]);
        // a re-run of the 22nd replaces b only
        let b2 = file("kpi", "snapshot_date=2026-11-22", "part-c-00000.parquet");
        let (c3, gone) = commit(&location, &change(22, "c", vec![b2.clone()])).await.unwrap();
        assert_eq!(c3.files, vec![a, b2]);
        assert_eq!(gone, vec![b]);
        assert_eq!(latest(&location).await.unwrap().unwrap().seq, 3);
    }

    #[tokio::test]
    async fn a_taken_sequence_number_is_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let url =
            crate::storage::StoreUrl::parse(&format!("{}/", dir.path().display()), std::path::Path::new("/")).unwrap();
        let location = Location::open(&url).unwrap();
        let change = |run: &str| Change {
            job: "demo".into(),
            snapshot_date: NaiveDate::from_ymd_opt(2026, 11, 22).unwrap(),
            run_id: run.into(),
            replaced: BTreeSet::new(),
            added: vec![file("kpi", &format!("snapshot_date={run}"), "p.parquet")],
            folded: Vec::new(),
        };
        // eight runs committing at once all land, each on its own number
        let commits = futures::future::join_all((0..8).map(|i| {
            let location = location.clone();
            let change = change(&format!("r{i}"));
            async move { commit(&location, &change).await.unwrap().0.seq }
        }))
        .await;
        let mut seqs = commits.clone();
        seqs.sort_unstable();
        assert_eq!(seqs, (1..=8).collect::<Vec<_>>());
        assert_eq!(latest(&location).await.unwrap().unwrap().files.len(), 8);
    }
}
