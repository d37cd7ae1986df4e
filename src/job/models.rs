//! The model settings of a job file: `[churn]`, `[retention]`, `[value]`,
//! `[value_score]`, `[tiers]`, `[quadrant]` and `[lifecycle]`, every key
//! optional with the defaults docs/models.md explains. Validation turns them
//! into [`ModelSettings`], including the AHP weights (an inconsistent
//! pairwise matrix is a configuration error).

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::maths::ahp;

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

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ChurnFile {
    horizon_days: Option<u32>,
    bands: Option<BandsFile>,
    model: Option<String>,
    learning_rate: Option<f64>,
    max_depth: Option<u32>,
    max_trees: Option<u32>,
    training_windows: Option<u32>,
    l2: Option<f64>,
    max_training_rows: Option<u64>,
    commitment_months: Option<u32>,
    seed: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BandsFile {
    mode: Option<String>,
    medium: Option<f64>,
    high: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RetentionFile {
    cohort_groups: Option<Vec<String>>,
    min_churners: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ValueFile {
    margin_rate: Option<f64>,
    annual_discount_rate: Option<f64>,
    horizon_months: Option<u32>,
    peer_groups: Option<Vec<String>>,
    target_percentile: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ValueScoreFile {
    criteria: Option<Vec<String>>,
    pairwise: Option<Vec<Vec<Judgement>>>,
}

/// A pairwise judgement: a number, or a fraction written "1/3".
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Judgement {
    Number(f64),
    Text(String),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TiersFile {
    mode: Option<String>,
    percentile: Option<TierCutsFile>,
    arpu: Option<TierCutsFile>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
struct TierCutsFile {
    diamond: f64,
    gold: f64,
    silver: f64,
    vip: f64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct QuadrantFile {
    value_top_share: Option<f64>,
    fit_threshold: Option<f64>,
    fit_top_share: Option<f64>,
    fit_default: Option<f64>,
    #[serde(default)]
    fit_by_segment: BTreeMap<String, f64>,
    #[serde(default)]
    fit_by_plan_type: BTreeMap<String, f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LifecycleFile {
    new_months: Option<u32>,
    growing_months: Option<u32>,
    dormant_days: Option<u32>,
    declining_trend: Option<f64>,
    growing_trend: Option<f64>,
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

type Invalid<'a> = &'a dyn Fn(&str, String) -> super::JobError;

fn share(key: &str, value: f64, invalid: Invalid) -> Result<f64, super::JobError> {
    if value.is_finite() && (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(invalid(key, format!("{value} is not a share between 0 and 1")))
    }
}

fn groups(key: &str, names: Vec<String>, allowed: &[&str], invalid: Invalid) -> Result<Vec<String>, super::JobError> {
    for name in &names {
        if !allowed.contains(&name.as_str()) {
            return Err(invalid(key, format!("'{name}' is not one of {}", allowed.join(", "))));
        }
    }
    Ok(names)
}

fn judgement(key: &str, j: &Judgement, invalid: Invalid) -> Result<f64, super::JobError> {
    let value = match j {
        Judgement::Number(v) => Some(*v),
        Judgement::Text(t) => match t.split_once('/') {
            Some((a, b)) => a.trim().parse::<f64>().ok().zip(b.trim().parse::<f64>().ok()).map(|(a, b)| a / b),
            None => t.trim().parse().ok(),
        },
    };
    value
        .filter(|v| v.is_finite() && *v > 0.0)
        .ok_or_else(|| invalid(key, format!("{j:?} is not a positive number or a fraction such as \"1/3\"")))
}

/// The band settings: a mode and its two cut-offs. Without a mode, cut-offs
/// given are probabilities (what `bands = { medium, high }` meant before
/// modes existed); without anything, the top 5% are high and the next 15%
/// medium.
fn bands(file: Option<BandsFile>, invalid: Invalid) -> Result<(BandMode, f64, f64), super::JobError> {
    let file = file.unwrap_or(BandsFile { mode: Some("percentile".into()), medium: None, high: None });
    let mode = match file.mode.as_deref() {
        Some("percentile") => BandMode::Percentile,
        Some("lift") => BandMode::Lift,
        Some("absolute") | None => BandMode::Absolute,
        Some(other) => {
            return Err(invalid("churn.bands.mode", format!("'{other}' is not percentile, lift or absolute")));
        }
    };
    let (medium, high) = match mode {
        BandMode::Percentile => (file.medium.unwrap_or(0.20), file.high.unwrap_or(0.05)),
        BandMode::Lift => (file.medium.unwrap_or(1.5), file.high.unwrap_or(3.0)),
        BandMode::Absolute => (file.medium.unwrap_or(0.10), file.high.unwrap_or(0.30)),
    };
    match mode {
        BandMode::Percentile | BandMode::Absolute => {
            share("churn.bands.medium", medium, invalid)?;
            share("churn.bands.high", high, invalid)?;
        }
        BandMode::Lift => {
            for (key, v) in [("churn.bands.medium", medium), ("churn.bands.high", high)] {
                if !(v.is_finite() && v > 0.0) {
                    return Err(invalid(key, format!("{v} is not a multiple of the base rate above 0")));
                }
            }
        }
    }
    // a percentile's high band is the smaller top share; the others' high cut-off is the larger
    let ordered = if mode == BandMode::Percentile { high <= medium } else { medium <= high };
    if !ordered {
        let rule = if mode == BandMode::Percentile {
            "high must not be above medium"
        } else {
            "medium must not be above high"
        };
        return Err(invalid("churn.bands", format!("{rule} ({} mode)", mode.name())));
    }
    Ok((mode, medium, high))
}

impl ModelFiles {
    pub(super) fn validate(self, invalid: Invalid) -> Result<ModelSettings, super::JobError> {
        let c = self.churn;
        let churn_horizon_days = c.horizon_days.unwrap_or(30);
        if !(1..=366).contains(&churn_horizon_days) {
            return Err(invalid("churn.horizon_days", format!("{churn_horizon_days} is not between 1 and 366")));
        }
        let (band_mode, band_medium, band_high) = bands(c.bands, invalid)?;
        let churn_model = match c.model.as_deref().unwrap_or("auto") {
            "auto" => ChurnModelChoice::Auto,
            "logistic" => ChurnModelChoice::Logistic,
            "boosted" => ChurnModelChoice::Boosted,
            other => return Err(invalid("churn.model", format!("'{other}' is not auto, logistic or boosted"))),
        };
        let churn_learning_rate = c.learning_rate.unwrap_or(0.05);
        if !(churn_learning_rate.is_finite() && churn_learning_rate > 0.0 && churn_learning_rate <= 1.0) {
            return Err(invalid("churn.learning_rate", format!("{churn_learning_rate} is not in (0, 1]")));
        }
        let churn_max_depth = c.max_depth.unwrap_or(5);
        if !(1..=12).contains(&churn_max_depth) {
            return Err(invalid("churn.max_depth", format!("{churn_max_depth} is not between 1 and 12")));
        }
        let churn_max_trees = c.max_trees.unwrap_or(1000);
        if !(1..=10_000).contains(&churn_max_trees) {
            return Err(invalid("churn.max_trees", format!("{churn_max_trees} is not between 1 and 10000")));
        }
        let churn_training_windows = c.training_windows.unwrap_or(2);
        if !(1..=6).contains(&churn_training_windows) {
            return Err(invalid("churn.training_windows", format!("{churn_training_windows} is not between 1 and 6")));
        }
        let commitment_months = c.commitment_months.unwrap_or(12);
        if commitment_months > 120 {
            return Err(invalid("churn.commitment_months", format!("{commitment_months} is not between 0 and 120")));
        }
        let churn_l2 = c.l2.unwrap_or(1.0);
        if !(churn_l2.is_finite() && churn_l2 >= 0.0) {
            return Err(invalid("churn.l2", format!("{churn_l2} is not a penalty >= 0")));
        }
        let churn_max_training_rows = c.max_training_rows.unwrap_or(200_000);
        if churn_max_training_rows < 100 {
            return Err(invalid("churn.max_training_rows", "must be at least 100".into()));
        }

        let r = self.retention;
        let cohort_groups = groups(
            "retention.cohort_groups",
            r.cohort_groups.unwrap_or_else(|| vec!["plan_type".into(), "segment".into()]),
            &["plan_type", "segment", "region"],
            invalid,
        )?;

        let v = self.value;
        let margin_rate = share("value.margin_rate", v.margin_rate.unwrap_or(0.35), invalid)?;
        let annual_discount_rate =
            share("value.annual_discount_rate", v.annual_discount_rate.unwrap_or(0.10), invalid)?;
        let horizon_months = v.horizon_months.unwrap_or(60);
        if !(1..=600).contains(&horizon_months) {
            return Err(invalid("value.horizon_months", format!("{horizon_months} is not between 1 and 600")));
        }
        let peer_groups = groups(
            "value.peer_groups",
            v.peer_groups.unwrap_or_else(|| vec!["plan_type".into(), "segment".into()]),
            &["plan_type", "segment", "region"],
            invalid,
        )?;
        let target_percentile = share("value.target_percentile", v.target_percentile.unwrap_or(0.75), invalid)?;
        if target_percentile == 0.0 {
            return Err(invalid("value.target_percentile", "must be above 0".into()));
        }

        let s = self.value_score;
        let value_criteria = s.criteria.unwrap_or_else(|| vec!["clv".into(), "arpu_3m".into(), "tenure_months".into()]);
        for name in &value_criteria {
            if !VALUE_CRITERIA.contains(&name.as_str()) {
                return Err(invalid(
                    "value_score.criteria",
                    format!("'{name}' is not one of {}", VALUE_CRITERIA.join(", ")),
                ));
            }
        }
        let pairwise = match s.pairwise {
            Some(rows) => rows
                .iter()
                .enumerate()
                .map(|(i, row)| {
                    row.iter()
                        .enumerate()
                        .map(|(j, x)| judgement(&format!("value_score.pairwise[{i}][{j}]"), x, invalid))
                        .collect::<Result<Vec<f64>, _>>()
                })
                .collect::<Result<Vec<_>, _>>()?,
            None if value_criteria.len() == 3 => {
                vec![vec![1.0, 3.0, 5.0], vec![1.0 / 3.0, 1.0, 3.0], vec![1.0 / 5.0, 1.0 / 3.0, 1.0]]
            }
            None => vec![vec![1.0; value_criteria.len()]; value_criteria.len()],
        };
        if pairwise.len() != value_criteria.len() {
            return Err(invalid(
                "value_score.pairwise",
                format!("has {} rows for {} criteria", pairwise.len(), value_criteria.len()),
            ));
        }
        let value_weights = ahp::weights(&pairwise).map_err(|e| invalid("value_score.pairwise", e.to_string()))?;

        let t = self.tiers;
        let tiers_by_arpu = match t.mode.as_deref().unwrap_or("percentile") {
            "percentile" => false,
            "arpu" => true,
            other => return Err(invalid("tiers.mode", format!("'{other}' is not percentile or arpu"))),
        };
        let cuts = if tiers_by_arpu {
            t.arpu.unwrap_or(TierCutsFile { diamond: 150.0, gold: 80.0, silver: 50.0, vip: 30.0 })
        } else {
            t.percentile.unwrap_or(TierCutsFile { diamond: 0.01, gold: 0.05, silver: 0.15, vip: 0.30 })
        };
        let tier_cuts = [cuts.diamond, cuts.gold, cuts.silver, cuts.vip];
        let key = if tiers_by_arpu { "tiers.arpu" } else { "tiers.percentile" };
        let ordered = if tiers_by_arpu {
            tier_cuts.windows(2).all(|w| w[0] >= w[1])
        } else {
            tier_cuts.windows(2).all(|w| w[0] <= w[1]) && tier_cuts.iter().all(|c| (0.0..=1.0).contains(c))
        };
        if !ordered || tier_cuts.iter().any(|c| !c.is_finite()) {
            let order = if tiers_by_arpu { "falling ARPU floors" } else { "rising top shares between 0 and 1" };
            return Err(invalid(key, format!("diamond, gold, silver, vip must be {order}")));
        }

        let q = self.quadrant;
        let quadrant_value_share = share("quadrant.value_top_share", q.value_top_share.unwrap_or(0.20), invalid)?;
        let fit_threshold = q.fit_threshold.map(|v| share("quadrant.fit_threshold", v, invalid)).transpose()?;
        let fit_top_share = share("quadrant.fit_top_share", q.fit_top_share.unwrap_or(0.5), invalid)?;
        if fit_threshold.is_some() && q.fit_top_share.is_some() {
            return Err(invalid(
                "quadrant.fit_top_share",
                "set fit_threshold (an absolute cut-off) or fit_top_share (a share of the base), not both".into(),
            ));
        }
        let fit_default = q.fit_default.map(|v| share("quadrant.fit_default", v, invalid)).transpose()?;
        for (name, map) in [("fit_by_segment", &q.fit_by_segment), ("fit_by_plan_type", &q.fit_by_plan_type)] {
            for (k, v) in map {
                share(&format!("quadrant.{name}.{k}"), *v, invalid)?;
            }
        }

        let l = self.lifecycle;
        Ok(ModelSettings {
            churn_horizon_days,
            churn_band_mode: band_mode,
            churn_band_medium: band_medium,
            churn_band_high: band_high,
            churn_model,
            churn_learning_rate,
            churn_max_depth,
            churn_max_trees,
            churn_training_windows,
            churn_l2,
            churn_max_training_rows,
            commitment_months,
            seed: c.seed.unwrap_or(42),
            cohort_groups,
            min_churners: r.min_churners.unwrap_or(30),
            margin_rate,
            annual_discount_rate,
            horizon_months,
            peer_groups,
            target_percentile,
            value_criteria,
            value_weights,
            tiers_by_arpu,
            tier_cuts,
            quadrant_value_share,
            fit_threshold,
            fit_top_share,
            fit_default,
            fit_by_segment: q.fit_by_segment,
            fit_by_plan_type: q.fit_by_plan_type,
            new_months: l.new_months.unwrap_or(3),
            growing_months: l.growing_months.unwrap_or(12),
            dormant_days: l.dormant_days.unwrap_or(30),
            declining_trend: l.declining_trend.unwrap_or(0.85),
            growing_trend: l.growing_trend.unwrap_or(1.15),
        })
    }
}
