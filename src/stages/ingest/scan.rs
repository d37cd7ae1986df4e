//! A source's extract files as a table DataFusion can scan, in this process
//! or on a Ballista cluster's executors.
//!
//! [`RawTable`] holds nothing but a [`RawScan`]: the source's reading
//! settings and the URLs of the files each partition reads; its plan
//! [`RawScanExec`] holds the settings, over a list of the URLs. Both are
//! plain data, so cvm's codecs (`stages::cluster_codec`) can carry them from the
//! client to the scheduler and on to the executors, which open the files
//! through their own object-store registry.
//!
//! Each partition reads its files one after the other as they stream in: a
//! text file is parsed on a blocking thread, a Parquet file is decoded row
//! group by row group, reading only the contract's columns. No file is held
//! in memory whole, and a landing of hundreds of files is not opened at once.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{AsArray, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::Session;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::datasource::{TableProvider, TableType};
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::Expr;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::execution_plan::EmissionType;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties};
use futures::StreamExt;
use object_store::{ObjectStore, ObjectStoreExt};
use serde::{Deserialize, Serialize};

use super::raw::{self, FileError};
use super::unary;
use crate::job::{Format, Source};
use crate::storage::StoreUrl;

/// What a raw table reads: everything a process needs to scan it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RawScan {
    pub source: Source,
    /// The raw table's type of each staged column (see [`raw::raw_schema`]).
    #[serde(with = "type_names")]
    pub types: Vec<DataType>,
    /// The extract files' URLs, per partition, in reading order. Never
    /// empty: a source without files has one partition without files (a
    /// plan needs a partition to join over).
    pub partitions: Vec<Vec<String>>,
    /// The files' stored size, for the planner's estimate of the table's size.
    pub bytes: u64,
}

impl RawScan {
    /// `files` dealt round-robin to at most `parallel` partitions: the files
    /// of one day (often of like size) spread over them.
    /// `files` are (URL, stored size).
    pub fn new(source: &Source, types: Vec<DataType>, files: Vec<(String, u64)>, parallel: usize) -> RawScan {
        let parallel = parallel.clamp(1, files.len().max(1));
        let mut partitions = vec![Vec::new(); parallel];
        let bytes = files.iter().map(|(_, size)| size).sum();
        for (i, (file, _)) in files.into_iter().enumerate() {
            partitions[i % parallel].push(file);
        }
        RawScan { source: source.clone(), types, partitions, bytes }
    }
}

/// Arrow types as their names (`Timestamp(µs, "UTC")`), for the codecs.
pub mod type_names {
    use datafusion::arrow::datatypes::DataType;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(types: &[DataType], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(types.iter().map(|t| t.to_string()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<DataType>, D::Error> {
        let names = Vec::<String>::deserialize(d)?;
        names.iter().map(|n| n.parse::<DataType>().map_err(serde::de::Error::custom)).collect()
    }
}

/// A source's extracts as the table `raw_<source>`.
#[derive(Debug)]
pub struct RawTable {
    scan: Arc<RawScan>,
    schema: SchemaRef,
}

impl RawTable {
    pub fn new(scan: RawScan) -> RawTable {
        let schema = raw::raw_schema(scan.source.kind, &scan.types);
        RawTable { scan: Arc::new(scan), schema }
    }

    /// The table of a source without files.
    pub fn empty(source: &Source) -> RawTable {
        RawTable::new(RawScan::new(source, raw::text_types(source.kind), Vec::new(), 1))
    }

    pub fn scan(&self) -> &RawScan {
        &self.scan
    }
}

#[async_trait]
impl TableProvider for RawTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        Ok(Arc::new(RawScanExec::of_scan(&self.scan, projection.cloned())?))
    }
}

/// The plan that reads a raw table. Its input lists the files, one batch of
/// URLs per file, as an in-memory scan with one partition per file list;
/// each partition of this plan reads its input partition's files.
///
/// Why the list is an input rather than a field: Ballista's scheduler gives
/// each task a plan restricted to the task's partitions, and it knows how to
/// restrict an in-memory scan, not a plan of cvm's own. A leaf of cvm's
/// would reach every task whole, and every task would read every file.
#[derive(Debug)]
pub struct RawScanExec {
    source: Arc<Source>,
    types: Vec<DataType>,
    /// The files' stored size (see [`RawScanExec::partition_statistics`]).
    bytes: u64,
    /// The raw schema's columns this plan returns (None: all).
    projection: Option<Vec<usize>>,
    files: Arc<dyn ExecutionPlan>,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
}

/// The schema of a raw scan's input: one file URL per row.
fn file_list_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new("url", DataType::Utf8, false)]))
}

