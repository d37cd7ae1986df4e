//! `cvm run`: the nightly job for one snapshot T, from extracts to published
//! tables and a run manifest.
//!
//! ingest -> usage_daily -> intermediate views -> subscriber features ->
//! models -> scoring -> customer_value, tier_migration, model_metrics -> kpi
//! -> campaigns -> rejects -> publish -> model artifact (and the fit, for the
//! nights after) -> manifest -> campaign exports and the HTML report. Every
//! table is written under the run's staging prefix first and published only
//! when every step has succeeded.

pub mod empty_groups;
pub mod lock;
pub mod publish;
pub mod rollback;
pub mod scratch;
mod steps;

use std::collections::BTreeMap;

use chrono::NaiveDate;
use datafusion::arrow::array::RecordBatch;
use datafusion::error::DataFusionError;
use datafusion::prelude::{SessionContext, col};
use serde::Serialize;

use crate::engine::{SqlError, StepError};
use crate::job::{Job, MsisdnPolicy};
use crate::stages::campaigns::export::{self, ExportError, ExportReport};
use crate::stages::campaigns::{self, CampaignError, CampaignSize};
use crate::stages::ingest::IngestError;
use crate::stages::models::ModelArtifact;
use crate::stages::usage;
use crate::storage::{Location, StorageError, StorageSettings, StoreUrl};
use crate::warehouse::commit::CommitError;
use crate::warehouse::manifest::SourceReport;
use crate::warehouse::manifest::{Manifest, TableReport};
use crate::warehouse::staging::RunStaging;
use crate::warehouse::tables;
use lock::{LockError, SnapshotLock};

