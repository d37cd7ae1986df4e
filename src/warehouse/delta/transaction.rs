//! Replacing partitions of a table in one Delta commit, with optimistic
//! concurrency: a run remembers the version it read when it started; at
//! publish, every version committed since is checked, and one that added or
//! removed a file in a partition the run replaces is a conflict. The run
//! then publishes nothing (its rebuild of that partition lacks what the
//! other run wrote), and says so: a re-run starts from the newer state.
//! Versions that touched only other partitions are fine; the commit is
//! retried on top of them.

use std::collections::{BTreeMap, BTreeSet};

use chrono::Utc;
use futures::{StreamExt, TryStreamExt};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::actions::{
    Action, Add, Format, Metadata, Protocol, READER_VERSION, WRITER_VERSION, decode_path, encode_path,
};
use super::error::{Conflict, DeltaError};
use super::log::{TableLog, TableState, in_partition, partition_of};
use super::{schema, stats};

/// Attempts at the next version while other runs commit other partitions.
const MAX_ATTEMPTS: usize = 20;

/// One table's part of a publish.
#[derive(Debug, Clone)]
pub struct TableChange {
    /// The version the run read when it started (None: the table had no log),
    /// or a later one up to which every version has been checked ([`check`]).
    pub read_version: Option<u64>,
    /// Partitions (`key=value[/key=value]`) replaced wholly: every file in or
    /// below them is removed, even when the run adds none.
    pub replaced: BTreeSet<String>,
    /// The files added, by decoded path relative to the table's folder, with
    /// their sizes. They are in place already (moved by the run).
    pub added: Vec<(String, u64)>,
    /// Who commits: cvm's job, snapshot and run id, written in commitInfo.
    pub by: BTreeMap<String, Value>,
}

/// What a commit did, enough to undo it ([`revert`]), and the table after it.
#[derive(Debug, Clone)]
pub struct Committed {
    pub version: u64,
    pub added: Vec<Add>,
    pub removed: Vec<Add>,
    /// The table at `version` (for [`super::vacuum`], without replaying the log again).
    pub state: TableState,
}

/// Commits `change` to the table as one version. None when there is nothing
/// to do (no log yet and no file to add).
pub async fn replace_partitions(log: &TableLog, change: &TableChange) -> Result<Option<Committed>, DeltaError> {
    let now = Utc::now().timestamp_millis();
    let (adds, file_schema) = describe_files(log, &change.added, now).await?;
    let mut checked_up_to = change.read_version;
    for _ in 0..MAX_ATTEMPTS {
        let state = log.state(None).await?;
        log.check_writable(&state)?;
        if state.version.is_none() && adds.is_empty() {
            return Ok(None);
        }
        // every version since the run read the table (or since the last attempt checked)
        let first = checked_up_to.map_or(0, |v| v + 1);
        if let Some(latest) = state.version {
            for version in first..=latest {
                check_conflict(log, version, &change.replaced).await?;
            }
            checked_up_to = Some(latest);
        }
        let mut actions = vec![Action::CommitInfo(commit_info(change, now))];
        actions.extend(metadata_actions(log, &state, &adds, file_schema.as_ref(), now)?);
        let removed: Vec<Add> = state
            .files
            .iter()
            .filter(|(path, _)| change.replaced.iter().any(|p| in_partition(path, p)))
            .map(|(_, add)| add.clone())
            .collect();
        actions.extend(removed.iter().map(|a| Action::Remove(a.removed_at(now))));
        actions.extend(adds.iter().cloned().map(Action::Add));
        let version = state.version.map_or(0, |v| v + 1);
        if log.try_commit(version, &actions).await? {
            let mut state = state;
            state.version = Some(version);
            state.apply(actions);
            return Ok(Some(Committed { version, added: adds, removed, state }));
        }
        tracing::debug!(table = log.table, version, "another writer committed first; checking it and retrying");
    }
    Err(DeltaError::Invalid { table: log.table.clone(), message: format!("no commit after {MAX_ATTEMPTS} attempts") })
}

