//! One source's ingest: its files listed into the raw table `raw_<source>`,
//! its staging SQL planned over that, and the rows staged: in this process
//! (`local.rs`) or by the cluster's executors (`on_cluster.rs`).

use std::sync::Arc;

use chrono::NaiveDate;
use datafusion::error::DataFusionError;

use super::check::parquet_schemas;
use super::local::{StageLocally, StagedConsumer};
use super::scan::{RawScan, RawTable};
use super::verdicts::Staging;
use super::{IngestError, on_cluster, raw, staging_params};
use crate::engine::{self, SqlError, sqlfiles};
use crate::job::{Format, Job, Source};
use crate::stages::session::RunSession;
use crate::storage::Location;
use crate::warehouse::manifest::{InputFile, SourceReport};

/// What every source of a night's ingest shares: the engine, the job, the
/// snapshot date and the run's staged folder.
pub(super) struct IngestRun<'a> {
    pub session: &'a RunSession<'a>,
    pub job: &'a Job,
    pub as_of: NaiveDate,
    pub folder: &'a Location,
}

impl IngestRun<'_> {
    /// Ingests `source`, but for the files `skip` says need not be read; a
    /// local run's file of rejected rows joins `reject_files`. `consumer`
    /// takes the staged rows in place of a staged table.
    pub async fn source(
        &self,
        source: &Source,
        skip: &dyn Fn(&InputFile) -> bool,
        reject_files: &mut Vec<String>,
        consumer: Option<StagedConsumer>,
    ) -> Result<SourceReport, IngestError> {
        let ctx = self.session.ctx();
        let name = source.kind.name();
        let mut report = SourceReport::default();
        let table =
            if source.enabled { self.raw_table(source, skip, &mut report).await? } else { RawTable::empty(source) };

        let raw_name = source.kind.raw_table();
        let _ = ctx.deregister_table(raw_name.as_str());
        ctx.register_table(raw_name.as_str(), Arc::new(table))
            .map_err(|e| IngestError::File { input: name, message: e.to_string() })?;

        let file = sqlfiles::find(&source.kind.staging_table()).expect("every source has a staging SQL file");
        let sql_err = |source_err: DataFusionError| IngestError::Sql {
            input: name,
            error: SqlError { file: file.path(), source: source_err },
        };
        let df = engine::plan(ctx, file, &staging_params(self.job, source, self.as_of))
            .await
            .map_err(|error| IngestError::Sql { input: name, error })?;
        let staging = Staging::of(&df, &sql_err)?;
        if self.session.on_cluster() {
            let folder = self.folder.url.join(&format!("source={name}/")).expect("a folder name joins any folder URL");
            let on_cluster = on_cluster::StageOnCluster {
                ctx,
                source: source.kind,
                staging: &staging,
                storage: &self.job.storage,
                sql_err: &sql_err,
            };
            on_cluster.run(df, &folder, &mut report).await?;
            return Ok(report);
        }
        let locally = StageLocally { ctx, job: self.job, source, staging: &staging, sql_err: &sql_err };
        locally.run(df, self.folder, consumer, &mut report, reject_files).await?;
        Ok(report)
    }

    /// The raw table of an enabled source: its files listed (into the
    /// report, each marked when `skip` says it need not be read) and the
    /// types its columns are read in.
    async fn raw_table(
        &self,
        source: &Source,
        skip: &dyn Fn(&InputFile) -> bool,
        report: &mut SourceReport,
    ) -> Result<RawTable, IngestError> {
        let name = source.kind.name();
        let location = Location::open(&source.url, &self.job.storage)
            .map_err(|error| IngestError::Storage { input: name, error })?;
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
        let parallel = self.session.ctx().copied_config().target_partitions();
        Ok(RawTable::new(RawScan::new(source, types, read, parallel)))
    }
}
