//! A published table read from the files a commit lists, never by listing
//! its folder. A folder holds more than one version's files: those a later
//! commit removed (kept for the retention window), those a run in flight
//! has moved into place but not yet committed, and the log itself. A
//! listing would read them all; this table reads exactly the commit's.
//!
//! The file list travels with the plan (see [`crate::stages::cluster_codec`]), so
//! a cluster's scheduler plans the same files the client chose and lists
//! nothing itself.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::{Field, FieldRef, Schema, SchemaRef};
use datafusion::catalog::Session;
use datafusion::catalog::TableProvider;
use datafusion::common::{DFSchema, ScalarValue};
use datafusion::datasource::TableType;
use datafusion::datasource::file_format::FileFormat;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::listing::helpers::{expr_applicable_for_cols, filter_partitioned_file};
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfigBuilder};
use datafusion::datasource::table_schema::TableSchema;
use datafusion::error::Result;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::empty::EmptyExec;
use datafusion::prelude::SessionContext;
use object_store::ObjectMeta;
use object_store::path::Path;
use serde::{Deserialize, Serialize};

use crate::storage::StoreUrl;
use crate::warehouse::commit::{Commit, CommittedFile};
use crate::warehouse::tables::partition_type;

/// One file of the table: where it is in its store, its size, and the
/// values of the table's partition columns (None: the hive null).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PublishedFile {
    pub path: String,
    pub size: u64,
    pub partition_values: Vec<Option<String>>,
}

/// What a [`PublishedTable`] needs besides its schema: enough to plan the
/// scan anywhere (it is what the cluster codec sends).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PublishedFiles {
    /// The store's root URL (`file:///`, `s3://bucket/`).
    pub store: String,
    pub partition_columns: Vec<String>,
    pub files: Vec<PublishedFile>,
}

#[derive(Debug)]
pub struct PublishedTable {
    files: PublishedFiles,
    /// The files' columns followed by the partition columns.
    schema: SchemaRef,
}

/// The table's partition columns as fields, typed by name.
fn partition_fields(columns: &[String]) -> Vec<FieldRef> {
    columns.iter().map(|c| Arc::new(Field::new(c, partition_type(c), true))).collect()
}

impl PublishedTable {
    /// The table of `files`, whose full schema (file columns, then the
    /// partition columns) is `schema`.
    pub fn new(files: PublishedFiles, schema: SchemaRef) -> PublishedTable {
        PublishedTable { files, schema }
    }

    pub fn files(&self) -> &PublishedFiles {
        &self.files
    }

    fn file_schema(&self) -> SchemaRef {
        let fields: Vec<FieldRef> =
            self.schema.fields().iter().filter(|f| !self.files.partition_columns.contains(f.name())).cloned().collect();
        Arc::new(Schema::new(fields))
    }

