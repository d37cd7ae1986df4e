//! The churn model in a run: logistic regression on sql/intermediate/
//! int_churn_features, trained time-honestly and back-tested one horizon
//! earlier.
//!
//! - back-test: train on the features at T-2H labelled by deactivations in
//!   (T-2H, T-H], score the features at T-H, compare with (T-H, T];
//! - final model: train on the features at T-H labelled by (T-H, T], applied
//!   at T by sql/scoring/score_churn.sql through bound parameters.
//!
//! Training samples at most `churn.max_training_rows` rows by the
//! subscriber's hash with the job's seed, so the same inputs and seed give
//! the same model.

use datafusion::error::DataFusionError;
use datafusion::prelude::{SessionContext, col, lit};
use serde::Serialize;

use super::MetricRow;
use super::frames::Frame;
use crate::engine::Params;
use crate::job::ModelSettings;
use crate::models::{logistic, metrics};

/// The model's features: columns of int_churn_features, in this order.
pub const FEATURES: &[&str] = &[
    "tenure_months",
    "arpu_3m",
    "arpu_trend",
    "recency_days",
    "active_days_30d",
    "log_mou_30d",
    "log_data_mb_30d",
    "usage_trend",
    "complaints_90d",
    "is_prepaid",
];

/// Training rows pulled from the engine.
struct Sample {
    x: Vec<Vec<f64>>,
    y: Vec<bool>,
    /// Each row's sample_key, so a smaller sample can be taken in Rust.
    keys: Vec<f64>,
    /// Share of the rows the sample kept (1 = all).
    share: f64,
    /// Rows before sampling.
    population: u64,
}

impl Sample {
    /// The rows a share of `share` keeps: the same rows SQL's `sample_key < share` keeps.
    fn subsample(self, share: f64) -> Sample {
        if share >= self.share {
            return self;
        }
        let keep: Vec<usize> = (0..self.keys.len()).filter(|&i| self.keys[i] < share).collect();
        Sample {
            x: keep.iter().map(|&i| self.x[i].clone()).collect(),
            y: keep.iter().map(|&i| self.y[i]).collect(),
            keys: keep.iter().map(|&i| self.keys[i]).collect(),
            share,
            population: self.population,
        }
    }
}

/// One feature of the fitted model, as the artifact records it.
#[derive(Debug, Clone, Serialize)]
pub struct FeatureWeight {
    pub name: &'static str,
    /// On the standardised scale: the change in log-odds per standard deviation.
    pub coefficient: f64,
    pub mean: f64,
    pub scale: f64,
}

/// The churn model's artifact.
#[derive(Debug, Clone, Serialize)]
pub struct ChurnArtifact {
    /// fitted, or why not.
    pub status: String,
    pub horizon_days: u32,
    pub trained_on_features_at: String,
    pub labels: String,
    pub l2: f64,
    pub seed: u64,
    pub training_rows: u64,
    pub training_positives: u64,
    pub sample_share: f64,
    pub intercept: Option<f64>,
    pub features: Vec<FeatureWeight>,
    pub backtest: Option<Backtest>,
}

/// The back-test's figures.
#[derive(Debug, Clone, Serialize)]
pub struct Backtest {
    pub trained_on_features_at: String,
    pub scored_at: String,
    pub rows: u64,
    pub positives: u64,
    pub auc: Option<f64>,
    pub top_decile_lift: Option<f64>,
    pub brier: Option<f64>,
    pub calibration: Vec<metrics::Decile>,
}

/// The features at the view's date, the rows with sample_key below `share`
/// (all of them for a share of 1).
async fn load(ctx: &SessionContext, share: f64) -> Result<Sample, DataFusionError> {
    let mut columns: Vec<&str> = FEATURES.to_vec();
    columns.extend(["deactivates_within_horizon", "sample_key"]);
    let mut df = ctx.table("int_churn_features").await?;
    if share < 1.0 {
        df = df.filter(col("sample_key").lt(lit(share)))?;
    }
    // ordered by subscriber: the same rows in the same order give the same fit
    let df = df.sort(vec![col("subscriber_id").sort(true, false)])?.select_columns(&columns)?;
    let frame = Frame::collect(df).await?;
    let features: Vec<Vec<f64>> = FEATURES.iter().map(|f| frame.f64s(f)).collect::<Result<_, _>>()?;
    let x = (0..frame.rows()).map(|i| features.iter().map(|c| c[i]).collect()).collect();
    let population = if share < 1.0 { 0 } else { frame.rows() as u64 };
    Ok(Sample { x, y: frame.bools("deactivates_within_horizon")?, keys: frame.f64s("sample_key")?, share, population })
}

fn positives(y: &[bool]) -> u64 {
    y.iter().filter(|v| **v).count() as u64
}

/// Fits when both outcomes occur; otherwise says why not.
fn fit(sample: &Sample, l2: f64) -> Result<logistic::Logistic, String> {
    let p = positives(&sample.y);
    if p == 0 {
        return Err("no line deactivated within the horizon in the training window".into());
    }
    if p as usize == sample.y.len() {
        return Err("every line deactivated within the horizon in the training window".into());
    }
    logistic::fit(&sample.x, &sample.y, l2).map_err(|e| e.to_string())
}

