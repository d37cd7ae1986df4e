//! Uplift: whom a contact changes, not who is at risk. A retention call
//! spent on a line that would have stayed anyway, or that leaves whatever
//! is said, is wasted; the lines worth calling are those whose churn the
//! call lowers most.
//!
//! The model: a contact keeps a share of the lines that would have left.
//! A held-out line churns within the horizon with probability
//! `p0 = sigmoid(a + b l)`, where `l` is the churn model's log-odds for the
//! line on the wave's night: the population's churn model, recalibrated to
//! the campaign's horizon. A contacted line churns with probability
//! `p0 (1 - s(z))`, where `s(z)`, the share of its churn the contact
//! avoids, is a logistic function of a few group features `z` (cvm gives
//! it the segment and plan type). The uplift is `p0 s(z)`: the line's risk
//! times how persuadable its kind of line is. Both parts are fitted
//! together by penalised maximum likelihood (Fisher scoring; L2 on the
//! share's coefficients over standardised features, as in
//! [`super::logistic`]).
//!
//! Why not two churn models, one per group (the T-learner), or one churn
//! model with contact interactions, on every feature? A wave has hundreds of
//! lines, not the population. Churn models fitted on so few rank risk far
//! worse than the churn model fitted on every line, and the difference of
//! two is mostly noise: on the 20,000-line simulation of docs/models.md the
//! T-learner's list captured less of the true uplift than plain risk
//! ranking on 4 of 6 seeds, and so did this model with every feature in the
//! share. An interaction model's effect is an odds ratio, which vanishes
//! for the lines almost sure to leave, where a call matters most. Here the
//! risk comes from the churn model and the waves only say which kinds of
//! line a contact persuades. The price: the uplift is never negative. A
//! line a contact would push away (a "sleeping dog") gets a share near 0
//! and is ranked last, but is not flagged as harmed.
//!
//! It is judged the way uplift models are, on a held-out wave: rank the
//! wave's lines by predicted uplift and, going down the ranking, count the
//! churners the contact avoided so far (the Qini curve); a model that finds
//! the persuadable lines avoids more churn near the top than a random or a
//! risk ranking. [`qini`] gives the curve at every tenth and its area over
//! the random line; [`uplift_at`] the measured uplift in the top share.

use super::logistic::{self, FitError, Logistic, sigmoid};

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

/// A fitted uplift model: held-out churn from the churn model's log-odds,
/// and the share of it a contact avoids by group features.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PersuasionModel {
    /// Held-out churn within the horizon: `sigmoid(baseline[0] + baseline[1] * log_odds)`.
    pub baseline: [f64; 2],
    /// The share of that churn a contact avoids.
    pub share: Logistic,
}

/// Keeps probabilities off 0 and 1, where the log-likelihood is infinite.
const EDGE: f64 = 1e-12;

impl PersuasionModel {
    /// Fits the model: row i has the churn model's log-odds `log_odds[i]`,
    /// group features `z[i]`, was contacted (`contacted[i]`) or held out, and
    /// churned in the horizon or not. `l2` penalises the share's coefficients.
    pub fn fit(
        log_odds: &[f64],
        z: &[Vec<f64>],
        contacted: &[bool],
        churned: &[bool],
        l2: f64,
    ) -> Result<PersuasionModel, UpliftError> {
        for (want, group) in [(true, "contact"), (false, "control")] {
            let lines = contacted.iter().filter(|&&c| c == want).count();
            let churners = contacted.iter().zip(churned).filter(|&(&c, &y)| c == want && y).count();
            if lines < MIN_LINES || churners < MIN_CHURNERS {
                return Err(UpliftError::TooFew { group, lines, churners });
            }
        }
        let fit_error = |source| UpliftError::Fit { group: "both", source };
        let width = z[0].len();
        if let Some((row, r)) = z.iter().enumerate().find(|(_, r)| r.len() != width) {
            return Err(fit_error(FitError::Ragged { row, got: r.len(), expected: width }));
        }
        let z = Standardised::new(z);
        let sample = Sample { log_odds, z: &z, contacted, churned, l2 };
        let mut theta = sample.start().map_err(fit_error)?;
        let mut current = sample.objective(&theta);
        for _ in 0..100 {
            let (gradient, information) = sample.score(&theta);
            let step = logistic::solve(information, gradient).ok_or(fit_error(FitError::Singular))?;
            // Fisher scoring may overshoot: halve the step until the penalised likelihood rises
            let mut scale = 1.0;
            let (next, value) = loop {
                let candidate: Vec<f64> = theta.iter().zip(&step).map(|(t, s)| t + scale * s).collect();
                let value = sample.objective(&candidate);
                if value >= current || scale < 1e-9 {
                    break (candidate, value);
                }
                scale /= 2.0;
            };
            if value < current {
                break;
            }
            let (moved, gained) = (step.iter().map(|s| (s * scale).abs()).fold(0.0, f64::max), value - current);
            (theta, current) = (next, value);
            if moved < 1e-8 || gained < 1e-10 {
                break;
            }
        }
        let share = Logistic {
            intercept: theta[2],
            coefficients: theta[3..].to_vec(),
            means: z.means,
            scales: z.scales,
            iterations: 0,
        };
        Ok(PersuasionModel { baseline: [theta[0], theta[1]], share })
    }

