//! Ingest on a Ballista cluster: the executors read the extracts, run the
//! staging checks and write every row once, each task its own rows, to the
//! source's folder in the run's staging (see [`super::stage_write`]):
//!
//! ```text
//! _staging/<run>/_ingest/source=<source>/ingest_status=staged/    the staged rows: stg_<source>
//! _staging/<run>/_ingest/source=<source>/ingest_status=rejected/  the rejected rows, with their rule
//! ```
//!
//! The client then asks the cluster for the small things it reports: the
//! staged rows counted per warnings list and the rejected ones per rule. At
//! the end of the night [`write_rejects`] makes the `rejects` table from the
//! rejected rows with one sorted query on the cluster.

use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Int64Type, Schema, SchemaRef, UInt64Type};
use datafusion::dataframe::{DataFrame, DataFrameWriteOptions};
use datafusion::error::DataFusionError;
use datafusion::functions_aggregate::expr_fn::count;
use datafusion::logical_expr::{cast as cast_expr, col, lit};
use datafusion::prelude::SessionContext;

use super::raw::FileError;
use super::stage_write::{STATUS, StagedFolder};
use super::verdicts::{Staging, add_warnings};
use super::{IngestError, SourceReport};
use crate::contract::SourceKind;
use crate::storage::{Location, StorageSettings, StoreUrl};
use crate::warehouse::tables;

/// One source's staging on the cluster.
pub(super) struct StageOnCluster<'a> {
    pub ctx: &'a SessionContext,
    pub source: SourceKind,
    pub staging: &'a Staging,
    /// The retries and timeouts of the stores it lists.
    pub storage: &'a StorageSettings,
    pub sql_err: &'a dyn Fn(DataFusionError) -> IngestError,
}

impl StageOnCluster<'_> {
    /// Stages the rows of `df` (the source's staging query) under `folder`
    /// and registers `stg_<source>` over the staged ones.
    pub async fn run(&self, df: DataFrame, folder: &StoreUrl, report: &mut SourceReport) -> Result<(), IngestError> {
        let name = self.source.name();
        let sql = |e: DataFusionError| self.error(e);
        let store_err = |error| IngestError::Storage { input: name, error };
        let location = |status: &str| {
            let url = folder.join(&format!("{STATUS}={status}/")).expect("a folder name joins any folder URL");
            Location::open(&url, self.storage).map_err(store_err)
        };

        // 1. each task writes the rows it computed, under their status
        let full: SchemaRef = Arc::new(df.schema().as_arrow().clone());
        let target = format!("_ingest_{name}");
        let folder_table = StagedFolder { folder: folder.as_str().to_string(), schema: full.clone() };
        let _ = self.ctx.deregister_table(target.as_str());
        self.ctx.register_table(target.as_str(), Arc::new(folder_table)).map_err(sql)?;
        let counts = df.write_table(&target, DataFrameWriteOptions::new()).await.map_err(sql);
        let _ = self.ctx.deregister_table(target.as_str());
        let written = rows_written(&counts?);

        // 2. the staged rows are stg_<source>; a source without any still
        // gets its (empty) file, as on a local run
        let staged = location("staged")?;
        let has_staged = !staged.list_files().await.map_err(store_err)?.is_empty();
        if !has_staged {
            let empty = tables::parquet_bytes(self.staging.staged_schema.clone(), &[]).map_err(sql)?;
            staged
                .put_bytes(&staged.url.join("empty.parquet").unwrap().store_path(), empty)
                .await
                .map_err(store_err)?;
        }
        let staging_name = self.source.staging_table();
        tables::register_parquet(self.ctx, &staging_name, staged.url.as_str(), &self.staging.staged_schema, &[])
            .map_err(sql)?;

        // 3. the staged rows, counted per warnings list
        if has_staged {
            for (list, n) in self.count_per(&staged, &full, "_warnings").await? {
                report.rows_staged += n;
                if let Some(list) = list {
                    add_warnings(&list, n, &mut report.warnings_by_rule);
                }
            }
        }

        // 4. the rejected rows, counted per rule (the rejects table is
        // written from them on the cluster too: write_rejects)
        let rejected = location("rejected")?;
        if !rejected.list_files().await.map_err(store_err)?.is_empty() {
            for (rule, n) in self.count_per(&rejected, &full, "_reject_rule").await? {
                report.rows_rejected += n;
                *report.rejects_by_rule.entry(rule.unwrap_or_default()).or_default() += n;
            }
        }
        report.rows_read = report.rows_staged + report.rows_rejected;

        // the tasks' own counts: a task run again after its result was
        // read (its executor lost) is counted twice, though its files only
        // replaced its earlier attempt's (see stage_write)
        if written != report.rows_read {
            tracing::warn!(
                written,
                in_folder = report.rows_read,
                "the cluster ran a task of {name}'s ingest twice; its second attempt replaced the first's files"
            );
        }
        Ok(())
    }

    /// The rows of the files under `folder` counted per value of `column`
    /// (of the staging query's output `full`), by a query on the cluster.
    async fn count_per(
        &self,
        folder: &Location,
        full: &Schema,
        column: &str,
    ) -> Result<Vec<(Option<String>, u64)>, IngestError> {
        let sql = |e: DataFusionError| self.error(e);
        let table = format!("_ingest_{}_{column}", self.source.name());
        let schema = full.project(&[full.index_of(column).map_err(|e| sql(e.into()))?]).map_err(|e| sql(e.into()))?;
        tables::register_parquet(self.ctx, &table, folder.url.as_str(), &schema, &[]).map_err(sql)?;
        let counted = async {
            self.ctx.table(table.as_str()).await?.aggregate(vec![col(column)], vec![count(lit(1))])?.collect().await
        }
        .await;
        let _ = self.ctx.deregister_table(table.as_str());
        let mut out = Vec::new();
        for batch in counted.map_err(sql)? {
            let values = cast(batch.column(0), &DataType::Utf8).map_err(|e| sql(e.into()))?;
            let values = values.as_string::<i32>();
            let rows = batch.column(1).as_primitive::<Int64Type>();
            for i in 0..batch.num_rows() {
                out.push((values.is_valid(i).then(|| values.value(i).to_string()), rows.value(i) as u64));
            }
        }
        Ok(out)
    }

    /// An executor's failure as ingest reports it: a file's own failure (a
    /// missing column, an unreadable file) names the file as on a local run;
    /// anything else is the staging SQL's.
    fn error(&self, e: DataFusionError) -> IngestError {
        match FileError::find_in_debug_text(&e.to_string()) {
            Some(file) => IngestError::File { input: self.source.name(), message: file.to_string() },
            None => (self.sql_err)(e),
        }
    }
}