    fn partitioned_file(&self, file: &PublishedFile) -> Result<PartitionedFile> {
        let values = file
            .partition_values
            .iter()
            .zip(&self.files.partition_columns)
            .map(|(value, column)| {
                let data_type = partition_type(column);
                match value {
                    Some(v) => ScalarValue::try_from_string(v.clone(), &data_type),
                    None => ScalarValue::try_from(&data_type),
                }
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(PartitionedFile::new(file.path.clone(), file.size).with_partition_values(values))
    }
}

#[async_trait]
impl TableProvider for PublishedTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(&self, filters: &[&Expr]) -> Result<Vec<TableProviderFilterPushDown>> {
        // a filter on partition columns only prunes whole files; others are
        // applied above the scan (and pushed into the Parquet reader by the optimizer)
        let columns: Vec<&str> = self.files.partition_columns.iter().map(String::as_str).collect();
        Ok(filters
            .iter()
            .map(|f| {
                if !columns.is_empty() && expr_applicable_for_cols(&columns, f) {
                    TableProviderFilterPushDown::Exact
                } else {
                    TableProviderFilterPushDown::Unsupported
                }
            })
            .collect())
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let partition_fields = partition_fields(&self.files.partition_columns);
        let columns: Vec<&str> = self.files.partition_columns.iter().map(String::as_str).collect();
        let partition_filters: Vec<Expr> =
            filters.iter().filter(|f| expr_applicable_for_cols(&columns, f)).cloned().collect();
        let partition_schema = DFSchema::try_from(Schema::new(partition_fields.clone()))?;
        let mut kept = Vec::with_capacity(self.files.files.len());
        for file in &self.files.files {
            if let Some(file) =
                filter_partitioned_file(self.partitioned_file(file)?, &partition_filters, &partition_schema)?
            {
                kept.push(file);
            }
        }
        if kept.is_empty() {
            let projected = match projection {
                Some(p) => Arc::new(self.schema.project(p)?),
                None => self.schema.clone(),
            };
            return Ok(Arc::new(EmptyExec::new(projected)));
        }
        let format = ParquetFormat::default().with_options(state.table_options().parquet.clone());
        let source = format
            .file_source(TableSchema::builder(self.file_schema()).with_table_partition_cols(partition_fields).build());
        let target = state.config_options().execution.target_partitions.max(1);
        let config = FileScanConfigBuilder::new(ObjectStoreUrl::parse(&self.files.store)?, source)
            .with_file_groups(FileGroup::new(kept).split_files(target))
            .with_projection_indices(projection.cloned())?
            .with_limit(limit)
            .build();
        format.create_physical_plan(state, config).await
    }
}

/// Registers `table` as of `commit` under `name`: the files the commit
/// lists in that table. Its schema is `schema` (the file
/// columns, without the partition columns; files written before a column
/// existed read it as null) or, when None, the files' merged schema.
pub async fn register(
    ctx: &SessionContext,
    warehouse: &StoreUrl,
    commit: &Commit,
    table: &str,
    name: &str,
    schema: Option<SchemaRef>,
) -> Result<()> {
    let in_table: Vec<&CommittedFile> = commit.files.iter().filter(|f| f.table == table).collect();
    let partition_columns: Vec<String> = in_table
        .first()
        .map(|f| f.partition.split('/').filter_map(|kv| kv.split_once('=')).map(|(k, _)| k.to_string()).collect())
        .unwrap_or_default();
    let root = warehouse.store_path();
    let files: Vec<PublishedFile> = in_table
        .iter()
        .map(|f| PublishedFile {
            path: crate::warehouse::commit::join_rel(&root, &f.path).to_string(),
            size: f.bytes,
            partition_values: f
                .partition
                .split('/')
                .filter_map(|kv| kv.split_once('='))
                .map(|(_, v)| {
                    let v = crate::warehouse::delta::actions::decode_path(v);
                    (v != "__HIVE_DEFAULT_PARTITION__").then_some(v)
                })
                .collect(),
        })
        .collect();
    let store = warehouse.store_root().to_string();
    let file_schema = match schema {
        Some(schema) => schema,
        None => merged_schema(ctx, &store, &in_table, &root).await?,
    };
    let mut fields: Vec<FieldRef> =
        file_schema.fields().iter().filter(|f| !partition_columns.contains(f.name())).cloned().collect();
    fields.extend(partition_fields(&partition_columns));
    let provider =
        PublishedTable::new(PublishedFiles { store, partition_columns, files }, Arc::new(Schema::new(fields)));
    let _ = ctx.deregister_table(name);
    ctx.register_table(name, Arc::new(provider))?;
    Ok(())
}

/// The schema of the table's files, merged (columns added by a later cvm are included).
async fn merged_schema(
    ctx: &SessionContext,
    store_url: &str,
    files: &[&CommittedFile],
    root: &Path,
) -> Result<SchemaRef> {
    if files.is_empty() {
        return Ok(Arc::new(Schema::empty()));
    }
    let state = ctx.state();
    let store = state.runtime_env().object_store(ObjectStoreUrl::parse(store_url)?)?;
    let objects: Vec<ObjectMeta> = files
        .iter()
        .map(|f| ObjectMeta {
            location: crate::warehouse::commit::join_rel(root, &f.path),
            last_modified: chrono::DateTime::UNIX_EPOCH,
            size: f.bytes,
            e_tag: None,
            version: None,
        })
        .collect();
    let format = ParquetFormat::default().with_options(state.table_options().parquet.clone());
    format.infer_schema(&state, &store, &objects).await
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::Int64Array;

    use super::*;

    fn parquet(dir: &std::path::Path, relative: &str, rows: i64) -> u64 {
        let bytes = crate::warehouse::delta::testing::numbers_parquet(rows);
        let path = dir.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &bytes).unwrap();
        bytes.len() as u64
    }

    async fn count(ctx: &SessionContext, sql: &str) -> i64 {
        let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        batches[0].column(0).as_any().downcast_ref::<Int64Array>().unwrap().value(0)
    }

    /// The folder holds a file a later commit removed, one a run in flight
    /// moved into place, and a Parquet checkpoint of the log: none is read.
    #[tokio::test]
    async fn only_the_commits_files_are_read_and_partitions_prune() {
        let dir = tempfile::tempdir().unwrap();
        let a = parquet(dir.path(), "kpi/snapshot_date=2026-11-21/part-a-00000.parquet", 3);
        let b = parquet(dir.path(), "kpi/snapshot_date=2026-11-22/part-b-00000.parquet", 4);
        parquet(dir.path(), "kpi/snapshot_date=2026-11-22/part-old-00000.parquet", 100);
        parquet(dir.path(), "kpi/snapshot_date=2026-11-23/part-inflight-00000.parquet", 1000);
        parquet(dir.path(), "kpi/_delta_log/00000000000000000010.checkpoint.parquet", 10_000);
        let file = |day: &str, run: &str, bytes: u64| {
            serde_json::json!({"table": "kpi", "partition": format!("snapshot_date={day}"), "bytes": bytes,
                "path": format!("kpi/snapshot_date={day}/part-{run}-00000.parquet")})
        };
        let commit: Commit = serde_json::from_value(serde_json::json!({
            "format": crate::warehouse::commit::FORMAT, "seq": 1, "committed_at": "2026-11-22T01:00:00Z", "job": "nightly",
            "snapshot_date": "2026-11-22", "run_id": "b",
            "files": [file("2026-11-21", "a", a), file("2026-11-22", "b", b)],
        }))
        .unwrap();
        let warehouse = StoreUrl::parse(&format!("{}/", dir.path().display()), std::path::Path::new("/")).unwrap();
        let ctx = SessionContext::new();
        register(&ctx, &warehouse, &commit, "kpi", "kpi", None).await.unwrap();
        assert_eq!(count(&ctx, "SELECT count(*) FROM kpi").await, 7);
        assert_eq!(count(&ctx, "SELECT count(*) FROM kpi WHERE snapshot_date = DATE '2026-11-22'").await, 4);
        let plan = ctx.sql("EXPLAIN SELECT n FROM kpi WHERE snapshot_date = DATE '2026-11-22'").await.unwrap();
        let text = datafusion::arrow::util::pretty::pretty_format_batches(&plan.collect().await.unwrap()).unwrap();
        assert!(!text.to_string().contains("part-a-"), "the other snapshot's file is pruned:\n{text}");
        assert_eq!(count(&ctx, "SELECT count(*) FROM kpi WHERE snapshot_date > DATE '2026-11-22'").await, 0);
    }
}
