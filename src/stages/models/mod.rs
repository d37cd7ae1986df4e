//! The model step of a run: pulls the models' small inputs out of the
//! engine, fits them (src/maths), and hands back what sql/scoring needs to
//! apply them in the engine: bound parameters and small lookup tables. It
//! also produces the `model_metrics` rows and the JSON artifact published
//! next to the run manifest.
//!
//! A model that cannot be fitted does not fail the run: its columns are null,
//! the artifact and the log say why, and every other output still publishes.

mod churn;
pub(crate) mod frames;
mod prepaid;
mod retention;
pub mod stored;

use std::sync::Arc;

use chrono::NaiveDate;
use datafusion::arrow::array::{Float64Array, Int32Array, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::error::DataFusionError;
use datafusion::prelude::SessionContext;
use serde::{Deserialize, Serialize};

use crate::engine::sqlfiles::Layer;
use crate::engine::{self, Params, StepError};
use crate::job::Job;
use crate::stages::session::RunSession;

pub use churn::feature_names as churn_feature_names;
pub use frames::Frame;
pub use stored::StoredFit;

/// One row of the model_metrics table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricRow {
    pub model: String,
    pub scope: String,
    pub metric: String,
    pub decile: Option<i32>,
    pub value: f64,
    pub rows: i64,
}

impl MetricRow {
    pub fn new(model: &str, scope: &str, metric: &str, decile: Option<i32>, value: f64, rows: i64) -> Self {
        MetricRow { model: model.into(), scope: scope.into(), metric: metric.into(), decile, value, rows }
    }
}

/// Everything the run publishes about its models.
#[derive(Debug, Clone, Serialize)]
pub struct ModelArtifact {
    pub snapshot_date: String,
    /// Where the churn and prepaid models come from.
    pub fit: FitOrigin,
    pub churn: churn::ChurnArtifact,
    pub retention: RetentionArtifact,
    pub prepaid: prepaid::PrepaidArtifact,
    pub value_score: ValueScoreArtifact,
}

