//! Rolling back a publish that died half way. A run commits its tables one
//! by one, then its run record ([`crate::run::publish::publish`]); killed in
//! between (SIGKILL, a lost machine), it leaves some tables at a version no
//! record lists. cvm's own readers never see it (they read through the
//! record), but a plain Delta reader does, and a failed run must leave the
//! previous outputs as they were.
//!
//! So before it reads anything, every run compares each table's latest
//! Delta version with the latest run record. A file the table holds that
//! the record does not list, moved into place by a run that holds no live
//! lock (and is not this run), marks that run as dead mid-publish; each of
//! its table versions is then reverted by a new version, which brings back
//! the files it replaced. A run still publishing holds its lock and is left
//! alone.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde_json::Value;

use crate::storage::Location;
use crate::warehouse::commit::{self, CommitError};
use crate::warehouse::delta::actions::{Action, Add, decode_path};
use crate::warehouse::delta::transaction::{self, Committed};
use crate::warehouse::delta::{DeltaError, TableLog, TableState};

/// Reverts the table versions of runs that died between their table
/// commits and their record; returns the (table, version) pairs reverted.
pub async fn roll_back_unfinished(
    location: &Location,
    tables: &[&str],
    live: &[String],
    own: &str,
) -> Result<Vec<(String, u64)>, CommitError> {
    // the tables first, then the record: a run that finishes in between is in the record
    let mut states: BTreeMap<&str, TableState> = BTreeMap::new();
    for table in tables {
        states.insert(table, TableLog::new(location, table).state(None).await?);
    }
    let record = match commit::latest(location).await {
        // a warehouse of an older cvm: the run refuses it next, saying what to do
        Err(CommitError::OldLayout { .. }) => return Ok(Vec::new()),
        other => other?,
    };
    let recorded: HashSet<String> = record.map(|r| r.files.into_iter().map(|f| f.path).collect()).unwrap_or_default();
    let mut dead_runs: BTreeSet<String> = BTreeSet::new();
    for (table, state) in &states {
        for path in state.files.keys() {
            if recorded.contains(&format!("{table}/{path}")) {
                continue;
            }
            let run = path.rsplit('/').next().and_then(commit::run_id_of);
            if let Some(run) = run.filter(|r| *r != own && !live.iter().any(|l| l == r)) {
                dead_runs.insert(run.to_string());
            }
        }
    }
    if dead_runs.is_empty() {
        return Ok(Vec::new());
    }
    // the revert's commitInfo names this run and the version it undoes
    let by = BTreeMap::from([("run_id".to_string(), Value::from(own))]);
    let mut undone = Vec::new();
    for (table, state) in &states {
        let log = TableLog::new(location, table);
        for committed in versions_of(&log, state, &dead_runs).await? {
            let version = transaction::revert(&log, &committed, &by).await?;
            tracing::warn!(
                table,
                reverted = committed.version,
                version,
                "undid the version of a run that died between its table commits and its run record"
            );
            undone.push((table.to_string(), committed.version));
        }
    }
    Ok(undone)
}

/// The versions of `table` that `runs` committed (their commitInfo says
/// so) and whose files are still in the table, newest first, as
/// [`Committed`] (what they added, what they replaced).
async fn versions_of(
    log: &TableLog,
    state: &TableState,
    runs: &BTreeSet<String>,
) -> Result<Vec<Committed>, DeltaError> {
    let of_runs = |path: &str| path.rsplit('/').next().and_then(commit::run_id_of).is_some_and(|r| runs.contains(r));
    let mut wanted: BTreeSet<&str> = state.files.keys().map(String::as_str).filter(|p| of_runs(p)).collect();
    let mut found = Vec::new();
    let mut version = state.version;
    // down from the latest version until every such file's add is found
    while let Some(v) = version.filter(|_| !wanted.is_empty()) {
        let actions = log.read_commit(v).await?;
        let added: Vec<Add> = actions
            .iter()
            .filter_map(|a| match a {
                Action::Add(add) if wanted.contains(decode_path(&add.path).as_str()) => Some(add.clone()),
                _ => None,
            })
            .collect();
        for add in &added {
            wanted.remove(decode_path(&add.path).as_str());
        }
        // only a version cvm wrote for one of those runs: a file of another
        // writer whose name happens to parse as a run's is never undone
        let by_dead_run = actions.iter().any(|a| {
            matches!(a, Action::CommitInfo(info) if info["cvm"]["run_id"].as_str().is_some_and(|r| runs.contains(r)))
        });
        if !added.is_empty() && by_dead_run {
            let before = match v.checked_sub(1) {
                Some(previous) => log.state(Some(previous)).await?,
                None => TableState::default(),
            };
            let removed: Vec<Add> = actions
                .iter()
                .filter_map(|a| match a {
                    Action::Remove(r) => before.files.get(&decode_path(&r.path)).cloned(),
                    _ => None,
                })
                .collect();
            found.push(Committed { version: v, added, removed, state: TableState::default() });
        }
        version = v.checked_sub(1);
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::warehouse::delta::testing::{commit_file, temp_table};

    #[tokio::test]
    async fn only_versions_of_dead_cvm_runs_are_undone() {
        let (_dir, log) = temp_table();
        let location = log.location.clone();
        // another writer's file, named as Spark names them (it parses as a run id), and no record
        commit_file(&log, "snapshot_date=2026-11-21/part-00000-1b2c3d-c000.snappy.parquet", 2, None).await;
        assert_eq!(roll_back_unfinished(&location, &["kpi"], &[], "me").await.unwrap(), vec![]);
        // a cvm run that committed the table and never wrote its record; one still live is left alone
        let dead = "20261122T010203Z-0badf00d";
        commit_file(&log, &format!("snapshot_date=2026-11-22/part-{dead}-00000.parquet"), 2, Some(dead)).await;
        assert_eq!(roll_back_unfinished(&location, &["kpi"], &[dead.to_string()], "me").await.unwrap(), vec![]);
        assert_eq!(roll_back_unfinished(&location, &["kpi"], &[], "me").await.unwrap(), vec![("kpi".to_string(), 1)]);
        let files: Vec<String> = log.state(None).await.unwrap().files.into_keys().collect();
        assert_eq!(files, vec!["snapshot_date=2026-11-21/part-00000-1b2c3d-c000.snappy.parquet"]);
    }
}
