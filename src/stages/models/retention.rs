//! Postpaid retention in a run: an sBG model per cohort group on the
//! monthly survival in sql/intermediate/int_retention_observations.sql, turned
//! into a lookup table of expected further months (plain and discounted) per
//! cohort group and tenure, which sql/scoring/score_lifetime.sql joins.
//!
//! A group with fewer than `retention.min_churners` ended lines, or whose
//! fit fails, is valued with the pooled fit of all postpaid lines; when that
//! fails too (sBG has no maximum when churn does not fall with tenure), a
//! constant monthly churn rate (the geometric model, sBG's limit) is used,
//! and the artifact says which.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::{Float64Array, Int32Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::error::DataFusionError;
use datafusion::prelude::{SessionContext, col};
use serde::Serialize;

use super::MetricRow;
use super::frames::Frame;
use crate::job::ModelSettings;
use crate::maths::sbg;

/// A group's retention curve.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(tag = "model", rename_all = "snake_case")]
pub enum Curve {
    /// Shifted-beta-geometric: monthly churn probability ~ Beta(alpha, beta).
    Sbg { alpha: f64, beta: f64, log_likelihood: f64 },
    /// One monthly churn probability for everybody.
    Geometric { monthly_churn: f64 },
}

impl Curve {
    /// Expected further months in service within `horizon` months, plain and discounted.
    fn residual(&self, tenure: u32, horizon: u32, rate: f64) -> sbg::Residual {
        match *self {
            Curve::Sbg { alpha, beta, .. } => sbg::residual(alpha, beta, tenure, horizon, rate),
            Curve::Geometric { monthly_churn } => {
                let keep = 1.0 - monthly_churn;
                let (mut expected, mut discounted, mut s) = (0.0, 0.0, 1.0);
                for k in 1..=horizon {
                    s *= keep;
                    expected += s;
                    discounted += s / (1.0 + rate).powi(k as i32);
                }
                sbg::Residual { expected_periods: expected, discounted_periods: discounted }
            }
        }
    }
}

/// What a cohort group was valued with.
#[derive(Debug, Clone, Serialize)]
pub struct GroupFit {
    pub cohort_group: String,
    pub lines: u64,
    pub ended_lines: u64,
    /// own (the group's sBG fit), pooled (all postpaid lines' sBG fit) or
    /// geometric (a constant monthly churn rate over all postpaid lines).
    pub method: &'static str,
    /// Why the group's own fit was not used.
    pub reason: Option<String>,
    /// A fit that was tried and did not converge (the group's own, or the
    /// pooled one it fell back to): the run summary and the report say so.
    pub fit_failure: Option<String>,
    pub curve: Curve,
}

/// The retention step's results.
pub struct RetentionStep {
    pub curve_table: RecordBatch,
    pub groups: Vec<GroupFit>,
    pub metrics: Vec<MetricRow>,
}

/// The lookup table's schema (registered as model_retention_curve).
pub fn curve_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("cohort_group", DataType::Utf8, false),
        Field::new("tenure_months", DataType::Int32, false),
        Field::new("expected_lifetime_months", DataType::Float64, false),
        Field::new("discounted_months", DataType::Float64, false),
    ]))
}

fn geometric(observations: &[sbg::Observation]) -> Curve {
    // MLE of a constant churn rate: ended lines over months at risk
    let ended: u64 = observations.iter().filter(|o| o.churned).map(|o| o.count).sum();
    let at_risk: u64 = observations.iter().map(|o| o.count * (o.periods as u64 + o.churned as u64)).sum();
    Curve::Geometric { monthly_churn: if at_risk == 0 { 0.0 } else { ended as f64 / at_risk as f64 } }
}

/// A group's observations, by cohort group.
type ByGroup = BTreeMap<String, Vec<sbg::Observation>>;