/// The fitted churn model, its SQL parameters and its metrics.
pub struct ChurnStep {
    pub params: Params,
    pub artifact: ChurnArtifact,
    pub metrics: Vec<MetricRow>,
}

/// Back-tests and fits the churn model. `at_t2h` and `at_th` are sessions
/// whose intermediate views describe T-2H and T-H.
pub async fn run(
    at_t2h: &SessionContext,
    at_th: &SessionContext,
    settings: &ModelSettings,
    dates: [chrono::NaiveDate; 3],
) -> Result<ChurnStep, DataFusionError> {
    let [t2h, th, t] = dates;
    let mut metrics = Vec::new();

    // back-test: train at T-2H, score T-H
    // T-2H is only trained on: counted, then sampled in SQL. T-H is scored
    // whole, so it is read once and the training sample taken from it.
    let lines_t2h = super::frames::count(at_t2h, "int_churn_features").await?;
    let old = Sample { population: lines_t2h, ..load(at_t2h, super::training_share(lines_t2h, settings)).await? };
    let scored = load(at_th, 1.0).await?;
    let backtest = match fit(&old, settings.churn_l2) {
        Ok(model) => {
            let scores: Vec<f64> = scored.x.iter().map(|r| model.predict(r)).collect();
            let bt = Backtest {
                trained_on_features_at: t2h.to_string(),
                scored_at: th.to_string(),
                rows: scored.y.len() as u64,
                positives: positives(&scored.y),
                auc: metrics::auc(&scores, &scored.y),
                top_decile_lift: metrics::top_decile_lift(&scores, &scored.y),
                brier: metrics::brier(&scores, &scored.y),
                calibration: metrics::deciles(&scores, &scored.y),
            };
            let rows = bt.rows as i64;
            for (name, value) in [("auc", bt.auc), ("top_decile_lift", bt.top_decile_lift), ("brier", bt.brier)] {
                if let Some(v) = value {
                    metrics.push(MetricRow::new("churn", "backtest", name, None, v, rows));
                }
            }
            metrics.push(MetricRow::new(
                "churn",
                "backtest",
                "base_rate",
                None,
                bt.positives as f64 / rows.max(1) as f64,
                rows,
            ));
            for bin in &bt.calibration {
                let d = Some(bin.decile as i32);
                metrics.push(MetricRow::new(
                    "churn",
                    "backtest",
                    "calibration_predicted",
                    d,
                    bin.mean_predicted,
                    bin.rows as i64,
                ));
                metrics.push(MetricRow::new(
                    "churn",
                    "backtest",
                    "calibration_observed",
                    d,
                    bin.observed_rate,
                    bin.rows as i64,
                ));
            }
            Some(bt)
        }
        Err(why) => {
            tracing::warn!("churn back-test skipped: {why} (features at {t2h})");
            None
        }
    };

    // final model: train at T-H (the most recent window whose outcome is known)
    let share = super::training_share(scored.population, settings);
    let training = scored.subsample(share);
    let training_rows = training.y.len() as u64;
    let training_positives = positives(&training.y);
    metrics.push(MetricRow::new("churn", "training", "rows", None, training_rows as f64, training_rows as i64));
    metrics.push(MetricRow::new(
        "churn",
        "training",
        "positives",
        None,
        training_positives as f64,
        training_rows as i64,
    ));
    metrics.push(MetricRow::new("churn", "training", "sample_share", None, training.share, training.population as i64));
    let mut artifact = ChurnArtifact {
        status: "fitted".into(),
        horizon_days: settings.churn_horizon_days,
        trained_on_features_at: th.to_string(),
        labels: format!("deactivation_date in ({th}, {t}]"),
        l2: settings.churn_l2,
        seed: settings.seed,
        training_rows,
        training_positives,
        sample_share: training.share,
        intercept: None,
        features: Vec::new(),
        backtest,
    };
    let mut params = Params::new();
    match fit(&training, settings.churn_l2) {
        Ok(model) => {
            params = params.flag("churn_fitted", true).float("churn_intercept", model.intercept);
            for (i, name) in FEATURES.iter().enumerate() {
                params = params
                    .float(&format!("churn_coef_{name}"), model.coefficients[i])
                    .float(&format!("churn_mean_{name}"), model.means[i])
                    .float(&format!("churn_scale_{name}"), model.scales[i]);
                artifact.features.push(FeatureWeight {
                    name,
                    coefficient: model.coefficients[i],
                    mean: model.means[i],
                    scale: model.scales[i],
                });
            }
            artifact.intercept = Some(model.intercept);
        }
        Err(why) => {
            tracing::warn!("churn model not fitted: {why}; churn_risk is null this run");
            artifact.status = format!("not fitted: {why}");
            params = unfitted_params();
        }
    }
    Ok(ChurnStep { params, artifact, metrics })
}

/// Parameters that switch the churn scores off (every value null).
pub fn unfitted_params() -> Params {
    let mut params = Params::new().flag("churn_fitted", false).float("churn_intercept", 0.0);
    for name in FEATURES {
        params = params
            .float(&format!("churn_coef_{name}"), 0.0)
            .float(&format!("churn_mean_{name}"), 0.0)
            .float(&format!("churn_scale_{name}"), 1.0);
    }
    params
}
