//! `cvm run`: the nightly job for one snapshot T, from extracts to published
//! tables and a run manifest.
//!
//! ingest -> usage_daily -> intermediate views -> subscriber features ->
//! models -> scoring -> customer_value, model_metrics -> kpi -> campaigns ->
//! rejects -> publish -> manifest and model artifact -> campaign exports and
//! the HTML report. Every table is written under the run's staging prefix
//! first and published only when every step has succeeded.

pub mod empty_groups;
pub mod lock;
pub mod publish;
pub mod rollback;
pub mod scratch;
use std::collections::BTreeMap;
use std::time::Instant;

use chrono::NaiveDate;
use datafusion::arrow::array::RecordBatch;
use datafusion::error::DataFusionError;
use datafusion::prelude::SessionContext;
use serde::Serialize;

use crate::engine::sqlfiles::{self, Layer};
use crate::engine::{self, SqlError, StepError};
use crate::job::{Job, MsisdnPolicy};
use crate::run::scratch::Scratch;
use crate::stages::campaigns::export::{self, ExportError, ExportReport};
use crate::stages::campaigns::{self, CampaignError, CampaignSize};
use crate::stages::ingest::{self, IngestError};
use crate::stages::models::{self, ModelArtifact};
use crate::stages::usage;
use crate::storage::{Location, StorageError, StoreUrl};
use crate::warehouse::commit::{Change, CommitError};
use crate::warehouse::manifest::SourceReport;
use crate::warehouse::manifest::{Manifest, TableReport};
use crate::warehouse::staging::RunStaging;
use crate::warehouse::tables;
use crate::warehouse::tables::write_parquet;
use lock::{LockError, SnapshotLock};

/// The folder of a run's staging that holds the staged sources on a cluster.
const STAGED_TABLES: &str = "_ingest";

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Ingest(#[from] IngestError),
    /// An SQL file or a plan of a step failed in the engine.
    #[error(transparent)]
    Step(#[from] StepError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Campaign(#[from] CampaignError),
    #[error(transparent)]
    Export(#[from] ExportError),
    #[error(
        "the snapshot is published, but exporting its campaigns failed (export them with cvm campaign export): {0}"
    )]
    ExportAfterPublish(ExportError),
    #[error("cannot create scratch folder {path}: {source}")]
    Scratch { path: String, source: std::io::Error },
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error("publish: {0}; nothing of this run is published")]
    Commit(#[from] CommitError),
}

impl From<SqlError> for RunError {
    fn from(error: SqlError) -> RunError {
        RunError::Step(error.into())
    }
}

impl RunError {
    pub(crate) fn engine(step: &str) -> impl Fn(DataFusionError) -> RunError + '_ {
        move |source| RunError::Step(StepError::Engine { step: step.to_string(), source })
    }
}

/// What a successful run produced.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    pub run_id: String,
    pub snapshot_date: NaiveDate,
    pub manifest_url: String,
    pub tables: BTreeMap<String, TableReport>,
    pub sources: BTreeMap<String, SourceReport>,
    /// The fitted models' report and where their artifact is.
    pub model_report: String,
    /// Fits that failed (and what was used instead), and groups the job or
    /// this snapshot left empty: printed before anything else.
    pub warnings: Vec<String>,
    pub model_artifact_url: Option<String>,
    /// The churn model's back-test AUC, when it could be measured.
    pub backtest_auc: Option<f64>,
    pub campaigns: Vec<CampaignSize>,
    /// The campaign files written (`[exports] on_run`).
    pub exports: Vec<ExportReport>,
    pub report_url: Option<String>,
}

/// What the steps of a run built, besides the published tables.
struct Built {
    artifact: Option<ModelArtifact>,
    campaigns: Vec<CampaignSize>,
    warnings: Vec<String>,
}

