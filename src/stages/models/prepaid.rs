//! Prepaid recharges in a run: the BG/NBD model fitted on
//! sql/intermediate/int_recharge_summary.sql (time unit: week), applied at T
//! by sql/scoring/score_lifetime.sql through bound parameters, and
//! back-tested by fitting at T-H and comparing the recharges it expects in
//! (T-H, T] with those that happened.
//!
//! On a small base the maximum-likelihood fit can run off to a boundary; the
//! run then fits again with a weak prior on the log-parameters (normal,
//! sd 3), which keeps them finite and hardly moves a well-determined fit;
//! the artifact records which fit was used.

use datafusion::error::DataFusionError;
use datafusion::prelude::SessionContext;
use serde::{Deserialize, Serialize};

use super::MetricRow;
use super::frames::Frame;
use crate::engine::Params;
use crate::job::ModelSettings;
use crate::maths::{bgnbd, optimize};

/// The prepaid model's artifact.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PrepaidArtifact {
    /// fitted (maximum likelihood), fitted with a weak prior, or why not.
    pub status: String,
    pub time_unit: String,
    pub r: Option<f64>,
    /// Scale of the purchase rate, in weeks.
    pub alpha_weeks: Option<f64>,
    pub a: Option<f64>,
    pub b: Option<f64>,
    pub log_likelihood: Option<f64>,
    pub lines: u64,
    pub sample_share: f64,
    pub backtest: Option<PrepaidBacktest>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PrepaidBacktest {
    pub fitted_at: String,
    pub horizon_weeks: f64,
    pub active_lines: u64,
    pub recharge_days_expected: f64,
    pub recharge_days_observed: f64,
}

struct Fitted {
    fit: bgnbd::BgNbdFit,
    with_prior: bool,
}

/// The prepaid step's results.
pub struct PrepaidStep {
    pub artifact: PrepaidArtifact,
    pub metrics: Vec<MetricRow>,
}

/// The histories at the view's date: the sample the model is fitted on, and
/// every active line with the recharge days that followed (the back-test's
/// outcome).
struct Histories {
    sample: Vec<bgnbd::History>,
    share: f64,
    /// Active lines' histories with the recharge days they had in the horizon after.
    active: Vec<(bgnbd::History, f64)>,
}

/// Reads int_recharge_summary once (a row per prepaid line, a few numbers
/// each) and groups it here: the sample's share depends on the number of
/// lines, and counting them in the engine first would evaluate the view, a
/// pass over every recharge, twice.
async fn histories(ctx: &SessionContext, settings: &ModelSettings) -> Result<Histories, DataFusionError> {
    let df = ctx.table("int_recharge_summary").await?.select_columns(&[
        "frequency",
        "recency_weeks",
        "age_weeks",
        "is_active",
        "sample_key",
        "recharges_in_horizon",
    ])?;
    let frame = Frame::collect(df).await?;
    let (x, t_x, age) = (frame.f64s("frequency")?, frame.f64s("recency_weeks")?, frame.f64s("age_weeks")?);
    let (active, key, observed) =
        (frame.bools("is_active")?, frame.f64s("sample_key")?, frame.i64s("recharges_in_horizon")?);
    let share = super::training_share(x.len() as u64, settings);
    // identical histories merged, in the order of (x, t_x, T, active, in sample)
    let in_sample = |i: usize| key[i] < share;
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by(|&i, &j| {
        (x[i].total_cmp(&x[j]))
            .then(t_x[i].total_cmp(&t_x[j]))
            .then(age[i].total_cmp(&age[j]))
            .then(active[i].cmp(&active[j]))
            .then(in_sample(i).cmp(&in_sample(j)))
    });
    let mut out = Histories { sample: Vec::new(), share, active: Vec::new() };
    for group in order.chunk_by(|&i, &j| {
        x[i] == x[j] && t_x[i] == t_x[j] && age[i] == age[j] && active[i] == active[j] && in_sample(i) == in_sample(j)
    }) {
        let first = group[0];
        let history =
            bgnbd::History { frequency: x[first], recency: t_x[first], age: age[first], count: group.len() as u64 };
        if in_sample(first) {
            out.sample.push(history);
        }
        if active[first] {
            out.active.push((history, group.iter().map(|&i| observed[i] as f64).sum()));
        }
    }
    Ok(out)
}