impl RawScanExec {
    /// The plan of `scan`.
    pub fn of_scan(scan: &RawScan, projection: Option<Vec<usize>>) -> DfResult<RawScanExec> {
        let schema = file_list_schema();
        let partitions: Vec<Vec<RecordBatch>> = scan
            .partitions
            .iter()
            .map(|files| {
                files
                    .iter()
                    .map(|url| {
                        RecordBatch::try_new(schema.clone(), vec![Arc::new(StringArray::from(vec![url.as_str()]))])
                    })
                    .collect::<Result<_, _>>()
            })
            .collect::<Result<_, _>>()?;
        let files = MemorySourceConfig::try_new_exec(&partitions, schema, None)?;
        RawScanExec::try_new(Arc::new(scan.source.clone()), scan.types.clone(), scan.bytes, files, projection)
    }

    /// A raw scan over `files`, a plan of URLs (as [`RawScanExec::of_scan`] makes).
    pub fn try_new(
        source: Arc<Source>,
        types: Vec<DataType>,
        bytes: u64,
        files: Arc<dyn ExecutionPlan>,
        projection: Option<Vec<usize>>,
    ) -> DfResult<RawScanExec> {
        if files.schema().fields().len() != 1 || files.schema().field(0).data_type() != &DataType::Utf8 {
            return Err(DataFusionError::Internal(format!(
                "RawScanExec: its input must be one column of file URLs, not {}",
                files.schema()
            )));
        }
        if types.len() != crate::contract::staged_columns(source.kind).count() {
            return Err(DataFusionError::Internal(format!(
                "RawScanExec: {} types for the staged columns of {}",
                types.len(),
                source.kind.name()
            )));
        }
        let full = raw::raw_schema(source.kind, &types);
        let schema = match &projection {
            Some(columns) => Arc::new(full.project(columns)?),
            None => full,
        };
        let properties = unary::properties(schema.clone(), &files, EmissionType::Incremental);
        Ok(RawScanExec { source, types, bytes, projection, files, schema, properties })
    }

    pub fn source(&self) -> &Source {
        &self.source
    }

    pub fn types(&self) -> &[DataType] {
        &self.types
    }

    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    pub fn projection(&self) -> Option<&Vec<usize>> {
        self.projection.as_ref()
    }
}

impl DisplayAs for RawScanExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "RawScanExec: source={}", self.source.kind.name())
    }
}

impl ExecutionPlan for RawScanExec {
    fn name(&self) -> &str {
        "RawScanExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.files]
    }

    fn benefits_from_input_partitioning(&self) -> Vec<bool> {
        // the files are dealt already; a file is read whole by one partition
        vec![false]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> DfResult<TreeNodeRecursion>,
    ) -> DfResult<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(self: Arc<Self>, children: Vec<Arc<dyn ExecutionPlan>>) -> DfResult<Arc<dyn ExecutionPlan>> {
        let files = unary::only_input(&children, "RawScanExec")?;
        Ok(Arc::new(RawScanExec::try_new(
            self.source.clone(),
            self.types.clone(),
            self.bytes,
            files,
            self.projection.clone(),
        )?))
    }

    /// An estimate from the files' stored size, never exact. It is what
    /// makes the planner build a join's hash table from the subscribers
    /// rather than from an extract: a scan the planner knows nothing about
    /// stays on the build side, and a CDR extract is then held in memory whole.
    fn partition_statistics(&self, partition: Option<usize>) -> DfResult<Arc<datafusion::common::Statistics>> {
        use datafusion::common::stats::Precision;
        let parts = self.properties.partitioning.partition_count().max(1) as u64;
        let bytes = if partition.is_some() { self.bytes / parts } else { self.bytes };
        let mut stats = datafusion::common::Statistics::new_unknown(&self.schema);
        // decoded rows take several times their stored (often compressed) bytes
        stats.total_byte_size = Precision::Inexact((bytes.saturating_mul(4)) as usize);
        stats.num_rows = Precision::Inexact((bytes / 16).max(1) as usize);
        Ok(Arc::new(stats))
    }

