//! The model library's supervised part, fitted where the fraud team's
//! confirmed cases exist (the optional `fraud_cases` source): a logistic
//! regression (src/maths/logistic.rs) on each line's usage of the
//! `window_days` up to a date (sql/models/fraud_features.sql), labelled by a
//! case confirmed in the `horizon_days` after it.
//!
//! As the churn model, it learns from the past and is judged on it:
//! - the back-test trains on the lines at T-2H (labels in (T-2H, T-H]) and
//!   scores the lines at T-H against the cases confirmed in (T-H, T]: its
//!   AUC, and its precision and recall at the job's threshold, go to
//!   model_metrics (model `fraud`);
//! - the final model trains on both windows and scores the lines at T; the
//!   lines at or above the threshold are registered as [`MODEL_TABLE`],
//!   which sql/screening/screen_fraud_model.sql turns into the rule's rows.
//!
//! A line with a case confirmed on or before a window's date is known: it is
//! left out of that window (there is nothing left to find), and at T the
//! `confirmed_case` rule (sql/screening/screen_confirmed_case.sql) flags it
//! instead. Without confirmed cases, with fewer than `min_cases` in a
//! training horizon, or with a back-test AUC below `min_auc`, the model is
//! not applied, the table is empty and the run says why (docs/models.md,
//! "The fraud model").

use std::sync::Arc;

use chrono::NaiveDate;
use datafusion::arrow::array::{Float64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::error::DataFusionError;

use crate::engine::{self, Params, sqlfiles};
use crate::job::FraudModelRule;
use crate::maths::logistic::{self, Logistic};
use crate::maths::metrics;
use crate::stages::models::{Frame, MetricRow};
use crate::stages::session::RunSession;

/// The lines the final model puts at or above its threshold.
pub const MODEL_TABLE: &str = "fraud_model_lines";

/// The model's inputs (columns of fraud_features.sql) and their words in a reason.
const FEATURES: [(&str, &str); 10] = [
    ("calls_out", "calls made a day"),
    ("numbers_called", "distinct numbers called a day"),
    ("incoming_share", "share of calls received"),
    ("night_share", "share of calls made at night"),
    ("other_events", "sms, mms and data sessions a day"),
    ("voice_minutes", "voice minutes a day"),
    ("data_mib", "data MiB a day"),
    ("active_share", "share of days with usage"),
    ("tenure", "days in service"),
    ("is_prepaid", "plan type"),
];

/// What the step fitted and found, for the run's log and model_metrics.
#[derive(Debug, Default)]
pub struct FraudModelFit {
    /// Rows of stg_fraud_cases: 0 when the job has none (nothing to learn from).
    pub cases: u64,
    /// "fitted", or why not.
    pub status: String,
    pub metrics: Vec<MetricRow>,
    /// Lines at T at or above the threshold.
    pub flagged: usize,
}

/// One date's lines: the features, the label, and whether a case is already known.
struct Window {
    ids: Vec<String>,
    x: Vec<Vec<f64>>,
    y: Vec<bool>,
    known: Vec<bool>,
}

impl Window {
    /// The rows still to be found: lines without a known case.
    fn open(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.ids.len()).filter(|&i| !self.known[i])
    }

    fn positives(&self) -> usize {
        self.open().filter(|&i| self.y[i]).count()
    }
}

/// Fits and back-tests the model where `stg_fraud_cases` has rows, scores
/// tonight's lines and registers [`MODEL_TABLE`] (empty when not fitted).
pub async fn fraud_model_lines(
    session: &RunSession<'_>,
    params: &Params,
    rule: &FraudModelRule,
    as_of: NaiveDate,
) -> Result<FraudModelFit, DataFusionError> {
    let cases = crate::stages::models::frames::count(session.ctx(), "stg_fraud_cases").await?;
    if cases == 0 {
        session.register_small(MODEL_TABLE, empty_model_lines()).await?;
        let status = "not applied: no confirmed fraud cases (the optional fraud_cases source)".to_string();
        return Ok(FraudModelFit { cases, status, ..FraudModelFit::default() });
    }
    let horizon = chrono::Days::new(rule.horizon_days.into());
    let dates = [as_of - horizon - horizon, as_of - horizon, as_of];
    let mut windows = Vec::with_capacity(dates.len());
    for date in dates {
        windows.push(load(session, params, rule, date).await?);
    }
    let rule_owned = rule.clone();
    let (fit, lines) = tokio::task::spawn_blocking(move || train(&windows, &rule_owned, dates))
        .await
        .map_err(|e| DataFusionError::External(Box::new(e)))?;
    session.register_small(MODEL_TABLE, lines).await?;
    Ok(FraudModelFit { cases, ..fit })
}

