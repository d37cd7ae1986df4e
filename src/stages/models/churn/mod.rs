//! The churn model in a run (models::churn), trained time-honestly on
//! sql/intermediate/int_churn_features.sql and back-tested one horizon
//! earlier. With `churn.training_windows` = w (default 2), the features are
//! read at T-H, T-2H, ..., T-(w+1)H, each labelled by the horizon after it:
//!
//! - back-test: both learners trained on the w windows T-2H .. T-(w+1)H
//!   stacked, scored on the features at T-H, compared with (T-H, T];
//! - choice: the learner with the better back-test AUC (or the job's);
//! - calibration: a Platt map from the chosen learner's back-test log-odds
//!   to what happened;
//! - final model: the chosen learner trained on the w windows T-H .. T-wH
//!   stacked (the same amount of history, one horizon later), with that
//!   map, applied at T by sql/scoring/score_churn.sql through the scoring
//!   function `cvm_churn_score` and the model bound as `$churn_model`.
//!
//! Stacking windows gives the learners w times the churners of one window
//! (a line appears once per window, with that window's features and
//! outcome), and the back-test trains on as many as the final model.
//!
//! The label is voluntary churn (port-outs included); lines that end for
//! non-payment within the horizon are neither outcome and are left out.
//! Each window is sampled to at most `churn.max_training_rows / w` rows by
//! the subscriber's hash with the job's seed, so the same inputs and seed
//! give the same model.

mod artifact;
mod backtest;
mod windows;

use chrono::NaiveDate;
use datafusion::error::DataFusionError;
use datafusion::prelude::SessionContext;

use super::MetricRow;
use crate::engine::Params;
use crate::job::ModelSettings;
use crate::maths::churn::calibration::Platt;
use crate::maths::churn::catalogue;
use crate::maths::churn::{ChurnModel, FitError, Kind};
pub use artifact::ChurnArtifact;
use artifact::{Backtest, Calibration, Coefficient};
use backtest::{backtest_metrics, both_learners, calibrate, choose, date_list, fit_timed};
use windows::{Window, load, positives, stack};

/// The model's features: columns of int_churn_features, numeric then categorical.
pub fn feature_names() -> Vec<&'static str> {
    catalogue::names().collect()
}

/// The fitted churn model, its SQL parameters and its metrics.
pub struct ChurnStep {
    /// The fitted model's JSON as sql/scoring binds it (`$churn_model`); none when it did not fit.
    pub model: Option<String>,
    pub artifact: ChurnArtifact,
    pub metrics: Vec<MetricRow>,
}

/// Back-tests both learners, chooses, calibrates and fits the churn model.
/// `windows` are sessions whose intermediate views describe T-H, T-2H, ...,
/// T-(w+1)H, in that order.
pub async fn run(
    windows: &[(NaiveDate, &SessionContext)],
    settings: &ModelSettings,
    t: NaiveDate,
) -> Result<ChurnStep, DataFusionError> {
    let w = windows.len() - 1;
    let budget = (settings.churn_max_training_rows / w as u64).max(1);
    let mut loaded = Vec::with_capacity(windows.len());
    for (date, session) in windows {
        let started = std::time::Instant::now();
        let window = load(session, budget).await?;
        tracing::info!(seconds = started.elapsed().as_secs_f64(), rows = window.y.len(), "churn features at {date}");
        loaded.push(window);
    }
    let dates: Vec<NaiveDate> = windows.iter().map(|(d, _)| *d).collect();
    // the fits are CPU work: on a blocking thread, so the engine's queries (the prepaid
    // model's, in the same step) go on meanwhile
    let settings = settings.clone();
    tokio::task::spawn_blocking(move || train(loaded, &settings, &dates, t))
        .await
        .map_err(|e| DataFusionError::External(Box::new(e)))?
}

/// The fits of [`run`], on the loaded windows (T-H first).
fn train(
    loaded: Vec<Window>,
    settings: &ModelSettings,
    dates: &[NaiveDate],
    t: NaiveDate,
) -> Result<ChurnStep, DataFusionError> {
    let w = loaded.len() - 1;
    let th = dates[0];
    let mut metrics = Vec::new();
    let recent = &loaded[0];

    // back-test both learners (trained on T-2H .. T-(w+1)H, scored at T-H), and beside
    // them the final boosted model, trained on T-H .. T-wH
    let training = stack(&loaded[..w].iter().collect::<Vec<_>>());
    let (tried, boosted_final) = both_learners(&loaded, &training, settings, dates);
    for t in &tried {
        backtest_metrics(&format!("backtest_{}", t.kind.name()), &t.backtest, &mut metrics);
    }
    let (chosen, choice) = choose(&tried, settings.churn_model);
    let chosen_try = tried.iter().find(|t| Some(t.kind) == chosen);
    let backtest = chosen_try.filter(|t| t.log_odds.is_some()).map(|t| t.backtest.clone());
    let calibration = chosen_try.and_then(|t| t.log_odds.as_deref()).and_then(|z| calibrate(z, recent));
    chosen_metrics(backtest.as_ref(), calibration.as_ref(), recent, &dates[1..], &mut metrics);

    // the final model: the chosen learner trained on the w most recent windows whose outcome is known
    let training_rows = training.1.len() as u64;
    let training_positives = positives(&training.1);
    training_metrics(training_rows, training_positives, recent, &mut metrics);
    let mut artifact = ChurnArtifact {
        status: "fitted".into(),
        horizon_days: settings.churn_horizon_days,
        label: "voluntary deactivation (any reason but involuntary, port-outs included)".into(),
        chosen: chosen.map(|k| k.name().to_string()),
        choice,
        trained_on_features_at: date_list(&dates[..w]),
        labels: format!(
            "deactivation_date in the {} days after each (the last window: ({th}, {t}])",
            settings.churn_horizon_days
        ),
        l2: settings.churn_l2,
        learning_rate: settings.churn_learning_rate,
        max_depth: settings.churn_max_depth,
        seed: settings.seed,
        training_rows,
        training_positives,
        sample_share: recent.share,
        features: feature_names().into_iter().map(String::from).collect(),
        intercept: None,
        coefficients: Vec::new(),
        trees: None,
        backtest,
        backtests: tried.iter().map(|t| t.backtest.clone()).collect(),
        calibration: calibration.clone(),
        model: None,
    };
    let kind = chosen.unwrap_or(Kind::Logistic);
    let fitted = match (kind, boosted_final) {
        (Kind::Boosted, Some(fitted)) => fitted,
        _ => fit_timed(kind, &training.0, &training.1, settings),
    };
    let model = publish(fitted, calibration, &mut artifact)?;
    Ok(ChurnStep { model, artifact, metrics })
}