    fn execute(&self, partition: usize, ctx: Arc<TaskContext>) -> DfResult<SendableRecordBatchStream> {
        let mut urls = self.files.execute(partition, ctx.clone())?;
        let (tx, rx) = tokio::sync::mpsc::channel::<DfResult<RecordBatch>>(2);
        let source = self.source.clone();
        let projection = self.projection.clone();
        let schema = raw::raw_schema(source.kind, &self.types);
        tokio::spawn(async move {
            while let Some(batch) = urls.next().await {
                let batch = match batch {
                    Ok(batch) => batch,
                    Err(e) => {
                        let _ = tx.send(Err(e)).await;
                        return;
                    }
                };
                for url in batch.column(0).as_string::<i32>().iter().flatten() {
                    let file = FileRead { source: &source, schema: &schema, projection: projection.as_deref() };
                    if let Err(failure) = file.read(&ctx, url.to_string(), &tx).await {
                        let _ = tx.send(Err(failure)).await;
                        return;
                    }
                    if tx.is_closed() {
                        return; // the consumer has gone
                    }
                }
            }
        });
        let stream = futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
        Ok(Box::pin(RecordBatchStreamAdapter::new(self.schema.clone(), stream)))
    }
}

/// How one file of a scan is read.
struct FileRead<'a> {
    source: &'a Arc<Source>,
    /// The raw table's full schema.
    schema: &'a SchemaRef,
    projection: Option<&'a [usize]>,
}

type Sender = tokio::sync::mpsc::Sender<DfResult<RecordBatch>>;

impl FileRead<'_> {
    /// Reads one file into `tx` through this process's store for its URL.
    async fn read(&self, ctx: &TaskContext, url: String, tx: &Sender) -> DfResult<()> {
        let unreadable = |message: String| file_failure(FileError::Unreadable { file: url.clone(), message });
        let location = StoreUrl::parse(&url, std::path::Path::new("/")).map_err(unreadable)?;
        let store = ctx.runtime_env().object_store_registry.get_store(&location.store_root())?;
        match self.source.format {
            Format::Parquet => self.read_parquet(store, location.store_path(), url, tx).await,
            _ => self.read_text(store, location.store_path(), url, tx).await,
        }
    }

    /// A text file, parsed on a blocking thread as its bytes stream in.
    async fn read_text(
        &self,
        store: Arc<dyn ObjectStore>,
        path: object_store::path::Path,
        url: String,
        tx: &Sender,
    ) -> DfResult<()> {
        let stream = store
            .get(&path)
            .await
            .map_err(|e| file_failure(FileError::Unreadable { file: url.clone(), message: e.to_string() }))?
            .into_stream();
        let input = StreamRead { runtime: tokio::runtime::Handle::current(), stream, current: bytes::Bytes::new() };
        let sender = tx.clone();
        let source = self.source.clone();
        let projection = self.projection.map(<[usize]>::to_vec);
        let parsed = tokio::task::spawn_blocking(move || {
            raw::read_text(&source, &url, Box::new(input), &mut |batch| {
                sender.blocking_send(project(batch, projection.as_deref())).is_ok()
            })
        })
        .await;
        match parsed {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(file_failure(e)),
            Err(join) => Err(DataFusionError::External(Box::new(join))),
        }
    }

    /// A Parquet file, a row group at a time, only its contract columns.
    async fn read_parquet(
        &self,
        store: Arc<dyn ObjectStore>,
        path: object_store::path::Path,
        url: String,
        tx: &Sender,
    ) -> DfResult<()> {
        use datafusion::parquet::arrow::ProjectionMask;
        use datafusion::parquet::arrow::async_reader::ParquetRecordBatchStreamBuilder;
        let unreadable = |e: &dyn std::fmt::Display| {
            file_failure(FileError::Unreadable { file: url.clone(), message: e.to_string() })
        };
        let size = store.head(&path).await.map_err(|e| unreadable(&e))?.size;
        let reader = StoreFile { store, path, size };
        let builder = ParquetRecordBatchStreamBuilder::new(reader).await.map_err(|e| unreadable(&e))?;
        let layout = raw::parquet_layout(self.source, &url, builder.schema()).map_err(file_failure)?;
        let mask = ProjectionMask::roots(builder.parquet_schema(), layout.projection.iter().copied());
        let mut batches =
            builder.with_projection(mask).with_batch_size(raw::BATCH_ROWS).build().map_err(|e| unreadable(&e))?;
        let mut row: i64 = 0;
        while let Some(batch) = batches.next().await {
            let batch = batch.map_err(|e| unreadable(&e))?;
            let raw = raw::parquet_raw_batch(&layout, self.schema, &url, &batch, row).map_err(file_failure)?;
            row += batch.num_rows() as i64;
            if tx.send(project(raw, self.projection)).await.is_err() {
                return Ok(()); // the consumer has gone
            }
        }
        Ok(())
    }
}