/// fraud_features.sql at `date`.
async fn load(
    session: &RunSession<'_>,
    params: &Params,
    rule: &FraudModelRule,
    date: NaiveDate,
) -> Result<Window, DataFusionError> {
    let file = sqlfiles::find("fraud_features").expect("fraud_features.sql exists");
    let at = params.clone().merged(&crate::stages::params::fraud_window(rule, date));
    let df = engine::plan(session.ctx(), file, &at).await.map_err(|e| DataFusionError::External(Box::new(e)))?;
    let frame = Frame::collect(df).await?;
    let columns: Vec<Vec<f64>> = FEATURES.iter().map(|(name, _)| frame.f64s(name)).collect::<Result<_, _>>()?;
    let x = (0..frame.rows()).map(|i| columns.iter().map(|c| c[i]).collect()).collect();
    Ok(Window {
        ids: frame.strings("subscriber_id")?,
        x,
        y: frame.bools("confirmed_within_horizon")?,
        known: frame.bools("known_case")?,
    })
}

/// The back-test and the final fit over the windows at T-2H, T-H and T;
/// the lines at T at or above the threshold. The final model is applied
/// only when the back-test ranked: its AUC at least `min_auc`.
fn train(windows: &[Window], rule: &FraudModelRule, dates: [NaiveDate; 3]) -> (FraudModelFit, RecordBatch) {
    let [early, recent, tonight] = [&windows[0], &windows[1], &windows[2]];
    let mut fit = FraudModelFit::default();
    let min = rule.min_cases as usize;
    let not_fitted = |mut fit: FraudModelFit, why: String| {
        fit.status = format!("not applied: {why}");
        (fit, empty_model_lines())
    };

    // the back-test: trained at T-2H, judged at T-H
    if early.positives() < min {
        let why = format!(
            "not back-tested: {} cases confirmed in ({}, {}], fewer than min_cases ({min})",
            early.positives(),
            dates[0],
            dates[1]
        );
        return not_fitted(fit, why);
    }
    let auc = match fit_on(&[early], rule.l2) {
        Ok(model) => backtest(&model, recent, rule.threshold, &mut fit.metrics),
        Err(e) => return not_fitted(fit, format!("the back-test could not be fitted: {e}")),
    };
    match auc {
        Some(auc) if auc >= rule.min_auc => {}
        Some(auc) => {
            return not_fitted(fit, format!("its back-test's AUC {auc:.3} is below min_auc ({})", rule.min_auc));
        }
        None => {
            return not_fitted(
                fit,
                format!("no case confirmed in ({}, {}] to judge its back-test", dates[1], dates[2]),
            );
        }
    }

    // the final model: both windows whose outcome is known
    let model = match fit_on(&[early, recent], rule.l2) {
        Ok(model) => model,
        Err(e) => return not_fitted(fit, format!("the final model could not be fitted: {e}")),
    };
    let rows = (early.open().count() + recent.open().count()) as i64;
    let positives = (early.positives() + recent.positives()) as f64;
    for (metric, value) in [("rows", rows as f64), ("positives", positives), ("label_rate", model.label_rate)] {
        fit.metrics.push(MetricRow::new("fraud", "training", metric, None, value, rows));
    }
    let mut lines = ModelLines::default();
    for i in tonight.open() {
        let p = model.probability(&tonight.x[i]);
        if p >= rule.threshold {
            lines.push(&tonight.ids[i], p, strongest(&model.model, &tonight.x[i]));
        }
    }
    fit.flagged = lines.ids.len();
    fit.status = "fitted".into();
    let batch = lines.batch().expect("the lines' columns have one length");
    (fit, batch)
}

