//! `cvm upgrade WAREHOUSE`: converts a warehouse written before its tables
//! were Delta Lake tables. Every file the latest run record lists becomes
//! version 0 of its table's log (nothing is moved or rewritten), then a
//! record of the current format is written with the tables' versions.
//! Idempotent: a table that has a log already is left as it is, and an
//! upgraded warehouse is reported as such.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::storage::Location;
use crate::warehouse::commit::{self, CommitError};
use crate::warehouse::delta::transaction::replace_partitions;
use crate::warehouse::delta::{TableChange, TableLog};

/// What an upgrade did.
#[derive(Debug, PartialEq)]
pub enum Upgraded {
    /// Nothing was ever published.
    Empty,
    /// The warehouse was in the current layout already.
    AlreadyCurrent,
    /// Tables converted, with the number of files each now lists.
    Converted(BTreeMap<String, usize>),
}

pub async fn upgrade(location: &Location) -> Result<Upgraded, CommitError> {
    let Some(old) = commit::latest_of_any_format(location).await? else {
        return Ok(Upgraded::Empty);
    };
    if old.format == commit::FORMAT {
        return Ok(Upgraded::AlreadyCurrent);
    }
    let mut by_table: BTreeMap<String, Vec<(String, u64)>> = BTreeMap::new();
    for file in &old.files {
        let relative = file.path.strip_prefix(&format!("{}/", file.table)).unwrap_or(&file.path).to_string();
        by_table.entry(file.table.clone()).or_default().push((relative, file.bytes));
    }
    let by = BTreeMap::from([
        ("job".to_string(), Value::from(old.job.clone())),
        ("snapshot_date".to_string(), Value::from(old.snapshot_date.to_string())),
        ("run_id".to_string(), Value::from(old.run_id.clone())),
        ("upgraded_from".to_string(), Value::from(old.format.clone())),
    ]);
    let mut versions = BTreeMap::new();
    let mut converted = BTreeMap::new();
    for (table, files) in by_table {
        let log = TableLog::new(location, &table);
        if let Some(version) = log.latest_version().await? {
            versions.insert(table, version);
            continue;
        }
        let change =
            TableChange { read_version: None, replaced: BTreeSet::new(), added: files.clone(), by: by.clone() };
        if let Some(done) = replace_partitions(&log, &change).await? {
            versions.insert(table.clone(), done.version);
            converted.insert(table, files.len());
        }
    }
    let record = commit::Commit { format: commit::FORMAT.to_string(), seq: old.seq + 1, tables: versions, ..old };
    if !commit::write_record(location, &record).await? {
        return Err(CommitError::Contended);
    }
    tracing::info!(seq = record.seq, tables = converted.len(), "upgraded the warehouse to Delta Lake tables");
    Ok(Upgraded::Converted(converted))
}
