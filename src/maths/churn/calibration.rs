//! Platt scaling: probabilities `sigmoid(slope * z + intercept)` from a
//! model's log-odds `z`, fitted on a window whose outcomes are known. A
//! model applied one horizon after the window it was trained on drifts
//! (the base rate moves, the trees' raw scores are over-confident); the
//! back-test measures that drift on the earlier window and the map corrects
//! the published scores for it. The map is monotone, so it never changes
//! the ranking (AUC, lift) of the scores.

use serde::{Deserialize, Serialize};

use crate::maths::logistic;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Platt {
    pub slope: f64,
    pub intercept: f64,
}

impl Platt {
    /// Fits the map on log-odds and outcomes (a one-feature logistic
    /// regression); none without both outcomes, or when the fit is not finite.
    pub fn fit(log_odds: &[f64], outcomes: &[bool]) -> Option<Platt> {
        let positives = outcomes.iter().filter(|o| **o).count();
        if positives == 0 || positives == outcomes.len() {
            return None;
        }
        let x: Vec<Vec<f64>> = log_odds.iter().map(|z| vec![*z]).collect();
        let m = logistic::fit(&x, outcomes, 1e-6).ok()?;
        let slope = m.coefficients[0] / m.scales[0];
        let map = Platt { slope, intercept: m.intercept - slope * m.means[0] };
        (map.slope.is_finite() && map.intercept.is_finite()).then_some(map)
    }

    pub fn probability(&self, log_odds: f64) -> f64 {
        1.0 / (1.0 + (-(self.slope * log_odds + self.intercept)).exp())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::maths::test_rng::Rng;

    #[test]
    fn recovers_a_known_distortion() {
        // outcomes drawn with p = sigmoid(0.5 z - 1): the map recovers slope 0.5, intercept -1
        let mut rng = Rng(7);
        let (mut z, mut y) = (Vec::new(), Vec::new());
        for _ in 0..40_000 {
            let v = 3.0 * rng.normal();
            z.push(v);
            y.push(rng.uniform() < 1.0 / (1.0 + (-(0.5 * v - 1.0)).exp()));
        }
        let p = Platt::fit(&z, &y).unwrap();
        assert!((p.slope - 0.5).abs() < 0.03 && (p.intercept + 1.0).abs() < 0.05, "{p:?}");
        assert!(p.probability(2.0) > p.probability(1.0));
        // one outcome only: no map
        assert_eq!(Platt::fit(&z, &vec![false; z.len()]), None);
    }
}
