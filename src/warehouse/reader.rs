//! Reading what the warehouse has published: every table registered by name
//! with typed hive partition columns (from the latest commit's files only),
//! the run behind a snapshot, a table's partition values.

use datafusion::error::DataFusionError;
use datafusion::prelude::SessionContext;
use std::collections::BTreeSet;

use crate::storage::{Location, StorageError};
use crate::warehouse::commit::{self, CommitError};
use crate::warehouse::published_table;

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Commit(#[from] CommitError),
    #[error("table {table}: {source}")]
    Register { table: String, source: DataFusionError },
}

/// Registers every published table of the warehouse; returns their names.
/// Only the files of the warehouse's latest commit are read: never a
/// snapshot being published, never the files it replaces.
pub async fn register_warehouse(ctx: &SessionContext, location: &Location) -> Result<Vec<String>, ReadError> {
    let warehouse = &location.url;
    let Some(commit) = commit::latest(location).await? else {
        return Ok(Vec::new());
    };
    // `_` tables are cvm's internal state (the parts of usage_daily), not for analysts
    let tables: BTreeSet<&str> =
        commit.files.iter().map(|f| f.table.as_str()).filter(|t| !t.starts_with('_')).collect();
    let mut names = Vec::new();
    for table in tables {
        published_table::register(ctx, warehouse, &commit, table, table, None)
            .await
            .map_err(|source| ReadError::Register { table: table.to_string(), source })?;
        names.push(table.to_string());
    }
    Ok(names)
}

/// The run that published snapshot `as_of`, None if it is not published.
pub async fn published_run(location: &Location, as_of: chrono::NaiveDate) -> Result<Option<String>, ReadError> {
    Ok(commit::latest(location).await?.and_then(|c| c.run_of_snapshot(as_of)))
}

/// Whether `table` has a partition for snapshot `as_of` in the latest commit
/// (a table of cvm's from after the snapshot was published has none).
pub async fn has_snapshot(location: &Location, table: &str, as_of: chrono::NaiveDate) -> Result<bool, ReadError> {
    let snapshot = format!("snapshot_date={as_of}");
    Ok(commit::latest(location).await?.is_some_and(|c| c.files.iter().any(|f| f.is_in(table, &snapshot))))
}

/// The values of the partition key below `<table>/snapshot_date=T/` (e.g.
/// the campaigns of a snapshot) in the latest commit, sorted; empty when the
/// snapshot has none.
pub async fn partition_values(
    location: &Location,
    table: &str,
    as_of: chrono::NaiveDate,
) -> Result<Vec<String>, ReadError> {
    let snapshot = format!("snapshot_date={as_of}/");
    let mut values: Vec<String> = commit::latest(location)
        .await?
        .map(|c| c.files)
        .unwrap_or_default()
        .into_iter()
        .filter(|f| f.table == table)
        .filter_map(|f| {
            let below = f.partition.strip_prefix(&snapshot)?;
            below.split('/').next()?.split_once('=').map(|(_, v)| v.to_string())
        })
        .collect();
    values.sort();
    values.dedup();
    Ok(values)
}