/// Writes the night's `rejects` table from the rejected rows the tasks
/// wrote under `ingest_folder` (`source=<name>/ingest_status=rejected/`), as
/// one sorted query on the cluster; returns the rows written.
pub async fn write_rejects(ctx: &SessionContext, ingest_folder: &StoreUrl, url: &str) -> Result<u64, DataFusionError> {
    let table = "_ingest_rejected";
    let files = Schema::new(vec![
        Field::new("_file", DataType::Utf8, true),
        Field::new("_row", DataType::Int64, true),
        Field::new("_raw", DataType::Utf8, true),
        Field::new("_reject_rule", DataType::Utf8, true),
    ]);
    let partitions = [("source", DataType::Utf8), (STATUS, DataType::Utf8)];
    tables::register_parquet_with(ctx, table, ingest_folder.as_str(), &files, &partitions)?;
    let rows = ctx
        .table(table)
        .await?
        .filter(col(STATUS).eq(lit("rejected")))?
        .select(vec![
            cast_expr(col("source"), DataType::Utf8).alias("source"),
            col("_file").alias("file"),
            col("_row").alias("row_number"),
            col("_reject_rule").alias("rule"),
            col("_raw").alias("raw_record"),
        ])?
        .sort(vec![
            col("source").sort(true, false),
            col("file").sort(true, false),
            col("row_number").sort(true, false),
        ])?;
    let written = rows.write_parquet(url, DataFrameWriteOptions::new(), None).await?;
    let _ = ctx.deregister_table(table);
    Ok(rows_written(&written))
}

/// The rows a write reports (its batches of one `count` column).
fn rows_written(counts: &[RecordBatch]) -> u64 {
    counts.iter().flat_map(|b| b.column(0).as_primitive::<UInt64Type>().iter().flatten()).sum()
}
