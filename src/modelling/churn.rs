//! The churn model in a run (models::churn), trained time-honestly on
//! sql/intermediate/int_churn_features.sql and back-tested one horizon
//! earlier:
//!
//! - back-test: both learners trained on the features at T-2H labelled by
//!   (T-2H, T-H], scored on the features at T-H, compared with (T-H, T];
//! - choice: the learner with the better back-test AUC (or the job's);
//! - calibration: a Platt map from the chosen learner's back-test log-odds
//!   to what happened;
//! - final model: the chosen learner trained on T-H labelled by (T-H, T],
//!   with that map, applied at T by sql/scoring/score_churn.sql through the
//!   scoring function `cvm_churn_score` and the model bound as `$churn_model`.
//!
//! The label is voluntary churn (port-outs included); lines that end for
//! non-payment within the horizon are neither outcome and are left out.
//! Each window is sampled to at most `churn.max_training_rows` rows by the
//! subscriber's hash with the job's seed, so the same inputs and seed give
//! the same model.

use chrono::NaiveDate;
use datafusion::error::DataFusionError;
use datafusion::prelude::{SessionContext, col, lit};
use serde::Serialize;

use super::MetricRow;
use super::frames::Frame;
use crate::engine::Params;
use crate::job::{ChurnModelChoice, ModelSettings};
use crate::models::churn::boosted::TreeSettings;
use crate::models::churn::calibration::Platt;
use crate::models::churn::encoding::FeatureColumns;
use crate::models::churn::{ChurnModel, FitSettings, Kind, catalogue};
use crate::models::metrics;

/// The model's features: columns of int_churn_features, numeric then categorical.
pub fn feature_names() -> Vec<&'static str> {
    catalogue::names().collect()
}

/// One window's rows, pulled from the engine.
struct Window {
    x: FeatureColumns,
    y: Vec<bool>,
    keys: Vec<f64>,
    /// Share of the window's lines the rows are (1 = all).
    share: f64,
    /// Lines active at the window's date, before sampling.
    population: u64,
}

/// The features at the view's date: a sample of share `share` by sample_key,
/// without the lines that end involuntarily within the horizon.
async fn load(ctx: &SessionContext, settings: &ModelSettings) -> Result<Window, DataFusionError> {
    let population = super::frames::count(ctx, "int_churn_features").await?;
    let share = super::training_share(population, settings);
    let mut columns = feature_names();
    columns.extend(["churns_within_horizon", "sample_key"]);
    let mut df = ctx.table("int_churn_features").await?.filter(!col("ends_involuntarily_within_horizon"))?;
    if share < 1.0 {
        df = df.filter(col("sample_key").lt(lit(share)))?;
    }
    // ordered by subscriber: the same rows in the same order give the same fit
    let df = df.sort(vec![col("subscriber_id").sort(true, false)])?.select_columns(&columns)?;
    let frame = Frame::collect(df).await?;
    let x = FeatureColumns {
        numeric: catalogue::NUMERIC.iter().map(|f| frame.f64s(f.name)).collect::<Result<_, _>>()?,
        categorical: catalogue::CATEGORICAL.iter().map(|f| frame.strings(f.name)).collect::<Result<_, _>>()?,
    };
    Ok(Window { x, y: frame.bools("churns_within_horizon")?, keys: frame.f64s("sample_key")?, share, population })
}

fn positives(y: &[bool]) -> u64 {
    y.iter().filter(|v| **v).count() as u64
}

/// One learner's back-test.
#[derive(Debug, Clone, Serialize)]
pub struct Backtest {
    pub model: &'static str,
    pub trained_on_features_at: String,
    pub scored_at: String,
    pub rows: u64,
    pub positives: u64,
    pub auc: Option<f64>,
    pub top_decile_lift: Option<f64>,
    /// Of the probabilities before calibration.
    pub brier: Option<f64>,
    /// fitted, or why not.
    pub status: String,
}

