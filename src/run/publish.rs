//! Publishing a run's outputs: every table is first written under the run's
//! own staging prefix `<warehouse>/_staging/<run_id>/`; only when the whole
//! run has succeeded are its files moved beside the published ones and
//! committed: one Delta Lake version per table, then the run record that
//! makes them visible together to cvm's readers (the protocol is in
//! [`crate::warehouse::commit`]). A failed or killed run therefore leaves what is
//! published as it was, and the leftovers of a dead run are swept by a
//! later one.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use chrono::{Duration, Utc};
use object_store::ObjectStoreExt;
use object_store::path::Path;
use serde_json::Value;

use crate::storage::{Location, StorageError, StorageSettings, StoreUrl};
use crate::warehouse::commit::{self, Change, Commit, CommitError};
use crate::warehouse::delta::transaction::{self, Committed};
use crate::warehouse::delta::{TableChange, TableLog};
use crate::warehouse::staging::{STAGING, relative};

/// Commits a run's moved files: each table's Delta log (in name order, the
/// same for every run), then the run record. A conflict or error on one
/// table undoes the tables already committed, so the run publishes nothing.
/// Afterwards, files replaced longer ago than `retention` are vacuumed, and
/// a table at a tenth version gets a checkpoint.
pub async fn publish(location: &Location, change: &Change, retention: Duration) -> Result<Commit, CommitError> {
    let mut tables = table_changes(change);
    // every table checked before any is committed: a conflict found here
    // costs nothing, and each commit then checks only the versions after
    for (table, table_change) in &mut tables {
        table_change.read_version = transaction::check(&TableLog::new(location, table), table_change).await?;
    }
    let mut committed: Vec<(String, Committed)> = Vec::new();
    for (table, table_change) in &tables {
        crate::observe::fault::pause_point(&format!("publish:{table}"));
        match transaction::replace_partitions(&TableLog::new(location, table), table_change).await {
            Ok(Some(done)) => committed.push((table.clone(), done)),
            Ok(None) => {}
            Err(e) => {
                undo(location, &committed, change).await;
                return Err(e.into());
            }
        }
    }
    let versions: BTreeMap<String, u64> = committed.iter().map(|(t, c)| (t.clone(), c.version)).collect();
    let record = match commit::commit(location, change, &versions).await {
        Ok(record) => record,
        Err(e) => {
            undo(location, &committed, change).await;
            return Err(e);
        }
    };
    commit::tidy(location, &record).await;
    for (table, done) in &committed {
        let log = TableLog::new(location, table);
        if let Err(e) = crate::warehouse::delta::vacuum::vacuum_at(&log, &done.state, retention).await {
            tracing::warn!(table, "could not vacuum (the next run will): {e}");
        }
        if let Err(e) = log.checkpoint_if_due(&done.state, retention).await {
            tracing::warn!(table, "could not write a checkpoint (readers replay the JSON versions): {e}");
        }
    }
    Ok(record)
}

/// The run's change split by table, with the versions it read.
fn table_changes(change: &Change) -> BTreeMap<String, TableChange> {
    let by = BTreeMap::from([
        ("job".to_string(), Value::from(change.job.clone())),
        ("snapshot_date".to_string(), Value::from(change.snapshot_date.to_string())),
        ("run_id".to_string(), Value::from(change.run_id.clone())),
    ]);
    let mut tables: BTreeMap<String, TableChange> = BTreeMap::new();
    let names = change.replaced.iter().map(|(t, _)| t).chain(change.added.iter().map(|f| &f.table));
    for name in names {
        tables.entry(name.clone()).or_insert_with(|| TableChange {
            read_version: change.read_versions.get(name).copied().flatten(),
            replaced: BTreeSet::new(),
            added: Vec::new(),
            by: by.clone(),
        });
    }
    for (name, partition) in &change.replaced {
        tables.get_mut(name).expect("listed").replaced.insert(partition.clone());
    }
    for file in &change.added {
        let relative = file.path.strip_prefix(&format!("{}/", file.table)).unwrap_or(&file.path).to_string();
        tables.get_mut(&file.table).expect("listed").added.push((relative, file.bytes));
    }
    tables
}

/// Undoes the tables a failed publish committed; a table that cannot be
/// undone is logged (a re-run of the snapshot replaces its partitions).
async fn undo(location: &Location, committed: &[(String, Committed)], change: &Change) {
    let by = BTreeMap::from([("run_id".to_string(), Value::from(change.run_id.clone()))]);
    for (table, done) in committed.iter().rev() {
        match transaction::revert(&TableLog::new(location, table), done, &by).await {
            Ok(version) => tracing::warn!(table, version, "undid this run's commit of the table"),
            Err(e) => {
                tracing::error!(table, "could not undo this run's commit of the table ({e}); re-run the snapshot")
            }
        }
    }
}

