//! Test helpers: a Delta table in a temporary folder, and files of one
//! Int64 column (`n`, 0..rows) to put in it and commit.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use datafusion::arrow::array::{Int64Array, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use serde_json::Value;

use super::TableLog;
use super::log::partition_of;
use super::transaction::{Committed, TableChange, replace_partitions};
use crate::storage::{Location, StoreUrl};

/// Table `kpi` of a warehouse in a new temporary folder (kept while the folder lives).
pub fn temp_table() -> (tempfile::TempDir, TableLog) {
    let dir = tempfile::tempdir().unwrap();
    let url = StoreUrl::parse(&format!("{}/", dir.path().display()), std::path::Path::new("/")).unwrap();
    let log = TableLog::new(&Location::open(&url, &Default::default()).unwrap(), "kpi");
    (dir, log)
}

/// A Parquet file of one Int64 column `n` holding 0..rows.
pub fn numbers_parquet(rows: i64) -> bytes::Bytes {
    let schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, false)]));
    let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from_iter_values(0..rows))]).unwrap();
    crate::warehouse::tables::parquet_bytes(schema, &[batch]).unwrap()
}

/// Writes a file of `rows` rows at `path` (relative to the table); its path and size.
pub async fn put_file(log: &TableLog, path: &str, rows: i64) -> (String, u64) {
    let bytes = numbers_parquet(rows);
    let size = bytes.len() as u64;
    log.location.put_bytes(&log.file_path(path), bytes).await.unwrap();
    (path.to_string(), size)
}

/// Writes a file of `rows` rows at `path` and commits it on top of the
/// latest version, replacing its partition; `run`: the cvm run named in
/// the commitInfo (None: a writer that names none).
pub async fn commit_file(log: &TableLog, path: &str, rows: i64, run: Option<&str>) -> Committed {
    let file = put_file(log, path, rows).await;
    let change = TableChange {
        read_version: log.latest_version().await.unwrap(),
        replaced: BTreeSet::from([partition_of(path).to_string()]),
        added: vec![file],
        by: run.map(|r| BTreeMap::from([("run_id".to_string(), Value::from(r))])).unwrap_or_default(),
    };
    replace_partitions(log, &change).await.unwrap().unwrap()
}
