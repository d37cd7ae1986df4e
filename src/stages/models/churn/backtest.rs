//! The back-test: each learner trained one horizon earlier and scored on
//! the features at T-H, the choice between the learners, and the Platt
//! calibration of the chosen one on that window.

use chrono::NaiveDate;

use super::artifact::{Backtest, Calibration};
use super::windows::{Window, positives, stack};
use crate::job::{ChurnModelChoice, ModelSettings};
use crate::maths::churn::boosted::TreeSettings;
use crate::maths::churn::calibration::Platt;
use crate::maths::churn::encoding::FeatureColumns;
use crate::maths::churn::{ChurnModel, FitError, FitSettings, Kind};
use crate::maths::metrics;
use crate::stages::models::MetricRow;

/// What a learner did on the back-test: its fitted model and log-odds on T-H.
pub(super) struct Tried {
    pub kind: Kind,
    pub log_odds: Option<Vec<f64>>,
    pub backtest: Backtest,
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

pub(super) fn date_list(dates: &[NaiveDate]) -> String {
    dates.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")
}

/// The back-test of both learners: trained on the windows T-2H .. T-(w+1)H
/// stacked, scored at T-H (the first of `loaded`). Side by side, and beside
/// them the final boosted model (trained on `training`, T-H .. T-wH), which
/// does not depend on the back-test: it is the longest fit, and the one
/// most often chosen; None when the job's churn.model rules boosted out.
pub(super) fn both_learners(
    loaded: &[Window],
    training: &(FeatureColumns, Vec<bool>),
    settings: &ModelSettings,
    dates: &[NaiveDate],
) -> (Vec<Tried>, Option<Result<ChurnModel, FitError>>) {
    let (th, recent) = (dates[0], &loaded[0]);
    let old = stack(&loaded[1..].iter().collect::<Vec<_>>());
    let boosted_may_win = settings.churn_model != ChurnModelChoice::Logistic;
    std::thread::scope(|scope| {
        let final_boosted = boosted_may_win.then(|| {
            let (x, y) = (&training.0, &training.1);
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
    })
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
        model: kind.name().into(),
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
pub(super) fn fit_timed(
    kind: Kind,
    x: &FeatureColumns,
    y: &[bool],
    settings: &ModelSettings,
) -> Result<ChurnModel, FitError> {
    let started = std::time::Instant::now();
    let fitted = ChurnModel::fit(kind, x, y, &fit_settings(settings));
    tracing::info!(seconds = started.elapsed().as_secs_f64(), "churn model fitted ({})", kind.name());
    fitted
}

/// The learner to publish, and why.
pub(super) fn choose(tried: &[Tried], choice: ChurnModelChoice) -> (Option<Kind>, String) {
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
pub(super) fn calibrate(log_odds: &[f64], window: &Window) -> Option<Calibration> {
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
    Some(Calibration {
        method: "platt".into(),
        slope: map.slope,
        intercept: map.intercept,
        out_of_sample,
        brier,
        deciles,
    })
}

pub(super) fn backtest_metrics(scope: &str, b: &Backtest, out: &mut Vec<MetricRow>) {
    let rows = b.rows as i64;
    for (name, value) in [("auc", b.auc), ("top_decile_lift", b.top_decile_lift), ("brier", b.brier)] {
        if let Some(v) = value {
            out.push(MetricRow::new("churn", scope, name, None, v, rows));
        }
    }
}
