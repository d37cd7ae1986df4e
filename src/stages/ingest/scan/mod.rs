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
//! Each partition reads its files one after the other as they stream in
//! (`file_read.rs`): a text file is parsed on a blocking thread, a Parquet
//! file is decoded row group by row group, reading only the contract's
//! columns. No file is held in memory whole, and a landing of hundreds of
//! files is not opened at once.

mod file_read;

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
use serde::{Deserialize, Serialize};

use super::raw;
use super::unary;
use crate::job::Source;
use file_read::FileRead;

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
