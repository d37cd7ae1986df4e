//! Writing a source's staging output where it is computed: on a cluster each
//! task writes the rows of its own extracts, with no shuffle and no single
//! writer (DataFusion's own file sink takes one input partition, so on
//! Ballista every row of a write would go through one task).
//!
//! [`StagedFolder`] is the source's folder as a table one inserts into:
//! `INSERT INTO` it plans a [`StageWriteExec`] over the staging query, which
//! writes each of its input partitions as
//!
//! ```text
//! <folder>/ingest_status=staged/part-<key>.parquet    the staged columns and _warnings
//! <folder>/ingest_status=rejected/part-<key>.parquet  _file, _row, _raw, _reject_rule
//! ```
//!
//! `<key>` is a digest of which rows the file holds (by extract and line,
//! in any order): a row is in one partition only, so the names are unique,
//! and a task that runs again (its executor lost after it wrote) holds the
//! same rows, so its files replace the earlier attempt's instead of adding
//! to them. A file is written under `<folder>/_attempts/` and renamed into
//! place once complete. Each partition returns the number of rows it wrote,
//! as `count`.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{Array, AsArray, RecordBatch, UInt64Array};
use datafusion::arrow::compute::{cast, filter_record_batch, is_not_null, is_null};
use datafusion::arrow::datatypes::{DataType, Field, Int32Type, Int64Type, Schema, SchemaRef};
use datafusion::catalog::Session;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::datasource::{TableProvider, TableType};
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::Expr;
use datafusion::logical_expr::dml::InsertOp;
use datafusion::parquet::arrow::AsyncArrowWriter;
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::properties::WriterProperties;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::execution_plan::EmissionType;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties};
use futures::StreamExt;
use object_store::ObjectStoreExt;
use sha2::{Digest, Sha256};

use super::{staged_positions, unary};
use crate::storage::StoreUrl;

/// How a staging table's files are written, by a local run into its scratch
/// folder and by a cluster's tasks into the run's staging: LZ4, the cheapest
/// codec to write and read back. The files live for one run; at 1M lines
/// billing and recharges are 0.5 GB uncompressed, and writing that and
/// reading it back cost more than compressing it (a local night 1-3 s
/// faster, docs/benchmarks.md).
pub fn staged_file_properties() -> WriterProperties {
    WriterProperties::builder().set_compression(Compression::LZ4_RAW).build()
}

/// The hive partition that says whether a row was staged or rejected.
pub const STATUS: &str = "ingest_status";
/// The columns a rejected row keeps, in the rejected files' order.
pub const REJECT_COLUMNS: [&str; 4] = ["_file", "_row", "_raw", "_reject_rule"];

/// The columns a staged row keeps: the staged ones, then `_warnings`.
pub fn staged_file_columns(schema: &Schema) -> Vec<usize> {
    let mut columns = staged_positions(schema);
    columns.extend(schema.index_of("_warnings").ok());
    columns
}

/// A source's staged folder, as a table to insert its staging output into.
#[derive(Debug)]
pub struct StagedFolder {
    /// The folder's URL (ending in `/`).
    pub folder: String,
    /// The staging query's output schema.
    pub schema: SchemaRef,
}

#[async_trait]
impl TableProvider for StagedFolder {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        _projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        Err(DataFusionError::NotImplemented(format!(
            "{} is written, not read: read stg_<source> and the rejects instead",
            self.folder
        )))
    }

    async fn insert_into(
        &self,
        _state: &dyn Session,
        input: Arc<dyn ExecutionPlan>,
        _insert_op: InsertOp,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        Ok(Arc::new(StageWriteExec::try_new(input, self.folder.clone())?))
    }
}

/// Writes each input partition's staged and rejected rows (see the module).
#[derive(Debug)]
pub struct StageWriteExec {
    input: Arc<dyn ExecutionPlan>,
    folder: String,
    properties: Arc<PlanProperties>,
}

fn count_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new("count", DataType::UInt64, false)]))
}

