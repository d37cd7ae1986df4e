//! The churn model: which lines deactivate voluntarily within the horizon.
//! Two learners over the same encoded features ([`catalogue`]): an
//! L2-regularised logistic regression and gradient-boosted trees
//! ([`boosted`]); the run fits both, keeps the one with the better
//! back-test, and maps its log-odds to probabilities with a Platt map fitted
//! on the back-test ([`calibration`]). A fitted [`ChurnModel`] is plain data
//! (serde): the run publishes it in its artifact and the scoring function
//! `cvm_churn_score` applies it in the engine, on one machine or on a
//! cluster's executors.
//!
//! Drivers: each feature's contribution to a line's log-odds (the logistic
//! terms, or the trees' path differences), categorical one-hot columns
//! summed back into their feature; the up to three largest positive ones,
//! worded by the line's value (catalogue's words, above or below the
//! training mean).

pub mod boosted;
pub mod calibration;
pub mod catalogue;
pub mod encoding;

use serde::{Deserialize, Serialize};

use crate::maths::logistic::{self, Logistic};
use boosted::Boosted;
use calibration::Platt;
use encoding::{Encoded, Encoder, FeatureColumns};

/// The learner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Logistic,
    Boosted,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Logistic => "logistic",
            Kind::Boosted => "boosted",
        }
    }
}

// externally tagged: an internally tagged enum buffers its content, and the
// trees' node maps (integer keys) do not survive that
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Scorer {
    Logistic(Logistic),
    Boosted(Boosted),
}

/// How to fit.
#[derive(Debug, Clone, Copy)]
pub struct FitSettings {
    /// The logistic model's L2 penalty.
    pub l2: f64,
    pub trees: boosted::TreeSettings,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FitError {
    #[error("no line deactivated within the horizon in the training window")]
    NoPositives,
    #[error("every line deactivated within the horizon in the training window")]
    AllPositive,
    #[error(transparent)]
    Logistic(#[from] logistic::FitError),
    #[error("the boosted trees could not be fitted: {0}")]
    Boosted(String),
    #[error("the fit did not give finite parameters")]
    NotFinite,
}

/// A fitted churn model.
#[derive(Debug, Serialize, Deserialize)]
pub struct ChurnModel {
    /// The feature names it reads, numeric then categorical (a check on the caller).
    pub features: Vec<String>,
    pub encoder: Encoder,
    scorer: Scorer,
    /// Log-odds to probability; none: the plain sigmoid.
    pub calibration: Option<Platt>,
}

/// A scored line.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    pub probability: f64,
    pub drivers: Option<String>,
}

impl ChurnModel {
    pub fn fit(kind: Kind, x: &FeatureColumns, y: &[bool], settings: &FitSettings) -> Result<ChurnModel, FitError> {
        let positives = y.iter().filter(|v| **v).count();
        if positives == 0 {
            return Err(FitError::NoPositives);
        }
        if positives == y.len() {
            return Err(FitError::AllPositive);
        }
        let encoder = Encoder::fit(x);
        let scorer = match kind {
            Kind::Logistic => {
                let encoded = encoder.encode(x, true);
                let rows: Vec<Vec<f64>> = (0..encoded.rows).map(|i| encoded.row(i)).collect();
                let m = logistic::fit(&rows, y, settings.l2)?;
                if !(m.intercept.is_finite() && m.coefficients.iter().all(|c| c.is_finite())) {
                    return Err(FitError::NotFinite);
                }
                Scorer::Logistic(m)
            }
            Kind::Boosted => {
                let encoded = encoder.encode(x, false);
                Scorer::Boosted(Boosted::fit(&encoded, y, &settings.trees).map_err(FitError::Boosted)?)
            }
        };
        let features = catalogue::names().map(String::from).collect();
        Ok(ChurnModel { features, encoder, scorer, calibration: None })
    }

    pub fn kind(&self) -> Kind {
        match self.scorer {
            Scorer::Logistic(_) => Kind::Logistic,
            Scorer::Boosted(_) => Kind::Boosted,
        }
    }

    /// The logistic model's coefficients, when it is one (for the artifact).
    pub fn logistic(&self) -> Option<&Logistic> {
        match &self.scorer {
            Scorer::Logistic(m) => Some(m),
            Scorer::Boosted(_) => None,
        }
    }