/// The chosen model's calibration on the back-test window.
#[derive(Debug, Clone, Serialize)]
pub struct Calibration {
    pub method: &'static str,
    pub slope: f64,
    pub intercept: f64,
    /// Whether the figures below are out of sample: each half of the window
    /// calibrated by the map fitted on the other half. False when a half has
    /// only one outcome (a small base): then the whole window's map, in sample.
    pub out_of_sample: bool,
    /// Brier score of the calibrated back-test probabilities.
    pub brier: Option<f64>,
    /// Mean calibrated probability and observed rate per decile.
    pub deciles: Vec<metrics::Decile>,
}

/// A coefficient of the logistic model, as the artifact records it.
#[derive(Debug, Clone, Serialize)]
pub struct Coefficient {
    pub column: String,
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
    pub label: &'static str,
    /// The learner published: logistic or boosted.
    pub chosen: Option<&'static str>,
    /// Why it was chosen.
    pub choice: String,
    pub trained_on_features_at: String,
    pub labels: String,
    pub l2: f64,
    pub learning_rate: f64,
    pub max_depth: u32,
    pub seed: u64,
    pub training_rows: u64,
    pub training_positives: u64,
    pub sample_share: f64,
    pub features: Vec<&'static str>,
    /// The logistic model's intercept and coefficients per encoded column, when it is chosen.
    pub intercept: Option<f64>,
    pub coefficients: Vec<Coefficient>,
    /// The boosted model's trees, when it is chosen.
    pub trees: Option<usize>,
    /// The chosen learner's back-test.
    pub backtest: Option<Backtest>,
    /// Both learners' back-tests.
    pub backtests: Vec<Backtest>,
    pub calibration: Option<Calibration>,
    /// The fitted model itself (what `$churn_model` carries): with the features' SQL, enough to
    /// recompute every score.
    pub model: Option<serde_json::Value>,
}

/// The fitted churn model, its SQL parameters and its metrics.
pub struct ChurnStep {
    pub params: Params,
    pub artifact: ChurnArtifact,
    pub metrics: Vec<MetricRow>,
}

/// What a learner did on the back-test: its fitted model and log-odds on T-H.
struct Tried {
    kind: Kind,
    log_odds: Option<Vec<f64>>,
    backtest: Backtest,
}

fn fit_settings(settings: &ModelSettings) -> FitSettings {
    let trees = TreeSettings {
        learning_rate: settings.churn_learning_rate,
        max_depth: settings.churn_max_depth as usize,
        max_trees: settings.churn_max_trees as usize,
        seed: settings.seed,
    };
    FitSettings { l2: settings.churn_l2, trees }
}

/// Trains `kind` on `old` and scores `new`.
fn try_learner(kind: Kind, old: &Window, new: &Window, settings: &ModelSettings, dates: [NaiveDate; 2]) -> Tried {
    let [t2h, th] = dates;
    let mut backtest = Backtest {
        model: kind.name(),
        trained_on_features_at: t2h.to_string(),
        scored_at: th.to_string(),
        rows: new.y.len() as u64,
        positives: positives(&new.y),
        auc: None,
        top_decile_lift: None,
        brier: None,
        status: "fitted".into(),
    };
    let started = std::time::Instant::now();
    match ChurnModel::fit(kind, &old.x, &old.y, &fit_settings(settings)) {
        Ok(model) => {
            let log_odds = model.log_odds(&new.x);
            let p: Vec<f64> = log_odds.iter().map(|z| model.probability(*z)).collect();
            backtest.auc = metrics::auc(&p, &new.y);
            backtest.top_decile_lift = metrics::top_decile_lift(&p, &new.y);
            backtest.brier = metrics::brier(&p, &new.y);
            tracing::info!(
                seconds = started.elapsed().as_secs_f64(),
                auc = backtest.auc,
                "churn back-test of the {} model",
                kind.name()
            );
            Tried { kind, log_odds: Some(log_odds), backtest }
        }
        Err(e) => {
            backtest.status = format!("not fitted: {e}");
            Tried { kind, log_odds: None, backtest }
        }
    }
}

