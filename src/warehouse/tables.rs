//! Small helpers for the warehouse's Parquet tables: registering a folder as
//! a table, encoding batches as one Parquet file, reading a file's footer.

use std::sync::Arc;

use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Schema, SchemaRef, UInt64Type};
use datafusion::dataframe::{DataFrame, DataFrameWriteOptions};
use datafusion::datasource::MemTable;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::error::DataFusionError;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::metadata::{FooterTail, ParquetMetaData, ParquetMetaDataReader};
use datafusion::parquet::file::properties::WriterProperties;
use datafusion::prelude::SessionContext;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};

use crate::engine::StepError;

/// A stream of batches as a table that is scanned once: one step's rows
/// handed to the next without being written out (the CDR's staged rows to
/// the usage step's parts). A second scan fails.
pub fn one_shot_table(
    rows: datafusion::execution::SendableRecordBatchStream,
) -> Result<datafusion::catalog::streaming::StreamingTable, DataFusionError> {
    let schema = rows.schema();
    let partition = OneShot { schema: schema.clone(), rows: std::sync::Mutex::new(Some(rows)) };
    datafusion::catalog::streaming::StreamingTable::try_new(schema, vec![Arc::new(partition)])
}

struct OneShot {
    schema: SchemaRef,
    rows: std::sync::Mutex<Option<datafusion::execution::SendableRecordBatchStream>>,
}

impl std::fmt::Debug for OneShot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OneShot").field("schema", &self.schema).finish_non_exhaustive()
    }
}

impl datafusion::physical_plan::streaming::PartitionStream for OneShot {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(
        &self,
        _ctx: Arc<datafusion::execution::TaskContext>,
    ) -> datafusion::execution::SendableRecordBatchStream {
        let rows = self.rows.lock().expect("not poisoned").take();
        rows.unwrap_or_else(|| {
            let failed = futures::stream::once(async {
                Err(DataFusionError::Execution("a one-shot table was scanned twice".into()))
            });
            Box::pin(datafusion::physical_plan::stream::RecordBatchStreamAdapter::new(self.schema.clone(), failed))
        })
    }
}

/// The type of a hive partition column of a published table, by its name:
/// cvm's partition keys are dates when the name ends in `_date`
/// (snapshot_date, event_date), text otherwise (campaign).
pub fn partition_type(column: &str) -> DataType {
    if column.ends_with("_date") { DataType::Date32 } else { DataType::Utf8 }
}

/// Registers a folder of Parquet files with a known schema as table `name`
/// (replacing any table of that name), hive-partitioned by date columns
/// when given. With the schema declared, an empty folder is an empty table.
pub fn register_parquet(
    ctx: &SessionContext,
    name: &str,
    url: &str,
    schema: &Schema,
    date_partitions: &[&str],
) -> Result<(), DataFusionError> {
    let partitions: Vec<(&str, DataType)> = date_partitions.iter().map(|c| (*c, DataType::Date32)).collect();
    register_parquet_with(ctx, name, url, schema, &partitions)
}

/// [`register_parquet`] with hive partition columns of any type.
pub fn register_parquet_with(
    ctx: &SessionContext,
    name: &str,
    url: &str,
    schema: &Schema,
    partitions: &[(&str, DataType)],
) -> Result<(), DataFusionError> {
    let table_url = ListingTableUrl::parse(url)?;
    let partition_cols: Vec<(String, DataType)> = partitions.iter().map(|(c, t)| (c.to_string(), t.clone())).collect();
    let options = ListingOptions::new(Arc::new(ParquetFormat::default()))
        .with_file_extension(".parquet")
        .with_table_partition_cols(partition_cols);
    let fields: Vec<_> =
        schema.fields().iter().filter(|f| !partitions.iter().any(|(c, _)| c == f.name())).cloned().collect();
    let config =
        ListingTableConfig::new(table_url).with_listing_options(options).with_schema(Arc::new(Schema::new(fields)));
    let table = ListingTable::try_new(config)?;
    let _ = ctx.deregister_table(name);
    ctx.register_table(name, Arc::new(table))?;
    Ok(())
}

/// Registers a small table computed in this process (job settings, fitted
/// models) as `name`, held in memory.
pub fn register_in_memory(ctx: &SessionContext, name: &str, batch: RecordBatch) -> Result<(), DataFusionError> {
    let table = MemTable::try_new(batch.schema(), vec![vec![batch]])?;
    let _ = ctx.deregister_table(name);
    ctx.register_table(name, Arc::new(table))?;
    Ok(())
}