/// Runs the job for snapshot `as_of`. On failure nothing is published; a
/// manifest with status `failed` is still written. Campaign exports and
/// the HTML report follow a successful publish.
pub async fn run(job: &Job, as_of: NaiveDate) -> Result<RunSummary, RunError> {
    crate::storage::configure(&job.storage);
    // hashed exports need their key: find out now, not after an hour of work
    if job.exports.on_run && job.exports.msisdn == MsisdnPolicy::Hmac {
        export::hmac_key(job)?;
    }
    let run_id = new_run_id();
    let warehouse = Location::open(&job.warehouse)?;
    let lock = lock::acquire(&warehouse, &job.name, as_of, &run_id, job.publish.lock_ttl).await?;
    let result = run_locked(job, as_of, &run_id, &warehouse, &lock).await;
    lock.release().await;
    result
}

async fn run_locked(
    job: &Job,
    as_of: NaiveDate,
    run_id: &str,
    warehouse: &Location,
    lock: &SnapshotLock,
) -> Result<RunSummary, RunError> {
    let live = lock::live_holders(warehouse).await.unwrap_or_default();
    let dead = lock.took_over_from.as_deref();
    if let Err(e) = publish::sweep_leftovers(warehouse, &PUBLISHED_TABLES, dead, &live, job.publish.lock_ttl).await {
        tracing::warn!("could not sweep the leftovers of earlier runs: {e}");
    }
    if let Err(e) = rollback::roll_back_unfinished(warehouse, &PUBLISHED_TABLES, &live, run_id).await {
        tracing::warn!("could not undo the table versions of a run that died while publishing: {e}");
    }
    if let Some(restricted) = restricted_staging_root(job)
        && let Err(e) = publish::sweep_restricted_staging(&restricted, dead, &live, job.publish.lock_ttl).await
    {
        tracing::warn!("could not sweep the restricted staging of earlier runs: {e}");
    }
    let mut manifest = Manifest::start(job, as_of, run_id);
    let staging = RunStaging::new(&job.warehouse, run_id)?;
    let result = run_steps(job, as_of, &staging, &mut manifest, lock).await;
    // whatever happened, the staging prefix goes (on success it is empty but for folders)
    if let Err(e) = staging.clean_up().await {
        tracing::warn!("could not clean up the run's staging prefix: {e}");
    }
    if let Some(restricted) = restricted_staging(job, run_id)
        && let Err(e) = remove_folder(&restricted).await
    {
        tracing::warn!("could not remove the run's restricted staging (the next run will): {e}");
    }
    let built = match result {
        Ok(built) => built,
        Err(e) => {
            // files this run moved beside the published ones but never committed
            // (and old leftovers of dead runs: never those of runs still live)
            let own = Some(run_id);
            let live = lock::live_holders(warehouse).await.unwrap_or_default();
            let swept = publish::sweep_leftovers(warehouse, &PUBLISHED_TABLES, own, &live, job.publish.lock_ttl).await;
            if let Err(sweep_error) = swept {
                tracing::warn!("could not remove this run's unpublished files (the next run will): {sweep_error}");
            }
            manifest.finish_failed(&e.to_string());
            if let Err(write_err) = manifest.write(&job.warehouse).await {
                tracing::warn!("could not write the failed run's manifest: {write_err}");
            }
            return Err(e);
        }
    };
    manifest.finish_ok();
    let model_artifact_url = match &built.artifact {
        Some(a) => Some(manifest.write_beside(&job.warehouse, "models", a).await?),
        None => None,
    };
    let manifest_url = manifest.write(&job.warehouse).await?;
    let exports = if job.exports.on_run {
        export::export_all(job, as_of).await.map_err(RunError::ExportAfterPublish)?
    } else {
        Vec::new()
    };
    let report_url = match crate::stages::report::write(job, as_of).await {
        Ok(url) => Some(url),
        Err(e) => {
            tracing::warn!("the snapshot is published but its HTML report could not be written: {e}");
            None
        }
    };
    Ok(RunSummary {
        run_id: run_id.to_string(),
        snapshot_date: as_of,
        manifest_url,
        tables: manifest.outputs.clone(),
        sources: manifest.sources.clone(),
        model_report: built.artifact.as_ref().map(|a| a.report()).unwrap_or_default(),
        warnings: built.warnings,
        model_artifact_url,
        backtest_auc: built.artifact.as_ref().and_then(|a| a.churn.backtest.as_ref()).and_then(|b| b.auc),
        campaigns: built.campaigns,
        exports,
        report_url,
    })
}