/// The learner to publish, and why.
fn choose(tried: &[Tried], choice: ChurnModelChoice) -> (Option<Kind>, String) {
    let auc = |k: Kind| tried.iter().find(|t| t.kind == k).and_then(|t| t.backtest.auc);
    match choice {
        ChurnModelChoice::Logistic => (Some(Kind::Logistic), "the job's churn.model".into()),
        ChurnModelChoice::Boosted => (Some(Kind::Boosted), "the job's churn.model".into()),
        ChurnModelChoice::Auto => match (auc(Kind::Logistic), auc(Kind::Boosted)) {
            (Some(l), Some(b)) if b > l => {
                (Some(Kind::Boosted), format!("better back-test AUC ({b:.3} against {l:.3} for logistic)"))
            }
            (Some(l), Some(b)) => (Some(Kind::Logistic), format!("back-test AUC {l:.3}, not below boosted's {b:.3}")),
            (Some(_), None) => (Some(Kind::Logistic), "the only learner with a back-test".into()),
            (None, Some(_)) => (Some(Kind::Boosted), "the only learner with a back-test".into()),
            // no back-test (e.g. no churn at T-2H): the simpler learner
            (None, None) => (Some(Kind::Logistic), "no back-test was possible; the simpler learner".into()),
        },
    }
}

/// The Platt map over the whole back-test window, and its quality out of
/// sample where the window allows: each half (by sample_key) calibrated with
/// the map of the other.
fn calibrate(log_odds: &[f64], window: &Window) -> Option<Calibration> {
    let map = Platt::fit(log_odds, &window.y)?;
    let median = {
        let mut k = window.keys.clone();
        k.sort_by(f64::total_cmp);
        k[k.len() / 2]
    };
    let half =
        |low: bool| -> Vec<usize> { (0..log_odds.len()).filter(|&i| (window.keys[i] < median) == low).collect() };
    let (a, b) = (half(true), half(false));
    let fit_on = |rows: &[usize]| {
        let z: Vec<f64> = rows.iter().map(|&i| log_odds[i]).collect();
        let y: Vec<bool> = rows.iter().map(|&i| window.y[i]).collect();
        Platt::fit(&z, &y)
    };
    // each half calibrated by the other's map; when a half lacks an outcome, in sample
    let (p, out_of_sample): (Vec<f64>, bool) = match (fit_on(&a), fit_on(&b)) {
        (Some(map_a), Some(map_b)) => {
            let mut p = vec![0.0; log_odds.len()];
            for &i in &a {
                p[i] = map_b.probability(log_odds[i]);
            }
            for &i in &b {
                p[i] = map_a.probability(log_odds[i]);
            }
            (p, true)
        }
        _ => (log_odds.iter().map(|z| map.probability(*z)).collect(), false),
    };
    let (brier, deciles) = (metrics::brier(&p, &window.y), metrics::deciles(&p, &window.y));
    Some(Calibration { method: "platt", slope: map.slope, intercept: map.intercept, out_of_sample, brier, deciles })
}

fn backtest_metrics(scope: &str, b: &Backtest, out: &mut Vec<MetricRow>) {
    let rows = b.rows as i64;
    for (name, value) in [("auc", b.auc), ("top_decile_lift", b.top_decile_lift), ("brier", b.brier)] {
        if let Some(v) = value {
            out.push(MetricRow::new("churn", scope, name, None, v, rows));
        }
    }
}