/// Registers a small table computed in this process as `name`, written to
/// the run's staging as one Parquet file first: for a cluster, whose
/// executors cannot read this process's memory but read that store.
pub async fn register_staged(
    ctx: &SessionContext,
    staging: &crate::warehouse::staging::RunStaging,
    name: &str,
    batch: RecordBatch,
) -> Result<(), DataFusionError> {
    let schema = batch.schema();
    let bytes = parquet_bytes(schema.clone(), &[batch])?;
    staging.put(SMALL_TABLES, name, "part-0.parquet", bytes).await.map_err(|e| DataFusionError::External(e.into()))?;
    register_parquet(ctx, name, &staging.partition_url(SMALL_TABLES, name), &schema, &[])
}

/// The folder of a run's staging that holds [`register_staged`]'s tables.
const SMALL_TABLES: &str = "_small";

/// The batches as one zstd-compressed Parquet file (an empty file with the
/// schema when there are none).
pub fn parquet_bytes(schema: SchemaRef, batches: &[RecordBatch]) -> Result<bytes::Bytes, DataFusionError> {
    let properties = WriterProperties::builder().set_compression(Compression::ZSTD(ZstdLevel::try_new(3)?)).build();
    let mut buf = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut buf, schema, Some(properties))?;
    for batch in batches {
        writer.write(batch)?;
    }
    writer.close()?;
    Ok(buf.into())
}

/// The footer of the Parquet file at `path` (`size` bytes): two ranged
/// reads, the 8-byte tail and the metadata it points to.
pub async fn read_footer(store: &Arc<dyn ObjectStore>, path: &Path, size: u64) -> Result<ParquetMetaData, String> {
    const TAIL: u64 = 8;
    if size < 12 {
        return Err("too small to be a Parquet file".into());
    }
    let tail = store.get_range(path, size - TAIL..size).await.map_err(|e| e.to_string())?;
    let tail: [u8; 8] = tail.as_ref().try_into().map_err(|_| "short read of the footer".to_string())?;
    let footer = FooterTail::try_new(&tail).map_err(|e| e.to_string())?;
    let len = footer.metadata_length() as u64;
    if len + TAIL > size {
        return Err(format!("corrupt footer: metadata length {len} exceeds the file"));
    }
    let buf = store.get_range(path, size - TAIL - len..size - TAIL).await.map_err(|e| e.to_string())?;
    ParquetMetaDataReader::decode_metadata(&buf).map_err(|e| e.to_string())
}

/// The Arrow schema a footer describes.
pub fn footer_schema(metadata: &ParquetMetaData) -> Result<Schema, String> {
    let file = metadata.file_metadata();
    datafusion::parquet::arrow::parquet_to_arrow_schema(file.schema_descr(), file.key_value_metadata())
        .map_err(|e| e.to_string())
}

/// Writes `df` as Parquet under `url`, hive-partitioned by `partition_by`;
/// the rows written.
pub async fn write_parquet(df: DataFrame, url: &str, partition_by: &[&str]) -> Result<u64, StepError> {
    let options = DataFrameWriteOptions::new()
        .with_single_file_output(false)
        .with_partition_by(partition_by.iter().map(|s| s.to_string()).collect());
    let result = df.write_parquet(url, options, None).await.map_err(StepError::engine(url))?;
    Ok(count_rows(&result))
}

/// Writes `df` as Parquet under `url` for this run only (a materialised
/// table of the run's staging): LZ4, which writes and reads back several
/// times faster than the zstd of published tables and is deleted with the
/// run anyway. The session's other Parquet settings hold. The rows written.
pub async fn write_scratch_parquet(ctx: &SessionContext, df: DataFrame, url: &str) -> Result<u64, StepError> {
    let mut parquet = ctx.state().table_options().parquet.clone();
    parquet.global.compression = Some("lz4_raw".to_string());
    let options = DataFrameWriteOptions::new().with_single_file_output(false);
    let result = df.write_parquet(url, options, Some(parquet)).await.map_err(StepError::engine(url))?;
    Ok(count_rows(&result))
}

/// The row count a write reports (its one UInt64 column, summed).
fn count_rows(result: &[RecordBatch]) -> u64 {
    result
        .iter()
        .filter(|b| b.num_columns() > 0)
        .map(|b| b.column(0).as_primitive::<UInt64Type>().iter().flatten().sum::<u64>())
        .sum()
}