/// The curve of the pooled fit (all postpaid lines): its method, why it is
/// not sBG (when geometric), and the curve.
type Pooled = (&'static str, Option<String>, Curve);

/// Fits every cohort group's curve (or the pooled one) and tabulates the
/// expected further months of each tenure an active line has.
pub async fn run(ctx: &SessionContext, settings: &ModelSettings) -> Result<RetentionStep, DataFusionError> {
    let by_group = observations(ctx).await?;
    let all: Vec<sbg::Observation> = by_group.values().flatten().copied().collect();
    let pooled = if all.is_empty() {
        None
    } else {
        Some(match sbg::fit(&all) {
            Ok(f) => ("pooled", None, Curve::Sbg { alpha: f.alpha, beta: f.beta, log_likelihood: f.log_likelihood }),
            Err(e) => ("geometric", Some(format!("the pooled sBG fit failed: {e}")), geometric(&all)),
        })
    };
    let pooled_failure = pooled.as_ref().and_then(|(_, why, _)| why.clone());

    let rate = crate::maths::discount::monthly_rate(settings.annual_discount_rate);
    let mut groups = Vec::new();
    let mut metrics = Vec::new();
    let mut table = CurveRows::default();
    for (group, observations) in &by_group {
        let fit = group_fit(group, observations, pooled.as_ref(), pooled_failure.as_deref(), settings);
        group_metrics(&fit, &mut metrics);
        table.push(group, observations, &fit.curve, settings.horizon_months, rate);
        groups.push(fit);
    }
    let curve_table = table.batch()?;
    Ok(RetentionStep { curve_table, groups, metrics })
}

/// int_retention_observations, by cohort group.
async fn observations(ctx: &SessionContext) -> Result<ByGroup, DataFusionError> {
    let df = ctx
        .table("int_retention_observations")
        .await?
        .select_columns(&["cohort_group", "periods", "churned", "subscribers"])?
        .sort_by(vec![col("cohort_group"), col("periods"), col("churned")])?;
    let frame = Frame::collect(df).await?;
    let (names, periods, churned, counts) =
        (frame.strings("cohort_group")?, frame.i64s("periods")?, frame.bools("churned")?, frame.i64s("subscribers")?);
    let mut by_group: ByGroup = BTreeMap::new();
    for i in 0..names.len() {
        by_group.entry(names[i].clone()).or_default().push(sbg::Observation {
            periods: periods[i].max(0) as u32,
            churned: churned[i],
            count: counts[i].max(0) as u64,
        });
    }
    Ok(by_group)
}

/// What `group` is valued with: its own sBG fit, or the `pooled` curve and
/// why; said in the log when it is not its own.
fn group_fit(
    group: &str,
    observations: &[sbg::Observation],
    pooled: Option<&Pooled>,
    pooled_failure: Option<&str>,
    settings: &ModelSettings,
) -> GroupFit {
    let lines: u64 = observations.iter().map(|o| o.count).sum();
    let ended: u64 = observations.iter().filter(|o| o.churned).map(|o| o.count).sum();
    let (pooled_method, pooled_reason, pooled_curve) = pooled.cloned().expect("a group means observations");
    let with_pooled = |why: String| {
        let reason = match &pooled_reason {
            Some(more) => format!("{why}; {more}"),
            None => why,
        };
        (pooled_method, Some(reason), pooled_curve)
    };
    let (method, reason, curve, own_failure) = if ended < settings.min_churners {
        let (method, reason, curve) =
            with_pooled(format!("{ended} ended lines, fewer than retention.min_churners ({})", settings.min_churners));
        (method, reason, curve, None)
    } else {
        match sbg::fit(observations) {
            Ok(f) => ("own", None, Curve::Sbg { alpha: f.alpha, beta: f.beta, log_likelihood: f.log_likelihood }, None),
            Err(e) => {
                let (method, reason, curve) = with_pooled(format!("its own sBG fit failed: {e}"));
                (method, reason, curve, Some(format!("its own sBG fit did not converge: {e}")))
            }
        }
    };
    // the fits this group's curve depends on that failed
    let fit_failure = match (own_failure, method) {
        (own, "geometric") => {
            Some(own.into_iter().chain(pooled_failure.map(str::to_string)).collect::<Vec<_>>().join("; "))
        }
        (own, _) => own,
    };
    match &fit_failure {
        // the run warns about it with the other warnings
        Some(why) => tracing::info!("retention group {group}: {why}; valued with the {method} curve"),
        None => {
            if let Some(why) = &reason {
                tracing::info!("retention group {group}: {method} curve, because {why}");
            }
        }
    }
    GroupFit { cohort_group: group.to_string(), lines, ended_lines: ended, method, reason, fit_failure, curve }
}

/// A group's fit, as metrics.
fn group_metrics(fit: &GroupFit, metrics: &mut Vec<MetricRow>) {
    let (group, method) = (&fit.cohort_group, fit.method);
    let row = |metric: &str, value: f64| MetricRow::new("retention_sbg", group, metric, None, value, fit.lines as i64);
    metrics.push(row("lines", fit.lines as f64));
    metrics.push(row("ended_lines", fit.ended_lines as f64));
    metrics.push(row("own_fit", if method == "own" { 1.0 } else { 0.0 }));
    metrics.push(row("fit_failed", if fit.fit_failure.is_some() { 1.0 } else { 0.0 }));
    match fit.curve {
        Curve::Sbg { alpha, beta, log_likelihood } => {
            metrics.push(row("alpha", alpha));
            metrics.push(row("beta", beta));
            if method == "own" {
                metrics.push(row("log_likelihood", log_likelihood));
            }
        }
        Curve::Geometric { monthly_churn } => metrics.push(row("monthly_churn", monthly_churn)),
    }
}

/// The lookup table's columns, built a group at a time.
#[derive(Default)]
struct CurveRows {
    key: Vec<String>,
    tenure: Vec<i32>,
    expected: Vec<f64>,
    discounted: Vec<f64>,
}

impl CurveRows {
    /// One row per tenure an active line of `group` has.
    fn push(&mut self, group: &str, observations: &[sbg::Observation], curve: &Curve, horizon: u32, rate: f64) {
        let mut tenures: Vec<u32> = observations.iter().filter(|o| !o.churned).map(|o| o.periods).collect();
        tenures.dedup();
        for n in tenures {
            let r = curve.residual(n, horizon, rate);
            self.key.push(group.to_string());
            self.tenure.push(n as i32);
            self.expected.push(r.expected_periods);
            self.discounted.push(r.discounted_periods);
        }
    }

    fn batch(self) -> Result<RecordBatch, DataFusionError> {
        Ok(RecordBatch::try_new(
            curve_schema(),
            vec![
                Arc::new(StringArray::from(self.key)),
                Arc::new(Int32Array::from(self.tenure)),
                Arc::new(Float64Array::from(self.expected)),
                Arc::new(Float64Array::from(self.discounted)),
            ],
        )?)
    }
}