/// Checks, without committing, that no version since the run read the
/// table touched a partition it replaces; returns the latest version checked
/// (the commit then checks only what comes after it).
pub async fn check(log: &TableLog, change: &TableChange) -> Result<Option<u64>, DeltaError> {
    let Some(latest) = log.latest_version().await? else {
        return Ok(change.read_version);
    };
    for version in change.read_version.map_or(0, |v| v + 1)..=latest {
        check_conflict(log, version, &change.replaced).await?;
    }
    Ok(Some(latest))
}

/// Undoes `committed` (a run that failed after committing some of its
/// tables): its files are removed and the ones it replaced added back, in a
/// new version. Refused, with a warning, if another writer has since
/// touched the same files.
pub async fn revert(log: &TableLog, committed: &Committed, by: &BTreeMap<String, Value>) -> Result<u64, DeltaError> {
    let now = Utc::now().timestamp_millis();
    let touched: BTreeSet<String> =
        committed.added.iter().chain(&committed.removed).map(|a| decode_path(&a.path)).collect();
    let mut checked_up_to = committed.version;
    for _ in 0..MAX_ATTEMPTS {
        let state = log.state(None).await?;
        let latest = state.version.unwrap_or(0);
        for version in checked_up_to + 1..=latest {
            let other = log.read_commit(version).await?;
            if other.iter().any(|a| file_action_path(a).is_some_and(|p| touched.contains(&p))) {
                return Err(DeltaError::Invalid {
                    table: log.table.clone(),
                    message: format!(
                        "cannot undo version {}: version {version} changed the same files",
                        committed.version
                    ),
                });
            }
        }
        checked_up_to = latest;
        let mut info = by.clone();
        info.insert("reverts".into(), Value::from(committed.version));
        let mut actions = vec![Action::CommitInfo(serde_json::json!({
            "timestamp": now, "operation": "RESTORE", "operationParameters": {"version": committed.version.saturating_sub(1)},
            "engineInfo": engine_info(), "cvm": info,
        }))];
        actions.extend(committed.added.iter().map(|a| Action::Remove(a.removed_at(now))));
        actions.extend(committed.removed.iter().cloned().map(|mut a| {
            a.modification_time = a.modification_time.max(0);
            Action::Add(a)
        }));
        if log.try_commit(latest + 1, &actions).await? {
            return Ok(latest + 1);
        }
    }
    Err(DeltaError::Invalid { table: log.table.clone(), message: format!("no commit after {MAX_ATTEMPTS} attempts") })
}

/// Fails if `version` added or removed a file in one of `replaced`.
async fn check_conflict(log: &TableLog, version: u64, replaced: &BTreeSet<String>) -> Result<(), DeltaError> {
    let actions = log.read_commit(version).await?;
    let touched = actions
        .iter()
        .filter_map(file_action_path)
        .find_map(|path| replaced.iter().find(|p| in_partition(&path, p)).cloned());
    let Some(partition) = touched else {
        return Ok(());
    };
    let by = actions
        .iter()
        .find_map(|a| match a {
            Action::CommitInfo(info) => Some(describe_writer(info)),
            _ => None,
        })
        .unwrap_or_else(|| "a writer that left no commitInfo".into());
    Err(Conflict { table: log.table.clone(), partition, version, by }.into())
}

fn file_action_path(action: &Action) -> Option<String> {
    match action {
        Action::Add(a) => Some(decode_path(&a.path)),
        Action::Remove(r) => Some(decode_path(&r.path)),
        _ => None,
    }
}

/// "run R of job J for snapshot S", or the engine and operation of another writer.
fn describe_writer(info: &Value) -> String {
    let cvm = &info["cvm"];
    match (cvm["run_id"].as_str(), cvm["job"].as_str(), cvm["snapshot_date"].as_str()) {
        (Some(run), Some(job), Some(date)) => format!("run {run} of job {job} for {date}"),
        _ => format!(
            "{} {}",
            info["engineInfo"].as_str().unwrap_or("another writer"),
            info["operation"].as_str().unwrap_or("")
        )
        .trim()
        .to_string(),
    }
}

fn engine_info() -> String {
    format!("cvm/{}", env!("CARGO_PKG_VERSION"))
}

