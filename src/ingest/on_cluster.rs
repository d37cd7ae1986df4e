//! Ingest on a Ballista cluster: the executors read the extracts, run the
//! staging checks and write every row once, each task its own rows, to the
//! source's folder in the run's staging (see [`super::stage_write`]):
//!
//! ```text
//! _staging/<run>/_ingest/stg_<source>/ingest_status=staged/    the staged rows: stg_<source>
//! _staging/<run>/_ingest/stg_<source>/ingest_status=rejected/  the rejected rows, with their rule
//! ```
//!
//! The client then asks the cluster for the small things it reports: the
//! staged rows counted per warnings list, and the rejected rows themselves
//! (bounded by `rejects.max_rate`), which go to the `rejects` table.

use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type, SchemaRef, UInt64Type};
use datafusion::dataframe::{DataFrame, DataFrameWriteOptions};
use datafusion::error::DataFusionError;
use datafusion::functions_aggregate::expr_fn::count;
use datafusion::logical_expr::{col, lit};
use datafusion::prelude::SessionContext;

use super::raw::FileError;
use super::stage_write::{REJECT_COLUMNS, STATUS, StagedFolder};
use super::{IngestError, SourceReport, Staging, add_warnings, count_rejects, reject_rows};
use crate::contract::SourceKind;
use crate::storage::{Location, StoreUrl};
use crate::tables;

/// Sets whether the cluster plans equi-joins as hash joins; returns the
/// setting it replaced.
///
/// Ballista plans sort-merge joins by default, since its hash joins cannot
/// spill. The staging checks join each source's raw rows to stg_subscribers
/// (the subscriber rule): as a sort-merge join every raw row, its raw text
/// included, is shuffled and sorted by subscriber; as a hash join each task
/// builds the subscriber keys (small: one row per subscriber) and streams
/// its files through, as a local run does.
pub(super) fn prefer_hash_joins(ctx: &SessionContext, prefer: bool) -> bool {
    let state = ctx.state_ref();
    let mut state = state.write();
    let optimizer = &mut state.config_mut().options_mut().optimizer;
    std::mem::replace(&mut optimizer.prefer_hash_join, prefer)
}

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

        // 1. each task writes the rows it computed, under their status
        let full: SchemaRef = Arc::new(df.schema().as_arrow().clone());
        let target = format!("_ingest_{name}");
        let folder_table = StagedFolder { folder: folder.as_str().to_string(), schema: full.clone() };
        let _ = self.ctx.deregister_table(target.as_str());
        self.ctx.register_table(target.as_str(), Arc::new(folder_table)).map_err(sql)?;
        let counts = df.write_table(&target, DataFrameWriteOptions::new()).await.map_err(sql);
        let _ = self.ctx.deregister_table(target.as_str());
        let written: u64 = counts?
            .iter()
            .flat_map(|b| b.column(0).as_primitive::<UInt64Type>().iter().flatten().collect::<Vec<_>>())
            .sum();

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
            let schema =
                full.project(&[full.index_of("_warnings").map_err(|e| sql(e.into()))?]).map_err(|e| sql(e.into()))?;
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
                let lists = cast(batch.column(0), &DataType::Utf8).map_err(|e| sql(e.into()))?;
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
            let indexes = REJECT_COLUMNS
                .iter()
                .map(|c| full.index_of(c))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| sql(e.into()))?;
            let schema = full.project(&indexes).map_err(|e| sql(e.into()))?;
            tables::register_parquet(self.ctx, &table, rejected.url.as_str(), &schema, &[]).map_err(sql)?;
            let batches = self.ctx.table(table.as_str()).await.map_err(sql)?.collect().await.map_err(sql)?;
            let _ = self.ctx.deregister_table(table.as_str());
            for batch in batches {
                // in REJECT_COLUMNS' order: _file, _row, _raw, _reject_rule
                let reject_batch =
                    reject_rows(name, batch.column(0), batch.column(1), batch.column(3), batch.column(2))
                        .map_err(|e| sql(e.into()))?;
                count_rejects(&reject_batch, report);
                rejects.push(reject_batch);
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