/// The chosen learner's back-test and calibration, as metrics; a warning
/// when no back-test was possible (features at `backtest_dates`).
fn chosen_metrics(
    backtest: Option<&Backtest>,
    calibration: Option<&Calibration>,
    recent: &Window,
    backtest_dates: &[NaiveDate],
    metrics: &mut Vec<MetricRow>,
) {
    if let Some(b) = backtest {
        backtest_metrics("backtest", b, metrics);
        metrics.push(MetricRow::new(
            "churn",
            "backtest",
            "base_rate",
            None,
            b.positives as f64 / b.rows.max(1) as f64,
            b.rows as i64,
        ));
    } else {
        tracing::warn!(
            "churn back-test not possible (features at {}): no outcome of both kinds to learn from",
            date_list(backtest_dates)
        );
    }
    if let Some(c) = calibration {
        let rows = recent.y.len() as i64;
        metrics.push(MetricRow::new("churn", "calibration", "platt_slope", None, c.slope, rows));
        metrics.push(MetricRow::new("churn", "calibration", "platt_intercept", None, c.intercept, rows));
        metrics.push(MetricRow::new(
            "churn",
            "calibration",
            "out_of_sample",
            None,
            f64::from(u8::from(c.out_of_sample)),
            rows,
        ));
        if let Some(brier) = c.brier {
            metrics.push(MetricRow::new("churn", "backtest", "brier_calibrated", None, brier, rows));
        }
        for bin in &c.deciles {
            let d = Some(bin.decile as i32);
            let n = bin.rows as i64;
            metrics.push(MetricRow::new("churn", "backtest", "calibration_predicted", d, bin.mean_predicted, n));
            metrics.push(MetricRow::new("churn", "backtest", "calibration_observed", d, bin.observed_rate, n));
        }
    }
}

/// The final model's training set, as metrics.
fn training_metrics(training_rows: u64, training_positives: u64, recent: &Window, metrics: &mut Vec<MetricRow>) {
    metrics.push(MetricRow::new("churn", "training", "rows", None, training_rows as f64, training_rows as i64));
    metrics.push(MetricRow::new(
        "churn",
        "training",
        "positives",
        None,
        training_positives as f64,
        training_rows as i64,
    ));
    metrics.push(MetricRow::new("churn", "training", "sample_share", None, recent.share, recent.population as i64));
}

/// The final model with its calibration, recorded in `artifact`, and its
/// JSON for the scoring SQL (none when it did not fit).
fn publish(
    fitted: Result<ChurnModel, FitError>,
    calibration: Option<Calibration>,
    artifact: &mut ChurnArtifact,
) -> Result<Option<String>, DataFusionError> {
    Ok(match fitted {
        Ok(mut model) => {
            model.calibration = calibration.map(|c| Platt { slope: c.slope, intercept: c.intercept });
            if let Some(m) = model.logistic() {
                artifact.intercept = Some(m.intercept);
                artifact.coefficients = artifact::column_names(&model)
                    .into_iter()
                    .enumerate()
                    .map(|(j, column)| Coefficient {
                        column,
                        coefficient: m.coefficients[j],
                        mean: m.means[j],
                        scale: m.scales[j],
                    })
                    .collect();
            }
            artifact.trees = model.trees();
            let json = serde_json::to_string(&model).map_err(|e| DataFusionError::External(Box::new(e)))?;
            artifact.model = serde_json::from_str(&json).ok();
            Some(json)
        }
        Err(why) => {
            tracing::warn!("churn model not fitted: {why}; churn_risk is null this run");
            artifact.status = format!("not fitted: {why}");
            None
        }
    })
}

/// The parameters that bind a fitted model (its JSON, as `cvm_churn_score`
/// reads it) to sql/scoring, or switch the scores off without one.
pub fn params(model: Option<&str>) -> Params {
    match model {
        Some(json) => Params::new().flag("churn_fitted", true).text("churn_model", json),
        None => unfitted_params(),
    }
}

/// Parameters that switch the churn scores off (every value null).
pub fn unfitted_params() -> Params {
    Params::new().flag("churn_fitted", false).text("churn_model", "")
}
