//! Ingest: every source's extracts -> checked, typed staging tables, and the
//! rows that break a rule -> rejects.
//!
//! Per source: list its files, expose them as the raw table `raw_<source>`,
//! run `sql/staging/stg_<source>.sql` over it, and split the result: rows with
//! a `_reject_rule` are rejects, the rest (without the `_` columns) are the
//! staging table `stg_<source>`, written as Parquet to the run's staged
//! folder and registered under that name. A local run splits the rows here
//! and writes one file to a scratch folder, except the CDR's, which a
//! [`StagedConsumer`] takes as they come (the usage step folds them into
//! usage_daily's parts: the largest extract is never written out whole and
//! read back); on a cluster the executors read, check and write the rows
//! into the run's staging in the warehouse (`on_cluster.rs`, [`stage_write`]).
//! Subscribers come first, since every other source is checked against them.

mod on_cluster;
pub use on_cluster::write_rejects as write_rejects_on_cluster;
pub mod raw;
pub mod scan;
pub mod stage_write;
pub(crate) mod unary;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, RecordBatch, StringArray};
use datafusion::arrow::compute::{filter_record_batch, is_not_null, is_null};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::error::DataFusionError;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::logical_expr::ScalarUDF;
use datafusion::parquet::arrow::AsyncArrowWriter;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use futures::StreamExt;
use object_store::ObjectStoreExt;

use crate::contract::SourceKind;
use crate::engine::sqlfiles;
use crate::engine::udf::known_subscriber::{KnownSubscriber, SubscriberIds};
use crate::engine::{self, Params, SqlError};
use crate::job::{Format, Job, Source};
use crate::stages::session::RunSession;
use crate::storage::{Location, StorageError, StoreUrl};
use crate::warehouse::manifest::{InputFile, SourceReport};
use scan::{RawScan, RawTable};

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

/// A source's rejected rows, written to the staged folder as they come.
struct RejectsOut<'a> {
    folder: &'a Location,
    kind: SourceKind,
    writer: Option<(String, AsyncArrowWriter<object_store::buffered::BufWriter>)>,
}