/// The churn and prepaid models' fit: fitted by this run, or stored by an
/// earlier one (stored.rs). Retention and the value weights are fitted every run.
#[derive(Debug, Clone, Serialize)]
pub struct FitOrigin {
    /// The snapshot they were fitted at.
    pub fitted_at: String,
    /// Days from then to this snapshot.
    pub days_old: i64,
    pub fitted_by_this_run: bool,
    /// Whether the run was asked to fit them (`cvm run --refit`).
    pub refit_asked: bool,
    /// `[churn] refit_every_days` (0: every run fits).
    pub refit_every_days: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct RetentionArtifact {
    pub time_unit: &'static str,
    pub horizon_months: u32,
    pub annual_discount_rate: f64,
    pub groups: Vec<retention::GroupFit>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ValueScoreArtifact {
    pub criteria: Vec<String>,
    pub weights: Vec<f64>,
    pub lambda_max: f64,
    pub consistency_ratio: f64,
}

/// The fitted models, ready to apply.
pub struct ModelStep {
    /// The job's settings and the fitted models' values, for sql/scoring.
    pub params: Params,
    pub retention_curve: RecordBatch,
    pub metrics: Vec<MetricRow>,
    pub artifact: Option<ModelArtifact>,
    /// The churn and prepaid models' fit, when this run made it: stored once the snapshot is published.
    pub to_store: Option<StoredFit>,
}

/// The share of `population` rows that fits the training budget
/// (`churn.max_training_rows`): rows with sample_key below it form the sample.
fn training_share(population: u64, settings: &crate::job::ModelSettings) -> f64 {
    share_of(population, settings.churn_max_training_rows)
}

/// The share of `population` rows that keeps at most `budget` of them.
fn share_of(population: u64, budget: u64) -> f64 {
    if population > budget { budget as f64 / population as f64 } else { 1.0 }
}

/// The tables every session at another date shares with the run's.
fn shared_tables(ctx: &SessionContext) -> Vec<String> {
    let mut names: Vec<String> = ctx
        .catalog("datafusion")
        .and_then(|c| c.schema("public"))
        .map(|s| s.table_names())
        .unwrap_or_default()
        .into_iter()
        .filter(|n| n.starts_with("stg_") || n == "usage_daily" || engine::RUN_WIDE_TABLES.contains(&n.as_str()))
        .collect();
    names.sort();
    names
}

/// The parameters of the transforms for a snapshot `date`: its dates and
/// the job's model settings.
pub fn params_at(job: &Job, date: NaiveDate) -> Params {
    let horizon_end = date + chrono::Duration::days(job.models.churn_horizon_days as i64);
    Params::for_snapshot(date)
        .merged(&crate::stages::params::models(&job.models))
        .merged(&crate::stages::params::run_wide(job, date))
        .date("churn_horizon_end", horizon_end)
}

/// A session whose intermediate views describe `date` instead of T.
async fn session_at(ctx: &SessionContext, job: &Job, date: NaiveDate) -> Result<SessionContext, StepError> {
    let at = engine::sibling_session(ctx, &shared_tables(ctx)).await.map_err(model_error("session"))?;
    register_job_tables(&RunSession::local(at.clone()), job).await.map_err(model_error("session"))?;
    engine::register_layer_views_except(&at, Layer::Intermediate, &params_at(job, date), engine::RUN_WIDE_TABLES)
        .await?;
    Ok(at)
}

fn model_error(what: &str) -> impl Fn(DataFusionError) -> StepError + '_ {
    move |source| StepError::Engine { step: format!("models: {what}"), source }
}

/// Fits the models for snapshot `as_of`, or applies the stored fit of the
/// churn and prepaid models when one is in reach (stored.rs). `ctx` has the
/// run's intermediate views at T (int_subscriber_features materialised).
pub async fn fit(ctx: &SessionContext, job: &Job, as_of: NaiveDate) -> Result<ModelStep, StepError> {
    let settings = &job.models;
    let export = std::env::var_os("CVM_MODEL_INPUTS").filter(|d| !d.is_empty());
    // exporting the model's inputs means fitting on them
    let applied = if export.is_some() { None } else { stored::applicable(job, as_of).await };
    let fitted_by_this_run = applied.is_none();
    let history = match applied {
        Some(fit) => {
            tracing::info!(
                fitted_at = %fit.fitted_at,
                refit_every_days = settings.churn_refit_every_days,
                "churn and prepaid models: applying the stored fit of {}",
                fit.fitted_at
            );
            fit
        }
        None => fit_history_models(ctx, job, as_of, export.as_deref()).await?,
    };
    let days_old = (as_of - history.fitted_at).num_days();

    let started = std::time::Instant::now();
    let retention = retention::run(ctx, settings).await.map_err(model_error("retention"))?;
    tracing::info!(
        seconds = started.elapsed().as_secs_f64(),
        groups = retention.groups.len(),
        "retention model fitted"
    );

    let weights = &settings.value_weights;
    let mut metrics = history.metrics.clone();
    let churn = history.churn_artifact();
    let fit_age = |model: &str, rows: u64| {
        MetricRow::new(model, "training", "days_since_fit", None, days_old as f64, rows as i64)
    };
    metrics.push(fit_age("churn", churn.training_rows));
    metrics.push(fit_age("prepaid_bgnbd", history.prepaid.lines));
    metrics.extend(retention.metrics);
    for (name, w) in settings.value_criteria.iter().zip(&weights.weights) {
        metrics.push(MetricRow::new("value_score", "ahp", &format!("weight_{name}"), None, *w, 0));
    }
    metrics.push(MetricRow::new("value_score", "ahp", "consistency_ratio", None, weights.consistency_ratio, 0));

    let artifact = ModelArtifact {
        snapshot_date: as_of.to_string(),
        fit: FitOrigin {
            fitted_at: history.fitted_at.to_string(),
            days_old,
            fitted_by_this_run,
            refit_asked: settings.churn_refit_now,
            refit_every_days: settings.churn_refit_every_days,
        },
        churn,
        retention: RetentionArtifact {
            time_unit: "month",
            horizon_months: settings.horizon_months,
            annual_discount_rate: settings.annual_discount_rate,
            groups: retention.groups,
        },
        prepaid: history.prepaid.clone(),
        value_score: ValueScoreArtifact {
            criteria: settings.value_criteria.clone(),
            weights: weights.weights.clone(),
            lambda_max: weights.lambda_max,
            consistency_ratio: weights.consistency_ratio,
        },
    };
    Ok(ModelStep {
        params: params_at(job, as_of)
            .merged(&churn::params(history.churn_model.as_deref()))
            .merged(&prepaid::params(&history.prepaid)),
        retention_curve: retention.curve_table,
        metrics,
        artifact: Some(artifact),
        to_store: fitted_by_this_run.then_some(history),
    })
}

/// Fits the churn and prepaid models at `as_of` from the history the
/// warehouse holds (with `export`, first writes the churn model's inputs there).
async fn fit_history_models(
    ctx: &SessionContext,
    job: &Job,
    as_of: NaiveDate,
    export: Option<&std::ffi::OsStr>,
) -> Result<StoredFit, StepError> {
    let settings = &job.models;
    let horizon = chrono::Duration::days(settings.churn_horizon_days as i64);
    // T-H, T-2H, ...: the final churn model trains on the first `training_windows`, its
    // back-test on the ones after the first
    let mut windows = Vec::new();
    for k in 1..=settings.churn_training_windows as i32 + 1 {
        let date = as_of - horizon * k;
        windows.push((date, session_at(ctx, job, date).await?));
    }
    let th = windows[0].0;
    if let Some(dir) = export {
        let mut dated: Vec<(NaiveDate, &SessionContext)> = windows.iter().map(|(d, s)| (*d, s)).collect();
        dated.push((as_of, ctx));
        export_churn_features(&dated, std::path::Path::new(dir)).await.map_err(model_error("model inputs"))?;
    }

    // the churn model (its fits on their own threads) and the prepaid model (mostly the
    // engine's queries) side by side
    let started = std::time::Instant::now();
    let dated: Vec<(NaiveDate, &SessionContext)> = windows.iter().map(|(d, s)| (*d, s)).collect();
    let (churn, prepaid) = tokio::join!(
        async {
            let churn = churn::run(&dated, settings, as_of).await.map_err(model_error("churn"));
            tracing::info!(seconds = started.elapsed().as_secs_f64(), "churn model done");
            churn
        },
        async {
            let prepaid = prepaid::run(&windows[0].1, ctx, settings, th).await.map_err(model_error("prepaid"));
            tracing::info!(seconds = started.elapsed().as_secs_f64(), "prepaid model done");
            prepaid
        }
    );
    let (churn, prepaid) = (churn?, prepaid?);
    tracing::info!("churn model: {}; prepaid model: {}", churn.artifact.status, prepaid.artifact.status);
    let mut metrics = churn.metrics;
    metrics.extend(prepaid.metrics);
    Ok(StoredFit::new(job, as_of, churn.artifact, churn.model, prepaid.artifact, metrics))
}

/// Writes int_churn_features at each date as `<dir>/int_churn_features_<date>.parquet`:
/// every active line, unsampled, so that another tool can fit on exactly what cvm fits on
/// (`CVM_MODEL_INPUTS=DIR cvm run ...`; benches/churn_models.py does).
async fn export_churn_features(
    sessions: &[(NaiveDate, &SessionContext)],
    dir: &std::path::Path,
) -> Result<(), DataFusionError> {
    std::fs::create_dir_all(dir)?;
    for (date, session) in sessions {
        let path = dir.join(format!("int_churn_features_{date}.parquet"));
        let df = session
            .table("int_churn_features")
            .await?
            .sort(vec![datafusion::prelude::col("subscriber_id").sort(true, false)])?;
        let options = datafusion::dataframe::DataFrameWriteOptions::new().with_single_file_output(true);
        df.write_parquet(&path.display().to_string(), options, None).await?;
    }
    tracing::info!("churn features written to {}", dir.display());
    Ok(())
}

/// No fitted model: every model column null. `cvm validate` plans with this.
pub fn unfitted(job: &Job) -> ModelStep {
    ModelStep {
        params: crate::stages::params::models(&job.models)
            .merged(&churn::unfitted_params())
            .merged(&prepaid::unfitted_params()),
        retention_curve: RecordBatch::new_empty(retention::curve_schema()),
        metrics: Vec::new(),
        artifact: None,
        to_store: None,
    }
}

/// Tables built from the job file: its strategic-fit rules.
pub async fn register_job_tables(session: &RunSession<'_>, job: &Job) -> Result<(), DataFusionError> {
    let m = &job.models;
    let rules: Vec<(&str, &String, f64)> = m
        .fit_by_segment
        .iter()
        .map(|(k, v)| ("segment", k, *v))
        .chain(m.fit_by_plan_type.iter().map(|(k, v)| ("plan_type", k, *v)))
        .collect();
    let schema = Arc::new(Schema::new(vec![
        Field::new("kind", DataType::Utf8, false),
        Field::new("value", DataType::Utf8, false),
        Field::new("score", DataType::Float64, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(rules.iter().map(|r| r.0).collect::<Vec<_>>())),
            Arc::new(StringArray::from(rules.iter().map(|r| r.1.as_str()).collect::<Vec<_>>())),
            Arc::new(Float64Array::from(rules.iter().map(|r| r.2).collect::<Vec<_>>())),
        ],
    )?;
    session.register_small("job_strategic_fit", batch).await
}

/// Registers the fitted models' tables: model_retention_curve and model_metrics_computed.
pub async fn register_model_tables(session: &RunSession<'_>, step: &ModelStep) -> Result<(), DataFusionError> {
    session.register_small("model_retention_curve", step.retention_curve.clone()).await?;
    register_metrics(session, &step.metrics).await
}

/// Registers `model_metrics_computed`, the rows sql/marts/model_metrics.sql publishes.
pub async fn register_metrics(session: &RunSession<'_>, rows: &[MetricRow]) -> Result<(), DataFusionError> {
    session.register_small("model_metrics_computed", metrics_batch(rows)?).await
}

fn metrics_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("model", DataType::Utf8, false),
        Field::new("scope", DataType::Utf8, false),
        Field::new("metric", DataType::Utf8, false),
        Field::new("decile", DataType::Int32, true),
        Field::new("value", DataType::Float64, false),
        Field::new("rows", DataType::Int64, false),
    ]))
}

