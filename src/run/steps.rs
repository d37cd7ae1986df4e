//! The steps of one run, in order: ingest, usage_daily, features, models,
//! scores, customer_value and model_metrics, kpi, campaigns, rejects,
//! publish. `run/mod.rs` takes the lock before them and writes the manifest
//! after; each step here records its time and rows in the manifest.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::NaiveDate;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::Schema;
use datafusion::prelude::SessionContext;

use super::scratch::Scratch;
use super::{Built, PUBLISHED_TABLES, RunError, STAGED_TABLES, lock::SnapshotLock, publish};
use crate::engine::sqlfiles::{self, Layer};
use crate::engine::{self, Params};
use crate::job::{Job, MsisdnPolicy};
use crate::observe::{fault, progress};
use crate::stages::campaigns::{self, CampaignSize, uplift::UpliftModels};
use crate::stages::ingest::{self, Ingested};
use crate::stages::models::{self, ModelStep};
use crate::stages::session::RunSession;
use crate::stages::usage::{self, Folded, UsageBuilt};
use crate::storage::{Location, StoreUrl};
use crate::warehouse::commit::{self, Change, Commit};
use crate::warehouse::manifest::Manifest;
use crate::warehouse::staging::RunStaging;
use crate::warehouse::tables::{self, write_parquet};

/// Intermediate views besides int_subscriber_features (read by the models, the scores and the
/// marts) that more than one step reads at T: the prepaid histories, read by the prepaid model
/// and by score_lifetime (a pass over every recharge, 3-4 s at 1M lines).
const READ_AGAIN_AT_T: &[&str] = &["int_recharge_summary"];

/// A step under way: its name on the progress line now, its time and rows
/// in the manifest when done.
struct Step {
    name: &'static str,
    started: Instant,
}

impl Step {
    fn start(name: &'static str) -> Step {
        progress::step(name);
        Step { name, started: Instant::now() }
    }

    fn done(self, manifest: &mut Manifest, rows_in: u64, rows_out: u64) {
        manifest.step(self.name, self.started, rows_in, rows_out);
    }

    /// Done, and the rows it wrote are the output table of the same name.
    fn wrote(self, manifest: &mut Manifest, rows: u64) {
        manifest.output(self.name, rows);
        self.done(manifest, 0, rows);
    }
}

/// What every step of one night reads: the job, the snapshot, the engine's
/// session with the stores and job tables registered, the staging prefix.
struct Night<'a> {
    job: &'a Job,
    as_of: NaiveDate,
    staging: &'a RunStaging,
    /// The engine, on one machine or a cluster.
    session: RunSession<'a>,
    params: Params,
    /// `snapshot_date=T`, the partition of the snapshot's tables.
    snapshot: String,
    /// The local scratch folder: the staged tables of a local run, the
    /// engine's spill files. Removed when the night ends.
    scratch: Scratch,
}

pub(super) async fn run_steps(
    job: &Job,
    as_of: NaiveDate,
    staging: &RunStaging,
    manifest: &mut Manifest,
    lock: &SnapshotLock,
) -> Result<Built, RunError> {
    let night = Night::open(job, as_of, staging, &manifest.run_id).await?;
    // The tables' Delta versions, read before the published state: a run
    // publishing meanwhile is then either in both or seen at publish as a
    // change since these versions (a conflict only where it touched what
    // this run replaces)
    let read_versions = publish::read_versions(staging.location(), &PUBLISHED_TABLES).await?;
    let base = commit::latest(staging.location()).await?;
    let folded = Folded::from_commit(job, base.as_ref(), as_of);

    let (staged_folder, ingested, parts_folded) = night.ingest(manifest, &folded).await?;
    let usage = night.usage_daily(manifest, base.as_ref(), &folded, parts_folded).await?;
    let features = night.features(manifest).await?;
    let models = night.models(manifest, features).await?;
    night.scores(manifest, &models.params, features).await?;
    let uplift = night.marts(manifest, &models, base.as_ref()).await?;
    night.kpi(manifest, &models.params).await?;
    let campaigns = night.campaigns(manifest, &models.params, &uplift).await?;
    let mut warnings = models.artifact.as_ref().map(|a| a.warnings()).unwrap_or_default();
    warnings.extend(crate::run::empty_groups::by_construction(job));
    let empty = crate::run::empty_groups::in_snapshot(night.session.ctx(), &campaigns)
        .await
        .map_err(RunError::engine("empty groups"))?;
    warnings.extend(empty);
    for warning in &warnings {
        tracing::warn!("{warning}");
    }
    night.rejects(manifest, &staged_folder, &ingested).await?;
    night.publish(manifest, &usage, read_versions, lock).await?;
    Ok(Built { artifact: models.artifact, campaigns, warnings })
}