/// Each table's latest Delta version, read when a run starts: the base of
/// its conflict checks at publish.
pub async fn read_versions(location: &Location, tables: &[&str]) -> Result<BTreeMap<String, Option<u64>>, CommitError> {
    let mut versions = BTreeMap::new();
    for table in tables {
        versions.insert(table.to_string(), TableLog::new(location, table).latest_version().await?);
    }
    Ok(versions)
}

/// Deletes what dead runs left behind. Their staging prefixes are found by
/// listing `_staging/` (empty but for runs in flight): a prefix goes when its
/// run is `dead` (known dead: its stale lock was taken over, or it is the
/// failing run itself), or holds no live lock and is older than
/// `stale_after`. Only when there is such a dead run are the table folders
/// listed, for the files it moved beside the published ones but never
/// committed: an ordinary run lists nothing more than `_staging/`.
pub async fn sweep_leftovers(
    location: &Location,
    tables: &[&str],
    dead: Option<&str>,
    live: &[String],
    stale_after: Duration,
) -> Result<usize, CommitError> {
    let root = location.url.store_path();
    let mut dead_runs: BTreeSet<String> = dead.into_iter().map(str::to_string).collect();
    let staging = root.clone().join(STAGING);
    let mut doomed = dead_prefixes(location, &staging, dead, live, stale_after, &mut dead_runs).await?;
    if !dead_runs.is_empty() {
        for table in tables {
            // a file any version of the log names stays (a dead run may
            // have committed some tables before it died)
            let state = TableLog::new(location, table).state(None).await?;
            let referenced: HashSet<&str> =
                state.files.keys().chain(state.removed.keys()).map(String::as_str).collect();
            let table_root = root.clone().join(*table);
            for meta in location.list_under(&table_root).await? {
                let moved_by_dead_run =
                    meta.location.filename().and_then(commit::run_id_of).is_some_and(|run| dead_runs.contains(run));
                if moved_by_dead_run && !referenced.contains(relative(&table_root, &meta.location).as_str()) {
                    doomed.push(meta.location);
                }
            }
        }
    }
    for path in &doomed {
        match location.store.delete(path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(source) => return Err(StorageError { url: location.url.url_of(path), source }.into()),
        }
    }
    if !doomed.is_empty() {
        tracing::info!(objects = doomed.len(), runs = ?dead_runs, "swept the leftovers of runs that ended without cleaning up");
    }
    Ok(doomed.len())
}

/// The objects under `staging` (a folder of runs' prefixes) of dead runs:
/// `dead`, or holding no live lock and older than `stale_after`. Their run
/// ids are added to `dead_runs`.
async fn dead_prefixes(
    location: &Location,
    staging: &Path,
    dead: Option<&str>,
    live: &[String],
    stale_after: Duration,
    dead_runs: &mut BTreeSet<String>,
) -> Result<Vec<Path>, StorageError> {
    let cutoff = Utc::now() - stale_after;
    let mut doomed = Vec::new();
    for meta in location.list_under(staging).await? {
        let rel = relative(staging, &meta.location);
        let run_id = rel.split('/').next().unwrap_or_default();
        if dead == Some(run_id) || (!live.iter().any(|l| l == run_id) && meta.last_modified < cutoff) {
            dead_runs.insert(run_id.to_string());
            doomed.push(meta.location);
        }
    }
    Ok(doomed)
}

/// Deletes the restricted staging of dead runs under `restricted` (the
/// folder of runs' prefixes where a cluster run stages the subscribers when
/// the job keeps msisdn): the same rule as [`sweep_leftovers`].
pub async fn sweep_restricted_staging(
    restricted: &StoreUrl,
    storage: &StorageSettings,
    dead: Option<&str>,
    live: &[String],
    stale_after: Duration,
) -> Result<usize, StorageError> {
    let location = Location::open(restricted, storage)?;
    let doomed =
        dead_prefixes(&location, &restricted.store_path(), dead, live, stale_after, &mut BTreeSet::new()).await?;
    for path in &doomed {
        match location.store.delete(path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(source) => return Err(StorageError { url: location.url.url_of(path), source }),
        }
    }
    Ok(doomed.len())
}