    /// The chance a line churns within the horizon if held out.
    pub fn held_out_churn(&self, log_odds: f64) -> f64 {
        sigmoid(self.baseline[0] + self.baseline[1] * log_odds)
    }

    /// The churn a contact avoids for a line with the churn model's
    /// log-odds `log_odds` and group features `z`.
    pub fn uplift(&self, log_odds: f64, z: &[f64]) -> f64 {
        self.held_out_churn(log_odds) * self.share.predict(z)
    }
}

/// The rows a fit reads. `theta` is the baseline's intercept and slope,
/// then the share's intercept and coefficients.
struct Sample<'a> {
    log_odds: &'a [f64],
    z: &'a Standardised,
    contacted: &'a [bool],
    churned: &'a [bool],
    l2: f64,
}

impl Sample<'_> {
    /// The start: the churn model recalibrated on the held-out lines, nothing avoided.
    fn start(&self) -> Result<Vec<f64>, FitError> {
        let control: Vec<usize> = (0..self.log_odds.len()).filter(|&i| !self.contacted[i]).collect();
        let calibration = logistic::fit(
            &control.iter().map(|&i| vec![self.log_odds[i]]).collect::<Vec<_>>(),
            &control.iter().map(|&i| self.churned[i]).collect::<Vec<_>>(),
            1e-6,
        )?;
        let slope = calibration.coefficients[0] / calibration.scales[0];
        let mut theta = vec![0.0; 3 + self.z.width];
        theta[0] = calibration.intercept - slope * calibration.means[0];
        theta[1] = slope;
        Ok(theta)
    }

    /// The penalised log-likelihood at `theta`.
    fn objective(&self, theta: &[f64]) -> f64 {
        let penalty = 0.5 * self.l2 * theta[3..].iter().map(|g| g * g).sum::<f64>();
        let likelihood: f64 = (0..self.log_odds.len())
            .map(|i| {
                let q = churn(theta, self.log_odds[i], self.z.row(i), self.contacted[i]).clamp(EDGE, 1.0 - EDGE);
                if self.churned[i] { q.ln() } else { (1.0 - q).ln() }
            })
            .sum();
        likelihood - penalty
    }

    /// The penalised log-likelihood's gradient and Fisher information at `theta`.
    // matrix arithmetic reads best with explicit indices
    #[allow(clippy::needless_range_loop)]
    fn score(&self, theta: &[f64]) -> (Vec<f64>, Vec<Vec<f64>>) {
        let k = theta.len();
        let (mut gradient, mut information) = (vec![0.0; k], vec![vec![0.0; k]; k]);
        let mut dq = vec![0.0; k];
        for i in 0..self.log_odds.len() {
            let (l, z) = (self.log_odds[i], self.z.row(i));
            let p0 = sigmoid(theta[0] + theta[1] * l);
            let share = if self.contacted[i] { sigmoid(theta[2] + dot(&theta[3..], z)) } else { 0.0 };
            let q = (p0 * (1.0 - share)).clamp(EDGE, 1.0 - EDGE);
            // dq / dtheta
            let baseline = (1.0 - share) * p0 * (1.0 - p0);
            let avoided = -p0 * share * (1.0 - share);
            dq[0] = baseline;
            dq[1] = baseline * l;
            dq[2] = avoided;
            for (d, v) in dq[3..].iter_mut().zip(z) {
                *d = avoided * v;
            }
            let variance = q * (1.0 - q);
            let residual = (f64::from(u8::from(self.churned[i])) - q) / variance;
            for a in 0..k {
                gradient[a] += residual * dq[a];
                for b in a..k {
                    information[a][b] += dq[a] * dq[b] / variance;
                }
            }
        }
        for a in 0..k {
            for b in 0..a {
                information[a][b] = information[b][a];
            }
            if a >= 3 {
                gradient[a] -= self.l2 * theta[a];
                information[a][a] += self.l2;
            } else {
                // a touch of ridge keeps a flat direction (no contacted churner left) solvable
                information[a][a] += 1e-9;
            }
        }
        (gradient, information)
    }
}

/// Features standardised by their means and standard deviations, row after row.
struct Standardised {
    values: Vec<f64>,
    width: usize,
    means: Vec<f64>,
    scales: Vec<f64>,
}

