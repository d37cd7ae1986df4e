//! Checkpoints: every [`INTERVAL`] versions the table's whole state (its
//! protocol, metadata, files, and the removals still inside the retention
//! window) is written as one Parquet file, `_delta_log/<version>.checkpoint.parquet`,
//! and `_delta_log/_last_checkpoint` points at it, as the protocol
//! describes. A reader then opens a table by reading the newest checkpoint
//! and the few JSON versions after it, not every version since the first:
//! one per night would be 365 reads a year, for every reader and every run.
//!
//! Versions older than [`LOG_RETENTION`] that lie before a checkpoint are
//! then deleted, as Delta's own writers do: time travel reaches back 30
//! days (and at least to the newest checkpoint that old).
//!
//! This module is the format; [`super::log::TableLog`] writes a checkpoint
//! when one is due, reads the newest, and cleans the log.
//!
//! The rows are built through JSON: each action serialises to the same
//! object as in a JSON commit, and Arrow's JSON decoder turns those into
//! the checkpoint's struct columns (and its encoder turns them back).

use std::sync::Arc;

use chrono::Duration;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef};
use datafusion::arrow::json::{LineDelimitedWriter, ReaderBuilder};
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use object_store::path::Path;

use super::actions::Action;
use super::error::DeltaError;
use crate::storage::Location;

/// A checkpoint every ten versions, Delta's default `checkpointInterval`.
pub const INTERVAL: u64 = 10;

/// How long JSON versions stay once a checkpoint is newer: Delta's default
/// `logRetentionDuration`.
pub const LOG_RETENTION: Duration = Duration::days(30);

/// Whether a checkpoint is written at `version`.
pub fn is_due(version: u64) -> bool {
    version > 0 && version.is_multiple_of(INTERVAL)
}

/// The checkpoint's columns: one struct per action kind, one action per row.
pub fn schema() -> SchemaRef {
    let text = |name: &str| Field::new(name, DataType::Utf8, true);
    let long = |name: &str| Field::new(name, DataType::Int64, true);
    let boolean = |name: &str| Field::new(name, DataType::Boolean, true);
    let map = |name: &str| {
        let entries = Fields::from(vec![Field::new("key", DataType::Utf8, false), text("value")]);
        Field::new(
            name,
            DataType::Map(Arc::new(Field::new("key_value", DataType::Struct(entries), false)), false),
            true,
        )
    };
    let structure = |name: &str, fields: Vec<Field>| Field::new(name, DataType::Struct(Fields::from(fields)), true);
    Arc::new(Schema::new(vec![
        structure("txn", vec![text("appId"), long("version"), long("lastUpdated")]),
        structure(
            "add",
            vec![
                text("path"),
                map("partitionValues"),
                long("size"),
                long("modificationTime"),
                boolean("dataChange"),
                text("stats"),
                map("tags"),
            ],
        ),
        structure(
            "remove",
            vec![
                text("path"),
                long("deletionTimestamp"),
                boolean("dataChange"),
                boolean("extendedFileMetadata"),
                map("partitionValues"),
                long("size"),
            ],
        ),
        structure(
            "metaData",
            vec![
                text("id"),
                text("name"),
                text("description"),
                structure("format", vec![text("provider"), map("options")]),
                text("schemaString"),
                Field::new(
                    "partitionColumns",
                    DataType::List(Arc::new(Field::new("element", DataType::Utf8, true))),
                    true,
                ),
                map("configuration"),
                long("createdTime"),
            ],
        ),
        structure(
            "protocol",
            vec![
                Field::new("minReaderVersion", DataType::Int32, true),
                Field::new("minWriterVersion", DataType::Int32, true),
            ],
        ),
    ]))
}

/// The actions of a checkpoint (one file, or every part of a multi-part one).
pub async fn read(location: &Location, parts: &[Path]) -> Result<Vec<Action>, DeltaError> {
    let mut actions = Vec::new();
    for part in parts {
        let url = location.url.url_of(part);
        let corrupt = |message: String| DeltaError::Corrupt { url: url.clone(), message };
        let bytes = location.get_bytes(part).await?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
            .and_then(|b| b.build())
            .map_err(|e| corrupt(e.to_string()))?;
        for batch in reader {
            let batch = batch.map_err(|e| corrupt(e.to_string()))?;
            actions.extend(from_batch(&batch).map_err(corrupt)?);
        }
    }
    Ok(actions)
}

pub(super) fn to_batch(actions: &[Action]) -> Result<RecordBatch, datafusion::arrow::error::ArrowError> {
    let lines: String = actions.iter().map(|a| a.to_line() + "\n").collect();
    let mut decoder = ReaderBuilder::new(schema()).with_batch_size(actions.len().max(1)).build_decoder()?;
    decoder.decode(lines.as_bytes())?;
    Ok(decoder.flush()?.unwrap_or_else(|| RecordBatch::new_empty(schema())))
}

