//! `[churn]`: the churn model's horizon, its risk bands, which model a run
//! publishes and how it is trained.

use serde::Deserialize;

use super::{BandMode, ChurnModelChoice, Invalid, share};
use crate::job::JobError;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::job) struct ChurnFile {
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
    refit_every_days: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BandsFile {
    mode: Option<String>,
    medium: Option<f64>,
    high: Option<f64>,
}

/// Validated `[churn]` settings (the `churn_*` fields of `ModelSettings`).
pub(super) struct ChurnSettings {
    pub horizon_days: u32,
    pub band_mode: BandMode,
    pub band_medium: f64,
    pub band_high: f64,
    pub model: ChurnModelChoice,
    pub learning_rate: f64,
    pub max_depth: u32,
    pub max_trees: u32,
    pub training_windows: u32,
    pub l2: f64,
    pub max_training_rows: u64,
    pub commitment_months: u32,
    pub seed: u64,
    pub refit_every_days: u32,
}

pub(super) fn validate(c: ChurnFile, invalid: Invalid) -> Result<ChurnSettings, JobError> {
    let horizon_days = c.horizon_days.unwrap_or(30);
    if !(1..=366).contains(&horizon_days) {
        return Err(invalid("churn.horizon_days", format!("{horizon_days} is not between 1 and 366")));
    }
    let (band_mode, band_medium, band_high) = bands(c.bands, invalid)?;
    let model = match c.model.as_deref().unwrap_or("auto") {
        "auto" => ChurnModelChoice::Auto,
        "logistic" => ChurnModelChoice::Logistic,
        "boosted" => ChurnModelChoice::Boosted,
        other => return Err(invalid("churn.model", format!("'{other}' is not auto, logistic or boosted"))),
    };
    let learning_rate = c.learning_rate.unwrap_or(0.05);
    if !(learning_rate.is_finite() && learning_rate > 0.0 && learning_rate <= 1.0) {
        return Err(invalid("churn.learning_rate", format!("{learning_rate} is not in (0, 1]")));
    }
    let max_depth = c.max_depth.unwrap_or(5);
    if !(1..=12).contains(&max_depth) {
        return Err(invalid("churn.max_depth", format!("{max_depth} is not between 1 and 12")));
    }
    let max_trees = c.max_trees.unwrap_or(1000);
    if !(1..=10_000).contains(&max_trees) {
        return Err(invalid("churn.max_trees", format!("{max_trees} is not between 1 and 10000")));
    }
    let training_windows = c.training_windows.unwrap_or(2);
    if !(1..=6).contains(&training_windows) {
        return Err(invalid("churn.training_windows", format!("{training_windows} is not between 1 and 6")));
    }
    let commitment_months = c.commitment_months.unwrap_or(12);
    if commitment_months > 120 {
        return Err(invalid("churn.commitment_months", format!("{commitment_months} is not between 0 and 120")));
    }
    let l2 = c.l2.unwrap_or(1.0);
    if !(l2.is_finite() && l2 >= 0.0) {
        return Err(invalid("churn.l2", format!("{l2} is not a penalty >= 0")));
    }
    let max_training_rows = c.max_training_rows.unwrap_or(200_000);
    if max_training_rows < 100 {
        return Err(invalid("churn.max_training_rows", "must be at least 100".into()));
    }
    let refit_every_days = c.refit_every_days.unwrap_or(7);
    if refit_every_days > 90 {
        return Err(invalid("churn.refit_every_days", format!("{refit_every_days} is not between 0 and 90")));
    }
    Ok(ChurnSettings {
        horizon_days,
        band_mode,
        band_medium,
        band_high,
        model,
        learning_rate,
        max_depth,
        max_trees,
        training_windows,
        l2,
        max_training_rows,
        commitment_months,
        seed: c.seed.unwrap_or(42),
        refit_every_days,
    })
}

/// The band settings: a mode and its two cut-offs. Without a mode, cut-offs
/// given are probabilities (what `bands = { medium, high }` meant before
/// modes existed); without anything, the top 5% are high and the next 15%
/// medium.
fn bands(file: Option<BandsFile>, invalid: Invalid) -> Result<(BandMode, f64, f64), JobError> {
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