fn metrics_batch(rows: &[MetricRow]) -> Result<RecordBatch, DataFusionError> {
    Ok(RecordBatch::try_new(
        metrics_schema(),
        vec![
            Arc::new(StringArray::from(rows.iter().map(|r| r.model.as_str()).collect::<Vec<_>>())),
            Arc::new(StringArray::from(rows.iter().map(|r| r.scope.as_str()).collect::<Vec<_>>())),
            Arc::new(StringArray::from(rows.iter().map(|r| r.metric.as_str()).collect::<Vec<_>>())),
            Arc::new(Int32Array::from(rows.iter().map(|r| r.decile).collect::<Vec<_>>())),
            Arc::new(Float64Array::from(rows.iter().map(|r| r.value).collect::<Vec<_>>())),
            Arc::new(Int64Array::from(rows.iter().map(|r| r.rows).collect::<Vec<_>>())),
        ],
    )?)
}

impl ModelArtifact {
    /// What a reader must not miss: fits that failed and what was used
    /// instead. The run summary prints these first.
    pub fn warnings(&self) -> Vec<String> {
        self.retention
            .groups
            .iter()
            .filter_map(|g| {
                g.fit_failure
                    .as_ref()
                    .map(|why| format!("retention {}: {why}; its lifetimes use the {} curve", g.cohort_group, g.method))
            })
            .collect()
    }