/// Maximum likelihood, or the weak-prior fit when that fails.
fn fit(histories: &[bgnbd::History]) -> Result<Fitted, String> {
    match bgnbd::fit(histories) {
        Ok(fit) => Ok(Fitted { fit, with_prior: false }),
        Err(mle_error) => {
            let customers: u64 = histories.iter().map(|h| h.count).sum();
            if customers == 0 || !histories.iter().any(|h| h.frequency > 0.0) {
                return Err(mle_error.to_string());
            }
            let objective = |p: &[f64]| {
                let (r, alpha, a, b) = (p[0].exp(), p[1].exp(), p[2].exp(), p[3].exp());
                let prior: f64 = p.iter().map(|v| v * v / (2.0 * 9.0)).sum();
                -(bgnbd::log_likelihood(r, alpha, a, b, histories)) / customers as f64 + prior / customers as f64
            };
            let mean_age = histories.iter().map(|h| h.age * h.count as f64).sum::<f64>() / customers as f64;
            let start = [0.0, mean_age.max(1.0).ln(), 0.0, 0.0];
            let m = optimize::nelder_mead(objective, &start, 0.5, 4000);
            let m = optimize::nelder_mead(objective, &m.x, 0.1, 4000);
            if !m.value.is_finite() {
                return Err(format!("{mle_error}; the weak-prior fit failed too"));
            }
            let (r, alpha, a, b) = (m.x[0].exp(), m.x[1].exp(), m.x[2].exp(), m.x[3].exp());
            let fit = bgnbd::BgNbdFit {
                r,
                alpha,
                a,
                b,
                log_likelihood: bgnbd::log_likelihood(r, alpha, a, b, histories),
                customers,
                iterations: m.iterations,
                converged: m.converged,
            };
            Ok(Fitted { fit, with_prior: true })
        }
    }
}

/// Back-tests and fits the prepaid model; `at_th` describes T-H, `at_t` T.
pub async fn run(
    at_th: &SessionContext,
    at_t: &SessionContext,
    settings: &ModelSettings,
    th: chrono::NaiveDate,
) -> Result<PrepaidStep, DataFusionError> {
    let mut metrics = Vec::new();
    let horizon_weeks = settings.churn_horizon_days as f64 / 7.0;

    // back-test: fitted on the histories at T-H, expected vs observed recharge days in (T-H, T]
    let started = std::time::Instant::now();
    let old = histories(at_th, settings).await?;
    let now = histories(at_t, settings).await?;
    tracing::info!(
        seconds = started.elapsed().as_secs_f64(),
        histories = old.sample.len() + now.sample.len(),
        "prepaid histories at {th} and at T"
    );
    let (old, now, fitted_old, fitted_now) = fit_both(old, now, th).await?;
    let backtest = match fitted_old {
        Ok(f) => Some(backtest(&f, &old, th, horizon_weeks, &mut metrics)),
        Err(why) => {
            tracing::warn!("prepaid back-test skipped: {why} (histories at {th})");
            None
        }
    };

    let lines: u64 = now.sample.iter().map(|h| h.count).sum();
    let mut artifact = PrepaidArtifact {
        status: String::new(),
        time_unit: "week".into(),
        r: None,
        alpha_weeks: None,
        a: None,
        b: None,
        log_likelihood: None,
        lines,
        sample_share: now.share,
        backtest,
    };
    publish(fitted_now, lines, &mut artifact, &mut metrics);
    Ok(PrepaidStep { artifact, metrics })
}

/// The fits at T-H (`old`) and at T (`now`), with the histories they were fitted on.
type Fits = (Histories, Histories, Result<Fitted, String>, Result<Fitted, String>);

