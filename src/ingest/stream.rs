//! A source's extract files as a DataFusion table of raw rows: the files are
//! dealt to as many streaming partitions as the engine runs in parallel, and
//! each partition reads its files one after the other, parsed on a blocking
//! thread while the engine consumes it. So no file is held in memory as rows,
//! and a landing of hundreds of files is not opened all at once.

use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::streaming::StreamingTable;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use object_store::path::Path;

use super::raw::{self, FileError};
use crate::job::Source;
use crate::storage::Location;

/// Extract files read in turn, as one partition of the raw table.
#[derive(Debug)]
struct FilePartition {
    schema: SchemaRef,
    source: Arc<Source>,
    location: LocationHandle,
    /// (path, URL) of each file, in reading order.
    files: Vec<(Path, String)>,
}

/// `Location` without `Debug`, wrapped for the partition's derive.
#[derive(Clone)]
struct LocationHandle(Location);

impl std::fmt::Debug for LocationHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0.url)
    }
}

impl PartitionStream for FilePartition {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let (tx, rx) = tokio::sync::mpsc::channel::<DfResult<RecordBatch>>(2);
        let location = self.location.0.clone();
        let files = self.files.clone();
        let source = self.source.clone();
        tokio::spawn(async move {
            for (path, url) in files {
                if let Err(failure) = read_one(&location, &source, &path, url, &tx).await {
                    let _ = tx.send(Err(failure)).await;
                    return;
                }
                if tx.is_closed() {
                    return; // the consumer has gone
                }
            }
        });
        let stream = futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
        Box::pin(RecordBatchStreamAdapter::new(self.schema.clone(), stream))
    }
}

/// Reads one file into `tx`, parsing it on a blocking thread.
async fn read_one(
    location: &Location,
    source: &Arc<Source>,
    path: &Path,
    url: String,
    tx: &tokio::sync::mpsc::Sender<DfResult<RecordBatch>>,
) -> Result<(), DataFusionError> {
    let bytes = location.get_bytes(path).await.map_err(|e| {
        DataFusionError::External(Box::new(FileError::Unreadable { file: url.clone(), message: e.source.to_string() }))
    })?;
    let sender = tx.clone();
    let source = source.clone();
    let parsed = tokio::task::spawn_blocking(move || {
        raw::read_file(&source, &url, bytes, &mut |batch| sender.blocking_send(Ok(batch)).is_ok())
    })
    .await;
    match parsed {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(DataFusionError::External(Box::new(e))),
        Err(join) => Err(DataFusionError::External(Box::new(join))),
    }
}

/// The partition of a source without files: no rows. (A streaming table
/// needs at least one partition to plan joins over it.)
#[derive(Debug)]
struct NoFiles(SchemaRef);

impl PartitionStream for NoFiles {
    fn schema(&self) -> &SchemaRef {
        &self.0
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        Box::pin(RecordBatchStreamAdapter::new(self.0.clone(), futures::stream::empty()))
    }
}

/// A raw table without rows, for a source without files (and for planning).
pub fn empty_raw_table(kind: crate::contract::SourceKind) -> DfResult<StreamingTable> {
    let schema = raw::raw_schema(kind);
    StreamingTable::try_new(schema.clone(), vec![Arc::new(NoFiles(schema))])
}

/// The raw table of a source over the given files (possibly none), read by
/// at most `parallel` partitions at a time.
pub fn raw_table(source: &Source, location: &Location, files: &[Path], parallel: usize) -> DfResult<StreamingTable> {
    let schema = raw::raw_schema(source.kind);
    if files.is_empty() {
        return empty_raw_table(source.kind);
    }
    let shared = Arc::new(source.clone());
    let parallel = parallel.clamp(1, files.len());
    // dealt round-robin: files of one day (often of like size) spread over the partitions
    let mut dealt: Vec<Vec<(Path, String)>> = vec![Vec::new(); parallel];
    for (i, path) in files.iter().enumerate() {
        dealt[i % parallel].push((path.clone(), location.url.url_of(path)));
    }
    let partitions: Vec<Arc<dyn PartitionStream>> = dealt
        .into_iter()
        .map(|files| {
            Arc::new(FilePartition {
                schema: schema.clone(),
                source: shared.clone(),
                location: LocationHandle(location.clone()),
                files,
            }) as Arc<dyn PartitionStream>
        })
        .collect();
    StreamingTable::try_new(schema, partitions)
}