fn new_run_id() -> String {
    let now = chrono::Utc::now();
    let nanos = now.timestamp_subsec_nanos() ^ std::process::id().rotate_left(16);
    format!("{}-{:08x}", now.format("%Y%m%dT%H%M%SZ"), nanos)
}

async fn run_steps(
    job: &Job,
    as_of: NaiveDate,
    staging: &RunStaging,
    manifest: &mut Manifest,
    lock: &SnapshotLock,
) -> Result<Built, RunError> {
    let scratch = scratch_for(&manifest.run_id)?;
    // spill files hold rows of any table, stg_subscribers' msisdn included: in the scratch
    // folder unless the job names a spill folder, so that a killed run's go with it
    let mut engine_options = job.engine.clone();
    engine_options.spill_dir.get_or_insert_with(|| scratch.path().join("spill"));
    let ctx = engine::session(&engine_options).map_err(RunError::engine("session"))?;
    engine::register_store(&ctx, &job.warehouse)?;
    engine::register_store(&ctx, &job.input_root)?;
    for source in &job.sources {
        engine::register_store(&ctx, &source.url)?;
    }
    let params = models::params_at(job, as_of);
    // on a cluster, tables computed here go to the run's staging for the executors
    let shared = job.engine.cluster.as_ref().map(|_| staging);
    models::register_job_tables(&ctx, job, shared).await.map_err(RunError::engine("job tables"))?;
    let snapshot = format!("snapshot_date={as_of}");

    // The tables' Delta versions, read before the published state: a run
    // publishing meanwhile is then either in both or seen at publish as a
    // change since these versions (a conflict only where it touched what
    // this run replaces)
    let read_versions = publish::read_versions(staging.location(), &PUBLISHED_TABLES).await?;

    // 1. ingest; of the CDR, only the files not yet folded into usage_daily.
    // The staged tables go where the engine reads them: a local scratch
    // folder, or on a cluster (whose executors read the extracts and run the
    // checks) the run's staging in the warehouse
    let base = crate::warehouse::commit::latest(staging.location()).await?;
    let folded = usage::Folded::from_commit(job, base.as_ref(), as_of);
    let started = Instant::now();
    let staged_folder = match (shared, restricted_staging(job, &manifest.run_id)) {
        (None, _) => format!("{}/", scratch.path().display()),
        // the staged subscribers hold msisdn: beside the contacts, not in the warehouse's staging
        (Some(_), Some(restricted)) => {
            if restricted.store_root() != job.warehouse.store_root() {
                engine::register_store(&ctx, &restricted)?;
            }
            restricted.to_string()
        }
        (Some(staging), None) => staging.table_url(STAGED_TABLES),
    };
    let staged_folder = StoreUrl::parse(&staged_folder, std::path::Path::new("/"))
        .map_err(|message| RunError::Scratch { path: staged_folder.clone(), source: std::io::Error::other(message) })?;
    let staged_folder = Location::open(&staged_folder)?;
    // a local run folds the CDR into usage_daily's parts as it reads it
    let parts_folded = std::sync::Arc::new(std::sync::Mutex::new(None));
    let fold_cdr = shared.is_none().then(|| usage::fold_while_ingesting(&ctx, staging, &params, parts_folded.clone()));
    let ingested =
        ingest::ingest(&ctx, job, as_of, &staged_folder, &|f| folded.is_current(f), &mut manifest.sources, fold_cdr)
            .await?;
    let rows_in: u64 = manifest.sources.values().map(|s| s.rows_read).sum();
    let rows_out: u64 = manifest.sources.values().map(|s| s.rows_staged).sum();
    manifest.step("ingest", started, rows_in, rows_out);

    // 2. usage_daily: tonight's CDR folded in, the days it touches rebuilt
    let started = Instant::now();
    crate::observe::progress::step("usage_daily");
    let cdr = manifest.sources.get("cdr").cloned().unwrap_or_default();
    let parts_folded = parts_folded.lock().expect("not poisoned").take();
    let usage = usage::build(&ctx, staging, base.as_ref(), &folded, &cdr.files, &params, parts_folded).await?;
    manifest.step("usage_daily", started, cdr.rows_staged, usage.rows);
    manifest.output("usage_daily", usage.rows);

    // 3. intermediate views, in the order they read each other; the monthly revenue (read at
    // every date the models look at) and the views read more than once at T are materialised,
    // so the views after them read the tables
    let started = Instant::now();
    let mut rows = 0;
    for file in engine::layer_in_order(&ctx, Layer::Intermediate)? {
        if file.name == "int_subscriber_features" {
            rows = materialise(&ctx, file, &params, staging).await?;
        } else if engine::RUN_WIDE_TABLES.contains(&file.name) || READ_AGAIN_AT_T.contains(&file.name) {
            materialise(&ctx, file, &params, staging).await?;
        } else {
            engine::register_view(&ctx, file, &params).await?;
        }
    }
    manifest.step("features", started, 0, rows);

    // 4. models: fitted on small inputs pulled from the views, applied by sql/scoring
    let started = Instant::now();
    crate::observe::progress::step("models");
    crate::observe::fault::pause_point("models");
    let models = models::fit(&ctx, job, as_of).await?;
    models::register_model_tables(&ctx, &models, shared).await.map_err(RunError::engine("models"))?;
    let scoring_params = models.params.clone();
    manifest.step("models", started, rows, models.metrics.len() as u64);

    // the scores, materialised: customer_value and score_value both read
    // score_churn and score_lifetime, and a view would be computed twice
    let started = Instant::now();
    crate::observe::progress::step("scoring");
    for file in engine::layer_in_order(&ctx, Layer::Scoring)? {
        materialise(&ctx, file, &scoring_params, staging).await?;
    }
    manifest.step("scoring", started, rows, rows);

    // 5. customer_value and model_metrics; customer_value is read again by kpi and the campaigns.
    // Between them, the campaigns' uplift models, fitted on earlier waves as customer_value
    // described them and back-tested into model_metrics.
    campaigns::register_history_before(&ctx, &staging.location().url, as_of, base.as_ref(), shared).await?;
    let mut uplift = campaigns::uplift::UpliftModels::new();
    let ranks_by_uplift = job.campaigns.iter().any(|c| c.ranking == crate::job::Ranking::Uplift);
    for table in ["customer_value", "model_metrics"] {
        if table == "model_metrics" && ranks_by_uplift {
            let started = Instant::now();
            let warehouse = &staging.location().url;
            let (fitted, rows) = campaigns::uplift::fit(&ctx, job, warehouse, as_of, base.as_ref()).await?;
            manifest.step("uplift", started, 0, rows.len() as u64);
            if !rows.is_empty() {
                let mut metrics = models.metrics.clone();
                metrics.extend(rows);
                models::register_metrics(&ctx, &metrics, shared).await.map_err(RunError::engine("uplift"))?;
            }
            uplift = fitted;
        }
        let started = Instant::now();
        crate::observe::progress::step(table);
        let file = sqlfiles::find(table).expect("every mart has a SQL file");
        let df = engine::plan(&ctx, file, &scoring_params).await?;
        let schema = df.schema().as_arrow().clone();
        let url = staging.partition_url(table, &snapshot);
        let rows = write_parquet(df, &url, &[]).await?;
        if table == "customer_value" {
            tables::register_parquet(&ctx, table, &url, &schema, &[]).map_err(RunError::engine(table))?;
        }
        manifest.step(table, started, 0, rows);
        manifest.output(table, rows);
    }

    // 6. kpi: the base, revenue and ARPU by month and group, the Pareto picture
    let started = Instant::now();
    crate::observe::progress::step("kpi");
    let kpi_params = scoring_params.clone().merged(&job.kpi.params());
    let df = engine::plan(&ctx, sqlfiles::find("kpi").expect("kpi.sql exists"), &kpi_params).await?;
    let rows = write_parquet(df, &staging.partition_url("kpi", &snapshot), &[]).await?;
    manifest.step("kpi", started, 0, rows);
    manifest.output("kpi", rows);

    // 7. campaigns, in the job's priority order
    let started = Instant::now();
    let campaigns = campaigns::build(&ctx, job, &scoring_params, staging, as_of, &uplift).await?;
    let rows = campaigns.iter().map(|c| c.rows + c.control).sum();
    manifest.step("campaigns", started, 0, rows);
    manifest.output("campaigns", rows);
    let started = Instant::now();
    let rows = campaigns::measure(&ctx, job, staging, as_of).await?;
    manifest.step("campaign_effect", started, 0, rows);
    manifest.output("campaign_effect", rows);
    let mut warnings = models.artifact.as_ref().map(|a| a.warnings()).unwrap_or_default();
    warnings.extend(crate::run::empty_groups::by_construction(job));
    let empty =
        crate::run::empty_groups::in_snapshot(&ctx, &campaigns).await.map_err(RunError::engine("empty groups"))?;
    warnings.extend(empty);
    for warning in &warnings {
        tracing::warn!("{warning}");
    }

    // 8. rejects
    let started = Instant::now();
    // on a cluster the rejected rows stay there; a night without any still
    // gets its (empty) file, written here
    let rows = match shared {
        Some(_) if manifest.sources.values().any(|s| s.rows_rejected > 0) => {
            let url = staging.partition_url("rejects", &snapshot);
            ingest::write_rejects_on_cluster(&ctx, &staged_folder.url, &url)
                .await
                .map_err(RunError::engine("rejects"))?
        }
        _ => write_rejects(&ctx, &ingested.reject_files, staging, &snapshot).await?,
    };
    manifest.step("rejects", started, rows, rows);
    manifest.output("rejects", rows);

    // 9. publish: every table's files moved beside the published ones, then
    // one commit makes them visible together, replacing the snapshot's partitions
    let started = Instant::now();
    crate::observe::progress::step("publish");
    if job.exports.msisdn != MsisdnPolicy::Drop {
        write_contacts(&ctx, job, as_of, &manifest.run_id).await?;
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
        let expected = if usage::TABLES.contains(&table) { usage.partitions() } else { vec![snapshot.clone()] };
        let partitions = staging.move_into_place(table, &expected, &mut change).await?;
        manifest.set_partitions(table, partitions);
    }
    crate::observe::fault::pause_point("publish");
    manifest.engine_memory = engine::memory_report(&ctx);
    // a run whose lock was taken over (it could not renew it for a whole TTL) publishes nothing
    lock.check_held().await?;
    let commit = publish::publish(staging.location(), &change, job.publish.retention).await?;
    tracing::info!(seq = commit.seq, files = change.added.len(), "committed");
    if job.exports.msisdn != MsisdnPolicy::Drop
        && let Err(e) = remove_older_contacts(job, as_of, &manifest.run_id).await
    {
        tracing::warn!("could not remove the snapshot's older contacts files (the next run will): {e}");
    }
    manifest.step("publish", started, 0, 0);
    Ok(Built { artifact: models.artifact, campaigns, warnings })
}

