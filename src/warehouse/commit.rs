//! The warehouse's run record: which runs are published, and how a run's
//! tables become visible together or not at all for cvm's own readers, on
//! every store (S3 has no atomic rename, so cvm does not rely on one).
//!
//! Every table is a Delta Lake table ([`crate::warehouse::delta`]) with its own log;
//! Delta commits one table at a time. The run record ties them together:
//!
//! 1. A run writes its tables under its own prefix `_staging/<run_id>/`.
//! 2. It moves each staged file into its table's partition folder under a
//!    name no other run uses, `part-<run_id>-<n>.parquet`. Nothing published
//!    is overwritten, and readers do not see the new files yet.
//! 3. It commits each table's Delta log (one version per table: the
//!    snapshot's partitions replaced), checking for conflicting runs first
//!    ([`crate::run::publish`]).
//! 4. It writes the record: `_commits/<seq>.json` (20 digits) is created
//!    only if no such object exists, which every store does atomically (one
//!    winner). A record lists every published file of the warehouse and the
//!    Delta version of each table; the one with the highest sequence number
//!    is what cvm's readers (query, report, exports) read, so all of a run's
//!    tables become visible to them in that one step. A run that loses the
//!    race for a number re-reads the record and tries the next.
//! 5. Older records beyond the last few are deleted; replaced data files
//!    stay for the retention window ([`crate::warehouse::delta::vacuum`]).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{NaiveDate, SecondsFormat, Utc};
use object_store::ObjectStoreExt;
use object_store::path::Path;
use serde::{Deserialize, Serialize};

use crate::storage::{Location, StorageError};

/// The folder of the log, below the warehouse.
pub const COMMITS: &str = "_commits";
/// The format of the records this cvm writes.
pub const FORMAT: &str = "cvm-commit/2";
/// Records of a warehouse written before its tables were Delta Lake tables.
const OLD_FORMAT: &str = "cvm-commit/1";
/// Commits kept for audit (the files of older ones are gone anyway).
const KEEP_COMMITS: u64 = 20;
/// Attempts at the next sequence number when other runs commit at the same time.
const MAX_ATTEMPTS: usize = 20;

/// A CDR extract folded into usage_daily (src/stages/usage.rs), as the record
/// keeps it: the next run reads only the extracts not folded yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FoldedFile {
    pub url: String,
    pub size: u64,
    pub etag: Option<String>,
    pub last_modified: String,
    /// Hash of the settings and SQL that read it.
    pub recipe: String,
    /// The snapshot of the run that read it: a re-run of that snapshot reads
    /// it again, so a re-run publishes what the first run did (its rejects too).
    pub snapshot_date: NaiveDate,
    /// The UTC days it has valid events on.
    pub days: Vec<NaiveDate>,
}

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
    /// the incremental build ([`crate::stages::usage`]), committed with the files it
    /// describes.
    #[serde(default)]
    pub usage_inputs: Vec<FoldedFile>,
    /// Each table's Delta Lake version once this run had committed it (the
    /// version a Delta reader can travel back to for this record).
    #[serde(default)]
    pub tables: BTreeMap<String, u64>,
}

impl Commit {
    /// The run whose files hold snapshot `as_of` (the run id in the names
    /// of its customer_value files), None if the snapshot is not published.
    pub fn run_of_snapshot(&self, as_of: NaiveDate) -> Option<String> {
        let partition = format!("snapshot_date={as_of}");
        self.files
            .iter()
            .find(|f| f.table == "customer_value" && f.partition == partition)
            .and_then(|f| f.path.rsplit('/').next().and_then(run_id_of).map(str::to_string))
    }
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
    /// Each table's Delta version when the run read the warehouse (None: no
    /// log yet): versions after it that touched the partitions the run
    /// replaces are conflicts.
    pub read_versions: BTreeMap<String, Option<u64>>,
}

#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("{url}: not a cvm commit: {message}")]
    Corrupt { url: String, message: String },
    #[error("could not commit after {MAX_ATTEMPTS} attempts: other runs kept committing first")]
    Contended,
    #[error(
        "{url}: this warehouse was written by a cvm from before its tables were Delta Lake tables; \
         convert it once with `cvm upgrade <warehouse>` (it keeps every published file), then run again"
    )]
    OldLayout { url: String },
    #[error(transparent)]
    Delta(#[from] crate::warehouse::delta::DeltaError),
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
    read_latest(location, false).await
}

/// The latest record whatever its format, for `cvm upgrade`.
pub async fn latest_of_any_format(location: &Location) -> Result<Option<Commit>, CommitError> {
    read_latest(location, true).await
}

/// Writes `record` as the next record, unless another took its number.
pub async fn write_record(location: &Location, record: &Commit) -> Result<bool, CommitError> {
    let body = serde_json::to_vec_pretty(record).expect("a commit serialises");
    Ok(location.create_if_absent(&commit_path(location, record.seq), body.into()).await?)
}

