//! A local run's staging of a source: its rows split as they are read, the
//! staged ones to a Parquet file in the scratch folder (or to a
//! [`StagedConsumer`]), the rejected ones to a file of their own, each
//! counted in the source's report as it passes.

use datafusion::arrow::array::{AsArray, BooleanArray, RecordBatch};
use datafusion::arrow::compute::{filter_record_batch, is_not_null, is_null};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::dataframe::DataFrame;
use datafusion::error::DataFusionError;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::parquet::arrow::AsyncArrowWriter;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use futures::StreamExt;

use super::verdicts::{Staging, count_rejects, count_warnings, reject_rows};
use super::{IngestError, over_threshold, raw, rejects_schema, stage_write, staged_url};
use crate::contract::SourceKind;
use crate::job::{Job, Source};
use crate::storage::Location;
use crate::warehouse::manifest::SourceReport;

/// One source's staging in this process.
pub(super) struct StageLocally<'a> {
    pub ctx: &'a SessionContext,
    pub job: &'a Job,
    pub source: &'a Source,
    pub staging: &'a Staging,
    pub sql_err: &'a dyn Fn(DataFusionError) -> IngestError,
}

impl StageLocally<'_> {
    /// Stages the rows of `df` (the source's staging query): the staged ones
    /// to `stg_<source>` in `folder` (registered under that name) or to
    /// `consumer`, the rejected ones to a file whose URL joins `reject_files`.
    pub async fn run(
        &self,
        df: DataFrame,
        folder: &Location,
        consumer: Option<StagedConsumer>,
        report: &mut SourceReport,
        reject_files: &mut Vec<String>,
    ) -> Result<(), IngestError> {
        let (ctx, name, sql_err) = (self.ctx, self.source.kind.name(), self.sql_err);
        let url = staged_url(&folder.url, self.source.kind);
        let staging_name = self.source.kind.staging_table();
        let scratch_err = |message: String| IngestError::Scratch { input: name, path: url.to_string(), message };
        let mut out = match consumer {
            Some(consumer) => StagedOut::consumed_by(consumer, self.staging.staged_schema.clone()),
            None => {
                let file = object_store::buffered::BufWriter::new(folder.store.clone(), url.store_path());
                let writer = AsyncArrowWriter::try_new(
                    file,
                    self.staging.staged_schema.clone(),
                    Some(stage_write::staged_file_properties()),
                )
                .map_err(|e| scratch_err(e.to_string()))?;
                StagedOut::File(writer)
            }
        };

        let mut rejects = RejectsOut { folder, kind: self.source.kind, writer: None };
        if let Err(e) = self.split(df, report, &mut out, &mut rejects, &scratch_err).await {
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
        Ok(())
    }

    /// Runs the staging query and splits its rows as they come: the valid
    /// ones, without the `_` columns, to `out`; the rejected ones to `rejects`.
    /// Stops at the first error, or when the reject rate is over the limit.
    async fn split(
        &self,
        df: DataFrame,
        report: &mut SourceReport,
        out: &mut StagedOut,
        rejects: &mut RejectsOut<'_>,
        scratch_err: &dyn Fn(String) -> IngestError,
    ) -> Result<(), IngestError> {
        let (ctx, name, sql_err, staging) = (self.ctx, self.source.kind.name(), self.sql_err, self.staging);
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
                count_rejects(&reject_batch, report);
                rejects.write(&reject_batch).await.map_err(scratch_err)?;
                if let Some(over) = over_threshold(self.job, self.source, report, true) {
                    return Err(over);
                }
            }
        }
        Ok(())
    }
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