/// A fitted model with its label rate: the confirmed cases are the fraud
/// lines the team caught within the horizon, not all of them, so the
/// regression learns the probability that a line is *confirmed*, and a
/// fraud line like those caught gets about the share caught. Divided by
/// that share, estimated as the mean probability of the training's
/// confirmed lines (Elkan and Noto, 2008, for labels that are a random
/// sample of the positives), it reads as the probability that the line is
/// fraud like them.
struct Fitted {
    model: Logistic,
    label_rate: f64,
}

impl Fitted {
    fn probability(&self, x: &[f64]) -> f64 {
        (self.model.predict(x) / self.label_rate).min(1.0)
    }
}

/// A fit on the open rows of `windows`.
fn fit_on(windows: &[&Window], l2: f64) -> Result<Fitted, logistic::FitError> {
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for w in windows {
        for i in w.open() {
            x.push(w.x[i].clone());
            y.push(w.y[i]);
        }
    }
    let model = logistic::fit(&x, &y, l2)?;
    let confirmed: Vec<f64> = x.iter().zip(&y).filter(|(_, y)| **y).map(|(x, _)| model.predict(x)).collect();
    let label_rate = confirmed.iter().sum::<f64>() / confirmed.len().max(1) as f64;
    Ok(Fitted { model, label_rate: label_rate.max(f64::MIN_POSITIVE) })
}

/// The back-test's figures: AUC, and precision and recall at the threshold
/// against the cases confirmed within the horizon (a flagged fraud line the
/// team has not confirmed yet counts against precision: a lower bound).
/// Returns the AUC.
fn backtest(model: &Fitted, window: &Window, threshold: f64, out: &mut Vec<MetricRow>) -> Option<f64> {
    let open: Vec<usize> = window.open().collect();
    let scores: Vec<f64> = open.iter().map(|&i| model.probability(&window.x[i])).collect();
    let labels: Vec<bool> = open.iter().map(|&i| window.y[i]).collect();
    let rows = open.len() as i64;
    let flagged = scores.iter().filter(|&&p| p >= threshold).count();
    let positives = labels.iter().filter(|&&l| l).count();
    let hits = scores.iter().zip(&labels).filter(|(p, l)| **p >= threshold && **l).count();
    let mut push = |metric: &str, value: f64| out.push(MetricRow::new("fraud", "backtest", metric, None, value, rows));
    // ranked on the regression's own probability: the division caps ties at 1
    let raw: Vec<f64> = open.iter().map(|&i| model.model.predict(&window.x[i])).collect();
    let auc = metrics::auc(&raw, &labels);
    if let Some(auc) = auc {
        push("auc", auc);
    }
    push("positives", positives as f64);
    push("flagged", flagged as f64);
    push("label_rate", model.label_rate);
    if flagged > 0 {
        push("precision", hits as f64 / flagged as f64);
    }
    if positives > 0 {
        push("recall", hits as f64 / positives as f64);
    }
    auc
}

/// The words of the feature that raises the line's log-odds most.
fn strongest(model: &Logistic, x: &[f64]) -> &'static str {
    let contributions = model.contributions(x);
    let (j, _) = contributions.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).expect("the model has features");
    FEATURES[j].1
}

/// The columns of [`MODEL_TABLE`].
#[derive(Default)]
struct ModelLines {
    ids: Vec<String>,
    probabilities: Vec<f64>,
    strongest: Vec<&'static str>,
}

impl ModelLines {
    fn push(&mut self, id: &str, probability: f64, strongest: &'static str) {
        self.ids.push(id.to_string());
        self.probabilities.push(probability);
        self.strongest.push(strongest);
    }

    fn batch(self) -> Result<RecordBatch, DataFusionError> {
        Ok(RecordBatch::try_new(
            model_lines_schema(),
            vec![
                Arc::new(StringArray::from(self.ids)),
                Arc::new(Float64Array::from(self.probabilities)),
                Arc::new(StringArray::from(self.strongest)),
            ],
        )?)
    }
}

/// subscriber_id, the model's probability, and the feature that raised it most, in words.
fn model_lines_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("subscriber_id", DataType::Utf8, false),
        Field::new("probability", DataType::Float64, false),
        Field::new("strongest", DataType::Utf8, false),
    ]))
}

