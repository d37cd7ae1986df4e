//! `cvm validate`: checks a job without running it: the job file (already
//! validated when loaded), that every SQL file plans against the tables it
//! references with the columns its header documents, and that every source is
//! reachable with a header that maps onto the contract. Writes nothing.

use std::sync::Arc;

use chrono::NaiveDate;
use datafusion::datasource::MemTable;
use datafusion::error::DataFusionError;
use datafusion::prelude::SessionContext;
use serde::Serialize;

use crate::engine::sqlfiles::{self, Layer, SqlFile};
use crate::engine::{self, EngineOptions, SqlError};
use crate::job::{Campaign, Job};
use crate::stages::ingest::scan::RawTable;
use crate::stages::ingest::{self, IngestError};
use crate::stages::session::RunSession;

/// What validation found wrong.
#[derive(Debug, thiserror::Error)]
pub enum ValidateError {
    #[error(transparent)]
    Sql(#[from] SqlError),
    #[error(transparent)]
    Source(#[from] IngestError),
}

/// What validation found per source.
#[derive(Debug, Serialize)]
pub struct SourceCheck {
    pub source: &'static str,
    pub url: String,
    pub files: usize,
}

/// Checks the SQL, then every source; stops at the first problem.
pub async fn validate(job: &Job) -> Result<Vec<SourceCheck>, ValidateError> {
    plan_all(job).await?;
    let mut out = Vec::new();
    for source in &job.sources {
        let files = ingest::check_source(source, &job.storage).await?;
        out.push(SourceCheck { source: source.kind.name(), url: source.url.to_string(), files });
    }
    Ok(out)
}

/// Plans every SQL file in data-flow order over empty tables of the right
/// shapes: an unknown table or column, a type error or a header that does not
/// match the output is found here, before any data is read.
pub async fn plan_all(job: &Job) -> Result<(), SqlError> {
    let ctx = engine::session(&EngineOptions::default(), &job.storage).map_err(internal("session".into()))?;
    let as_of = chrono::Utc::now().date_naive();
    let params = crate::stages::models::params_at(job, as_of);
    let session = RunSession::local(ctx.clone());
    crate::stages::models::register_job_tables(&session, job).await.map_err(internal("job tables".into()))?;
    plan_staging(&ctx, job, as_of).await?;
    plan_usage(&ctx, &params).await?;
    plan_quality(&ctx, job, &params, as_of).await?;
    engine::register_layer_views(&ctx, Layer::Intermediate, &params).await?;
    plan_screening(&ctx, job, &params, as_of).await?;
    // the scoring files plan with unfitted models: the shapes are what matter
    let models = crate::stages::models::unfitted(job);
    crate::stages::models::register_model_tables(&session, &models).await.map_err(internal("models".into()))?;
    let scoring_params = params.clone().merged(&models.params);
    engine::register_layer_views(&ctx, Layer::Scoring, &scoring_params).await?;
    plan_marts(&ctx, job, &scoring_params).await?;
    plan_campaigns(&ctx, job, &scoring_params, as_of).await?;
    plan_effect(&ctx, &params).await?;
    // the uplift models' training rows: earlier nights' lists with the features of their night
    let observations = sqlfiles::find("uplift_observations").expect("uplift_observations.sql exists");
    let observation_params = engine::Params::for_snapshot(as_of).text("campaign", "any").int("horizon_days", 60);
    let df = engine::plan(&ctx, observations, &observation_params).await?;
    df.create_physical_plan().await.map_err(internal(observations.path()))?;
    Ok(())
}

/// An engine error while planning `file` (or a step named so).
fn internal(file: String) -> impl Fn(DataFusionError) -> SqlError {
    move |source| SqlError { file: file.clone(), source }
}

/// Every source's raw table (empty, in the job's shape) and its staging file.
async fn plan_staging(ctx: &SessionContext, job: &Job, as_of: NaiveDate) -> Result<(), SqlError> {
    for source in &job.sources {
        let raw = RawTable::empty(source);
        ctx.register_table(source.kind.raw_table().as_str(), Arc::new(raw))
            .map_err(internal(source.kind.raw_table()))?;
        let file = sqlfiles::find(&source.kind.staging_table()).expect("every source has a staging file");
        let df = engine::plan(ctx, file, &ingest::staging_params(job, source, as_of)).await?;
        register_empty(ctx, file.name, &df, true).map_err(internal(file.path()))?;
    }
    Ok(())
}

/// usage_daily and the per-file parts it is summed from.
async fn plan_usage(ctx: &SessionContext, params: &engine::Params) -> Result<(), SqlError> {
    let parts = sqlfiles::find("usage_by_file").expect("usage_by_file.sql exists");
    let df = engine::plan(ctx, parts, params).await?;
    register_empty(ctx, "usage_by_file", &df, false).map_err(internal(parts.path()))?;
    let usage = sqlfiles::find("usage_daily").expect("usage_daily.sql exists");
    let df = engine::plan(ctx, usage, params).await?;
    register_empty(ctx, usage.name, &df, false).map_err(internal(usage.path()))?;
    Ok(())
}

/// The data-quality check's volumes over the staged sources and usage_daily.
async fn plan_quality(
    ctx: &SessionContext,
    job: &Job,
    params: &engine::Params,
    as_of: NaiveDate,
) -> Result<(), SqlError> {
    let file = sqlfiles::find("quality_volumes").expect("quality_volumes.sql exists");
    let params = params.clone().merged(&crate::stages::params::quality(&job.quality, as_of));
    engine::plan(ctx, file, &params).await?.create_physical_plan().await.map_err(internal(file.path()))?;
    Ok(())
}

/// The marts over the scoring views: customer_value, tier_migration (against
/// no earlier snapshot), model_metrics and kpi.
async fn plan_marts(ctx: &SessionContext, job: &Job, scoring_params: &engine::Params) -> Result<(), SqlError> {
    for mart in ["customer_value", "tier_migration", "model_metrics"] {
        let file = sqlfiles::find(mart).expect("every mart has a SQL file");
        if mart == "tier_migration" {
            let session = RunSession::local(ctx.clone());
            let as_of = chrono::Utc::now().date_naive();
            crate::stages::tier_migration::register(&session, &job.warehouse, as_of, None)
                .await
                .map_err(internal(file.path()))?;
        }
        let df = engine::plan(ctx, file, scoring_params).await?;
        if mart == "customer_value" {
            register_empty(ctx, mart, &df, false).map_err(internal(file.path()))?;
        }
        df.create_physical_plan().await.map_err(internal(file.path()))?;
    }
    let kpi = sqlfiles::find("kpi").expect("kpi.sql exists");
    let kpi_params = scoring_params.clone().merged(&crate::stages::params::kpi(&job.kpi));
    engine::register_layer_views(ctx, Layer::Kpi, &kpi_params).await?;
    engine::plan(ctx, kpi, &kpi_params).await?.create_physical_plan().await.map_err(internal(kpi.path()))?;
    Ok(())
}

/// The screening's rule families and its table (which scoring and the campaigns read).
async fn plan_screening(
    ctx: &SessionContext,
    job: &Job,
    params: &engine::Params,
    as_of: NaiveDate,
) -> Result<(), SqlError> {
    let params = params.clone().merged(&crate::stages::params::screening(&job.screening, as_of));
    for name in ["profile_features", "fraud_features"] {
        let features = sqlfiles::find(name).expect("the models' inputs have SQL files");
        let df = engine::plan(ctx, features, &params).await?;
        df.create_physical_plan().await.map_err(internal(features.path()))?;
    }
    use crate::stages::screening::{MODEL_TABLE, OUTLIERS_TABLE, empty_model_lines, empty_outliers};
    for (table, empty) in [(OUTLIERS_TABLE, empty_outliers()), (MODEL_TABLE, empty_model_lines())] {
        crate::warehouse::tables::register_in_memory(ctx, table, empty).map_err(internal(table.into()))?;
    }
    // the rule families run over the empty tables: their plans and their common columns are checked
    let session = crate::stages::session::RunSession::local(ctx.clone());
    crate::stages::screening::fired_lines(&session, &params).await.map_err(internal("sql/screening".into()))?;
    let screening = sqlfiles::find("screening").expect("screening.sql exists");
    let df = engine::plan(ctx, screening, &params).await?;
    register_empty(ctx, screening.name, &df, false).map_err(internal(screening.path()))?;
    df.create_physical_plan().await.map_err(internal(screening.path()))?;
    Ok(())
}

/// Every campaign's selection, and the list built from it.
async fn plan_campaigns(
    ctx: &SessionContext,
    job: &Job,
    scoring_params: &engine::Params,
    as_of: NaiveDate,
) -> Result<(), SqlError> {
    // the uplift models' features (over tonight's customer_value; the waves' have its columns)
    let tonight =
        crate::stages::campaigns::uplift::tonight(ctx, as_of).await.map_err(internal("uplift_features".into()))?;
    crate::stages::campaigns::uplift::register_features(ctx, tonight).await?;
    let lists = sqlfiles::find("campaigns").expect("campaigns.sql exists");
    let assigned = MemTable::try_new(crate::stages::campaigns::assigned_schema(), vec![vec![]]);
    ctx.register_table("campaign_assigned", Arc::new(assigned.map_err(internal("campaigns".into()))?))
        .map_err(internal("campaigns".into()))?;
    let cooling = MemTable::try_new(crate::stages::campaigns::assigned_schema(), vec![vec![]]);
    ctx.register_table("campaign_cooling", Arc::new(cooling.map_err(internal("campaigns".into()))?))
        .map_err(internal("campaigns".into()))?;
    for campaign in &job.campaigns {
        plan_campaign(ctx, job, campaign, lists, scoring_params, as_of).await?;
    }
    Ok(())
}

/// One campaign's selection, its list (`lists`: campaigns.sql), the list's rows in the
/// history and its uplift candidates.
async fn plan_campaign(
    ctx: &SessionContext,
    job: &Job,
    campaign: &Campaign,
    lists: &SqlFile,
    scoring_params: &engine::Params,
    as_of: NaiveDate,
) -> Result<(), SqlError> {
    crate::stages::campaigns::register_selection(ctx, campaign, scoring_params).await.map_err(|e| SqlError {
        file: campaign.selection.origin(&campaign.name),
        source: DataFusionError::Plan(e.to_string()),
    })?;
    let list_params = crate::stages::campaigns::list_params(scoring_params, job, campaign, 1);
    let df = engine::plan(ctx, lists, &list_params).await?;
    df.clone().create_physical_plan().await.map_err(internal(lists.path()))?;
    // and the list's rows in the history
    let _ = ctx.deregister_table("campaign_list");
    register_empty(ctx, "campaign_list", &df, false).map_err(internal(lists.path()))?;
    let history = sqlfiles::find(crate::stages::campaigns::HISTORY).expect("contacts_history.sql exists");
    let history_params = engine::Params::new().date("cooldown_until", as_of);
    let df = engine::plan(ctx, history, &history_params).await?;
    df.create_physical_plan().await.map_err(internal(history.path()))?;
    // a list ranked by uplift scores the selection's lines with tonight's features
    let candidates = sqlfiles::find("uplift_candidates").expect("uplift_candidates.sql exists");
    let df = engine::plan(ctx, candidates, &engine::Params::new()).await?;
    df.create_physical_plan().await.map_err(internal(candidates.path()))?;
    Ok(())
}

/// What the campaigns changed, over the lists of earlier nights.
async fn plan_effect(ctx: &SessionContext, params: &engine::Params) -> Result<(), SqlError> {
    let effect = sqlfiles::find(crate::stages::campaigns::EFFECT).expect("campaign_effect.sql exists");
    let internal_effect = || internal(effect.path());
    let before =
        MemTable::try_new(crate::stages::campaigns::history_schema(), vec![vec![]]).map_err(internal_effect())?;
    ctx.register_table("contacts_history_before", Arc::new(before)).map_err(internal_effect())?;
    let horizons = crate::stages::campaigns::effect_horizons().map_err(internal_effect())?;
    let horizons = MemTable::try_new(horizons.schema(), vec![vec![horizons]]).map_err(internal_effect())?;
    ctx.register_table("effect_horizons", Arc::new(horizons)).map_err(internal_effect())?;
    let df = engine::plan(ctx, effect, params).await?;
    df.create_physical_plan().await.map_err(internal_effect())?;
    Ok(())
}

/// Registers an empty table with a query's output columns (only the staged ones when `public_only`).
fn register_empty(
    ctx: &SessionContext,
    name: &str,
    df: &datafusion::dataframe::DataFrame,
    public_only: bool,
) -> Result<(), DataFusionError> {
    let schema = df.schema().as_arrow();
    let keep: Vec<usize> = (0..schema.fields().len())
        .filter(|i| !public_only || ingest::is_staged_column(schema.field(*i).name()))
        .collect();
    let schema = Arc::new(schema.project(&keep)?);
    ctx.register_table(name, Arc::new(MemTable::try_new(schema, vec![vec![]])?))?;
    Ok(())
}