    /// The model report printed at the end of a run.
    pub fn report(&self) -> String {
        let mut out = String::new();
        let fmt = |v: Option<f64>| v.map(|v| format!("{v:.3}")).unwrap_or_else(|| "n/a".into());
        let f = &self.fit;
        let plural = |n: i64| if n == 1 { "" } else { "s" };
        out.push_str("churn and prepaid models: ");
        out.push_str(&match (f.fitted_by_this_run, f.refit_every_days) {
            (true, _) if f.refit_asked => "fitted by this run (--refit)\n".to_string(),
            (true, 0) => "fitted by this run, as by every run ([churn] refit_every_days = 0)\n".to_string(),
            (true, 1) => "fitted by this run, as every night ([churn] refit_every_days = 1)\n".to_string(),
            (true, every) => format!("fitted by this run, applied by the runs of the next {} days\n", every - 1),
            (false, every) => format!(
                "the stored fit of {} ({} day{} old; fitted again when {every} days old, or by cvm run --refit)\n",
                f.fitted_at,
                f.days_old,
                plural(f.days_old)
            ),
        });
        let c = &self.churn;
        out.push_str(&format!("churn model ({}-day horizon): {}", c.horizon_days, c.status));
        match (&c.chosen, c.trees) {
            (Some(kind), Some(trees)) => out.push_str(&format!(", {kind} ({trees} trees): {}\n", c.choice)),
            (Some(kind), None) => out.push_str(&format!(", {kind}: {}\n", c.choice)),
            (None, _) => out.push('\n'),
        }
        out.push_str(&format!(
            "  trained on features at {} ({} rows, {} voluntary deactivations, sample share {:.3})\n",
            c.trained_on_features_at, c.training_rows, c.training_positives, c.sample_share
        ));
        if c.backtests.iter().all(|b| b.auc.is_none()) {
            out.push_str("  back-test: not possible (no outcome of both kinds in the earlier window)\n");
        }
        for b in c.backtests.iter().filter(|b| b.auc.is_some()) {
            out.push_str(&format!(
                "  back-test {} (trained at {}, scored at {}, {} rows, {} deactivations): AUC {}, top-decile lift {}, \
                 Brier {}\n",
                b.model,
                b.trained_on_features_at,
                b.scored_at,
                b.rows,
                b.positives,
                fmt(b.auc),
                fmt(b.top_decile_lift),
                fmt(b.brier)
            ));
        }
        if let Some(cal) = &c.calibration {
            out.push_str(&format!(
                "  calibration (Platt on the back-test): slope {:.3}, intercept {:.3}; Brier {} {}\n",
                cal.slope,
                cal.intercept,
                fmt(cal.brier),
                if cal.out_of_sample { "out of sample" } else { "in sample (a half of the window has one outcome)" }
            ));
        }
        out.push_str(&format!("retention (sBG, months, horizon {} months):\n", self.retention.horizon_months));
        for g in &self.retention.groups {
            let curve = match g.curve {
                retention::Curve::Sbg { alpha, beta, .. } => format!("alpha {alpha:.3}, beta {beta:.3}"),
                retention::Curve::Geometric { monthly_churn } => format!("monthly churn {monthly_churn:.4}"),
            };
            let failed = if g.fit_failure.is_some() { " FIT DID NOT CONVERGE" } else { "" };
            out.push_str(&format!(
                "  {}: {} lines, {} ended; {} [{}]{failed}\n",
                g.cohort_group, g.lines, g.ended_lines, curve, g.method
            ));
        }
        let p = &self.prepaid;
        out.push_str(&format!(
            "prepaid (BG/NBD, weeks): {}; r {}, alpha {}, a {}, b {} over {} lines\n",
            p.status,
            fmt(p.r),
            fmt(p.alpha_weeks),
            fmt(p.a),
            fmt(p.b),
            p.lines
        ));
        if let Some(b) = &p.backtest {
            out.push_str(&format!(
                "  back-test (fitted at {}): {:.1} recharge days expected in the next {:.1} weeks, {:.0} observed\n",
                b.fitted_at, b.recharge_days_expected, b.horizon_weeks, b.recharge_days_observed
            ));
        }
        let v = &self.value_score;
        let weights: Vec<String> = v.criteria.iter().zip(&v.weights).map(|(c, w)| format!("{c} {w:.3}")).collect();
        out.push_str(&format!("value score weights (AHP, CR {:.3}): {}\n", v.consistency_ratio, weights.join(", ")));
        out
    }
}