impl StageWriteExec {
    pub fn try_new(input: Arc<dyn ExecutionPlan>, folder: String) -> DfResult<StageWriteExec> {
        let schema = input.schema();
        for column in REJECT_COLUMNS.iter().chain(&["_warnings"]) {
            schema.index_of(column)?;
        }
        let properties = unary::properties(count_schema(), &input, EmissionType::Final);
        Ok(StageWriteExec { input, folder, properties })
    }

    pub fn folder(&self) -> &str {
        &self.folder
    }
}

impl DisplayAs for StageWriteExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "StageWriteExec: folder={}", self.folder)
    }
}

impl ExecutionPlan for StageWriteExec {
    fn name(&self) -> &str {
        "StageWriteExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn benefits_from_input_partitioning(&self) -> Vec<bool> {
        // each partition writes what it computed; more partitions, more files
        vec![false]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> DfResult<TreeNodeRecursion>,
    ) -> DfResult<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(self: Arc<Self>, children: Vec<Arc<dyn ExecutionPlan>>) -> DfResult<Arc<dyn ExecutionPlan>> {
        let input = unary::only_input(&children, "StageWriteExec")?;
        Ok(Arc::new(StageWriteExec::try_new(input, self.folder.clone())?))
    }

    fn execute(&self, partition: usize, ctx: Arc<TaskContext>) -> DfResult<SendableRecordBatchStream> {
        let rows = self.input.execute(partition, ctx.clone())?;
        let folder = StoreUrl::parse(&self.folder, std::path::Path::new("/"))?;
        let written = futures::stream::once(write_partition(rows, folder, ctx));
        Ok(Box::pin(RecordBatchStreamAdapter::new(count_schema(), written)))
    }
}

/// Writes one partition's rows; one batch with the number written.
async fn write_partition(
    mut rows: SendableRecordBatchStream,
    folder: StoreUrl,
    ctx: Arc<TaskContext>,
) -> DfResult<RecordBatch> {
    let schema = rows.schema();
    let staged_columns = staged_file_columns(&schema);
    let reject_columns: Vec<usize> = REJECT_COLUMNS.iter().map(|c| schema.index_of(c)).collect::<Result<_, _>>()?;
    let rule = schema.index_of("_reject_rule")?;
    let (file, line) = (schema.index_of("_file")?, schema.index_of("_row")?);
    let store = ctx.runtime_env().object_store_registry.get_store(&folder.store_root())?;
    let attempt = attempt_id();
    let mut staged = StatusFile::new("staged", &staged_columns);
    let mut rejected = StatusFile::new("rejected", &reject_columns);
    let mut written = 0u64;
    while let Some(batch) = rows.next().await {
        let batch = batch?;
        let verdict = batch.column(rule);
        for (out, mask) in [(&mut staged, is_null(verdict)?), (&mut rejected, is_not_null(verdict)?)] {
            let part = filter_record_batch(&batch, &mask)?;
            if part.num_rows() == 0 {
                continue;
            }
            out.key = out.key.wrapping_add(row_digest(&part, file, line)?);
            let writer = match &mut out.writer {
                Some(writer) => writer,
                None => {
                    let path = folder.join(&format!("_attempts/{attempt}-{}.parquet", out.status));
                    let path = path?.store_path();
                    let sink = object_store::buffered::BufWriter::new(store.clone(), path.clone());
                    let writer = AsyncArrowWriter::try_new(
                        sink,
                        Arc::new(schema.project(&out.columns)?),
                        Some(staged_file_properties()),
                    )?;
                    out.writer.insert((path, writer))
                }
            };
            writer.1.write(&part.project(&out.columns)?).await?;
        }
        written += batch.num_rows() as u64;
    }
    for out in [staged, rejected] {
        if let Some((attempt_path, writer)) = out.writer {
            writer.close().await?;
            let name = format!("{STATUS}={}/part-{:016x}.parquet", out.status, out.key);
            let path = folder.join(&name)?.store_path();
            // over an earlier attempt's file of the same rows, if any
            store.rename(&attempt_path, &path).await?;
        }
    }
    Ok(RecordBatch::try_new(count_schema(), vec![Arc::new(UInt64Array::from(vec![written]))])?)
}

