//! Ingest: every source's extracts -> checked, typed staging tables, and the
//! rows that break a rule -> rejects.
//!
//! Per source (`source.rs`): list its files, expose them as the raw table
//! `raw_<source>`, run `sql/staging/stg_<source>.sql` over it, and split the
//! result: rows with a `_reject_rule` are rejects, the rest (without the `_`
//! columns) are the staging table `stg_<source>`, written as Parquet to the
//! run's staged folder and registered under that name. A local run splits
//! the rows in this process (`local.rs`) and writes one file to a scratch
//! folder, except the CDR's, which a [`StagedConsumer`] takes as they come
//! (the usage step folds them into usage_daily's parts: the largest extract
//! is never written out whole and read back); on a cluster the executors
//! read, check and write the rows into the run's staging in the warehouse
//! (`on_cluster.rs`, [`stage_write`]).
//! Subscribers come first, since every other source is checked against them.

mod check;
mod local;
mod on_cluster;
mod source;
mod verdicts;
pub use on_cluster::write_rejects as write_rejects_on_cluster;
pub mod raw;
pub mod scan;
pub mod stage_write;
pub(crate) mod unary;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use datafusion::arrow::array::AsArray;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::error::DataFusionError;
use datafusion::logical_expr::ScalarUDF;
use datafusion::prelude::SessionContext;

use crate::contract::SourceKind;
use crate::engine::sqlfiles;
use crate::engine::udf::known_subscriber::{KnownSubscriber, SubscriberIds};
use crate::engine::{Params, SqlError};
use crate::job::{Job, Source};
use crate::stages::session::RunSession;
use crate::storage::{Location, StorageError, StoreUrl};
use crate::warehouse::manifest::{InputFile, SourceReport};
pub use check::check_source;
pub use local::StagedConsumer;

/// Why ingest stopped the run.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("source {input}: no files under {url} (a required source)")]
    NoFiles { input: &'static str, url: String },
    #[error("source {input}: {error}")]
    Storage { input: &'static str, error: StorageError },
    #[error("source {input}: {message}")]
    File { input: &'static str, message: String },
    #[error("source {input}: {error}")]
    Sql { input: &'static str, error: SqlError },
    #[error(
        "source {input}: {rejected} of {read} rows rejected ({:.2}%), over the job's limit of {:.2}% \
         (rejects.max_rate); most rejected: {worst}{}",
        100.0 * *.rejected as f64 / *.read as f64,
        100.0 * .max_rate,
        if *.early { "; stopped reading there" } else { "" }
    )]
    OverThreshold { input: &'static str, rejected: u64, read: u64, max_rate: f64, worst: String, early: bool },
    #[error("source {input}: cannot write staging table {path}: {message}")]
    Scratch { input: &'static str, path: String, message: String },
}

/// Whether a staging query's output column is kept in the staging table:
/// the contract's columns, and `_file` (the extract each row came from, for
/// usage_daily's per-file parts); the other `_` columns only judge the row.
pub fn is_staged_column(name: &str) -> bool {
    !name.starts_with('_') || name == "_file"
}

/// The positions of a staging query's staged columns.
pub fn staged_positions(schema: &Schema) -> Vec<usize> {
    (0..schema.fields().len()).filter(|i| is_staged_column(schema.field(*i).name())).collect()
}

/// The result of ingest: where a local run wrote its rejected rows (a
/// cluster's stay there), the reports go to the caller's map.
#[derive(Debug, Default)]
pub struct Ingested {
    /// One Parquet file (rejects schema) per source with rejected rows, in
    /// the staged folder: rejects are written as they come, never held.
    pub reject_files: Vec<String>,
}

/// Where ingest writes a source's staged table in the run's staged folder.
pub fn staged_url(folder: &StoreUrl, kind: SourceKind) -> StoreUrl {
    folder.join(&format!("{}.parquet", kind.staging_table())).expect("a file name joins any folder URL")
}

/// Schema of the `rejects` table (without its snapshot_date partition).
pub fn rejects_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("source", DataType::Utf8, false),
        Field::new("file", DataType::Utf8, false),
        Field::new("row_number", DataType::Int64, false),
        Field::new("rule", DataType::Utf8, false),
        Field::new("raw_record", DataType::Utf8, true),
    ]))
}

/// The parameters the staging SQL of `source` binds.
pub(crate) fn staging_params(job: &Job, source: &Source, as_of: chrono::NaiveDate) -> Params {
    Params::new()
        .date("as_of", as_of)
        .text("currency", &job.currency)
        .text("date_format", &source.date_format)
        .text("timestamp_format", &source.timestamp_format)
        .text("timezone", &source.timezone)
        // msisdn is read only when contact exports need it
        .flag("keep_msisdn", job.exports.msisdn != crate::job::MsisdnPolicy::Drop)
}