impl Standardised {
    fn new(x: &[Vec<f64>]) -> Standardised {
        let width = x[0].len();
        let (means, scales) = logistic::moments(x);
        let values = x.iter().flat_map(|r| r.iter().zip(&means).zip(&scales).map(|((v, m), s)| (v - m) / s)).collect();
        Standardised { values, width, means, scales }
    }

    fn row(&self, i: usize) -> &[f64] {
        &self.values[i * self.width..(i + 1) * self.width]
    }
}

/// A row's churn probability under `theta`.
fn churn(theta: &[f64], log_odds: f64, z: &[f64], contacted: bool) -> f64 {
    let p0 = sigmoid(theta[0] + theta[1] * log_odds);
    if contacted { p0 * (1.0 - sigmoid(theta[2] + dot(&theta[3..], z))) } else { p0 }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
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
    use crate::maths::test_rng::Rng;

    /// A wave where risk and persuadability differ: churn rises with the
    /// churn model's log-odds, and a contact avoids 70% of it on persuadable
    /// lines (z = 1, half of them) and none on the others. Half held out.
    struct Wave {
        log_odds: Vec<f64>,
        z: Vec<Vec<f64>>,
        contacted: Vec<bool>,
        churned: Vec<bool>,
        risk: Vec<f64>,
    }

    fn wave(n: usize, seed: u64) -> Wave {
        let mut r = Rng(seed);
        let mut w = Wave { log_odds: vec![], z: vec![], contacted: vec![], churned: vec![], risk: vec![] };
        for _ in 0..n {
            let l = -2.0 + 1.2 * r.normal();
            let persuadable = r.uniform() < 0.5;
            let base = sigmoid(l);
            let c = r.uniform() < 0.5;
            let p = if c && persuadable { base * 0.3 } else { base };
            w.log_odds.push(l);
            w.z.push(vec![f64::from(u8::from(persuadable))]);
            w.contacted.push(c);
            w.churned.push(r.uniform() < p);
            w.risk.push(base);
        }
        w
    }

    #[test]
    fn the_model_recovers_the_risk_and_the_share_a_contact_avoids() {
        let w = wave(8_000, 7);
        let model = PersuasionModel::fit(&w.log_odds, &w.z, &w.contacted, &w.churned, 1.0).unwrap();
        // held-out churn is the churn model's: intercept 0, slope 1, within sampling error
        assert!(model.baseline[0].abs() < 0.15 && (model.baseline[1] - 1.0).abs() < 0.1, "{model:?}");
        // the share avoided: 0.7 where persuadable, about none elsewhere
        let (persuadable, other) = (model.share.predict(&[1.0]), model.share.predict(&[0.0]));
        assert!((persuadable - 0.7).abs() < 0.08 && other < 0.1, "shares {persuadable} and {other}");
        // at the same risk the persuadable line ranks first; the uplift grows with risk
        assert!(model.uplift(-1.0, &[1.0]) > model.uplift(-1.0, &[0.0]) + 0.1);
        assert!(model.uplift(0.0, &[1.0]) > model.uplift(-1.0, &[1.0]));
    }

    #[test]
    fn the_uplift_model_finds_the_persuadable_lines_that_risk_ranking_misses() {
        let w = wave(2_000, 7);
        let model = PersuasionModel::fit(&w.log_odds, &w.z, &w.contacted, &w.churned, 1.0).unwrap();
        // on a new wave, ranking by uplift avoids more churn near the top than ranking by risk
        let new = wave(8_000, 8);
        let by_uplift: Vec<f64> = new.log_odds.iter().zip(&new.z).map(|(l, z)| model.uplift(*l, z)).collect();
        let (c, y) = (&new.contacted, &new.churned);
        let (q_uplift, q_risk) = (qini(&by_uplift, c, y).unwrap(), qini(&new.risk, c, y).unwrap());
        eprintln!("Qini: uplift ranking {:.5}, risk ranking {:.5}", q_uplift.coefficient, q_risk.coefficient);
        assert!(q_uplift.coefficient > q_risk.coefficient, "{q_uplift:?} against {q_risk:?}");
        let at = |s: &[f64]| uplift_at(s, c, y, 0.3).unwrap();
        assert!(at(&by_uplift) > at(&new.risk), "uplift in the top 30%: {} against {}", at(&by_uplift), at(&new.risk));
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
        let w = wave(400, 3);
        let nobody = vec![false; w.z.len()];
        assert!(matches!(
            PersuasionModel::fit(&w.log_odds, &w.z, &w.contacted, &nobody, 1.0),
            Err(UpliftError::TooFew { churners: 0, .. })
        ));
        assert_eq!(qini(&[1.0, 2.0], &[true, true], &[true, false]), None);
    }
}
