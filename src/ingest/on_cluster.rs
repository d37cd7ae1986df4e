//! Ingest on a Ballista cluster: the executors read the extracts, run the
//! staging checks and write every row once, to the source's folder in the
//! run's staging:
//!
//! ```text
//! _staging/<run>/_ingest/stg_<source>/ingest_status=staged/    the staged rows: stg_<source>
//! _staging/<run>/_ingest/stg_<source>/ingest_status=rejected/  the rejected rows, with their rule
//! ```
//!
//! The client then asks the cluster for the small things it reports: the
//! staged rows counted per warnings list, and the rejected rows themselves
//! (bounded by `rejects.max_rate`), which go to the `rejects` table.

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{Int64Type, Schema};
use datafusion::dataframe::{DataFrame, DataFrameWriteOptions};
use datafusion::error::DataFusionError;
use datafusion::functions_aggregate::expr_fn::count;
use datafusion::logical_expr::{Expr, col, lit, when};
use datafusion::prelude::SessionContext;

use super::raw::FileError;
use super::{IngestError, SourceReport, Staging, add_warnings, count_rejects, reject_rows};
use crate::contract::SourceKind;
use crate::storage::{Location, StoreUrl};
use crate::tables;

/// The hive partition that says whether a row was staged or rejected.
const STATUS: &str = "ingest_status";

/// One source's staging on the cluster.
pub(super) struct StageOnCluster<'a> {
    pub ctx: &'a SessionContext,
    pub source: SourceKind,
    pub staging: &'a Staging,
    pub sql_err: &'a dyn Fn(DataFusionError) -> IngestError,
}

impl StageOnCluster<'_> {
    /// Stages the rows of `df` (the source's staging query) under `folder`
    /// and registers `stg_<source>` over the staged ones.
    pub async fn run(
        &self,
        df: DataFrame,
        folder: &StoreUrl,
        report: &mut SourceReport,
        rejects: &mut Vec<datafusion::arrow::array::RecordBatch>,
    ) -> Result<(), IngestError> {
        let name = self.source.name();
        let sql = |e: DataFusionError| self.error(e);
        let store_err = |error| IngestError::Storage { input: name, error };
        let location = |status: &str| {
            let url = folder.join(&format!("{STATUS}={status}/")).expect("a folder name joins any folder URL");
            Location::open(&url).map_err(store_err)
        };

        // 1. one pass on the executors: each row written once, under its status
        let rejected = col("_reject_rule").is_not_null();
        let mut columns: Vec<Expr> =
            self.staging.staged_schema.fields().iter().map(|f| Expr::Column(f.name().as_str().into())).collect();
        // the warnings of staged rows, and where a rejected row came from and what it said
        columns.push(when(col("_reject_rule").is_null(), col("_warnings")).end().map_err(sql)?.alias("_warnings"));
        columns.push(col("_reject_rule"));
        columns.push(when(rejected.clone(), col("_row")).end().map_err(sql)?.alias("_row"));
        columns.push(when(rejected.clone(), col("_raw")).end().map_err(sql)?.alias("_raw"));
        columns.push(when(rejected, lit("rejected")).otherwise(lit("staged")).map_err(sql)?.alias(STATUS));
        let rows = df.select(columns).map_err(sql)?;
        let written: Schema = rows.schema().as_arrow().clone();
        let options =
            DataFrameWriteOptions::new().with_single_file_output(false).with_partition_by(vec![STATUS.to_string()]);
        rows.write_parquet(folder.as_str(), options, None).await.map_err(sql)?;

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
            let table = format!("_ingest_{name}_warnings");
            let schema = written
                .project(&[written.index_of("_warnings").map_err(|e| sql(e.into()))?])
                .map_err(|e| sql(e.into()))?;
            tables::register_parquet(self.ctx, &table, staged.url.as_str(), &schema, &[]).map_err(sql)?;
            let counted = self
                .ctx
                .table(table.as_str())
                .await
                .map_err(sql)?
                .aggregate(vec![col("_warnings")], vec![count(lit(1)).alias("rows")])
                .map_err(sql)?
                .collect()
                .await
                .map_err(sql)?;
            let _ = self.ctx.deregister_table(table.as_str());
            for batch in counted {
                let lists =
                    datafusion::arrow::compute::cast(batch.column(0), &datafusion::arrow::datatypes::DataType::Utf8)
                        .map_err(|e| sql(e.into()))?;
                let lists = lists.as_string::<i32>();
                let rows = batch.column(1).as_primitive::<Int64Type>();
                for i in 0..batch.num_rows() {
                    let n = rows.value(i) as u64;
                    report.rows_staged += n;
                    if lists.is_valid(i) {
                        add_warnings(lists.value(i), n, &mut report.warnings_by_rule);
                    }
                }
            }
        }

        // 4. the rejected rows come back for the rejects table
        let rejected = location("rejected")?;
        if !rejected.list_files().await.map_err(store_err)?.is_empty() {
            let table = format!("_ingest_{name}_rejected");
            let wanted = ["_file", "_row", "_raw", "_reject_rule"];
            let indexes =
                wanted.iter().map(|c| written.index_of(c)).collect::<Result<Vec<_>, _>>().map_err(|e| sql(e.into()))?;
            let schema = written.project(&indexes).map_err(|e| sql(e.into()))?;
            tables::register_parquet(self.ctx, &table, rejected.url.as_str(), &schema, &[]).map_err(sql)?;
            let batches = self.ctx.table(table.as_str()).await.map_err(sql)?.collect().await.map_err(sql)?;
            let _ = self.ctx.deregister_table(table.as_str());
            for batch in batches {
                let reject_batch =
                    reject_rows(name, batch.column(0), batch.column(1), batch.column(3), batch.column(2))
                        .map_err(|e| sql(e.into()))?;
                count_rejects(&reject_batch, report);
                rejects.push(reject_batch);
            }
        }
        report.rows_read = report.rows_staged + report.rows_rejected;
        Ok(())
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