    /// The trees, when it is a boosted model.
    pub fn trees(&self) -> Option<usize> {
        match &self.scorer {
            Scorer::Boosted(b) => Some(b.trees()),
            Scorer::Logistic(_) => None,
        }
    }

    fn encode(&self, x: &FeatureColumns) -> Encoded {
        self.encoder.encode(x, matches!(self.scorer, Scorer::Logistic(_)))
    }

    /// The uncalibrated log-odds of each row.
    pub fn log_odds(&self, x: &FeatureColumns) -> Vec<f64> {
        let encoded = self.encode(x);
        match &self.scorer {
            Scorer::Logistic(m) => (0..encoded.rows).map(|i| m.linear(&encoded.row(i))).collect(),
            Scorer::Boosted(b) => b.log_odds(&encoded),
        }
    }

    /// Log-odds to probability, through the calibration map when there is one.
    pub fn probability(&self, log_odds: f64) -> f64 {
        match &self.calibration {
            Some(p) => p.probability(log_odds),
            None => 1.0 / (1.0 + (-log_odds).exp()),
        }
    }

    pub fn probabilities(&self, x: &FeatureColumns) -> Vec<f64> {
        self.log_odds(x).into_iter().map(|z| self.probability(z)).collect()
    }

    /// Probability and drivers of each row.
    pub fn score(&self, x: &FeatureColumns) -> Vec<Scored> {
        let encoded = self.encode(x);
        let sources = self.encoder.sources();
        let features = self.encoder.means.len() + self.encoder.levels.len();
        let mut out = Vec::with_capacity(encoded.rows);
        // per row: the encoded columns' contributions, and the bias
        let (per_column, stride) = match &self.scorer {
            Scorer::Logistic(m) => {
                let mut all = Vec::with_capacity(encoded.rows * (encoded.cols + 1));
                for i in 0..encoded.rows {
                    all.extend(m.contributions(&encoded.row(i)));
                    all.push(m.intercept);
                }
                (all, encoded.cols + 1)
            }
            Scorer::Boosted(b) => (b.contributions(&encoded), encoded.cols + 1),
        };
        for i in 0..encoded.rows {
            let row = &per_column[i * stride..(i + 1) * stride];
            let log_odds: f64 = row.iter().sum();
            let mut by_feature = vec![0.0; features];
            for (c, v) in row[..stride - 1].iter().enumerate() {
                by_feature[sources[c]] += v;
            }
            out.push(Scored { probability: self.probability(log_odds), drivers: self.drivers(&by_feature, x, i) });
        }
        out
    }

