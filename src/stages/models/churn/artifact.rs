//! What a churn fit records: the artifact (its learners' back-tests, the
//! calibration, the coefficients), as the run records it.

use serde::{Deserialize, Serialize};

use crate::maths::churn::{ChurnModel, catalogue};
use crate::maths::metrics;

/// One learner's back-test.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Backtest {
    pub model: String,
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
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Calibration {
    pub method: String,
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
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Coefficient {
    pub column: String,
    /// On the standardised scale: the change in log-odds per standard deviation.
    pub coefficient: f64,
    pub mean: f64,
    pub scale: f64,
}

/// The churn model's artifact.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChurnArtifact {
    /// fitted, or why not.
    pub status: String,
    pub horizon_days: u32,
    pub label: String,
    /// The learner published: logistic or boosted.
    pub chosen: Option<String>,
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
    pub features: Vec<String>,
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

/// The encoded columns' names: numeric features, then `feature=level` (and `feature=other`).
pub(super) fn column_names(model: &ChurnModel) -> Vec<String> {
    let numeric = catalogue::NUMERIC.iter().map(|f| f.name.to_string());
    let levels = catalogue::CATEGORICAL.iter().zip(&model.encoder.levels).flat_map(|(f, levels)| {
        levels.iter().map(move |l| format!("{}={l}", f.name)).chain(std::iter::once(format!("{}=other", f.name)))
    });
    numeric.chain(levels).collect()
}