/// Where runs on a cluster stage the extracts when the job keeps msisdn:
/// `<exports.contacts>/_staging/`, under the contacts' tighter access (a
/// local run stages in its private scratch folder; a job that drops msisdn
/// stages none).
fn restricted_staging_root(job: &Job) -> Option<StoreUrl> {
    let keeps_msisdn = job.exports.msisdn != MsisdnPolicy::Drop;
    (keeps_msisdn && job.engine.cluster.is_some()).then(|| job.exports.contacts.join("_staging/").ok()).flatten()
}

/// This run's folder below [`restricted_staging_root`].
fn restricted_staging(job: &Job, run_id: &str) -> Option<StoreUrl> {
    restricted_staging_root(job)?.join(&format!("{run_id}/")).ok()
}

/// Deletes a folder and everything below it.
async fn remove_folder(folder: &StoreUrl) -> Result<(), StorageError> {
    Location::open(folder)?.delete_prefix(&folder.store_path()).await.map(|_| ())
}

/// Intermediate views besides int_subscriber_features (read by the models, the scores and the
/// marts) that more than one step reads at T: the prepaid histories, read by the prepaid model
/// and by score_lifetime (a pass over every recharge, 3-4 s at 1M lines).
const READ_AGAIN_AT_T: &[&str] = &["int_recharge_summary"];

