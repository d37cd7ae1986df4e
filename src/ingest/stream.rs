//! A source's extract files as a DataFusion table of raw rows: one streaming
//! partition per file, parsed on a blocking thread while the engine consumes
//! it, so no file is held in memory as rows.

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

/// One extract file as a partition of the raw table.
#[derive(Debug)]
struct FilePartition {
    schema: SchemaRef,
    source: Arc<Source>,
    location: LocationHandle,
    path: Path,
    url: String,
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
        let path = self.path.clone();
        let url = self.url.clone();
        let source = self.source.clone();
        tokio::spawn(async move {
            let bytes = match location.get_bytes(&path).await {
                Ok(b) => b,
                Err(e) => {
                    let err = FileError::Unreadable { file: url, message: e.source.to_string() };
                    let _ = tx.send(Err(DataFusionError::External(Box::new(err)))).await;
                    return;
                }
            };
            let sender = tx.clone();
            let parsed = tokio::task::spawn_blocking(move || {
                raw::read_file(&source, &url, bytes, &mut |batch| sender.blocking_send(Ok(batch)).is_ok())
            })
            .await;
            let failure = match parsed {
                Ok(Ok(())) => return,
                Ok(Err(e)) => DataFusionError::External(Box::new(e)),
                Err(join) => DataFusionError::External(Box::new(join)),
            };
            let _ = tx.send(Err(failure)).await;
        });
        let stream = futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
        Box::pin(RecordBatchStreamAdapter::new(self.schema.clone(), stream))
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

/// The raw table of a source over the given files (possibly none).
pub fn raw_table(source: &Source, location: &Location, files: &[Path]) -> DfResult<StreamingTable> {
    let schema = raw::raw_schema(source.kind);
    if files.is_empty() {
        return empty_raw_table(source.kind);
    }
    let shared = Arc::new(source.clone());
    let partitions: Vec<Arc<dyn PartitionStream>> = files
        .iter()
        .map(|path| {
            Arc::new(FilePartition {
                schema: schema.clone(),
                source: shared.clone(),
                location: LocationHandle(location.clone()),
                path: path.clone(),
                url: location.url.url_of(path),
            }) as Arc<dyn PartitionStream>
        })
        .collect();
    StreamingTable::try_new(schema, partitions)
}