async fn read_latest(location: &Location, any_format: bool) -> Result<Option<Commit>, CommitError> {
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
                if commit.format == OLD_FORMAT && !any_format {
                    return Err(CommitError::OldLayout { url });
                }
                if commit.format != FORMAT && commit.format != OLD_FORMAT {
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

/// Applies `change` on top of the latest record and writes the result, with
/// `versions`, the Delta versions the run's table commits made.
pub async fn commit(
    location: &Location,
    change: &Change,
    versions: &BTreeMap<String, u64>,
) -> Result<Commit, CommitError> {
    for _ in 0..MAX_ATTEMPTS {
        let base = latest(location).await?;
        let mut files: Vec<CommittedFile> = base
            .as_ref()
            .map(|c| c.files.clone())
            .unwrap_or_default()
            .into_iter()
            .filter(|f| !change.replaced.iter().any(|(table, partition)| f.is_in(table, partition)))
            .collect();
        files.extend(change.added.iter().cloned());
        files.sort();
        files.dedup_by(|a, b| a.path == b.path);
        let mut usage_inputs: BTreeMap<String, FoldedFile> = base
            .as_ref()
            .map(|c| c.usage_inputs.iter().map(|f| (f.url.clone(), f.clone())).collect())
            .unwrap_or_default();
        usage_inputs.extend(change.folded.iter().map(|f| (f.url.clone(), f.clone())));
        let mut tables = base.as_ref().map(|c| c.tables.clone()).unwrap_or_default();
        for (table, version) in versions {
            let entry = tables.entry(table.clone()).or_insert(*version);
            *entry = (*entry).max(*version);
        }
        let next = Commit {
            format: FORMAT.to_string(),
            seq: base.as_ref().map_or(1, |c| c.seq + 1),
            committed_at: Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
            job: change.job.clone(),
            snapshot_date: change.snapshot_date,
            run_id: change.run_id.clone(),
            files,
            usage_inputs: usage_inputs.into_values().collect(),
            tables,
        };
        if write_record(location, &next).await? {
            return Ok(next);
        }
        tracing::debug!(seq = next.seq, "another run committed first; retrying on top of it");
    }
    Err(CommitError::Contended)
}

/// After a commit: deletes the records older than the last few. Failures
/// are only logged: what is published is already right. (Replaced data
/// files stay for the retention window: [`crate::warehouse::delta::vacuum`].)
pub async fn tidy(location: &Location, commit: &Commit) {
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
        let location = Location::open(&url, &Default::default()).unwrap();
        assert!(latest(&location).await.unwrap().is_none());
        let day = |d: u32| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
        let change = |d: u32, run: &str, files: Vec<CommittedFile>| Change {
            job: "demo".into(),
            snapshot_date: day(d),
            run_id: run.into(),
            replaced: files.iter().map(|f| (f.table.clone(), f.partition.clone())).collect(),
            added: files,
            folded: Vec::new(),
            read_versions: BTreeMap::new(),
        };
        let a = file("kpi", "snapshot_date=2026-11-21", "part-a-00000.parquet");
        let b = file("kpi", "snapshot_date=2026-11-22", "part-b-00000.parquet");
        let versions = BTreeMap::from([("kpi".to_string(), 3)]);
        let c1 = commit(&location, &change(21, "a", vec![a.clone()]), &versions).await.unwrap();
        assert_eq!(c1.seq, 1);
        let c2 = commit(&location, &change(22, "b", vec![b.clone()]), &BTreeMap::new()).await.unwrap();
        assert_eq!(c2.files, vec![a.clone(), b.clone()]);
        // a re-run of the 22nd replaces b only
        let b2 = file("kpi", "snapshot_date=2026-11-22", "part-c-00000.parquet");
        let c3 = commit(&location, &change(22, "c", vec![b2.clone()]), &BTreeMap::from([("kpi".to_string(), 5)]))
            .await
            .unwrap();
        assert_eq!(c3.files, vec![a, b2]);
        // the record keeps each table's newest Delta version
        assert_eq!((c2.tables["kpi"], c3.tables["kpi"]), (3, 5));
        assert_eq!(latest(&location).await.unwrap().unwrap().seq, 3);
    }

    #[tokio::test]
    async fn a_taken_sequence_number_is_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let url =
            crate::storage::StoreUrl::parse(&format!("{}/", dir.path().display()), std::path::Path::new("/")).unwrap();
        let location = Location::open(&url, &Default::default()).unwrap();
        let change = |run: &str| Change {
            job: "demo".into(),
            snapshot_date: NaiveDate::from_ymd_opt(2026, 11, 22).unwrap(),
            run_id: run.into(),
            replaced: BTreeSet::new(),
            added: vec![file("kpi", &format!("snapshot_date={run}"), "p.parquet")],
            folded: Vec::new(),
            read_versions: BTreeMap::new(),
        };
        // eight runs committing at once all land, each on its own number
        let commits = futures::future::join_all((0..8).map(|i| {
            let location = location.clone();
            let change = change(&format!("r{i}"));
            async move { commit(&location, &change, &BTreeMap::new()).await.unwrap().seq }
        }))
        .await;
        let mut seqs = commits.clone();
        seqs.sort_unstable();
        assert_eq!(seqs, (1..=8).collect::<Vec<_>>());
        assert_eq!(latest(&location).await.unwrap().unwrap().files.len(), 8);
    }
}