/// The tables a run publishes (all in one commit); `_usage_by_file` is
/// cvm's own (the parts usage_daily is built from), not for analysts.
pub const PUBLISHED_TABLES: [&str; 9] = [
    "usage_daily",
    usage::PARTS,
    "customer_value",
    "model_metrics",
    "kpi",
    "campaigns",
    campaigns::HISTORY,
    campaigns::EFFECT,
    "rejects",
];

/// Writes the restricted contacts table (subscriber_id, msisdn) for the
/// snapshot: the only copy of msisdn cvm keeps, for exports. The file is the
/// run's own (`part-<run_id>-00000.parquet`) and replaces nothing: exports read
/// the file of the run that published the snapshot, so contacts of a run
/// that dies before its commit are never used; the older files go once the
/// run has published ([`remove_older_contacts`]).
async fn write_contacts(ctx: &SessionContext, job: &Job, as_of: NaiveDate, run_id: &str) -> Result<(), RunError> {
    let err = RunError::engine("contacts");
    let df = ctx
        .sql("SELECT subscriber_id, msisdn FROM stg_subscribers WHERE msisdn IS NOT NULL ORDER BY subscriber_id")
        .await
        .map_err(&err)?;
    let batches = df.collect().await.map_err(&err)?;
    let schema = std::sync::Arc::new(campaigns::export::contacts_schema());
    let batches = batches
        .into_iter()
        .map(|b| RecordBatch::try_new(schema.clone(), b.columns().to_vec()).map_err(|e| err(e.into())))
        .collect::<Result<Vec<_>, _>>()?;
    let bytes = tables::parquet_bytes(schema, &batches).map_err(&err)?;
    let folder = contacts_folder(job, as_of)?;
    let location = Location::open(&folder)?;
    location.put_bytes(&folder.store_path().join(campaigns::export::contacts_file(run_id).as_str()), bytes).await?;
    Ok(())
}