/// Back-tests both learners, chooses, calibrates and fits the churn model.
/// `at_t2h` and `at_th` are sessions whose intermediate views describe T-2H and T-H.
pub async fn run(
    at_t2h: &SessionContext,
    at_th: &SessionContext,
    settings: &ModelSettings,
    dates: [NaiveDate; 3],
) -> Result<ChurnStep, DataFusionError> {
    let [t2h, th, t] = dates;
    let mut metrics = Vec::new();
    let old = load(at_t2h, settings).await?;
    let recent = load(at_th, settings).await?;

    // back-test both learners: trained at T-2H, scored at T-H
    let tried: Vec<Tried> = [Kind::Logistic, Kind::Boosted]
        .into_iter()
        .map(|k| try_learner(k, &old, &recent, settings, [t2h, th]))
        .collect();
    for t in &tried {
        backtest_metrics(&format!("backtest_{}", t.kind.name()), &t.backtest, &mut metrics);
    }
    let (chosen, choice) = choose(&tried, settings.churn_model);
    let chosen_try = tried.iter().find(|t| Some(t.kind) == chosen);
    let backtest = chosen_try.filter(|t| t.log_odds.is_some()).map(|t| t.backtest.clone());
    let calibration = chosen_try.and_then(|t| t.log_odds.as_deref()).and_then(|z| calibrate(z, &recent));
    if let Some(b) = &backtest {
        backtest_metrics("backtest", b, &mut metrics);
        metrics.push(MetricRow::new(
            "churn",
            "backtest",
            "base_rate",
            None,
            b.positives as f64 / b.rows.max(1) as f64,
            b.rows as i64,
        ));
    } else {
        tracing::warn!("churn back-test not possible (features at {t2h}): no outcome of both kinds to learn from");
    }
    if let Some(c) = &calibration {
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

    // the final model: the chosen learner trained at T-H, the most recent window whose outcome is known
    let training_rows = recent.y.len() as u64;
    let training_positives = positives(&recent.y);
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
    let mut artifact = ChurnArtifact {
        status: "fitted".into(),
        horizon_days: settings.churn_horizon_days,
        label: "voluntary deactivation (any reason but involuntary, port-outs included)",
        chosen: chosen.map(Kind::name),
        choice,
        trained_on_features_at: th.to_string(),
        labels: format!("deactivation_date in ({th}, {t}]"),
        l2: settings.churn_l2,
        learning_rate: settings.churn_learning_rate,
        max_depth: settings.churn_max_depth,
        seed: settings.seed,
        training_rows,
        training_positives,
        sample_share: recent.share,
        features: feature_names(),
        intercept: None,
        coefficients: Vec::new(),
        trees: None,
        backtest,
        backtests: tried.iter().map(|t| t.backtest.clone()).collect(),
        calibration: calibration.clone(),
        model: None,
    };
    let kind = chosen.unwrap_or(Kind::Logistic);
    let started = std::time::Instant::now();
    let params = match ChurnModel::fit(kind, &recent.x, &recent.y, &fit_settings(settings)) {
        Ok(mut model) => {
            tracing::info!(seconds = started.elapsed().as_secs_f64(), "churn model fitted ({})", kind.name());
            model.calibration = calibration.map(|c| Platt { slope: c.slope, intercept: c.intercept });
            if let Some(m) = model.logistic() {
                artifact.intercept = Some(m.intercept);
                artifact.coefficients = column_names(&model)
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
            Params::new().flag("churn_fitted", true).text("churn_model", &json)
        }
        Err(why) => {
            tracing::warn!("churn model not fitted: {why}; churn_risk is null this run");
            artifact.status = format!("not fitted: {why}");
            unfitted_params()
        }
    };
    Ok(ChurnStep { params, artifact, metrics })
}

/// The encoded columns' names: numeric features, then `feature=level` (and `feature=other`).
fn column_names(model: &ChurnModel) -> Vec<String> {
    let numeric = catalogue::NUMERIC.iter().map(|f| f.name.to_string());
    let levels = catalogue::CATEGORICAL.iter().zip(&model.encoder.levels).flat_map(|(f, levels)| {
        levels.iter().map(move |l| format!("{}={l}", f.name)).chain(std::iter::once(format!("{}=other", f.name)))
    });
    numeric.chain(levels).collect()
}

/// Parameters that switch the churn scores off (every value null).
pub fn unfitted_params() -> Params {
    Params::new().flag("churn_fitted", false).text("churn_model", "")
}