fn commit_info(change: &TableChange, now: i64) -> Value {
    let partition_by: Vec<String> = change.added.first().map(|(p, _)| partition_columns(p)).unwrap_or_default();
    // the outermost partitions only: `snapshot_date=T` covers its campaigns
    let outermost = change.replaced.iter().filter(|p| {
        !change.replaced.iter().any(|q| q != *p && p.strip_prefix(q.as_str()).is_some_and(|r| r.starts_with('/')))
    });
    let predicate = outermost
        .map(|p| p.split('/').map(|kv| kv.replacen('=', " = '", 1) + "'").collect::<Vec<_>>().join(" AND "))
        .map(|c| format!("({c})"))
        .collect::<Vec<_>>()
        .join(" OR ");
    serde_json::json!({
        "timestamp": now,
        "operation": "WRITE",
        "operationParameters": {
            "mode": "Overwrite",
            "partitionBy": serde_json::to_string(&partition_by).expect("serialises"),
            "predicate": predicate,
        },
        "isBlindAppend": false,
        "engineInfo": engine_info(),
        "cvm": change.by,
    })
}

/// The add actions of the run's files: their footers give the stats and the schema.
async fn describe_files(
    log: &TableLog,
    files: &[(String, u64)],
    now: i64,
) -> Result<(Vec<Add>, Option<datafusion::arrow::datatypes::Schema>), DeltaError> {
    let described: Vec<(Add, datafusion::arrow::datatypes::Schema)> =
        futures::stream::iter(files.iter().map(|(path, size)| async move {
            let store_path = log.file_path(path);
            let footer = crate::warehouse::tables::read_footer(&log.location.store, &store_path, *size)
                .await
                .map_err(|message| DeltaError::Corrupt { url: log.location.url.url_of(&store_path), message })?;
            let schema = crate::warehouse::tables::footer_schema(&footer)
                .map_err(|message| DeltaError::Corrupt { url: log.location.url.url_of(&store_path), message })?;
            let add = Add {
                path: encode_path(path),
                partition_values: partition_values(path),
                size: *size as i64,
                modification_time: now,
                data_change: true,
                stats: Some(stats::stats_json(&footer, &schema)),
            };
            Ok::<_, DeltaError>((add, schema))
        }))
        .buffered(16)
        .try_collect()
        .await?;
    // files of older partitions may lack columns a newer cvm added (a
    // converted warehouse): the table's schema is the widest
    let schema = described.iter().map(|(_, s)| s).max_by_key(|s| s.fields().len()).cloned();
    Ok((described.into_iter().map(|(a, _)| a).collect(), schema))
}

/// The protocol and metadata a commit must carry: both for a new table, a
/// new metadata when the files' schema differs from the table's.
fn metadata_actions(
    log: &TableLog,
    state: &TableState,
    adds: &[Add],
    file_schema: Option<&datafusion::arrow::datatypes::Schema>,
    now: i64,
) -> Result<Vec<Action>, DeltaError> {
    let (Some(file_schema), Some(first)) = (file_schema, adds.first()) else {
        return Ok(Vec::new());
    };
    let invalid = |message: String| DeltaError::Invalid { table: log.table.clone(), message };
    let columns = partition_columns(&decode_path(&first.path));
    let schema_string = schema::schema_string(file_schema, &columns).map_err(invalid)?;
    match &state.metadata {
        None => Ok(vec![
            Action::Protocol(Protocol { min_reader_version: READER_VERSION, min_writer_version: WRITER_VERSION }),
            Action::MetaData(Metadata {
                id: table_id(&log.location.url.url_of(&log.root), now),
                name: Some(log.table.clone()),
                format: Format { provider: "parquet".into(), options: BTreeMap::new() },
                schema_string,
                partition_columns: columns,
                configuration: BTreeMap::new(),
                created_time: Some(now),
            }),
        ]),
        Some(current) if current.partition_columns != columns => Err(invalid(format!(
            "partitioned by {:?}, but this run writes partitions by {columns:?}",
            current.partition_columns
        ))),
        Some(current) if current.schema_string != schema_string => {
            Ok(vec![Action::MetaData(Metadata { schema_string, ..current.clone() })])
        }
        Some(_) => Ok(Vec::new()),
    }
}