impl RejectsOut<'_> {
    async fn write(&mut self, batch: &RecordBatch) -> Result<(), String> {
        if self.writer.is_none() {
            let url =
                self.folder.url.join(&format!("rejects_{}.parquet", self.kind.name())).map_err(|e| e.to_string())?;
            let file = object_store::buffered::BufWriter::new(self.folder.store.clone(), url.store_path());
            let writer = AsyncArrowWriter::try_new(file, rejects_schema(), None).map_err(|e| e.to_string())?;
            self.writer = Some((url.to_string(), writer));
        }
        let (_, writer) = self.writer.as_mut().expect("opened above");
        writer.write(batch).await.map_err(|e| e.to_string())
    }

    /// The file written, if any row was rejected.
    async fn finish(self) -> Result<Option<String>, String> {
        match self.writer {
            Some((url, writer)) => writer.close().await.map(|_| Some(url)).map_err(|e| e.to_string()),
            None => Ok(None),
        }
    }
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
    for source in &job.sources {
        let span = tracing::info_span!("ingest", source = source.kind.name());
        let _entered = span.enter();
        crate::observe::progress::step(&format!("ingest {}", source.kind.name()));
        let started = Instant::now();
        let skip = |file: &InputFile| source.kind == SourceKind::Cdr && folded_before(file);
        let consumer = if source.kind == SourceKind::Cdr { cdr_consumer.take() } else { None };
        let mut report =
            ingest_source(session, job, source, as_of, folder, &skip, &mut out.reject_files, consumer).await?;
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

async fn ingest_source(
    session: &RunSession<'_>,
    job: &Job,
    source: &Source,
    as_of: chrono::NaiveDate,
    folder: &Location,
    skip: &dyn Fn(&InputFile) -> bool,
    reject_files: &mut Vec<String>,
    consumer: Option<StagedConsumer>,
) -> Result<SourceReport, IngestError> {
    let ctx = session.ctx();
    let name = source.kind.name();
    let mut report = SourceReport::default();
    let table = if source.enabled {
        let location = Location::open(&source.url).map_err(|error| IngestError::Storage { input: name, error })?;
        let metas = location.list_files().await.map_err(|error| IngestError::Storage { input: name, error })?;
        if metas.is_empty() && source.kind.required() {
            return Err(IngestError::NoFiles { input: name, url: source.url.to_string() });
        }
        if metas.is_empty() {
            tracing::info!("optional source {name} has no files under {}", source.url);
        }
        report.files = metas
            .iter()
            .map(|m| {
                let mut file = InputFile::listed(location.url.url_of(&m.location), m);
                file.folded_before = skip(&file);
                file
            })
            .collect();
        let read: Vec<&object_store::ObjectMeta> =
            metas.iter().zip(&report.files).filter(|(_, f)| !f.folded_before).map(|(m, _)| m).collect();
        let types = match source.format {
            Format::Parquet => raw::parquet_types(source, &parquet_schemas(name, &location, &read).await?),
            _ => raw::text_types(source.kind),
        };
        let read = read.iter().map(|m| (location.url.url_of(&m.location), m.size)).collect();
        RawTable::new(RawScan::new(source, types, read, ctx.copied_config().target_partitions()))
    } else {
        RawTable::empty(source)
    };

    let raw_name = source.kind.raw_table();
    let _ = ctx.deregister_table(raw_name.as_str());
    ctx.register_table(raw_name.as_str(), Arc::new(table))
        .map_err(|e| IngestError::File { input: name, message: e.to_string() })?;

    let file = sqlfiles::find(&source.kind.staging_table()).expect("every source has a staging SQL file");
    let sql_err = |source_err: DataFusionError| IngestError::Sql {
        input: name,
        error: SqlError { file: file.path(), source: source_err },
    };
    let df = engine::plan(ctx, file, &staging_params(job, source, as_of))
        .await
        .map_err(|error| IngestError::Sql { input: name, error })?;
    let staging = Staging::of(&df, &sql_err)?;
    if session.on_cluster() {
        let folder = folder.url.join(&format!("source={name}/")).expect("a folder name joins any folder URL");
        let on_cluster = on_cluster::StageOnCluster { ctx, source: source.kind, staging: &staging, sql_err: &sql_err };
        on_cluster.run(df, &folder, &mut report).await?;
        return Ok(report);
    }

    let url = staged_url(&folder.url, source.kind);
    let staging_name = source.kind.staging_table();
    let scratch_err = |message: String| IngestError::Scratch { input: name, path: url.to_string(), message };
    let mut out = match consumer {
        Some(consumer) => StagedOut::consumed_by(consumer, staging.staged_schema.clone()),
        None => {
            let file = object_store::buffered::BufWriter::new(folder.store.clone(), url.store_path());
            let writer = AsyncArrowWriter::try_new(
                file,
                staging.staged_schema.clone(),
                Some(stage_write::staged_file_properties()),
            )
            .map_err(|e| scratch_err(e.to_string()))?;
            StagedOut::File(writer)
        }
    };

    let mut rejects = RejectsOut { folder, kind: source.kind, writer: None };
    let split = async {
        let plan = df.create_physical_plan().await.map_err(sql_err)?;
        tracing::debug!(
            "staging plan of {name}:\n{}",
            datafusion::physical_plan::displayable(plan.as_ref()).indent(false)
        );
        let mut batches = datafusion::physical_plan::execute_stream(plan, ctx.task_ctx()).map_err(sql_err)?;
        while let Some(batch) = batches.next().await {
            let batch = batch.map_err(|e| match file_error(&e) {
                Some(message) => IngestError::File { input: name, message },
                None => sql_err(e),
            })?;
            report.rows_read += batch.num_rows() as u64;
            crate::observe::progress::rows(batch.num_rows() as u64);
            let rule = batch.column(staging.rule);
            let valid_mask = is_null(rule).map_err(|e| sql_err(e.into()))?;
            let valid = filter_record_batch(&batch, &valid_mask).map_err(|e| sql_err(e.into()))?;
            count_warnings(valid.column(staging.warnings).as_string::<i32>(), &mut report.warnings_by_rule);
            let staged = valid.project(&staging.keep).map_err(|e| sql_err(e.into()))?;
            report.rows_staged += staged.num_rows() as u64;
            out.write(staged).await.map_err(scratch_err)?;

            let reject_mask: BooleanArray = is_not_null(rule).map_err(|e| sql_err(e.into()))?;
            if reject_mask.true_count() > 0 {
                let bad = filter_record_batch(&batch, &reject_mask).map_err(|e| sql_err(e.into()))?;
                let reject_batch = reject_rows(
                    name,
                    bad.column(staging.file),
                    bad.column(staging.row),
                    bad.column(staging.rule),
                    bad.column(staging.raw),
                )
                .map_err(|e| sql_err(e.into()))?;
                count_rejects(&reject_batch, &mut report);
                rejects.write(&reject_batch).await.map_err(scratch_err)?;
                if let Some(over) = over_threshold(job, source, &report, true) {
                    return Err(over);
                }
            }
        }
        Ok(())
    };
    if let Err(e) = split.await {
        // the consumer must not go on with part of the rows: it is told, and waited for
        out.abandon(&e).await;
        return Err(e);
    }
    reject_files.extend(rejects.finish().await.map_err(scratch_err)?);
    if out.finish().await.map_err(scratch_err)? {
        let _ = ctx.deregister_table(staging_name.as_str());
        ctx.register_parquet(staging_name.as_str(), url.as_str(), ParquetReadOptions::default())
            .await
            .map_err(sql_err)?;
    }
    Ok(report)
}

/// What takes a source's staged rows in place of a staged table: started
/// with their stream, it runs while the source is read (for the CDR, the
/// usage step folds the rows into its parts as they come, so the largest
/// extract is never written out whole and read back). Its error is text.
pub type StagedConsumer =
    Box<dyn FnOnce(SendableRecordBatchStream) -> futures::future::BoxFuture<'static, Result<(), String>> + Send>;

/// Where a local run's staged rows go.
enum StagedOut {
    /// The staged table, a Parquet file in the scratch folder.
    File(AsyncArrowWriter<object_store::buffered::BufWriter>),
    /// A consumer running beside the reading, fed through a bounded channel.
    Consumed {
        rows: tokio::sync::mpsc::Sender<datafusion::error::Result<RecordBatch>>,
        task: tokio::task::JoinHandle<Result<(), String>>,
    },
}

impl StagedOut {
    fn consumed_by(consumer: StagedConsumer, schema: SchemaRef) -> StagedOut {
        let (rows, receiver) = tokio::sync::mpsc::channel(2);
        let stream = futures::stream::unfold(receiver, |mut r| async move { r.recv().await.map(|item| (item, r)) });
        let stream = Box::pin(RecordBatchStreamAdapter::new(schema, stream));
        StagedOut::Consumed { rows, task: tokio::spawn(consumer(stream)) }
    }

    async fn write(&mut self, batch: RecordBatch) -> Result<(), String> {
        match self {
            StagedOut::File(writer) => writer.write(&batch).await.map_err(|e| e.to_string()),
            StagedOut::Consumed { rows, .. } => match rows.send(Ok(batch)).await {
                Ok(()) => Ok(()),
                // the consumer stopped early: its own error says why (see finish)
                Err(_) => Ok(()),
            },
        }
    }

    /// Ends the output of a source that failed: a consumer gets the error
    /// (it fails before writing anything) and has finished when this returns.
    async fn abandon(self, error: &IngestError) {
        if let StagedOut::Consumed { rows, task } = self {
            let _ = rows.send(Err(DataFusionError::Execution(error.to_string()))).await;
            drop(rows);
            let _ = task.await;
        }
    }

    /// Closes the output; true when it was the staged table, to register.
    async fn finish(self) -> Result<bool, String> {
        match self {
            StagedOut::File(writer) => writer.close().await.map(|_| true).map_err(|e| e.to_string()),
            StagedOut::Consumed { rows, task } => {
                drop(rows);
                task.await.map_err(|e| e.to_string())?.map(|()| false)
            }
        }
    }
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

/// The columns of a source's staging query: which are staged, and where
/// the row's verdict and provenance sit.
pub(crate) struct Staging {
    pub staged_schema: SchemaRef,
    /// The staged columns' positions in the query's output.
    pub keep: Vec<usize>,
    pub file: usize,
    pub row: usize,
    pub raw: usize,
    pub rule: usize,
    pub warnings: usize,
}

impl Staging {
    fn of(
        df: &datafusion::dataframe::DataFrame,
        sql_err: &dyn Fn(DataFusionError) -> IngestError,
    ) -> Result<Staging, IngestError> {
        let full_schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
        let keep = staged_positions(&full_schema);
        let staged_schema = Arc::new(full_schema.project(&keep).map_err(|e| sql_err(e.into()))?);
        let column = |n: &str| full_schema.index_of(n).map_err(|e| sql_err(e.into()));
        Ok(Staging {
            staged_schema,
            keep,
            file: column("_file")?,
            row: column("_row")?,
            raw: column("_raw")?,
            rule: column("_reject_rule")?,
            warnings: column("_warnings")?,
        })
    }
}

/// Rejected rows in the `rejects` table's schema.
pub(crate) fn reject_rows(
    source: &str,
    file: &ArrayRef,
    row: &ArrayRef,
    rule: &ArrayRef,
    raw: &ArrayRef,
) -> Result<RecordBatch, datafusion::arrow::error::ArrowError> {
    let n = rule.len();
    RecordBatch::try_new(
        rejects_schema(),
        vec![
            Arc::new(StringArray::from(vec![source; n])),
            datafusion::arrow::compute::cast(file, &DataType::Utf8)?,
            datafusion::arrow::compute::cast(row, &DataType::Int64)?,
            datafusion::arrow::compute::cast(rule, &DataType::Utf8)?,
            datafusion::arrow::compute::cast(raw, &DataType::Utf8)?,
        ],
    )
}

/// Adds a batch of rejects (in the `rejects` schema) to the source's counts.
pub(crate) fn count_rejects(rejects: &RecordBatch, report: &mut SourceReport) {
    for rule in rejects.column(3).as_string::<i32>().iter().flatten() {
        *report.rejects_by_rule.entry(rule.to_string()).or_default() += 1;
    }
    report.rows_rejected += rejects.num_rows() as u64;
}

fn count_warnings(warnings: &StringArray, counts: &mut BTreeMap<String, u64>) {
    for text in warnings.iter().flatten() {
        add_warnings(text, 1, counts);
    }
}

/// Counts each rule of a comma-separated warnings list `rows` times.
pub(crate) fn add_warnings(list: &str, rows: u64, counts: &mut BTreeMap<String, u64>) {
    for rule in list.split(',').filter(|r| !r.is_empty()) {
        *counts.entry(rule.to_string()).or_default() += rows;
    }
}

/// The message of a file-level failure buried in an engine error, if any.
fn file_error(e: &DataFusionError) -> Option<String> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = current {
        if let Some(file) = err.downcast_ref::<raw::FileError>() {
            return Some(file.to_string());
        }
        if let Some(DataFusionError::External(inner)) = err.downcast_ref::<DataFusionError>()
            && let Some(file) = inner.downcast_ref::<raw::FileError>()
        {
            return Some(file.to_string());
        }
        current = err.source();
    }
    None
}

/// Checks a source without ingesting it: its files are listed and each one's
/// header (or Parquet schema) must map onto the contract. Reads only the
/// start of a text file and the footer of a Parquet file, never whole extracts.
pub async fn check_source(source: &Source) -> Result<usize, IngestError> {
    let name = source.kind.name();
    if !source.enabled {
        return Ok(0);
    }
    let location = Location::open(&source.url).map_err(|error| IngestError::Storage { input: name, error })?;
    let files = location.list_files().await.map_err(|error| IngestError::Storage { input: name, error })?;
    if files.is_empty() && source.kind.required() {
        return Err(IngestError::NoFiles { input: name, url: source.url.to_string() });
    }
    let file_err = |e: &dyn std::fmt::Display| IngestError::File { input: name, message: e.to_string() };
    for meta in &files {
        let url = location.url.url_of(&meta.location);
        if source.format == Format::Parquet {
            let schema = parquet_schema(&location, meta)
                .await
                .map_err(|message| file_err(&raw::FileError::Unreadable { file: url.clone(), message }))?;
            let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
            raw::check_parquet_columns(source, &url, &names).map_err(|e| file_err(&e))?;
        } else {
            let end = meta.size.min(raw::HEADER_PREFIX_BYTES);
            let prefix = location.store.get_range(&meta.location, 0..end).await.map_err(|e| IngestError::Storage {
                input: name,
                error: StorageError { url: url.clone(), source: e },
            })?;
            raw::check_text_header(source, &url, prefix).map_err(|e| file_err(&e))?;
        }
    }
    Ok(files.len())
}

/// The Arrow schemas of a source's Parquet files, from their footers, a few
/// at a time; a file whose footer cannot be read fails the source.
async fn parquet_schemas(
    input: &'static str,
    location: &Location,
    files: &[&object_store::ObjectMeta],
) -> Result<Vec<Schema>, IngestError> {
    futures::stream::iter(files.iter().map(|meta| async move {
        parquet_schema(location, meta).await.map_err(|message| IngestError::File {
            input,
            message: raw::FileError::Unreadable { file: location.url.url_of(&meta.location), message }.to_string(),
        })
    }))
    .buffered(8)
    .collect::<Vec<_>>()
    .await
    .into_iter()
    .collect()
}

/// The Arrow schema of a Parquet file, from its footer alone.
async fn parquet_schema(location: &Location, meta: &object_store::ObjectMeta) -> Result<Schema, String> {
    let footer = crate::warehouse::tables::read_footer(&location.store, &meta.location, meta.size).await?;
    crate::warehouse::tables::footer_schema(&footer)
}