    /// The up to three features raising row `i`'s log-odds most, in words.
    fn drivers(&self, contributions: &[f64], x: &FeatureColumns, i: usize) -> Option<String> {
        let mut order: Vec<usize> = (0..contributions.len()).filter(|&f| contributions[f] > 1e-12).collect();
        order.sort_by(|&a, &b| contributions[b].total_cmp(&contributions[a]).then(a.cmp(&b)));
        let numeric = catalogue::NUMERIC.len();
        let words: Vec<String> = order
            .into_iter()
            .take(3)
            .map(|f| {
                if f < numeric {
                    let feature = &catalogue::NUMERIC[f];
                    let value = x.numeric[f][i];
                    if value.is_nan() {
                        format!("{} unknown", feature.name)
                    } else if value >= self.encoder.means[f] {
                        feature.above.to_string()
                    } else {
                        feature.below.to_string()
                    }
                } else {
                    let c = f - numeric;
                    let level = &x.categorical[c][i];
                    let shown = if self.encoder.level_slot(c, level) < self.encoder.levels[c].len() {
                        level.as_str()
                    } else {
                        "other"
                    };
                    format!("{} {shown}", catalogue::CATEGORICAL[c].label)
                }
            })
            .collect();
        (!words.is_empty()).then(|| words.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::maths::test_rng::Rng;

    /// Rows where churn rises with the first numeric feature and in region "east",
    /// every other feature noise.
    fn simulated(n: usize, seed: u64) -> (FeatureColumns, Vec<bool>) {
        let mut rng = Rng(seed);
        let numeric_count = catalogue::NUMERIC.len();
        let mut numeric = vec![Vec::with_capacity(n); numeric_count];
        let mut categorical = vec![Vec::with_capacity(n); catalogue::CATEGORICAL.len()];
        let mut y = Vec::with_capacity(n);
        for _ in 0..n {
            let signal = rng.normal();
            numeric[0].push(signal);
            for column in numeric.iter_mut().skip(1) {
                column.push(rng.normal());
            }
            let east = rng.uniform() < 0.3;
            for (c, column) in categorical.iter_mut().enumerate() {
                column.push(if c == 2 { if east { "east" } else { "west" } } else { "x" }.to_string());
            }
            let z = -2.5 + 1.2 * signal + if east { 1.0 } else { 0.0 };
            y.push(rng.uniform() < 1.0 / (1.0 + (-z).exp()));
        }
        (FeatureColumns { numeric, categorical }, y)
    }

    fn settings() -> FitSettings {
        let trees = boosted::TreeSettings { learning_rate: 0.1, max_depth: 4, max_trees: 300, seed: 1 };
        FitSettings { l2: 1.0, trees }
    }

    #[test]
    fn both_learners_find_the_signal_and_name_it() {
        let (x, y) = simulated(6000, 3);
        let (test_x, test_y) = simulated(3000, 4);
        for kind in [Kind::Logistic, Kind::Boosted] {
            let model = ChurnModel::fit(kind, &x, &y, &settings()).unwrap();
            let auc = crate::maths::metrics::auc(&model.probabilities(&test_x), &test_y).unwrap();
            assert!(auc > 0.75, "{kind:?}: AUC {auc}");
            // scoring with drivers gives the same probabilities as the plain path
            let scored = model.score(&test_x);
            let plain = model.probabilities(&test_x);
            for (s, p) in scored.iter().zip(&plain) {
                assert!((s.probability - p).abs() < 1e-9, "{kind:?}: {} vs {p}", s.probability);
            }
            // a high-risk line in the east with a high first feature: both named
            let riskiest = (0..test_x.rows())
                .filter(|&i| test_x.categorical[2][i] == "east")
                .max_by(|&a, &b| test_x.numeric[0][a].total_cmp(&test_x.numeric[0][b]))
                .unwrap();
            let drivers = scored[riskiest].drivers.clone().unwrap_or_default();
            assert!(drivers.contains("long tenure") && drivers.contains("region east"), "{kind:?}: {drivers}");
        }
    }

    #[test]
    fn a_model_survives_its_json_and_scores_the_same() {
        let (x, y) = simulated(3000, 5);
        for kind in [Kind::Logistic, Kind::Boosted] {
            let mut model = ChurnModel::fit(kind, &x, &y, &settings()).unwrap();
            model.calibration = Some(Platt { slope: 0.8, intercept: -0.2 });
            let json = serde_json::to_string(&model).unwrap();
            let back: ChurnModel = serde_json::from_str(&json).unwrap();
            assert_eq!(model.probabilities(&x), back.probabilities(&x), "{kind:?}");
            // and the same data fits the same model
            let again = ChurnModel::fit(kind, &x, &y, &settings()).unwrap();
            assert_eq!(model.log_odds(&x), again.log_odds(&x), "{kind:?}");
        }
    }

    #[test]
    fn the_boosted_model_is_the_same_on_any_number_of_threads() {
        // enough rows for the tiled histogram fill, which cuts the rows into segments
        let (x, y) = simulated(20_000, 7);
        let settings = FitSettings { trees: boosted::TreeSettings { max_trees: 15, ..settings().trees }, ..settings() };
        let fit_on = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let model = pool.install(|| ChurnModel::fit(Kind::Boosted, &x, &y, &settings).unwrap());
            serde_json::to_string(&model).unwrap()
        };
        let one = fit_on(1);
        assert_eq!(one, fit_on(3));
        assert!(one.len() > 1000, "some trees were grown");
    }

    #[test]
    fn one_outcome_only_is_an_error() {
        let (x, _) = simulated(50, 6);
        assert_eq!(ChurnModel::fit(Kind::Logistic, &x, &[false; 50], &settings()).unwrap_err(), FitError::NoPositives);
        assert_eq!(ChurnModel::fit(Kind::Boosted, &x, &[true; 50], &settings()).unwrap_err(), FitError::AllPositive);
    }
}