impl<'a> Night<'a> {
    async fn open(
        job: &'a Job,
        as_of: NaiveDate,
        staging: &'a RunStaging,
        run_id: &str,
    ) -> Result<Night<'a>, RunError> {
        let scratch = scratch_for(run_id)?;
        // spill files hold rows of any table, stg_subscribers' msisdn included: in the scratch
        // folder unless the job names a spill folder, so that a killed run's go with it
        let mut engine_options = job.engine.clone();
        engine_options.spill_dir.get_or_insert_with(|| scratch.path().join("spill"));
        let session = RunSession::for_run(&engine_options, staging).map_err(RunError::engine("session"))?;
        engine::register_store(session.ctx(), &job.warehouse)?;
        engine::register_store(session.ctx(), &job.input_root)?;
        for source in &job.sources {
            engine::register_store(session.ctx(), &source.url)?;
        }
        let params = models::params_at(job, as_of);
        models::register_job_tables(&session, job).await.map_err(RunError::engine("job tables"))?;
        let snapshot = format!("snapshot_date={as_of}");
        Ok(Night { job, as_of, staging, session, params, snapshot, scratch })
    }

    /// Step 1: ingest; of the CDR, only the files not yet folded into usage_daily.
    /// The staged tables go where the engine reads them: the local scratch
    /// folder, or on a cluster (whose executors read the extracts and run
    /// the checks) the run's staging in the warehouse. A local run folds the
    /// CDR into usage_daily's parts as it reads it (the parts' schema comes
    /// back in the third value).
    async fn ingest(
        &self,
        manifest: &mut Manifest,
        folded: &Folded,
    ) -> Result<(Location, Ingested, Arc<Mutex<Option<Schema>>>), RunError> {
        let step = Step::start("ingest");
        let staged_folder = Location::open(&self.staged_folder(&manifest.run_id)?)?;
        let parts_folded = Arc::new(Mutex::new(None));
        let fold_cdr = (!self.session.on_cluster())
            .then(|| usage::fold_while_ingesting(self.session.ctx(), self.staging, &self.params, parts_folded.clone()));
        let is_folded = |f: &_| folded.is_current(f);
        let ingested = ingest::ingest(
            &self.session,
            self.job,
            self.as_of,
            &staged_folder,
            &is_folded,
            &mut manifest.sources,
            fold_cdr,
        )
        .await?;
        let rows_in: u64 = manifest.sources.values().map(|s| s.rows_read).sum();
        let rows_out: u64 = manifest.sources.values().map(|s| s.rows_staged).sum();
        step.done(manifest, rows_in, rows_out);
        Ok((staged_folder, ingested, parts_folded))
    }

    /// Where ingest writes the staged tables.
    fn staged_folder(&self, run_id: &str) -> Result<StoreUrl, RunError> {
        let folder = match (self.session.on_cluster(), super::restricted_staging(self.job, run_id)) {
            (false, _) => format!("{}/", self.scratch.path().display()),
            // the staged subscribers hold msisdn: beside the contacts, not in the warehouse's staging
            (true, Some(restricted)) => {
                if restricted.store_root() != self.job.warehouse.store_root() {
                    engine::register_store(self.session.ctx(), &restricted)?;
                }
                restricted.to_string()
            }
            (true, None) => self.staging.table_url(STAGED_TABLES),
        };
        StoreUrl::parse(&folder, std::path::Path::new("/"))
            .map_err(|message| RunError::Scratch { path: folder.clone(), source: std::io::Error::other(message) })
    }

    /// Step 2: usage_daily: tonight's CDR folded in, the days it touches rebuilt.
    async fn usage_daily(
        &self,
        manifest: &mut Manifest,
        base: Option<&Commit>,
        folded: &Folded,
        parts_folded: Arc<Mutex<Option<Schema>>>,
    ) -> Result<UsageBuilt, RunError> {
        let step = Step::start("usage_daily");
        let cdr = manifest.sources.get("cdr").cloned().unwrap_or_default();
        let parts_folded = parts_folded.lock().expect("not poisoned").take();
        let usage =
            usage::build(self.session.ctx(), self.staging, base, folded, &cdr.files, &self.params, parts_folded)
                .await?;
        manifest.output("usage_daily", usage.rows);
        step.done(manifest, cdr.rows_staged, usage.rows);
        Ok(usage)
    }

    /// Step 3: the intermediate views, in the order they read each other; the
    /// monthly revenue (read at every date the models look at) and the views
    /// read more than once at T are materialised, so the views after them
    /// read the tables. Returns the lines of int_subscriber_features.
    async fn features(&self, manifest: &mut Manifest) -> Result<u64, RunError> {
        let step = Step::start("features");
        let mut lines = 0;
        for file in engine::layer_in_order(self.session.ctx(), Layer::Intermediate)? {
            if file.name == "int_subscriber_features" {
                lines = self.materialise(file, &self.params).await?;
            } else if engine::RUN_WIDE_TABLES.contains(&file.name) || READ_AGAIN_AT_T.contains(&file.name) {
                self.materialise(file, &self.params).await?;
            } else {
                engine::register_view(self.session.ctx(), file, &self.params).await?;
            }
        }
        step.done(manifest, 0, lines);
        Ok(lines)
    }

    /// Step 4: the models: fitted on small inputs pulled from the views, applied
    /// by sql/scoring with the parameters they return.
    async fn models(&self, manifest: &mut Manifest, lines: u64) -> Result<ModelStep, RunError> {
        let step = Step::start("models");
        fault::pause_point("models");
        let models = models::fit(self.session.ctx(), self.job, self.as_of).await?;
        models::register_model_tables(&self.session, &models).await.map_err(RunError::engine("models"))?;
        step.done(manifest, lines, models.metrics.len() as u64);
        Ok(models)
    }

    /// The scores, materialised: customer_value and score_value both read
    /// score_churn and score_lifetime, and a view would be computed twice.
    async fn scores(&self, manifest: &mut Manifest, scoring_params: &Params, lines: u64) -> Result<(), RunError> {
        let step = Step::start("scoring");
        let mut scored = 0;
        for file in engine::layer_in_order(self.session.ctx(), Layer::Scoring)? {
            scored = scored.max(self.materialise(file, scoring_params).await?);
        }
        step.done(manifest, lines, scored);
        Ok(())
    }

    /// Step 5: customer_value and model_metrics; customer_value is read again by
    /// kpi and the campaigns. Between them, the campaigns' uplift models,
    /// fitted on earlier waves as customer_value described them and
    /// back-tested into model_metrics.
    async fn marts(
        &self,
        manifest: &mut Manifest,
        models: &ModelStep,
        base: Option<&Commit>,
    ) -> Result<UpliftModels, RunError> {
        let warehouse = &self.staging.location().url;
        campaigns::register_history_before(&self.session, warehouse, self.as_of, base).await?;
        let customer_value = self.write_mart("customer_value", manifest, &models.params).await?;
        tables::register_parquet(self.session.ctx(), "customer_value", &customer_value.0, &customer_value.1, &[])
            .map_err(RunError::engine("customer_value"))?;
        let mut uplift = UpliftModels::new();
        if self.job.campaigns.iter().any(|c| c.ranking == crate::job::Ranking::Uplift) {
            let step = Step::start("uplift");
            let (fitted, rows) =
                campaigns::uplift::fit(self.session.ctx(), self.job, warehouse, self.as_of, base).await?;
            step.done(manifest, 0, rows.len() as u64);
            if !rows.is_empty() {
                let mut metrics = models.metrics.clone();
                metrics.extend(rows);
                models::register_metrics(&self.session, &metrics).await.map_err(RunError::engine("uplift"))?;
            }
            uplift = fitted;
        }
        self.write_mart("model_metrics", manifest, &models.params).await?;
        Ok(uplift)
    }

    /// Writes one mart of the snapshot; returns where, and its schema.
    async fn write_mart(
        &self,
        table: &'static str,
        manifest: &mut Manifest,
        params: &Params,
    ) -> Result<(String, Schema), RunError> {
        let step = Step::start(table);
        let file = sqlfiles::find(table).expect("every mart has a SQL file");
        let df = engine::plan(self.session.ctx(), file, params).await?;
        let schema = df.schema().as_arrow().clone();
        let url = self.staging.partition_url(table, &self.snapshot);
        let rows = write_parquet(df, &url, &[]).await?;
        step.wrote(manifest, rows);
        Ok((url, schema))
    }

    /// Step 6: kpi: the base, revenue and ARPU by month and group, the Pareto picture.
    async fn kpi(&self, manifest: &mut Manifest, scoring_params: &Params) -> Result<(), RunError> {
        self.write_mart("kpi", manifest, &scoring_params.clone().merged(&crate::stages::params::kpi(&self.job.kpi)))
            .await?;
        Ok(())
    }

    /// Step 7: the campaigns, in the job's priority order, then the effect of
    /// earlier waves.
    async fn campaigns(
        &self,
        manifest: &mut Manifest,
        scoring_params: &Params,
        uplift: &UpliftModels,
    ) -> Result<Vec<CampaignSize>, RunError> {
        let step = Step::start("campaigns");
        let campaigns =
            campaigns::build(&self.session, self.job, scoring_params, self.staging, self.as_of, uplift).await?;
        step.wrote(manifest, campaigns.iter().map(|c| c.rows + c.control).sum());
        let step = Step::start("campaign_effect");
        let rows = campaigns::measure(&self.session, self.staging, self.as_of).await?;
        step.wrote(manifest, rows);
        Ok(campaigns)
    }

    /// Step 8: the rejects. On a cluster the rejected rows stay there; a night
    /// without any still gets its (empty) file, written here.
    async fn rejects(&self, manifest: &mut Manifest, staged: &Location, ingested: &Ingested) -> Result<(), RunError> {
        let step = Step::start("rejects");
        let rejected_on_cluster = self.session.on_cluster() && manifest.sources.values().any(|s| s.rows_rejected > 0);
        let rows = if rejected_on_cluster {
            let url = self.staging.partition_url("rejects", &self.snapshot);
            ingest::write_rejects_on_cluster(self.session.ctx(), &staged.url, &url)
                .await
                .map_err(RunError::engine("rejects"))?
        } else {
            write_rejects(self.session.ctx(), &ingested.reject_files, self.staging, &self.snapshot).await?
        };
        manifest.output("rejects", rows);
        step.done(manifest, rows, rows);
        Ok(())
    }

    /// Step 9: publish: every table's files moved beside the published ones, then
    /// one commit makes them visible together, replacing the snapshot's
    /// partitions.
    async fn publish(
        &self,
        manifest: &mut Manifest,
        usage: &UsageBuilt,
        read_versions: BTreeMap<String, Option<u64>>,
        lock: &SnapshotLock,
    ) -> Result<(), RunError> {
        let step = Step::start("publish");
        let (job, as_of) = (self.job, self.as_of);
        if job.exports.msisdn != MsisdnPolicy::Drop {
            super::write_contacts(self.session.ctx(), job, as_of, &manifest.run_id).await?;
        }
        let mut change = Change {
            job: job.name.clone(),
            snapshot_date: as_of,
            run_id: manifest.run_id.clone(),
            replaced: Default::default(),
            added: Vec::new(),
            folded: usage.folded.clone(),
            read_versions,
        };
        for table in PUBLISHED_TABLES {
            let expected =
                if usage::TABLES.contains(&table) { usage.partitions() } else { vec![self.snapshot.clone()] };
            let partitions = self.staging.move_into_place(table, &expected, &mut change).await?;
            manifest.set_partitions(table, partitions);
        }
        fault::pause_point("publish");
        manifest.engine_memory = engine::memory_report(self.session.ctx());
        // a run whose lock was taken over (it could not renew it for a whole TTL) publishes nothing
        lock.check_held().await?;
        let commit = publish::publish(self.staging.location(), &change, job.publish.retention).await?;
        tracing::info!(seq = commit.seq, files = change.added.len(), "committed");
        if job.exports.msisdn != MsisdnPolicy::Drop
            && let Err(e) = super::remove_older_contacts(job, as_of, &manifest.run_id).await
        {
            tracing::warn!("could not remove the snapshot's older contacts files (the next run will): {e}");
        }
        step.done(manifest, 0, 0);
        Ok(())
    }

    /// Writes a SQL file's result under the run's staging prefix and registers
    /// it as a table in place of its view: for results read more than once.
    async fn materialise(&self, file: &sqlfiles::SqlFile, params: &Params) -> Result<u64, RunError> {
        let df = engine::plan(self.session.ctx(), file, params).await?;
        let schema = df.schema().as_arrow().clone();
        let url = self.staging.table_url(file.name);
        let rows = write_parquet(df, &url, &[]).await?;
        // with its schema declared: an empty result writes no file to infer it from
        tables::register_parquet(self.session.ctx(), file.name, &url, &schema, &[])
            .map_err(RunError::engine(file.name))?;
        Ok(rows)
    }
}