/// One status's file of a partition, while it is written.
struct StatusFile {
    status: &'static str,
    columns: Vec<usize>,
    /// The rows' digest so far (see [`row_digest`]).
    key: u64,
    /// Where the file is written first, and its writer.
    writer: Option<(object_store::path::Path, AsyncArrowWriter<object_store::buffered::BufWriter>)>,
}

impl StatusFile {
    fn new(status: &'static str, columns: &[usize]) -> StatusFile {
        StatusFile { status, columns: columns.to_vec(), key: 0, writer: None }
    }
}

/// A name no other attempt uses: the file is written under it, then renamed.
fn attempt_id() -> String {
    static SEQUENCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
    let n = SEQUENCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{nanos:x}-{:x}-{n}", std::process::id())
}

/// An order-free digest of a batch's rows by their extract and line: the
/// wrapping sum of one mixed hash per row. The same rows give the same sum
/// in any order and any batching, so a partition's file name depends on
/// which rows it holds, not on how they arrived.
fn row_digest(batch: &RecordBatch, file: usize, line: usize) -> DfResult<u64> {
    let files = cast(batch.column(file), &DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)))?;
    let files = files.as_dictionary::<Int32Type>();
    let names = files.values().as_string::<i32>();
    let name_hashes: Vec<u64> = (0..names.len())
        .map(|i| Sha256::digest(names.value(i).as_bytes()))
        .map(|d| u64::from_le_bytes(d[..8].try_into().expect("8 bytes")))
        .collect();
    let lines = cast(batch.column(line), &DataType::Int64)?;
    let lines = lines.as_primitive::<Int64Type>();
    let mut sum = 0u64;
    for (key, line) in files.keys().iter().zip(lines.iter()) {
        let name = key.map_or(0, |k| name_hashes[k as usize]);
        sum = sum.wrapping_add(mix(name ^ mix(line.unwrap_or(-1) as u64)));
    }
    Ok(sum)
}

/// splitmix64's finaliser: spreads every input bit over the output.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{DictionaryArray, Int64Array, StringArray};

    fn batch(files: &[&str], lines: &[i64]) -> RecordBatch {
        let files: DictionaryArray<Int32Type> = files.iter().copied().collect();
        RecordBatch::try_from_iter(vec![
            ("_file", Arc::new(files) as _),
            ("_row", Arc::new(Int64Array::from(lines.to_vec())) as _),
        ])
        .unwrap()
    }

    #[test]
    fn the_digest_depends_on_the_rows_not_their_order_or_batching() {
        let one = row_digest(&batch(&["a.csv", "a.csv", "b.csv"], &[2, 3, 2]), 0, 1).unwrap();
        let reordered = row_digest(&batch(&["b.csv", "a.csv", "a.csv"], &[2, 3, 2]), 0, 1).unwrap();
        let split = row_digest(&batch(&["a.csv"], &[3]), 0, 1)
            .unwrap()
            .wrapping_add(row_digest(&batch(&["b.csv", "a.csv"], &[2, 2]), 0, 1).unwrap());
        assert_eq!(one, reordered);
        assert_eq!(one, split);
        let other_line = row_digest(&batch(&["a.csv", "a.csv", "b.csv"], &[2, 4, 2]), 0, 1).unwrap();
        let other_file = row_digest(&batch(&["a.csv", "a.csv", "c.csv"], &[2, 3, 2]), 0, 1).unwrap();
        assert_ne!(one, other_line);
        assert_ne!(one, other_file);
        // plain strings digest as dictionaries do
        let plain = RecordBatch::try_from_iter(vec![
            ("_file", Arc::new(StringArray::from(vec!["a.csv", "a.csv", "b.csv"])) as _),
            ("_row", Arc::new(Int64Array::from(vec![2, 3, 2])) as _),
        ])
        .unwrap();
        assert_eq!(row_digest(&plain, 0, 1).unwrap(), one);
    }
}
