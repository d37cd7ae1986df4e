//! The model settings of a job file: `[churn]`, `[retention]`, `[value]`,
//! `[value_score]`, `[tiers]`, `[quadrant]` and `[lifecycle]`, every key
//! optional with the defaults docs/models.md explains. Validation turns them
//! into [`ModelSettings`], including the AHP weights (an inconsistent
//! pairwise matrix is a configuration error). Each group of sections is
//! read and checked in a submodule of its own; this one assembles them.

use std::collections::BTreeMap;

use crate::maths::ahp;

mod churn;
mod lifetime;
mod segments;
mod value_score;

pub(super) use churn::ChurnFile;
pub(super) use lifetime::{RetentionFile, ValueFile};
pub(super) use segments::{LifecycleFile, QuadrantFile, TiersFile};
pub(super) use value_score::ValueScoreFile;

/// The metrics value_score can weigh; each is a column of customer_value
/// (retention is 1 - churn_risk). The SQL binds a weight `$w_<name>` for each.
pub const VALUE_CRITERIA: &[&str] = &[
    "clv",
    "current_value",
    "historical_value",
    "arpu_3m",
    "revenue_12m",
    "tenure_months",
    "retention",
    "active_days_30d",
];

#[derive(Debug, Default)]
pub(super) struct ModelFiles {
    pub churn: ChurnFile,
    pub retention: RetentionFile,
    pub value: ValueFile,
    pub value_score: ValueScoreFile,
    pub tiers: TiersFile,
    pub quadrant: QuadrantFile,
    pub lifecycle: LifecycleFile,
}

/// How churn_risk_band cuts the scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BandMode {
    /// medium and high are cumulative top shares of the active lines by risk.
    Percentile,
    /// medium and high are multiples of the base's mean risk.
    Lift,
    /// medium and high are probabilities.
    Absolute,
}

impl BandMode {
    pub fn name(self) -> &'static str {
        match self {
            BandMode::Percentile => "percentile",
            BandMode::Lift => "lift",
            BandMode::Absolute => "absolute",
        }
    }
}

/// Which churn model a run publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChurnModelChoice {
    /// The one with the better back-test AUC.
    Auto,
    Logistic,
    Boosted,
}

/// Validated model settings.
#[derive(Debug, Clone)]
pub struct ModelSettings {
    /// Churn horizon H in days.
    pub churn_horizon_days: u32,
    pub churn_band_mode: BandMode,
    /// churn_risk at or above this is medium (its meaning depends on the mode) ...
    pub churn_band_medium: f64,
    /// ... and at or above this high.
    pub churn_band_high: f64,
    pub churn_model: ChurnModelChoice,
    /// The gradient-boosted trees' shrinkage, depth and most trees (early stopping picks how many).
    pub churn_learning_rate: f64,
    pub churn_max_depth: u32,
    pub churn_max_trees: u32,
    /// Horizons of history stacked into the training set (and the back-test's).
    pub churn_training_windows: u32,
    pub churn_l2: f64,
    pub churn_max_training_rows: u64,
    /// The churn and prepaid models are fitted again when the last fit is this many days old
    /// (0: every run fits, re-runs of a night too); in between, a run applies the stored fit.
    pub churn_refit_every_days: u32,
    /// `cvm run --refit`: this run fits them, whatever fit is stored.
    pub churn_refit_now: bool,
    /// The term of postpaid lines whose extract gives none.
    pub commitment_months: u32,
    pub seed: u64,
    /// Retention cohort groups: plan_type, then these of segment / region.
    pub cohort_groups: Vec<String>,
    /// A cohort group with fewer churned lines is valued with the pooled postpaid fit.
    pub min_churners: u64,
    pub margin_rate: f64,
    pub annual_discount_rate: f64,
    /// K: lifetimes and values look this many months ahead.
    pub horizon_months: u32,
    pub peer_groups: Vec<String>,
    pub target_percentile: f64,
    pub value_criteria: Vec<String>,
    pub value_weights: ahp::AhpWeights,
    pub tiers_by_arpu: bool,
    /// diamond, gold, silver, vip: top shares (percentile mode) or arpu_3m floors.
    pub tier_cuts: [f64; 4],
    pub quadrant_value_share: f64,
    /// Fit is high at or above this absolute score; none: high in the top `fit_top_share` of the base.
    pub fit_threshold: Option<f64>,
    pub fit_top_share: f64,
    /// The fit of a line no source row or rule scores; none: its behavioural fit.
    pub fit_default: Option<f64>,
    pub fit_by_segment: BTreeMap<String, f64>,
    pub fit_by_plan_type: BTreeMap<String, f64>,
    pub new_months: u32,
    pub growing_months: u32,
    pub dormant_days: u32,
    pub declining_trend: f64,
    pub growing_trend: f64,
}

use super::{Invalid, share};

fn groups(key: &str, names: Vec<String>, allowed: &[&str], invalid: Invalid) -> Result<Vec<String>, super::JobError> {
    for name in &names {
        if !allowed.contains(&name.as_str()) {
            return Err(invalid(key, format!("'{name}' is not one of {}", allowed.join(", "))));
        }
    }
    Ok(names)
}

impl ModelFiles {
    /// Checks the sections in turn; the first error stops.
    pub(super) fn validate(self, invalid: Invalid) -> Result<ModelSettings, super::JobError> {
        let churn = churn::validate(self.churn, invalid)?;
        let lifetime = lifetime::validate(self.retention, self.value, invalid)?;
        let score = value_score::validate(self.value_score, invalid)?;
        let tiers = segments::tiers(self.tiers, invalid)?;
        let quadrant = segments::quadrant(self.quadrant, invalid)?;
        let lifecycle = segments::lifecycle(self.lifecycle);
        Ok(ModelSettings {
            churn_horizon_days: churn.horizon_days,
            churn_band_mode: churn.band_mode,
            churn_band_medium: churn.band_medium,
            churn_band_high: churn.band_high,
            churn_model: churn.model,
            churn_learning_rate: churn.learning_rate,
            churn_max_depth: churn.max_depth,
            churn_max_trees: churn.max_trees,
            churn_training_windows: churn.training_windows,
            churn_l2: churn.l2,
            churn_max_training_rows: churn.max_training_rows,
            churn_refit_every_days: churn.refit_every_days,
            churn_refit_now: false,
            commitment_months: churn.commitment_months,
            seed: churn.seed,
            cohort_groups: lifetime.cohort_groups,
            min_churners: lifetime.min_churners,
            margin_rate: lifetime.margin_rate,
            annual_discount_rate: lifetime.annual_discount_rate,
            horizon_months: lifetime.horizon_months,
            peer_groups: lifetime.peer_groups,
            target_percentile: lifetime.target_percentile,
            value_criteria: score.criteria,
            value_weights: score.weights,
            tiers_by_arpu: tiers.by_arpu,
            tier_cuts: tiers.cuts,
            quadrant_value_share: quadrant.value_share,
            fit_threshold: quadrant.fit_threshold,
            fit_top_share: quadrant.fit_top_share,
            fit_default: quadrant.fit_default,
            fit_by_segment: quadrant.fit_by_segment,
            fit_by_plan_type: quadrant.fit_by_plan_type,
            new_months: lifecycle.new_months,
            growing_months: lifecycle.growing_months,
            dormant_days: lifecycle.dormant_days,
            declining_trend: lifecycle.declining_trend,
            growing_trend: lifecycle.growing_trend,
        })
    }
}