/// The run's local scratch folder (src/run/scratch.rs), after sweeping those of
/// killed runs. `CVM_KEEP_SCRATCH=DIR` puts it at DIR and keeps it: the
/// benchmark's DuckDB comparison reads the staged tables from there.
fn scratch_for(run_id: &str) -> Result<Scratch, RunError> {
    let kept = std::env::var_os("CVM_KEEP_SCRATCH").filter(|d| !d.is_empty()).map(std::path::PathBuf::from);
    super::scratch::sweep_abandoned(&std::env::temp_dir());
    Scratch::create(run_id, kept).map_err(|(path, source)| RunError::Scratch { path, source })
}

/// Writes the rejects ingest wrote to its staged folder (one file per
/// source), sorted by source, file and row; an empty file when there are
/// none, so every snapshot has its partition. The sort is the engine's, so
/// a night of many rejects spills under the run's memory limit.
async fn write_rejects(
    ctx: &SessionContext,
    files: &[String],
    staging: &RunStaging,
    partition: &str,
) -> Result<u64, RunError> {
    let err = RunError::engine("rejects");
    let schema = ingest::rejects_schema();
    if files.is_empty() {
        let buf = tables::parquet_bytes(schema.clone(), &[RecordBatch::new_empty(schema)]).map_err(&err)?;
        staging.put("rejects", partition, "part-0.parquet", buf).await?;
        return Ok(0);
    }
    let options = datafusion::prelude::ParquetReadOptions::default().schema(&schema);
    let sorted = ctx
        .read_parquet(files.to_vec(), options)
        .await
        .map_err(&err)?
        .sort(vec![
            datafusion::prelude::col("source").sort(true, false),
            datafusion::prelude::col("file").sort(true, false),
            datafusion::prelude::col("row_number").sort(true, false),
        ])
        .map_err(&err)?;
    Ok(write_parquet(sorted, &staging.partition_url("rejects", partition), &[]).await?)
}
