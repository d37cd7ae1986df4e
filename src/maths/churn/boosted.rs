//! Gradient-boosted trees for churn, through the `forust-ml` crate
//! (XGBoost's histogram algorithm, pure Rust): log-loss, depth-limited
//! trees, L2 on the leaf weights, missing values routed by the trees.
//!
//! The number of trees is not a guess: a fifth of the training rows (every
//! fifth in subscriber order) is held out, and boosting stops once the
//! held-out log-loss has not improved for [`PATIENCE`] trees; the model keeps
//! the trees up to the best one. Histograms are summed a tile of rows at a
//! time (about twice as fast as column by column) on Rayon's threads, but
//! the work is cut by fixed sizes and added up in a fixed order, never by the
//! number of threads, so the same rows give the same trees on every machine.
//! A line's contribution per column is the trees' path differences (Saabas),
//! which add up to its log-odds.

use forust_ml::gradientbooster::ContributionsMethod;
use forust_ml::{GradientBooster, Matrix};
use serde::{Deserialize, Serialize};

use super::encoding::Encoded;

/// Trees without a better held-out loss before boosting stops.
const PATIENCE: usize = 30;

/// The learner's settings (the job's `[churn]` keys).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TreeSettings {
    pub learning_rate: f64,
    pub max_depth: usize,
    pub max_trees: usize,
    pub seed: u64,
}

#[derive(Serialize, Deserialize)]
pub struct Boosted {
    booster: GradientBooster,
}

impl std::fmt::Debug for Boosted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Boosted {{ trees: {} }}", self.trees())
    }
}

/// The rows of `x` at `keep`, as a new column-major matrix.
fn rows_of(x: &Encoded, keep: &[usize]) -> Vec<f64> {
    let mut out = Vec::with_capacity(keep.len() * x.cols);
    for j in 0..x.cols {
        let column = &x.data[j * x.rows..(j + 1) * x.rows];
        out.extend(keep.iter().map(|&i| column[i]));
    }
    out
}

impl Boosted {
    pub fn fit(x: &Encoded, y: &[bool], settings: &TreeSettings) -> Result<Boosted, String> {
        let target: Vec<f64> = y.iter().map(|v| if *v { 1.0 } else { 0.0 }).collect();
        let (held, fit): (Vec<usize>, Vec<usize>) = (0..x.rows).partition(|i| i % 5 == 4);
        let fit_data = rows_of(x, &fit);
        let held_data = rows_of(x, &held);
        let fit_y: Vec<f64> = fit.iter().map(|&i| target[i]).collect();
        let held_y: Vec<f64> = held.iter().map(|&i| target[i]).collect();
        let held_w = vec![1.0; held.len()];
        let mut booster = GradientBooster::default()
            .set_iterations(settings.max_trees)
            .set_learning_rate(settings.learning_rate as f32)
            .set_max_depth(settings.max_depth)
            .set_l2(1.0)
            .set_min_leaf_weight(1.0)
            .set_parallel(true)
            .set_tiled_histograms(true)
            .set_seed(settings.seed)
            .set_early_stopping_rounds(Some(PATIENCE));
        let evaluation = vec![(Matrix::new(&held_data, held.len(), x.cols), held_y.as_slice(), held_w.as_slice())];
        booster
            .fit_unweighted(&Matrix::new(&fit_data, fit.len(), x.cols), &fit_y, Some(evaluation))
            .map_err(|e| e.to_string())?;
        // keep the trees up to the best held-out loss: the rest are never used
        if let Some(n) = booster.prediction_iteration {
            booster.trees.truncate(n);
        }
        booster.evaluation_history = None;
        Ok(Boosted { booster })
    }

    pub fn trees(&self) -> usize {
        self.booster.trees.len()
    }

    /// Log-odds of each row.
    pub fn log_odds(&self, x: &Encoded) -> Vec<f64> {
        self.booster.predict(&Matrix::new(&x.data, x.rows, x.cols), false)
    }

    /// Per row, `x.cols` contributions and then the bias; their sum is the row's log-odds.
    pub fn contributions(&self, x: &Encoded) -> Vec<f64> {
        self.booster.predict_contributions(&Matrix::new(&x.data, x.rows, x.cols), ContributionsMethod::Weight, false)
    }
}