/// Deletes the snapshot's contacts files other than `run_id`'s.
async fn remove_older_contacts(job: &Job, as_of: NaiveDate, run_id: &str) -> Result<(), RunError> {
    let folder = contacts_folder(job, as_of)?;
    let location = Location::open(&folder)?;
    let own = campaigns::export::contacts_file(run_id);
    for meta in location.list_under(&folder.store_path()).await? {
        if meta.location.filename() != Some(own.as_str()) {
            object_store::ObjectStoreExt::delete(&location.store, &meta.location)
                .await
                .map_err(|source| StorageError { url: location.url.url_of(&meta.location), source })?;
        }
    }
    Ok(())
}

fn contacts_folder(job: &Job, as_of: NaiveDate) -> Result<StoreUrl, RunError> {
    job.exports
        .contacts
        .join(&format!("snapshot_date={as_of}/"))
        .map_err(|m| RunError::engine("contacts")(DataFusionError::Plan(m)))
}

/// Writes a SQL file's result under the run's staging prefix and registers
/// it as a table in place of its view: for results read more than once.
async fn materialise(
    ctx: &SessionContext,
    file: &sqlfiles::SqlFile,
    params: &engine::Params,
    staging: &RunStaging,
) -> Result<u64, RunError> {
    let df = engine::plan(ctx, file, params).await?;
    let schema = df.schema().as_arrow().clone();
    let url = staging.table_url(file.name);
    let rows = write_parquet(df, &url, &[]).await?;
    // with its schema declared: an empty result writes no file to infer it from
    tables::register_parquet(ctx, file.name, &url, &schema, &[]).map_err(RunError::engine(file.name))?;
    Ok(rows)
}

/// The run's local scratch folder (src/run/scratch.rs), after sweeping those of
/// killed runs. `CVM_KEEP_SCRATCH=DIR` puts it at DIR and keeps it: the
/// benchmark's DuckDB comparison reads the staged tables from there.
fn scratch_for(run_id: &str) -> Result<Scratch, RunError> {
    let kept = std::env::var_os("CVM_KEEP_SCRATCH").filter(|d| !d.is_empty()).map(std::path::PathBuf::from);
    crate::run::scratch::sweep_abandoned(&std::env::temp_dir());
    Scratch::create(run_id, kept).map_err(|(path, source)| RunError::Scratch { path, source })
}

/// Writes a query's result as Parquet under `url`, hive-partitioned by
/// `partition_by`; returns the rows written.
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