/// The partition columns of a table-relative path, in folder order.
fn partition_columns(path: &str) -> Vec<String> {
    partition_of(path).split('/').filter_map(|kv| kv.split_once('=').map(|(k, _)| k.to_string())).collect()
}

/// `key=value` folders of a table-relative path as the add's partition values.
fn partition_values(path: &str) -> BTreeMap<String, Option<String>> {
    partition_of(path)
        .split('/')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), Some(v.to_string()).filter(|v| v != "__HIVE_DEFAULT_PARTITION__")))
        .collect()
}

/// A table id in UUID form, from the table's URL and the time it was made.
fn table_id(url: &str, now: i64) -> String {
    let digest = Sha256::digest(format!("{url}@{now}@{}", std::process::id()));
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("{}-{}-4{}-a{}-{}", &hex[0..8], &hex[8..12], &hex[13..16], &hex[17..20], &hex[20..32])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_folders_become_columns_and_values() {
        let path = "snapshot_date=2026-11-22/campaign=upsell/part-r-00000.parquet";
        assert_eq!(partition_columns(path), vec!["snapshot_date", "campaign"]);
        assert_eq!(partition_values(path)["campaign"].as_deref(), Some("upsell"));
        assert!(partition_columns("part-0.parquet").is_empty());
    }

    #[test]
    fn table_ids_look_like_uuids() {
        let id = table_id("file:///w/kpi", 1);
        assert_eq!(id.len(), 36);
        assert_eq!(id.split('-').map(str::len).collect::<Vec<_>>(), vec![8, 4, 4, 4, 12]);
    }
}

#[cfg(test)]
mod occ_tests {
    use super::*;
    use crate::warehouse::delta::testing::{put_file, temp_table};

    /// A table folder in a temporary directory, and a way to put files in it.
    struct Fixture {
        _dir: tempfile::TempDir,
        log: TableLog,
    }

    impl Fixture {
        fn new() -> Fixture {
            let (dir, log) = temp_table();
            Fixture { _dir: dir, log }
        }

        /// Writes a one-column file of `rows` rows at `path` (relative to the table).
        async fn file(&self, path: &str, rows: i64) -> (String, u64) {
            put_file(&self.log, path, rows).await
        }

        fn change(&self, read: Option<u64>, partition: &str, added: Vec<(String, u64)>, run: &str) -> TableChange {
            TableChange {
                read_version: read,
                replaced: BTreeSet::from([partition.to_string()]),
                added,
                by: BTreeMap::from([("run_id".to_string(), Value::from(run))]),
            }
        }

        /// Version 0: one file of three rows at `path`, replacing its partition.
        async fn first_version(&self, path: &str) {
            let file = self.file(path, 3).await;
            let change = self.change(None, partition_of(path), vec![file], "a");
            replace_partitions(&self.log, &change).await.unwrap();
        }

        async fn files(&self) -> Vec<String> {
            self.log.state(None).await.unwrap().files.into_keys().collect()
        }
    }

    #[tokio::test]
    async fn a_write_into_a_partition_since_the_run_read_it_is_a_conflict() {
        let t = Fixture::new();
        t.first_version("snapshot_date=2026-11-21/part-a-0.parquet").await;
        // run b reads version 0; run c then rewrites the same partition
        let c = t.file("snapshot_date=2026-11-21/part-c-0.parquet", 4).await;
        let done = replace_partitions(&t.log, &t.change(Some(0), "snapshot_date=2026-11-21", vec![c], "c")).await;
        assert_eq!(done.unwrap().unwrap().version, 1);
        let b = t.file("snapshot_date=2026-11-21/part-b-0.parquet", 5).await;
        let change = t.change(Some(0), "snapshot_date=2026-11-21", vec![b], "b");
        assert!(matches!(check(&t.log, &change).await, Err(DeltaError::Conflict(_))));
        let err = replace_partitions(&t.log, &change).await.unwrap_err();
        let DeltaError::Conflict(conflict) = err else { panic!("{err}") };
        assert_eq!((conflict.partition.as_str(), conflict.version), ("snapshot_date=2026-11-21", 1));
        // nothing of b was committed
        assert_eq!(t.files().await, vec!["snapshot_date=2026-11-21/part-c-0.parquet"]);
    }