fn from_batch(batch: &RecordBatch) -> Result<Vec<Action>, String> {
    let mut json = Vec::new();
    let mut writer = LineDelimitedWriter::new(&mut json);
    writer.write(batch).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    let text = String::from_utf8(json).map_err(|e| e.to_string())?;
    text.lines()
        .filter(|line| *line != "{}")
        .enumerate()
        .map(|(i, line)| Action::from_line(line).map_err(|m| format!("row {}: {m}", i + 1)))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::{Duration as StdDuration, SystemTime};

    use serde_json::Value;

    use super::*;
    use crate::warehouse::delta::log::{TableLog, TableState};
    use crate::warehouse::delta::testing::{commit_file, temp_table};

    /// A table of `versions` versions in a temporary folder: version v
    /// replaces the partition of day v % 4 with one file of v + 1 rows,
    /// and writes a checkpoint where one is due, as a run's publish does.
    async fn table(versions: u64) -> (tempfile::TempDir, TableLog) {
        let (dir, log) = temp_table();
        for v in 0..versions {
            let path = format!("snapshot_date=2026-11-{:02}/part-v{v}-00000.parquet", 1 + v % 4);
            let done = commit_file(&log, &path, v as i64 + 1, Some(&format!("v{v}"))).await;
            log.checkpoint_if_due(&done.state, Duration::hours(1)).await.unwrap();
        }
        (dir, log)
    }

    fn log_file(dir: &tempfile::TempDir, name: &str) -> std::path::PathBuf {
        dir.path().join("kpi/_delta_log").join(name)
    }

    #[tokio::test]
    async fn a_tenth_version_writes_a_checkpoint_that_reads_back_as_the_log() {
        let (dir, log) = table(12).await;
        assert!(log_file(&dir, "00000000000000000010.checkpoint.parquet").exists());
        let last: Value = serde_json::from_slice(&std::fs::read(log_file(&dir, "_last_checkpoint")).unwrap()).unwrap();
        assert_eq!((last["version"].as_u64(), last["numOfAddFiles"].as_u64()), (Some(10), Some(4)));

        let listing = log.listing().await.unwrap();
        let from_checkpoint = {
            let mut state = TableState { version: Some(10), ..TableState::default() };
            state.apply(read(&log.location, &listing.checkpoints[&10]).await.unwrap());
            state
        };
        let replayed = {
            let mut state = TableState { version: Some(10), ..TableState::default() };
            for v in 0..=10 {
                state.apply(log.read_commit(v).await.unwrap());
            }
            state
        };
        assert_eq!(from_checkpoint.files, replayed.files);
        assert_eq!(from_checkpoint.removed, replayed.removed);
        assert_eq!(from_checkpoint.metadata, replayed.metadata);
        assert_eq!(from_checkpoint.protocol, replayed.protocol);
        let stats: Value =
            serde_json::from_str(from_checkpoint.files.values().next().unwrap().stats.as_ref().unwrap()).unwrap();
        assert!(stats["numRecords"].as_u64().unwrap() > 0);

        // the latest state starts from the checkpoint; an earlier one replays JSON
        let latest = log.state(None).await.unwrap();
        assert_eq!(latest.version, Some(11));
        assert_eq!(latest.files.keys().filter(|p| p.contains("-v11-")).count(), 1);
        assert_eq!(log.state(Some(3)).await.unwrap().files.len(), 4);
    }

    #[tokio::test]
    async fn versions_past_the_log_retention_go_once_a_checkpoint_is_newer() {
        let (dir, log) = table(11).await;
        let old = SystemTime::now() - StdDuration::from_secs(40 * 86_400);
        for v in 0..=10u64 {
            let file = std::fs::File::options().write(true).open(log_file(&dir, &format!("{v:020}.json"))).unwrap();
            file.set_modified(old).unwrap();
        }
        log.clean_up().await.unwrap();
        let listing = log.listing().await.unwrap();
        assert_eq!(listing.commits.keys().copied().collect::<Vec<_>>(), vec![10]);
        assert_eq!(log.state(None).await.unwrap().files.len(), 4);
        assert!(matches!(log.state(Some(5)).await, Err(DeltaError::Incomplete { missing: 0, .. })));
    }

    #[test]
    fn checkpoints_fall_on_every_tenth_version() {
        assert_eq!((0..=30).filter(|v| is_due(*v)).collect::<Vec<_>>(), vec![10, 20, 30]);
    }
}