/// Ingests every enabled source into `folder`, registering `stg_<source>`
/// tables on `ctx`.
/// Each source's report lands in `reports` as soon as it is read, so a
/// failed run's manifest still says what was read before the failure.
///
/// `folded_before` says which CDR files need not be read: those already
/// folded into usage_daily and unchanged since (see [`crate::stages::usage`]).
///
/// `cdr_consumer` (a local run only) takes the CDR's staged rows as they are
/// read instead of a staged table `stg_cdr`.
pub async fn ingest(
    session: &RunSession<'_>,
    job: &Job,
    as_of: chrono::NaiveDate,
    folder: &Location,
    folded_before: &dyn Fn(&InputFile) -> bool,
    reports: &mut BTreeMap<String, SourceReport>,
    mut cdr_consumer: Option<StagedConsumer>,
) -> Result<Ingested, IngestError> {
    let ctx = session.ctx();
    let mut out = Ingested::default();
    let run = source::IngestRun { session, job, as_of, folder };
    for source in &job.sources {
        let span = tracing::info_span!("ingest", source = source.kind.name());
        let _entered = span.enter();
        crate::observe::progress::step(&format!("ingest {}", source.kind.name()));
        let started = Instant::now();
        let skip = |file: &InputFile| source.kind == SourceKind::Cdr && folded_before(file);
        let consumer = if source.kind == SourceKind::Cdr { cdr_consumer.take() } else { None };
        let mut report = run.source(source, &skip, &mut out.reject_files, consumer).await?;
        report.seconds = started.elapsed().as_secs_f64();
        tracing::info!(
            files = report.files.len(),
            rows_read = report.rows_read,
            rows_rejected = report.rows_rejected,
            rows_staged = report.rows_staged,
            seconds = report.seconds,
            "ingested {}",
            source.kind.name()
        );
        reports.insert(source.kind.name().to_string(), report.clone());
        if source.kind == SourceKind::Subscribers {
            bind_known_subscribers(ctx).await?;
        }
        if reports.len() == 1 {
            crate::observe::fault::pause_point("ingest");
        }
        if let Some(over) = over_threshold(job, source, &report, false) {
            return Err(over);
        }
    }
    Ok(out)
}

/// Binds `cvm_known_subscriber` on `ctx` to the ids of the staged
/// subscribers: the subscriber rule of every other source.
async fn bind_known_subscribers(ctx: &SessionContext) -> Result<(), IngestError> {
    let table = SourceKind::Subscribers.staging_table();
    let sql_err = |source: DataFusionError| IngestError::Sql {
        input: SourceKind::Subscribers.name(),
        error: SqlError { file: sqlfiles::find(&table).expect("stg_subscribers.sql exists").path(), source },
    };
    let batches = ctx.table(table.as_str()).await.map_err(sql_err)?;
    let batches = batches.select_columns(&["subscriber_id"]).map_err(sql_err)?.collect().await.map_err(sql_err)?;
    let columns = batches.iter().map(|b| datafusion::arrow::compute::cast(b.column(0), &DataType::Utf8));
    let columns = columns.collect::<Result<Vec<_>, _>>().map_err(|e| sql_err(e.into()))?;
    let ids: SubscriberIds = columns.iter().flat_map(|c| c.as_string::<i32>().iter().flatten()).collect();
    tracing::debug!(subscribers = ids.len(), "subscriber rule bound");
    ctx.register_udf(ScalarUDF::from(KnownSubscriber::bound(Arc::new(ids))));
    Ok(())
}

/// Rows a source must have read before its reject rate is judged while it
/// is read: below, a few bad rows at the start of a file would stop a run
/// that ends well under the limit.
pub const EARLY_JUDGEMENT_ROWS: u64 = 100_000;

/// The error of a source whose reject rate is over the job's limit, if it is.
/// `early`: judged while reading (from [`EARLY_JUDGEMENT_ROWS`] rows on), so
/// a file of garbage stops the run at once instead of being read to its end.
fn over_threshold(job: &Job, source: &Source, report: &SourceReport, early: bool) -> Option<IngestError> {
    if report.rows_read == 0 || (early && report.rows_read < EARLY_JUDGEMENT_ROWS) {
        return None;
    }
    let rate = report.rows_rejected as f64 / report.rows_read as f64;
    if rate <= job.max_reject_rate {
        return None;
    }
    let worst = report
        .rejects_by_rule
        .iter()
        .max_by_key(|(_, n)| **n)
        .map(|(rule, n)| format!("{rule} ({n} rows)"))
        .unwrap_or_default();
    Some(IngestError::OverThreshold {
        input: source.kind.name(),
        rejected: report.rows_rejected,
        read: report.rows_read,
        max_rate: job.max_reject_rate,
        worst,
        early,
    })
}
