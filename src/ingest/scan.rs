//! A source's extract files as a table DataFusion can scan, in this process
//! or on a Ballista cluster's executors.
//!
//! [`RawTable`] holds nothing but a [`RawScan`]: the source's reading
//! settings and the URLs of the files each partition reads; its plan
//! [`RawScanExec`] holds the settings, over a list of the URLs. Both are
//! plain data, so cvm's codecs (`cluster::codec`) can carry them from the
//! client to the scheduler and on to the executors, which open the files
//! through their own object-store registry.
//!
//! Each partition reads its files one after the other, each parsed on a
//! blocking thread while the engine consumes its batches: no file is held in
//! memory as rows, and a landing of hundreds of files is not opened at once.

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
use object_store::ObjectStoreExt;
use serde::{Deserialize, Serialize};

use super::raw::{self, FileError};
use super::unary;
use crate::job::Source;
use crate::storage::StoreUrl;

/// What a raw table reads: everything a process needs to scan it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RawScan {
    pub source: Source,
    /// The extract files' URLs, per partition, in reading order. Never
    /// empty: a source without files has one partition without files (a
    /// plan needs a partition to join over).
    pub partitions: Vec<Vec<String>>,
}

impl RawScan {
    /// `files` dealt round-robin to at most `parallel` partitions: the files
    /// of one day (often of like size) spread over them.
    pub fn new(source: &Source, files: Vec<String>, parallel: usize) -> RawScan {
        let parallel = parallel.clamp(1, files.len().max(1));
        let mut partitions = vec![Vec::new(); parallel];
        for (i, file) in files.into_iter().enumerate() {
            partitions[i % parallel].push(file);
        }
        RawScan { source: source.clone(), partitions }
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
        let schema = raw::raw_schema(scan.source.kind);
        RawTable { scan: Arc::new(scan), schema }
    }

    /// The table of a source without files.
    pub fn empty(source: &Source) -> RawTable {
        RawTable::new(RawScan::new(source, Vec::new(), 1))
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
        RawScanExec::try_new(Arc::new(scan.source.clone()), files, projection)
    }

    /// A raw scan over `files`, a plan of URLs (as [`RawScanExec::of_scan`] makes).
    pub fn try_new(
        source: Arc<Source>,
        files: Arc<dyn ExecutionPlan>,
        projection: Option<Vec<usize>>,
    ) -> DfResult<RawScanExec> {
        if files.schema().fields().len() != 1 || files.schema().field(0).data_type() != &DataType::Utf8 {
            return Err(DataFusionError::Internal(format!(
                "RawScanExec: its input must be one column of file URLs, not {}",
                files.schema()
            )));
        }
        let full = raw::raw_schema(source.kind);
        let schema = match &projection {
            Some(columns) => Arc::new(full.project(columns)?),
            None => full,
        };
        let properties = unary::properties(schema.clone(), &files, EmissionType::Incremental);
        Ok(RawScanExec { source, projection, files, schema, properties })
    }

    pub fn source(&self) -> &Source {
        &self.source
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
        Ok(Arc::new(RawScanExec::try_new(self.source.clone(), files, self.projection.clone())?))
    }

    fn execute(&self, partition: usize, ctx: Arc<TaskContext>) -> DfResult<SendableRecordBatchStream> {
        let mut urls = self.files.execute(partition, ctx.clone())?;
        let (tx, rx) = tokio::sync::mpsc::channel::<DfResult<RecordBatch>>(2);
        let source = self.source.clone();
        let projection = self.projection.clone();
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
                    if let Err(failure) = read_one(&ctx, &source, url.to_string(), projection.as_deref(), &tx).await {
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

/// Reads one file into `tx` through this process's store for its URL,
/// parsing it on a blocking thread.
async fn read_one(
    ctx: &TaskContext,
    source: &Arc<Source>,
    url: String,
    projection: Option<&[usize]>,
    tx: &tokio::sync::mpsc::Sender<DfResult<RecordBatch>>,
) -> DfResult<()> {
    let unreadable =
        |message: String| DataFusionError::External(Box::new(FileError::Unreadable { file: url.clone(), message }));
    let location = StoreUrl::parse(&url, std::path::Path::new("/")).map_err(unreadable)?;
    let store = ctx.runtime_env().object_store_registry.get_store(&location.store_root())?;
    let bytes = async { store.get(&location.store_path()).await?.bytes().await }
        .await
        .map_err(|e| unreadable(e.to_string()))?;
    let sender = tx.clone();
    let source = source.clone();
    let projection = projection.map(<[usize]>::to_vec);
    let parsed = tokio::task::spawn_blocking(move || {
        raw::read_file(&source, &url, bytes, &mut |batch| {
            let batch = match &projection {
                Some(columns) => batch.project(columns).map_err(DataFusionError::from),
                None => Ok(batch),
            };
            sender.blocking_send(batch).is_ok()
        })
    })
    .await;
    match parsed {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(DataFusionError::External(Box::new(e))),
        Err(join) => Err(DataFusionError::External(Box::new(join))),
    }
}
