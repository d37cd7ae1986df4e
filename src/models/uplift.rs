//! Uplift: whom a contact changes, not who is at risk. A retention call
//! spent on a line that would have stayed anyway, or that leaves whatever
//! is said, is wasted; the lines worth calling are those whose churn the
//! call lowers most.
//!
//! The model is the two-model (T-learner) estimate: one churn model fitted
//! on the contacted lines of earlier waves, one on their control groups,
//! and a line's uplift is the difference of the two probabilities,
//! `P(churn | held out, x) - P(churn | contacted, x)`: the churn a contact
//! avoids (positive: the contact keeps the line). Each is the L2-regularised
//! logistic regression of [`super::logistic`], so the uplift is smooth in
//! the features and cheap to score.
//!
//! It is judged the way uplift models are, on a held-out wave: rank the
//! wave's lines by predicted uplift and, going down the ranking, count the
//! churners the contact avoided so far (the Qini curve); a model that finds
//! the persuadable lines avoids more churn near the top than a random or a
//! risk ranking. [`qini`] gives the curve at every tenth and its area over
//! the random line; [`uplift_at`] the measured uplift in the top share.

use super::logistic::{self, FitError, Logistic};

/// The fewest lines, and churners, each group must have for a fit.
pub const MIN_LINES: usize = 50;
pub const MIN_CHURNERS: usize = 5;

/// Why no uplift model could be fitted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UpliftError {
    #[error("the {group} group has {lines} lines and {churners} churners; a fit needs {MIN_LINES} and {MIN_CHURNERS}")]
    TooFew { group: &'static str, lines: usize, churners: usize },
    #[error("the {group} group's churn model: {source}")]
    Fit { group: &'static str, source: FitError },
}

/// A fitted two-model uplift estimate.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TwoModel {
    /// Churn of the contacted lines.
    pub contacted: Logistic,
    /// Churn of the held-out lines.
    pub held_out: Logistic,
}

impl TwoModel {
    /// Fits both churn models: row i has features `x[i]`, was contacted
    /// (`contacted[i]`) or held out, and churned in the horizon or not.
    pub fn fit(x: &[Vec<f64>], contacted: &[bool], churned: &[bool], l2: f64) -> Result<TwoModel, UpliftError> {
        let group = |want: bool, name: &'static str| {
            let rows: Vec<usize> = (0..x.len()).filter(|&i| contacted[i] == want).collect();
            let xs: Vec<Vec<f64>> = rows.iter().map(|&i| x[i].clone()).collect();
            let ys: Vec<bool> = rows.iter().map(|&i| churned[i]).collect();
            let churners = ys.iter().filter(|&&y| y).count();
            if rows.len() < MIN_LINES || churners < MIN_CHURNERS {
                return Err(UpliftError::TooFew { group: name, lines: rows.len(), churners });
            }
            logistic::fit(&xs, &ys, l2).map_err(|source| UpliftError::Fit { group: name, source })
        };
        Ok(TwoModel { contacted: group(true, "contact")?, held_out: group(false, "control")? })
    }

    /// The churn a contact avoids for a line with features `x`.
    pub fn uplift(&self, x: &[f64]) -> f64 {
        self.held_out.predict(x) - self.contacted.predict(x)
    }
}

/// The Qini curve of a ranking on one wave.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Qini {
    /// (share of the wave targeted, churners avoided so far), at every tenth.
    pub points: Vec<(f64, f64)>,
    /// Area between the curve and the random line (from 0 to the whole
    /// wave's avoided churners), per line of the wave: 0 for a ranking no
    /// better than chance, higher the more avoided churn sits near the top.
    pub coefficient: f64,
}

/// The lines in ranking order: highest score first, ties in row order.
fn ranked(scores: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    order
}

/// Counts down a ranking: (contacted, contacted churners, held out, held-out churners).
#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    contacted: f64,
    contacted_churned: f64,
    held_out: f64,
    held_out_churned: f64,
}

impl Tally {
    fn add(&mut self, contacted: bool, churned: bool) {
        let c = f64::from(u8::from(churned));
        if contacted {
            self.contacted += 1.0;
            self.contacted_churned += c;
        } else {
            self.held_out += 1.0;
            self.held_out_churned += c;
        }
    }

    /// Churners the contact avoided among the contacted lines so far: the
    /// held-out churn scaled to the contacted count, less the contacted churn.
    fn avoided(&self) -> f64 {
        if self.held_out == 0.0 {
            return 0.0;
        }
        self.held_out_churned * self.contacted / self.held_out - self.contacted_churned
    }
}

/// The Qini curve of ranking a wave by `scores` (higher: contact first).
/// None without both groups in the wave.
pub fn qini(scores: &[f64], contacted: &[bool], churned: &[bool]) -> Option<Qini> {
    let n = scores.len();
    if !contacted.iter().any(|&c| c) || contacted.iter().all(|&c| c) {
        return None;
    }
    let order = ranked(scores);
    let mut tally = Tally::default();
    let mut points = vec![(0.0, 0.0)];
    let mut next = 1;
    for (k, &i) in order.iter().enumerate() {
        tally.add(contacted[i], churned[i]);
        // the tenths this many lines reach (a small wave may reach several at once)
        while next <= 10 && (k + 1) * 10 >= next * n {
            points.push((next as f64 / 10.0, tally.avoided()));
            next += 1;
        }
    }
    let total = points.last().map_or(0.0, |p| p.1);
    let area: f64 = points.windows(2).map(|w| (w[1].0 - w[0].0) * (w[0].1 + w[1].1) / 2.0).sum();
    Some(Qini { points, coefficient: (area - total / 2.0) / n as f64 })
}

