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

use chrono::NaiveDate;
use datafusion::error::DataFusionError;
use datafusion::prelude::{SessionContext, col, lit};
use serde::Serialize;

use super::MetricRow;
use super::frames::Frame;
use crate::engine::Params;
use crate::job::{ChurnModelChoice, ModelSettings};
use crate::maths::churn::boosted::TreeSettings;
use crate::maths::churn::calibration::Platt;
use crate::maths::churn::encoding::FeatureColumns;
use crate::maths::churn::{ChurnModel, FitError, FitSettings, Kind, catalogue};
use crate::maths::metrics;

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

/// The features at the view's date: a sample of at most `budget` rows by
/// sample_key, without the lines that end involuntarily within the horizon.
async fn load(ctx: &SessionContext, budget: u64) -> Result<Window, DataFusionError> {
    let population = super::frames::count(ctx, "int_churn_features").await?;
    let share = super::share_of(population, budget);
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

/// Windows stacked into one training set.
fn stack(windows: &[&Window]) -> (FeatureColumns, Vec<bool>) {
    let mut x = FeatureColumns::default();
    let mut y = Vec::new();
    for (i, w) in windows.iter().enumerate() {
        if i == 0 {
            x = w.x.clone();
        } else {
            for (all, more) in x.numeric.iter_mut().zip(&w.x.numeric) {
                all.extend_from_slice(more);
            }
            for (all, more) in x.categorical.iter_mut().zip(&w.x.categorical) {
                all.extend(more.iter().cloned());
            }
        }
        y.extend_from_slice(&w.y);
    }
    (x, y)
}

fn date_list(dates: &[NaiveDate]) -> String {
    dates.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")
}

/// Trains `kind` on `old` (stacked windows, features at `trained_at`) and scores `new` (at `scored_at`).
fn try_learner(
    kind: Kind,
    old: &(FeatureColumns, Vec<bool>),
    new: &Window,
    settings: &ModelSettings,
    trained_at: &[NaiveDate],
    scored_at: NaiveDate,
) -> Tried {
    let mut backtest = Backtest {
        model: kind.name(),
        trained_on_features_at: date_list(trained_at),
        scored_at: scored_at.to_string(),
        rows: new.y.len() as u64,
        positives: positives(&new.y),
        auc: None,
        top_decile_lift: None,
        brier: None,
        status: "fitted".into(),
    };
    let started = std::time::Instant::now();
    match ChurnModel::fit(kind, &old.0, &old.1, &fit_settings(settings)) {
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

/// The final model of `kind`, fitted on the stacked training windows.
fn fit_timed(kind: Kind, x: &FeatureColumns, y: &[bool], settings: &ModelSettings) -> Result<ChurnModel, FitError> {
    let started = std::time::Instant::now();
    let fitted = ChurnModel::fit(kind, x, y, &fit_settings(settings));
    tracing::info!(seconds = started.elapsed().as_secs_f64(), "churn model fitted ({})", kind.name());
    fitted
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

    // back-test both learners: trained on T-2H .. T-(w+1)H, scored at T-H. Side by side,
    // and beside them the final boosted model (trained on T-H .. T-wH), which does not
    // depend on the back-test: it is the longest fit, and the one most often chosen.
    let old = stack(&loaded[1..].iter().collect::<Vec<_>>());
    let (training_x, training_y) = stack(&loaded[..w].iter().collect::<Vec<_>>());
    let boosted_may_win = settings.churn_model != ChurnModelChoice::Logistic;
    let (tried, boosted_final): (Vec<Tried>, Option<Result<ChurnModel, FitError>>) = std::thread::scope(|scope| {
        let final_boosted = boosted_may_win.then(|| {
            let (x, y) = (&training_x, &training_y);
            scope.spawn(move || fit_timed(Kind::Boosted, x, y, settings))
        });
        let learners: Vec<_> = [Kind::Logistic, Kind::Boosted]
            .into_iter()
            .map(|k| {
                let old = &old;
                scope.spawn(move || try_learner(k, old, recent, settings, &dates[1..], th))
            })
            .collect();
        let tried = learners.into_iter().map(|l| l.join().expect("a learner's thread does not panic")).collect();
        (tried, final_boosted.map(|f| f.join().expect("the final fit's thread does not panic")))
    });
    drop(old);
    for t in &tried {
        backtest_metrics(&format!("backtest_{}", t.kind.name()), &t.backtest, &mut metrics);
    }
    let (chosen, choice) = choose(&tried, settings.churn_model);
    let chosen_try = tried.iter().find(|t| Some(t.kind) == chosen);
    let backtest = chosen_try.filter(|t| t.log_odds.is_some()).map(|t| t.backtest.clone());
    let calibration = chosen_try.and_then(|t| t.log_odds.as_deref()).and_then(|z| calibrate(z, recent));
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
        tracing::warn!(
            "churn back-test not possible (features at {}): no outcome of both kinds to learn from",
            date_list(&dates[1..])
        );
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

    // the final model: the chosen learner trained on the w most recent windows whose outcome is known
    let training_rows = training_y.len() as u64;
    let training_positives = positives(&training_y);
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
    let fitted = match (kind, boosted_final) {
        (Kind::Boosted, Some(fitted)) => fitted,
        _ => fit_timed(kind, &training_x, &training_y, settings),
    };
    let params = match fitted {
        Ok(mut model) => {
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