/// Fits the histories at T-H and at T. The two fits are CPU work, side by
/// side on a blocking thread, so the engine's queries (the churn model's,
/// in the same step) go on meanwhile.
async fn fit_both(old: Histories, now: Histories, th: chrono::NaiveDate) -> Result<Fits, DataFusionError> {
    let started = std::time::Instant::now();
    let fits = tokio::task::spawn_blocking(move || {
        let (fitted_old, fitted_now) = std::thread::scope(|scope| {
            let old_fit = scope.spawn(|| fit(&old.sample));
            let now_fit = fit(&now.sample);
            (old_fit.join().expect("a fit's thread does not panic"), now_fit)
        });
        (old, now, fitted_old, fitted_now)
    })
    .await
    .map_err(|e| DataFusionError::External(Box::new(e)))?;
    tracing::info!(seconds = started.elapsed().as_secs_f64(), "prepaid BG/NBD fits at {th} and at T");
    Ok(fits)
}

/// The back-test of the fit at T-H: the recharge days it expects of the
/// lines active then in the `horizon_weeks` after, against those observed.
fn backtest(
    f: &Fitted,
    old: &Histories,
    th: chrono::NaiveDate,
    horizon_weeks: f64,
    metrics: &mut Vec<MetricRow>,
) -> PrepaidBacktest {
    let expected: f64 = old
        .active
        .iter()
        .map(|(h, _)| h.count as f64 * f.fit.expected_transactions(horizon_weeks, h.frequency, h.recency, h.age))
        .sum();
    let bt = PrepaidBacktest {
        fitted_at: th.to_string(),
        horizon_weeks,
        active_lines: old.active.iter().map(|(h, _)| h.count).sum(),
        recharge_days_expected: expected,
        recharge_days_observed: old.active.iter().map(|(_, observed)| observed).sum(),
    };
    let rows = bt.active_lines as i64;
    metrics.push(MetricRow::new("prepaid_bgnbd", "backtest", "recharge_days_expected", None, expected, rows));
    metrics.push(MetricRow::new(
        "prepaid_bgnbd",
        "backtest",
        "recharge_days_observed",
        None,
        bt.recharge_days_observed,
        rows,
    ));
    bt
}

/// The fit at T recorded in `artifact` (whose [`params`] carry it to the
/// scoring SQL) and `metrics` (over `lines` lines).
fn publish(
    fitted_now: Result<Fitted, String>,
    lines: u64,
    artifact: &mut PrepaidArtifact,
    metrics: &mut Vec<MetricRow>,
) {
    match fitted_now {
        Ok(Fitted { fit, with_prior }) => {
            artifact.status = if with_prior { "fitted with a weak prior" } else { "fitted" }.to_string();
            (artifact.r, artifact.alpha_weeks, artifact.a, artifact.b) =
                (Some(fit.r), Some(fit.alpha), Some(fit.a), Some(fit.b));
            artifact.log_likelihood = Some(fit.log_likelihood);
            for (name, value) in [("r", fit.r), ("alpha_weeks", fit.alpha), ("a", fit.a), ("b", fit.b)] {
                metrics.push(MetricRow::new("prepaid_bgnbd", "training", name, None, value, lines as i64));
            }
            metrics.push(MetricRow::new(
                "prepaid_bgnbd",
                "training",
                "log_likelihood",
                None,
                fit.log_likelihood,
                lines as i64,
            ));
        }
        Err(why) => {
            tracing::warn!("prepaid model not fitted: {why}; prepaid lifetime values are null this run");
            artifact.status = format!("not fitted: {why}");
        }
    }
}

/// The parameters that bind the fit an artifact records to sql/scoring, or
/// switch the prepaid scores off when it records none.
pub fn params(artifact: &PrepaidArtifact) -> Params {
    match (artifact.r, artifact.alpha_weeks, artifact.a, artifact.b) {
        (Some(r), Some(alpha), Some(a), Some(b)) => Params::new()
            .flag("bgnbd_fitted", true)
            .float("bgnbd_r", r)
            .float("bgnbd_alpha", alpha)
            .float("bgnbd_a", a)
            .float("bgnbd_b", b),
        _ => unfitted_params(),
    }
}

/// Parameters that switch the prepaid scores off.
pub fn unfitted_params() -> Params {
    Params::new()
        .flag("bgnbd_fitted", false)
        .float("bgnbd_r", 1.0)
        .float("bgnbd_alpha", 1.0)
        .float("bgnbd_a", 1.0)
        .float("bgnbd_b", 1.0)
}
