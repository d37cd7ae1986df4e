//! The steps of one run, in order: ingest, usage_daily, features, models,
//! scores, customer_value and model_metrics, kpi, campaigns, rejects,
//! publish. `run/mod.rs` takes the lock before them and writes the manifest
//! after; each step here records its time and rows in the manifest.

use std::time::Instant;

use chrono::NaiveDate;

mod compute;
mod write;

use super::scratch::Scratch;
use super::{Built, PUBLISHED_TABLES, RunError, lock::SnapshotLock, publish};
use crate::engine::{self, Params};
use crate::job::Job;
use crate::observe::progress;
use crate::stages::models::{self};
use crate::stages::session::RunSession;
use crate::stages::usage::Folded;
use crate::warehouse::commit::{self};
use crate::warehouse::manifest::Manifest;
use crate::warehouse::staging::RunStaging;

/// Intermediate views besides int_subscriber_features (read by the models, the scores and the
/// marts) that more than one step reads at T: the prepaid histories, read by the prepaid model
/// and by score_lifetime (a pass over every recharge, 3-4 s at 1M lines); the usage windows and
/// the recent top-ups, read by the features and again by the screening's rules and model.
const READ_AGAIN_AT_T: &[&str] = &["int_recharge_summary", "int_usage_windows", "int_recharge_behaviour"];

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
    night.quality(manifest).await?;
    let features = night.features(manifest).await?;
    let fraud_metrics = night.screening(manifest).await?;
    let models = night.models(manifest, features, fraud_metrics).await?;
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
    Ok(Built { artifact: models.artifact, fit_to_store: models.to_store, campaigns, warnings })
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
        let session =
            RunSession::for_run(&engine_options, &job.storage, staging).map_err(RunError::engine("session"))?;
        engine::register_store(session.ctx(), &job.warehouse, &job.storage)?;
        engine::register_store(session.ctx(), &job.input_root, &job.storage)?;
        for source in &job.sources {
            engine::register_store(session.ctx(), &source.url, &job.storage)?;
        }
        let params = models::params_at(job, as_of);
        models::register_job_tables(&session, job).await.map_err(RunError::engine("job tables"))?;
        let snapshot = format!("snapshot_date={as_of}");
        Ok(Night { job, as_of, staging, session, params, snapshot, scratch })
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