    #[tokio::test]
    async fn writes_into_other_partitions_are_kept_and_committed_on_top() {
        let t = Fixture::new();
        t.first_version("snapshot_date=2026-11-21/part-a-0.parquet").await;
        let c = t.file("snapshot_date=2026-11-23/part-c-0.parquet", 3).await;
        replace_partitions(&t.log, &t.change(Some(0), "snapshot_date=2026-11-23", vec![c], "c")).await.unwrap();
        // b read version 0 too, and replaces the 22nd: no conflict
        let b = t.file("snapshot_date=2026-11-22/part-b-0.parquet", 3).await;
        let done = replace_partitions(&t.log, &t.change(Some(0), "snapshot_date=2026-11-22", vec![b], "b")).await;
        let done = done.unwrap().unwrap();
        assert_eq!(done.version, 2);
        assert_eq!(t.files().await.len(), 3);
        // the state handed back is the log's, replayed
        let replayed = t.log.state(None).await.unwrap();
        let stats: Value =
            serde_json::from_str(replayed.files.values().next().unwrap().stats.as_ref().unwrap()).unwrap();
        assert_eq!((done.state.version, done.state.files), (replayed.version, replayed.files));
        assert_eq!(stats["numRecords"], 3);
    }

    #[tokio::test]
    async fn a_reverted_commit_brings_back_the_files_it_replaced() {
        let t = Fixture::new();
        t.first_version("snapshot_date=2026-11-21/part-a-0.parquet").await;
        let b = t.file("snapshot_date=2026-11-21/part-b-0.parquet", 3).await;
        let done = replace_partitions(&t.log, &t.change(Some(0), "snapshot_date=2026-11-21", vec![b], "b")).await;
        let done = done.unwrap().unwrap();
        assert_eq!(t.files().await, vec!["snapshot_date=2026-11-21/part-b-0.parquet"]);
        assert_eq!(revert(&t.log, &done, &BTreeMap::new()).await.unwrap(), 2);
        assert_eq!(t.files().await, vec!["snapshot_date=2026-11-21/part-a-0.parquet"]);
        // the earlier version still reads as it was
        let at_1 = t.log.state(Some(1)).await.unwrap();
        assert_eq!(at_1.files.into_keys().collect::<Vec<_>>(), vec!["snapshot_date=2026-11-21/part-b-0.parquet"]);
    }

    #[tokio::test]
    async fn vacuum_deletes_removed_files_only_after_the_retention_window() {
        let t = Fixture::new();
        t.first_version("snapshot_date=2026-11-21/part-a-0.parquet").await;
        let b = t.file("snapshot_date=2026-11-21/part-b-0.parquet", 3).await;
        replace_partitions(&t.log, &t.change(Some(0), "snapshot_date=2026-11-21", vec![b], "b")).await.unwrap();
        // a file no version names (a run in flight moved it into place) is never vacuumed
        t.file("snapshot_date=2026-11-21/part-c-0.parquet", 3).await;
        let listed = || async {
            let root = t.log.root.as_ref().to_string();
            let mut names: Vec<String> = t
                .log
                .location
                .list_under(&t.log.root)
                .await
                .unwrap()
                .into_iter()
                .map(|m| m.location.as_ref().strip_prefix(root.as_str()).unwrap().trim_start_matches('/').to_string())
                .filter(|p| !p.starts_with("_delta_log"))
                .collect();
            names.sort();
            names
        };
        assert_eq!(super::super::vacuum::vacuum(&t.log, chrono::Duration::hours(1)).await.unwrap(), 0);
        assert_eq!(listed().await.len(), 3);
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        assert_eq!(super::super::vacuum::vacuum(&t.log, chrono::Duration::zero()).await.unwrap(), 1);
        assert_eq!(
            listed().await,
            vec!["snapshot_date=2026-11-21/part-b-0.parquet", "snapshot_date=2026-11-21/part-c-0.parquet"]
        );
    }
}