/// The measured uplift (held-out churn rate - contacted churn rate) among the
/// top `share` of a wave ranked by `scores`; None unless both groups are there.
pub fn uplift_at(scores: &[f64], contacted: &[bool], churned: &[bool], share: f64) -> Option<f64> {
    let top = ((scores.len() as f64 * share).ceil() as usize).min(scores.len());
    let mut tally = Tally::default();
    for &i in &ranked(scores)[..top] {
        tally.add(contacted[i], churned[i]);
    }
    if tally.contacted == 0.0 || tally.held_out == 0.0 {
        return None;
    }
    Some(tally.held_out_churned / tally.held_out - tally.contacted_churned / tally.contacted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::test_rng::Rng;

    /// A wave where risk and persuadability differ: churn rises with x0, and
    /// a contact halves it (and more) only where x1 > 0. Half held out.
    fn wave(n: usize, seed: u64) -> (Vec<Vec<f64>>, Vec<bool>, Vec<bool>, Vec<f64>) {
        let mut r = Rng(seed);
        let (mut x, mut contacted, mut churned, mut risk) = (vec![], vec![], vec![], vec![]);
        for _ in 0..n {
            let (x0, x1) = (r.normal(), r.normal());
            let base = 1.0 / (1.0 + (2.0 - 1.2 * x0).exp());
            let c = r.uniform() < 0.5;
            let effect = if x1 > 0.0 { 0.7 } else { 0.0 };
            let p = if c { base * (1.0 - effect) } else { base };
            x.push(vec![x0, x1]);
            contacted.push(c);
            churned.push(r.uniform() < p);
            risk.push(base);
        }
        (x, contacted, churned, risk)
    }

    #[test]
    fn the_uplift_model_finds_the_persuadable_lines_that_risk_ranking_misses() {
        let (x, c, y, _) = wave(8_000, 7);
        let model = TwoModel::fit(&x, &c, &y, 1.0).unwrap();
        // persuadable lines get the higher uplift, at the same risk
        assert!(model.uplift(&[1.0, 1.0]) > model.uplift(&[1.0, -1.0]) + 0.05);
        // on a new wave, ranking by uplift avoids more churn near the top than ranking by risk
        let (x, c, y, risk) = wave(8_000, 8);
        let by_uplift: Vec<f64> = x.iter().map(|r| model.uplift(r)).collect();
        let (q_uplift, q_risk) = (qini(&by_uplift, &c, &y).unwrap(), qini(&risk, &c, &y).unwrap());
        eprintln!("Qini: uplift ranking {:.5}, risk ranking {:.5}", q_uplift.coefficient, q_risk.coefficient);
        assert!(q_uplift.coefficient > q_risk.coefficient, "{q_uplift:?} against {q_risk:?}");
        let at = |s: &[f64]| uplift_at(s, &c, &y, 0.3).unwrap();
        assert!(at(&by_uplift) > at(&risk), "uplift in the top 30%: {} against {}", at(&by_uplift), at(&risk));
    }

    #[test]
    fn qini_counts_avoided_churners_down_the_ranking() {
        // four contacted, four held out; the contact avoids churn in the top half only
        let scores = [8.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0];
        let contacted = [true, false, true, false, true, false, true, false];
        let churned = [false, true, false, true, true, true, true, true];
        let q = qini(&scores, &contacted, &churned).unwrap();
        assert_eq!(q.points.len(), 11);
        // top half: 2 held out, both churned; 2 contacted, none: 2 x 2 / 2 - 0 = 2 avoided
        assert_eq!(q.points[5], (0.5, 2.0));
        // the whole wave: 4 x 4 / 4 - 2 = 2
        assert_eq!(q.points[10], (1.0, 2.0));
        assert!(q.coefficient > 0.0);
        // the reverse ranking puts the avoided churn last: below the random line
        let reversed: Vec<f64> = scores.iter().map(|s| -s).collect();
        assert!(qini(&reversed, &contacted, &churned).unwrap().coefficient < 0.0);
        assert_eq!(uplift_at(&scores, &contacted, &churned, 0.5), Some(1.0));
        assert_eq!(uplift_at(&scores, &contacted, &churned, 1.0), Some(0.5));
    }

    #[test]
    fn a_group_too_small_or_without_churners_is_no_fit() {
        let (x, c, _, _) = wave(400, 3);
        let nobody = vec![false; x.len()];
        assert!(matches!(TwoModel::fit(&x, &c, &nobody, 1.0), Err(UpliftError::TooFew { churners: 0, .. })));
        assert_eq!(qini(&[1.0, 2.0], &[true, true], &[true, false]), None);
    }
}