/// The folder of a run's staging that holds the staged sources on a cluster.
const STAGED_TABLES: &str = "_ingest";

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Ingest(#[from] IngestError),
    /// A source outside its `[quality]` band.
    #[error(transparent)]
    Quality(#[from] crate::stages::quality::QualityError),
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
    /// The churn and prepaid models' fit, when the run made one: stored for the nights after.
    fit_to_store: Option<crate::stages::models::StoredFit>,
    campaigns: Vec<CampaignSize>,
    warnings: Vec<String>,
}

/// Runs the job for snapshot `as_of`. On failure nothing is published; a
/// manifest with status `failed` is still written. Campaign exports and
/// the HTML report follow a successful publish.
pub async fn run(job: &Job, as_of: NaiveDate) -> Result<RunSummary, RunError> {
    // hashed exports need their key: find out now, not after an hour of work
    if job.exports.on_run && job.exports.msisdn == MsisdnPolicy::Hmac {
        export::hmac_key(job)?;
    }
    let run_id = new_run_id();
    let warehouse = Location::open(&job.warehouse, &job.storage)?;
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
    clear_earlier_runs(job, run_id, warehouse, lock).await;
    let mut manifest = Manifest::start(job, as_of, run_id);
    let staging = RunStaging::new(warehouse, run_id);
    let result = steps::run_steps(job, as_of, &staging, &mut manifest, lock).await;
    // whatever happened, the staging prefix goes (on success it is empty but for folders)
    if let Err(e) = staging.clean_up().await {
        tracing::warn!("could not clean up the run's staging prefix: {e}");
    }
    if let Some(restricted) = restricted_staging(job, run_id)
        && let Err(e) = remove_folder(&restricted, &job.storage).await
    {
        tracing::warn!("could not remove the run's restricted staging (the next run will): {e}");
    }
    let built = match result {
        Ok(built) => built,
        Err(e) => {
            record_failure(job, run_id, warehouse, &mut manifest, &e).await;
            return Err(e);
        }
    };
    manifest.finish_ok();
    let model_artifact_url = match &built.artifact {
        Some(a) => Some(manifest.write_beside(warehouse, "models", a).await?),
        None => None,
    };
    // stored only now: a fit is applied by later runs only if its own night was published
    if let Some(fit) = &built.fit_to_store {
        match crate::stages::models::stored::store(job, fit).await {
            Ok(url) => tracing::info!("churn and prepaid models' fit stored at {url}"),
            Err(e) => tracing::warn!("could not store the models' fit (the next run fits again): {e}"),
        }
    }
    let manifest_url = manifest.write(warehouse).await?;
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

/// Before a run's steps: what earlier runs left behind is swept (the files
/// of dead runs, the table versions of a run that died while publishing,
/// the restricted staging of dead runs). A failure here is logged: the next
/// run sweeps again.
async fn clear_earlier_runs(job: &Job, run_id: &str, warehouse: &Location, lock: &SnapshotLock) {
    let live = lock::live_holders(warehouse).await.unwrap_or_default();
    let dead = lock.took_over_from.as_deref();
    if let Err(e) = publish::sweep_leftovers(warehouse, &PUBLISHED_TABLES, dead, &live, job.publish.lock_ttl).await {
        tracing::warn!("could not sweep the leftovers of earlier runs: {e}");
    }
    if let Err(e) = rollback::roll_back_unfinished(warehouse, &PUBLISHED_TABLES, &live, run_id).await {
        tracing::warn!("could not undo the table versions of a run that died while publishing: {e}");
    }
    if let Some(restricted) = restricted_staging_root(job)
        && let Err(e) =
            publish::sweep_restricted_staging(&restricted, &job.storage, dead, &live, job.publish.lock_ttl).await
    {
        tracing::warn!("could not sweep the restricted staging of earlier runs: {e}");
    }
}

/// After a failed run: the files it moved beside the published ones but
/// never committed go (and old leftovers of dead runs: never those of runs
/// still live), and its manifest is written with status `failed`.
async fn record_failure(job: &Job, run_id: &str, warehouse: &Location, manifest: &mut Manifest, error: &RunError) {
    let own = Some(run_id);
    let live = lock::live_holders(warehouse).await.unwrap_or_default();
    let swept = publish::sweep_leftovers(warehouse, &PUBLISHED_TABLES, own, &live, job.publish.lock_ttl).await;
    if let Err(sweep_error) = swept {
        tracing::warn!("could not remove this run's unpublished files (the next run will): {sweep_error}");
    }
    manifest.finish_failed(&error.to_string());
    if let Err(write_err) = manifest.write(warehouse).await {
        tracing::warn!("could not write the failed run's manifest: {write_err}");
    }
}

fn new_run_id() -> String {
    let now = chrono::Utc::now();
    let nanos = now.timestamp_subsec_nanos() ^ std::process::id().rotate_left(16);
    format!("{}-{:08x}", now.format("%Y%m%dT%H%M%SZ"), nanos)
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
async fn remove_folder(folder: &StoreUrl, storage: &StorageSettings) -> Result<(), StorageError> {
    Location::open(folder, storage)?.delete_prefix(&folder.store_path()).await.map(|_| ())
}

/// The tables a run publishes (all in one commit); `_usage_by_file` is
/// cvm's own (the parts usage_daily is built from), not for analysts.
pub const PUBLISHED_TABLES: [&str; 11] = [
    "usage_daily",
    usage::PARTS,
    "customer_value",
    "tier_migration",
    "model_metrics",
    "kpi",
    "screening",
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
        .table("stg_subscribers")
        .await
        .and_then(|t| t.filter(col("msisdn").is_not_null()))
        .and_then(|t| t.select_columns(&["subscriber_id", "msisdn"]))
        .and_then(|t| t.sort_by(vec![col("subscriber_id")]))
        .map_err(&err)?;
    let batches = df.collect().await.map_err(&err)?;
    let schema = std::sync::Arc::new(campaigns::export::contacts_schema());
    let batches = batches
        .into_iter()
        .map(|b| RecordBatch::try_new(schema.clone(), b.columns().to_vec()).map_err(|e| err(e.into())))
        .collect::<Result<Vec<_>, _>>()?;
    let bytes = tables::parquet_bytes(schema, &batches).map_err(&err)?;
    let folder = contacts_folder(job, as_of)?;
    let location = Location::open(&folder, &job.storage)?;
    location.put_bytes(&folder.store_path().join(campaigns::export::contacts_file(run_id).as_str()), bytes).await?;
    Ok(())
}

/// Deletes the snapshot's contacts files other than `run_id`'s.
async fn remove_older_contacts(job: &Job, as_of: NaiveDate, run_id: &str) -> Result<(), RunError> {
    let folder = contacts_folder(job, as_of)?;
    let location = Location::open(&folder, &job.storage)?;
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
    job.exports.contacts.join(&format!("snapshot_date={as_of}/")).map_err(|e| RunError::engine("contacts")(e.into()))
}