/// An empty [`MODEL_TABLE`]: no model, or `cvm validate`'s plans.
pub fn empty_model_lines() -> RecordBatch {
    RecordBatch::new_empty(model_lines_schema())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::maths::test_rng::Rng;

    /// Lines of which some behave like SIM boxes (many calls, many numbers,
    /// nothing received) and are confirmed within the horizon.
    fn window(seed: u64, n: usize, known: usize) -> Window {
        let mut r = Rng(seed);
        let (mut ids, mut x, mut y) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..n {
            let fraud = i % 50 == 0;
            let calls: f64 = if fraud { 5.5 + r.uniform() } else { 1.0 + r.uniform() };
            let numbers = if fraud { 4.5 + r.uniform() } else { 0.5 + r.uniform() };
            let incoming = if fraud { 0.02 * r.uniform() } else { 0.3 + 0.4 * r.uniform() };
            let row =
                vec![calls, numbers, incoming, 0.2 * r.uniform(), r.uniform(), r.uniform(), r.uniform(), 0.8, 5.0, 1.0];
            ids.push(format!("S{i:05}"));
            x.push(row);
            // one fraud line in 5 is not caught within the horizon: noise in the labels
            y.push(fraud && i % 250 != 0);
        }
        let known = (0..n).map(|i| i < known && i % 50 == 0).collect();
        Window { ids, x, y, known }
    }

    fn rule() -> FraudModelRule {
        crate::job::ScreeningSettings::default().fraud_model
    }

    #[test]
    fn learns_the_pattern_back_tests_it_and_flags_tonights_lines() {
        let dates = [
            NaiveDate::from_ymd_opt(2026, 10, 25).unwrap(),
            NaiveDate::from_ymd_opt(2026, 11, 8).unwrap(),
            NaiveDate::from_ymd_opt(2026, 11, 22).unwrap(),
        ];
        let windows = [window(1, 2_000, 0), window(2, 2_000, 500), window(3, 2_000, 1_000)];
        let (fit, lines) = train(&windows, &rule(), dates);
        assert_eq!(fit.status, "fitted");
        let metric =
            |name: &str| fit.metrics.iter().find(|m| m.scope == "backtest" && m.metric == name).map(|m| m.value);
        assert!(metric("auc").unwrap() > 0.95, "{:?}", fit.metrics);
        assert!(metric("recall").unwrap() > 0.9, "{:?}", fit.metrics);
        // the fraud lines not known at T are flagged (some were never confirmed: still fraud-like)
        let flagged = lines.column(0).as_any().downcast_ref::<StringArray>().unwrap();
        let expected: Vec<String> = (1_000..2_000).filter(|i| i % 50 == 0).map(|i| format!("S{i:05}")).collect();
        let got: Vec<String> = flagged.iter().map(|s| s.unwrap().to_string()).collect();
        assert_eq!(got, expected);
        // a known case is never scored
        assert!(!got.contains(&"S00000".to_string()));
        let strongest = lines.column(2).as_any().downcast_ref::<StringArray>().unwrap();
        assert!(FEATURES[..3].iter().any(|(_, words)| *words == strongest.value(0)), "{}", strongest.value(0));
    }

    #[test]
    fn too_few_cases_fit_nothing_and_say_why() {
        let dates = [
            NaiveDate::from_ymd_opt(2026, 10, 25).unwrap(),
            NaiveDate::from_ymd_opt(2026, 11, 8).unwrap(),
            NaiveDate::from_ymd_opt(2026, 11, 22).unwrap(),
        ];
        // 100 lines: 2 fraud lines a window, 1 of them confirmed within the horizon
        let windows = [window(1, 100, 0), window(2, 100, 0), window(3, 100, 0)];
        let (fit, lines) = train(&windows, &rule(), dates);
        assert_eq!(
            fit.status,
            "not applied: not back-tested: 1 cases confirmed in (2026-10-25, 2026-11-08], fewer than min_cases (5)"
        );
        assert_eq!(lines.num_rows(), 0);
        assert!(fit.metrics.is_empty());
    }
}