fn file_failure(e: FileError) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

fn project(batch: RecordBatch, projection: Option<&[usize]>) -> DfResult<RecordBatch> {
    match projection {
        Some(columns) => batch.project(columns).map_err(DataFusionError::from),
        None => Ok(batch),
    }
}

/// A Parquet file in an object store, read by ranges: the footer, then the
/// column chunks of each row group as the decoder asks for them.
struct StoreFile {
    store: Arc<dyn ObjectStore>,
    path: object_store::path::Path,
    size: u64,
}

impl datafusion::parquet::arrow::async_reader::AsyncFileReader for StoreFile {
    fn get_bytes(
        &mut self,
        range: std::ops::Range<u64>,
    ) -> futures::future::BoxFuture<'_, datafusion::parquet::errors::Result<bytes::Bytes>> {
        Box::pin(async move { self.store.get_range(&self.path, range).await.map_err(parquet_error) })
    }

    fn get_byte_ranges(
        &mut self,
        ranges: Vec<std::ops::Range<u64>>,
    ) -> futures::future::BoxFuture<'_, datafusion::parquet::errors::Result<Vec<bytes::Bytes>>> {
        Box::pin(async move { self.store.get_ranges(&self.path, &ranges).await.map_err(parquet_error) })
    }

    fn get_metadata<'a>(
        &'a mut self,
        _options: Option<&'a datafusion::parquet::arrow::arrow_reader::ArrowReaderOptions>,
    ) -> futures::future::BoxFuture<
        'a,
        datafusion::parquet::errors::Result<Arc<datafusion::parquet::file::metadata::ParquetMetaData>>,
    > {
        Box::pin(async move {
            let size = self.size;
            let metadata = datafusion::parquet::file::metadata::ParquetMetaDataReader::new()
                .with_prefetch_hint(Some(64 * 1024))
                .load_and_finish(self, size)
                .await?;
            Ok(Arc::new(metadata))
        })
    }
}

fn parquet_error(e: object_store::Error) -> datafusion::parquet::errors::ParquetError {
    datafusion::parquet::errors::ParquetError::External(Box::new(e))
}

/// An object's byte stream as a blocking reader, for the parser's thread:
/// the bytes arrive a chunk at a time, never as a whole file.
struct StreamRead {
    runtime: tokio::runtime::Handle,
    stream: futures::stream::BoxStream<'static, object_store::Result<bytes::Bytes>>,
    current: bytes::Bytes,
}

impl std::io::Read for StreamRead {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.runtime.block_on(self.stream.next()) {
                None => return Ok(0),
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(e)) => return Err(std::io::Error::other(e)),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        bytes::Buf::advance(&mut self.current, n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::datatypes::{DataType, TimeUnit};

    #[test]
    fn raw_types_survive_the_codec_by_name() {
        #[derive(serde::Serialize, serde::Deserialize)]
        struct Carried(#[serde(with = "super::type_names")] Vec<DataType>);
        let types = vec![
            DataType::Utf8,
            DataType::Int64,
            DataType::UInt32,
            DataType::Decimal128(18, 2),
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            DataType::Timestamp(TimeUnit::Nanosecond, Some("Europe/Paris".into())),
            DataType::Timestamp(TimeUnit::Millisecond, None),
            DataType::Date32,
            DataType::Boolean,
            DataType::Float64,
        ];
        let text = serde_json::to_string(&Carried(types.clone())).unwrap();
        let back: Carried = serde_json::from_str(&text).unwrap();
        assert_eq!(back.0, types, "{text}");
    }
}
