//! The BG/NBD model of repeat transactions (Fader, Hardie & Lee 2005,
//! "Counting your customers the easy way: an alternative to the Pareto/NBD
//! model", Marketing Science 24(2)). cvm fits it to prepaid recharges: a
//! subscriber who stops recharging has churned without telling anyone, and
//! the model tells a quiet but live subscriber from one who is gone.
//!
//! Each customer is summarised from their first transaction (time 0) to the
//! snapshot by a [`History`]:
//! - `x`, the frequency: repeat transactions, i.e. those after the first;
//! - `t_x`, the recency: time of the last repeat transaction (ignored, and
//!   conventionally 0, when x = 0);
//! - `T`, the age: time from the first transaction to the snapshot.
//!
//! Time is in the caller's unit (cvm uses weeks), and so are `t_x`, `T`, the
//! forecast horizon `t` and the parameter `α`; λ is transactions per unit of
//! time. `r`, `a` and `b` are dimensionless: measuring in days instead of
//! weeks multiplies α by 7 and leaves r, a, b unchanged.
//!
//! The model:
//! - while alive, a customer transacts as a Poisson process with rate λ;
//! - λ ~ Gamma(shape r, rate α) across customers (mean r/α per unit of time);
//! - right after each repeat transaction the customer drops out for good
//!   with probability p, so nobody drops out before their first repeat
//!   transaction (a customer with x = 0 is certainly alive);
//! - p ~ Beta(a, b) across customers (mean a/(a+b)), independent of λ.
//!
//! Log-likelihood of one customer (FHL 2005, eq. 6), in logs throughout:
//!
//! ```text
//! A1 = ln Γ(r+x) − ln Γ(r) + r ln α
//! A2 = ln Γ(a+b) + ln Γ(b+x) − ln Γ(b) − ln Γ(a+b+x)
//! A3 = −(r+x) ln(α+T)
//! A4 = ln a − ln(b+x−1) − (r+x) ln(α+t_x)          (x > 0 only)
//! LL = A1 + A2 + ln(e^A3 + [x>0] e^A4) = A1 + A2 + A3 + ln(1 + [x>0] e^w)
//! ```
//!
//! where `w = A4 − A3 = ln(a/(b+x−1)) + (r+x) ln((α+T)/(α+t_x))` is the log
//! odds that the customer dropped out after the last transaction:
//!
//! ```text
//! P(alive | x, t_x, T) = 1 / (1 + [x>0] e^w)
//! ```
//!
//! Expected transactions in the next t units, (T, T+t], of a customer with
//! this history (FHL 2005):
//!
//! ```text
//! E[Y(t)] = (a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) ₂F₁(r+x, b+x; a+b+x−1; z)] · P(alive),
//! z = t/(α+T+t)
//! ```
//!
//! and for a new customer (x = 0, T = 0) the unconditional
//! `E[X(t)] = (a+b−1)/(a−1) [1 − (α/(α+t))^r ₂F₁(r, b; a+b−1; t/(α+t))]`.
//!
//! That form is 0/0 at a = 1 and, read literally, looks invalid for a < 1,
//! where E[1/p] diverges (CDNOW's own a is 0.793). It is not: the expectation
//! is `E[(1 − e^(−λpt))/p]` over the posterior, finite for every a > 0, and the
//! formula is its analytic continuation in a. To evaluate it without the
//! removable singularity, Euler's transformation
//! `₂F₁(A', B'; C; z) = (1−z)^(C−A'−B') ₂F₁(C−A', C−B'; C; z)` turns the bracket
//! times (a+b+x−1)/(a−1) into
//!
//! ```text
//! c · (−L) · φ((a−1) L) − (1−z)^(a−1) · A z · ₃F₂(A+1, a, 1; c+1, 2; z)
//! c = a+b+x−1, A = a+b−1−r, L = ln(1−z), φ(u) = (e^u − 1)/u (φ(0) = 1)
//! ```
//!
//! which is smooth in a through 1, has no pole when c ≤ 0, and sums a series
//! whose parameters do not grow with x. The tests check it against a direct
//! two-dimensional integration over (λ, p) for a < 1, a = 1 and a > 1.
//!
//! Fitting maximises the summed log-likelihood over (ln r, ln α, ln a, ln b)
//! with Nelder-Mead, so the parameters stay positive. When the data carry no
//! evidence of dropout the likelihood keeps rising as the mean dropout
//! probability a/(a+b) goes to 0, flattening out; the search stops there with
//! a tiny a and a large b, which is the model's honest answer (nobody leaves)
//! rather than an error.

use super::optimize::nelder_mead;
use super::special::{hyp3f2, ln_gamma};

/// One customer's transaction summary, or `count` identical ones.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct History {
    /// x: repeat transactions (after the first), a whole number >= 0.
    pub frequency: f64,
    /// t_x: time of the last repeat transaction since the first, 0 <= t_x <= T; ignored when x = 0.
    pub recency: f64,
    /// T: time from the first transaction to the end of observation, >= 0.
    pub age: f64,
    /// How many customers share this history (0 rows are skipped).
    pub count: u64,
}

/// Maximum-likelihood BG/NBD parameters, in the time unit of the histories.
#[derive(Debug, Clone, PartialEq)]
pub struct BgNbdFit {
    /// Shape of the Gamma distribution of transaction rates.
    pub r: f64,
    /// Rate of the Gamma distribution of transaction rates, in the time unit.
    pub alpha: f64,
    /// First shape of the Beta distribution of dropout probabilities.
    pub a: f64,
    /// Second shape of the Beta distribution of dropout probabilities.
    pub b: f64,
    /// The summed log-likelihood at the fit (not scaled per customer).
    pub log_likelihood: f64,
    /// Customers in the fit (the sum of the counts).
    pub customers: u64,
    /// Nelder-Mead iterations over all restarts.
    pub iterations: usize,
    /// False when the last Nelder-Mead search ran out of iterations before its simplex shrank.
    pub converged: bool,
}

/// Why histories cannot give a fit.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BgNbdError {
    #[error("no customers to fit: the histories are empty or every count is 0")]
    NoCustomers,
    #[error("history {row}: {rule}")]
    InvalidHistory { row: usize, rule: &'static str },
    #[error("no customer made a repeat transaction, so the transaction and dropout rates cannot be estimated")]
    NoRepeatTransactions,
    #[error("the likelihood has no finite maximum for these histories (log-likelihood {log_likelihood})")]
    NoFiniteOptimum { log_likelihood: f64 },
}

/// The summed log-likelihood of the histories, each weighted by its count
/// (FHL 2005, eq. 6, in the form of the module notes). NaN unless all four
/// parameters are positive and finite; the histories are not validated here
/// ([`fit`] does that).
pub fn log_likelihood(r: f64, alpha: f64, a: f64, b: f64, histories: &[History]) -> f64 {
    if ![r, alpha, a, b].iter().all(|p| p.is_finite() && *p > 0.0) {
        return f64::NAN;
    }
    // the parts of A1 + A2 that do not depend on the customer
    let constant = ln_gamma(a + b) - ln_gamma(r) - ln_gamma(b) + r * alpha.ln();
    let ln_a = a.ln();
    let mut by_x = XTerms::default();
    let mut total = 0.0;
    for h in histories.iter().filter(|h| h.count > 0) {
        let x = h.frequency;
        let (gammas, ln_b_x) = by_x.at(x, r, a, b);
        let mut ll = constant + gammas - (r + x) * (alpha + h.age).ln();
        if x > 0.0 {
            let w = ln_a - ln_b_x + (r + x) * ((h.age - h.recency) / (alpha + h.recency)).ln_1p();
            ll += softplus(w);
        }
        total += h.count as f64 * ll;
    }
    total
}

/// The parts of a history's log-likelihood that depend only on x:
/// ln Γ(r+x) + ln Γ(b+x) − ln Γ(a+b+x) and ln(b+x−1), kept while x repeats
/// (the fit sorts the histories by x).
#[derive(Default)]
struct XTerms(Option<(f64, f64, f64)>);

impl XTerms {
    fn at(&mut self, x: f64, r: f64, a: f64, b: f64) -> (f64, f64) {
        match self.0 {
            Some((cached, gammas, ln_b_x)) if cached == x => (gammas, ln_b_x),
            _ => {
                let gammas = ln_gamma(r + x) + ln_gamma(b + x) - ln_gamma(a + b + x);
                let ln_b_x = (b + x - 1.0).ln();
                self.0 = Some((x, gammas, ln_b_x));
                (gammas, ln_b_x)
            }
        }
    }
}

/// `ln(1 + e^w)` without overflow.
fn softplus(w: f64) -> f64 {
    if w > 0.0 { w + (-w).exp().ln_1p() } else { w.exp().ln_1p() }
}

/// Merged histories as the fit's objective reads them: each time (age, and
/// recency when x > 0) a position in one sorted list of the distinct times,
/// so that an evaluation takes ln(α + time) once per distinct time (a few
/// thousand weeks) instead of twice per history (hundreds of thousands).
struct Indexed {
    times: Vec<f64>,
    /// x, count, position of the age, position of the recency (x > 0 only).
    rows: Vec<(f64, f64, u32, u32)>,
}

impl Indexed {
    /// `rows` merged and sorted by x, as [`fit`] leaves them.
    fn new(rows: &[History]) -> Indexed {
        let mut times: Vec<f64> = rows.iter().flat_map(|h| [h.age, h.recency]).collect();
        times.sort_by(f64::total_cmp);
        times.dedup();
        let at = |t: f64| times.binary_search_by(|v| v.total_cmp(&t)).expect("every time is listed") as u32;
        let rows = rows.iter().map(|h| (h.frequency, h.count as f64, at(h.age), at(h.recency))).collect();
        Indexed { times, rows }
    }

    /// [`log_likelihood`] of the histories, with ln(1 + (T − t_x)/(α + t_x))
    /// taken as ln(α + T) − ln(α + t_x); the two agree to rounding.
    fn log_likelihood(&self, r: f64, alpha: f64, a: f64, b: f64) -> f64 {
        if ![r, alpha, a, b].iter().all(|p| p.is_finite() && *p > 0.0) {
            return f64::NAN;
        }
        let ln_times: Vec<f64> = self.times.iter().map(|t| (alpha + t).ln()).collect();
        let constant = ln_gamma(a + b) - ln_gamma(r) - ln_gamma(b) + r * alpha.ln();
        let ln_a = a.ln();
        let mut by_x = XTerms::default();
        let mut total = 0.0;
        for &(x, count, age_at, recency_at) in &self.rows {
            let (gammas, ln_b_x) = by_x.at(x, r, a, b);
            let ln_age = ln_times[age_at as usize];
            let mut ll = constant + gammas - (r + x) * ln_age;
            if x > 0.0 {
                ll += softplus(ln_a - ln_b_x + (r + x) * (ln_age - ln_times[recency_at as usize]));
            }
            total += count * ll;
        }
        total
    }
}

/// Fits the BG/NBD by maximum likelihood.
///
/// Nelder-Mead on the log-parameters, minimising the negative
/// log-likelihood per customer (so the scale of the objective does not grow
/// with the data), started at r = 1, a = 1, b = 1 and α = the observed mean
/// time between repeat transactions (so r/α starts at the observed rate), then
/// restarted from its own optimum with a smaller simplex, up to twice while
/// that still improves, to polish. Identical histories are merged first.
/// Deterministic: the same histories, in any order, give the same fit.
pub fn fit(histories: &[History]) -> Result<BgNbdFit, BgNbdError> {
    let (mut customers, mut repeat_customers) = (0_u64, 0_u64);
    for (row, h) in histories.iter().enumerate() {
        validate(h).map_err(|rule| BgNbdError::InvalidHistory { row, rule })?;
        customers += h.count;
        if h.frequency > 0.0 {
            repeat_customers += h.count;
        }
    }
    if customers == 0 {
        return Err(BgNbdError::NoCustomers);
    }
    if repeat_customers == 0 {
        return Err(BgNbdError::NoRepeatTransactions);
    }

    // merge identical histories (t_x means nothing when x = 0), sorted by x so log_likelihood reuses its x terms
    let mut rows: Vec<History> = histories
        .iter()
        .filter(|h| h.count > 0)
        .map(|h| History { recency: if h.frequency > 0.0 { h.recency } else { 0.0 }, ..*h })
        .collect();
    rows.sort_by(|p, q| {
        p.frequency.total_cmp(&q.frequency).then(p.recency.total_cmp(&q.recency)).then(p.age.total_cmp(&q.age))
    });
    rows.dedup_by(|next, kept| {
        let same = next.frequency == kept.frequency && next.recency == kept.recency && next.age == kept.age;
        if same {
            kept.count += next.count;
        }
        same
    });

    // sums over the merged rows, so the start does not depend on the input order
    let transactions: f64 = rows.iter().map(|h| h.count as f64 * h.frequency).sum();
    let exposure: f64 = rows.iter().map(|h| h.count as f64 * h.age).sum();
    let n = customers as f64;
    let indexed = Indexed::new(&rows);
    let objective = |theta: &[f64]| -> f64 {
        let [r, alpha, a, b] = [theta[0].exp(), theta[1].exp(), theta[2].exp(), theta[3].exp()];
        -indexed.log_likelihood(r, alpha, a, b) / n
    };
    // r = 1 and r/α = the observed repeat transactions per unit of time
    let alpha0 = if exposure > 0.0 { (exposure / transactions).clamp(1e-6, 1e6) } else { 1.0 };
    let mut best = nelder_mead(objective, &[0.0, alpha0.ln(), 0.0, 0.0], 0.5, 5000);
    let mut iterations = best.iterations;
    for _ in 0..2 {
        let polished = nelder_mead(objective, &best.x, 0.05, 5000);
        iterations += polished.iterations;
        let improved = polished.value < best.value;
        if polished.value <= best.value {
            best = polished;
        }
        if !improved {
            break;
        }
    }

    let [r, alpha, a, b] = [best.x[0].exp(), best.x[1].exp(), best.x[2].exp(), best.x[3].exp()];
    let ll = log_likelihood(r, alpha, a, b, &rows);
    if !ll.is_finite() || ![r, alpha, a, b].iter().all(|p| p.is_finite() && *p > 0.0) {
        return Err(BgNbdError::NoFiniteOptimum { log_likelihood: ll });
    }
    Ok(BgNbdFit { r, alpha, a, b, log_likelihood: ll, customers, iterations, converged: best.converged })
}

/// The rule a history breaks, if any.
fn validate(h: &History) -> Result<(), &'static str> {
    if !(h.frequency.is_finite() && h.frequency >= 0.0 && h.frequency.fract() == 0.0) {
        return Err("frequency (x, repeat transactions) must be a whole number >= 0");
    }
    if !(h.age.is_finite() && h.age >= 0.0) {
        return Err("age (T) must be a finite time >= 0");
    }
    if h.frequency > 0.0 && !(h.recency >= 0.0 && h.recency <= h.age) {
        return Err("recency (t_x) must lie between 0 and age (T) when frequency > 0");
    }
    Ok(())
}

impl BgNbdFit {
    /// Probability that a customer with `x` repeat transactions, the last at
    /// `t_x`, observed for `age`, is still alive at the end of observation.
    /// 1 when x = 0 (nobody drops out before a repeat transaction).
    pub fn p_alive(&self, x: f64, t_x: f64, age: f64) -> f64 {
        if x == 0.0 {
            return 1.0;
        }
        let (r, alpha, a, b) = (self.r, self.alpha, self.a, self.b);
        let w = (a / (b + x - 1.0)).ln() + (r + x) * ((age - t_x) / (alpha + t_x)).ln_1p();
        1.0 / (1.0 + w.exp())
    }

    /// Expected transactions in the next `t` time units, (age, age + t], of a
    /// customer with `x` repeat transactions, the last at `t_x`, observed for
    /// `age`; by the transformed closed form of the module notes, valid for
    /// every a > 0. 0 for t = 0; NaN for t < 0, or when t is so long compared
    /// with α + age (about 30,000 times) that the series does not converge.
    pub fn expected_transactions(&self, t: f64, x: f64, t_x: f64, age: f64) -> f64 {
        if t.is_nan() || t < 0.0 {
            return f64::NAN;
        }
        let (r, a, b) = (self.r, self.a, self.b);
        let elapsed = self.alpha + age;
        let z = t / (elapsed + t);
        let ln_1mz = -(t / elapsed).ln_1p(); // ln(1 − z) = ln((α+T)/(α+T+t))
        let c = a + b + x - 1.0;
        let big_a = a + b - 1.0 - r;
        let u = (a - 1.0) * ln_1mz;
        let phi = if u == 0.0 { 1.0 } else { u.exp_m1() / u };
        let series = big_a * z * hyp3f2(big_a + 1.0, a, 1.0, c + 1.0, 2.0, z);
        (c * -ln_1mz * phi - u.exp() * series) * self.p_alive(x, t_x, age)
    }

    /// Expected transactions in the first `t` time units after a new
    /// customer's first transaction, E[X(t)] (the first one not counted).
    pub fn expected_transactions_new(&self, t: f64) -> f64 {
        self.expected_transactions(t, 0.0, 0.0, 0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::super::special::hyp2f1;
    use super::*;
    use std::f64::consts::PI;

    /// FHL 2005's estimates for the CDNOW data, in weeks.
    fn cdnow() -> BgNbdFit {
        params(0.243, 4.414, 0.793, 2.426)
    }

    fn params(r: f64, alpha: f64, a: f64, b: f64) -> BgNbdFit {
        BgNbdFit { r, alpha, a, b, log_likelihood: 0.0, customers: 0, iterations: 0, converged: true }
    }

    fn history(x: f64, t_x: f64, age: f64) -> History {
        History { frequency: x, recency: t_x, age, count: 1 }
    }

    use super::super::test_rng::Rng;

    fn close(got: f64, want: f64, rel: f64) -> bool {
        (got - want).abs() <= rel * want.abs()
    }

    /// Customers drawn from the model, each observed for an age uniform on
    /// [27, 39): λ ~ Gamma(r, rate α), p ~ Beta(a, b), transactions at rate λ
    /// after the first one at time 0, and a chance p of dropping out right
    /// after each repeat transaction (never before the first, as the
    /// likelihood's x = 0 term `(α/(α+T))^r` says).
    fn simulate(truth: &BgNbdFit, customers: usize, seed: u64) -> Vec<History> {
        let mut rng = Rng(seed);
        (0..customers)
            .map(|_| {
                let lambda = rng.gamma(truth.r) / truth.alpha;
                let p = rng.beta(truth.a, truth.b);
                let age = 27.0 + 12.0 * rng.uniform();
                let (mut t, mut x, mut t_x) = (0.0, 0.0, 0.0);
                loop {
                    t += -rng.open().ln() / lambda;
                    if t > age {
                        break;
                    }
                    x += 1.0;
                    t_x = t;
                    if rng.uniform() < p {
                        break;
                    }
                }
                history(x, t_x, age)
            })
            .collect()
    }

    /// Standard errors of (ln r, ln α, ln a, ln b) at `fit`: the inverse of the
    /// observed information, by central differences of the log-likelihood.
    fn standard_errors(fit: &BgNbdFit, histories: &[History]) -> [f64; 4] {
        let theta = [fit.r.ln(), fit.alpha.ln(), fit.a.ln(), fit.b.ln()];
        let ll = |d: [f64; 4]| {
            let p: Vec<f64> = theta.iter().zip(d).map(|(t, d)| (t + d).exp()).collect();
            log_likelihood(p[0], p[1], p[2], p[3], histories)
        };
        let h = 1e-3;
        // ∂²LL/∂θi∂θj ≈ [LL(+h, +h) − LL(+h, −h) − LL(−h, +h) + LL(−h, −h)] / 4h²
        let second = |i: usize, j: usize| {
            let shifted = |si: f64, sj: f64| {
                let mut d = [0.0; 4];
                d[i] += si;
                d[j] += sj;
                ll(d)
            };
            (shifted(h, h) - shifted(h, -h) - shifted(-h, h) + shifted(-h, -h)) / (4.0 * h * h)
        };
        let mut info = [[0.0; 4]; 4];
        for (i, row) in info.iter_mut().enumerate() {
            for (j, cell) in row.iter_mut().enumerate() {
                *cell = -second(i, j);
            }
        }
        // invert by Gauss-Jordan (the information is positive definite at a maximum)
        let mut inverse = [[0.0; 4]; 4];
        for (i, row) in inverse.iter_mut().enumerate() {
            row[i] = 1.0;
        }
        for c in 0..4 {
            let pivot = info[c][c];
            for k in 0..4 {
                info[c][k] /= pivot;
                inverse[c][k] /= pivot;
            }
            for r in 0..4 {
                if r != c {
                    let f = info[r][c];
                    for k in 0..4 {
                        info[r][k] -= f * info[c][k];
                        inverse[r][k] -= f * inverse[c][k];
                    }
                }
            }
        }
        [0, 1, 2, 3].map(|i| inverse[i][i].sqrt())
    }

    #[test]
    fn the_fits_indexed_likelihood_is_the_likelihood() {
        let mut histories = simulate(&cdnow(), 3000, 11);
        histories.sort_by(|p, q| p.frequency.total_cmp(&q.frequency));
        let indexed = Indexed::new(&histories);
        assert!(indexed.times.len() < histories.len() * 2);
        for (r, alpha, a, b) in [(0.243, 4.414, 0.793, 2.426), (2.0, 0.5, 3.0, 40.0), (0.01, 90.0, 0.02, 0.3)] {
            let plain = log_likelihood(r, alpha, a, b, &histories);
            let fast = indexed.log_likelihood(r, alpha, a, b);
            assert!(((fast - plain) / plain).abs() < 1e-12, "{fast} against {plain}");
        }
        assert!(indexed.log_likelihood(-1.0, 1.0, 1.0, 1.0).is_nan());
    }

    #[test]
    fn recovers_known_parameters_from_simulated_customers() {
        // 5,000 customers from FHL's CDNOW estimates, observed 27 to 39 weeks
        let truth = cdnow();
        let histories = simulate(&truth, 5000, 2005);
        let fit = fit(&histories).unwrap();
        let se = standard_errors(&fit, &histories);
        eprintln!("fit {fit:?}\nse of logs {se:?}");
        assert!(fit.converged, "{fit:?}");
        assert_eq!(fit.customers, 5000);
        // the fit is the maximum: at least as likely as the truth
        let ll_truth = log_likelihood(truth.r, truth.alpha, truth.a, truth.b, &histories);
        assert!(fit.log_likelihood >= ll_truth, "{} < {ll_truth}", fit.log_likelihood);
        // each log-parameter within three standard errors of the truth
        let pairs = [(fit.r, truth.r), (fit.alpha, truth.alpha), (fit.a, truth.a), (fit.b, truth.b)];
        for (i, (got, want)) in pairs.iter().enumerate() {
            assert!((got.ln() - want.ln()).abs() < 3.0 * se[i], "parameter {i}: {got} vs {want}, se {}", se[i]);
        }
        // and in plain terms, as log-ratios to the truth. Over 40 seeds at this size the fits scatter with
        // standard deviations of about 0.035 for ln r, 0.06 for ln α, 0.035 for ln(r/α), 0.16 for ln a and
        // 0.2 for ln b: the dropout parameters are only loosely pinned down by 27 to 39 weeks of data
        let off = |got: f64, want: f64| (got / want).ln().abs();
        assert!(off(fit.r, truth.r) < 0.12 && off(fit.alpha, truth.alpha) < 0.2, "{fit:?}");
        assert!(off(fit.r / fit.alpha, truth.r / truth.alpha) < 0.1, "{fit:?}");
        assert!(off(fit.a, truth.a) < 0.5 && off(fit.b, truth.b) < 0.6, "{fit:?}");
    }

    /// ∫₀¹ f(s, 1 − s) ds by tanh-sinh quadrature, which is accurate to near
    /// machine precision for integrands analytic inside (0, 1) even with
    /// integrable algebraic singularities at the ends (here p^(a−1), λ^(r−1)).
    fn tanh_sinh(f: impl Fn(f64, f64) -> f64) -> f64 {
        let h = 1.0 / 16.0;
        (-64..=64)
            .map(|k| {
                let t = k as f64 * h;
                let s = 0.5 * PI * t.sinh();
                let (x, complement) = (1.0 / (1.0 + (-2.0 * s).exp()), 1.0 / (1.0 + (2.0 * s).exp()));
                let weight = 0.25 * PI * t.cosh() / (s.cosh() * s.cosh());
                if weight == 0.0 { 0.0 } else { h * weight * f(x, complement) }
            })
            .sum()
    }

    /// P(alive) and E[Y(t)] straight from the model's definition: integrate
    /// over (λ, p) the prior Gamma(r, α) × Beta(a, b) density times the
    /// individual likelihood, split into the paths "still alive"
    /// `(1−p)^x λ^x e^(−λT)` and "dropped out after the last transaction"
    /// `p (1−p)^(x−1) λ^x e^(−λ t_x)`. A live customer's expected transactions
    /// in the next t are `(1 − e^(−λpt)) / p`: transacting at rate λ until the
    /// first transaction that ends it all, which comes at rate λp.
    fn integrate_posterior(m: &BgNbdFit, t: f64, x: f64, t_x: f64, age: f64) -> (f64, f64) {
        let scale = (m.r + x) / (m.alpha + age);
        let kernel = |lambda: f64, p: f64, q: f64| {
            (m.r - 1.0) * lambda.ln() - m.alpha * lambda + (m.a - 1.0) * p.ln() + (m.b - 1.0) * q.ln()
        };
        let integral = |g: &dyn Fn(f64, f64, f64) -> f64| {
            tanh_sinh(|s, s_complement| {
                let lambda = scale * s / s_complement;
                let jacobian = scale / (s_complement * s_complement);
                jacobian * tanh_sinh(|p, q| g(lambda, p, q))
            })
        };
        let alive =
            |lambda: f64, p: f64, q: f64| (kernel(lambda, p, q) + x * q.ln() + x * lambda.ln() - lambda * age).exp();
        let dead = |lambda: f64, p: f64, q: f64| {
            if x == 0.0 {
                return 0.0;
            }
            (kernel(lambda, p, q) + p.ln() + (x - 1.0) * q.ln() + x * lambda.ln() - lambda * t_x).exp()
        };
        let future = |lambda: f64, p: f64, q: f64| alive(lambda, p, q) * -(-lambda * p * t).exp_m1() / p;
        let (i_alive, i_dead, i_future) = (integral(&alive), integral(&dead), integral(&future));
        (i_alive / (i_alive + i_dead), i_future / (i_alive + i_dead))
    }

    #[test]
    fn p_alive_and_expectations_match_integration_over_the_posterior() {
        let models = [
            cdnow(),                    // a < 1
            params(1.3, 6.0, 2.5, 4.0), // a > 1
            params(0.8, 3.0, 1.0, 1.7), // a = 1, where the textbook form is 0/0
            params(0.5, 2.0, 0.4, 0.3), // a + b < 1: c = a + b − 1 < 0 for x = 0
        ];
        let cases = [
            (0.0, 0.0, 38.86, 39.0),
            (2.0, 30.43, 38.86, 39.0),
            (1.0, 2.0, 30.0, 10.0),
            (7.0, 35.0, 36.0, 52.0),
            (3.0, 0.0, 20.0, 5.0),
            (0.0, 0.0, 0.0, 26.0), // a new customer: E[X(t)]
        ];
        for m in &models {
            for &(x, t_x, age, t) in &cases {
                let (p_alive, expected) = integrate_posterior(m, t, x, t_x, age);
                let (got_p, got_e) = (m.p_alive(x, t_x, age), m.expected_transactions(t, x, t_x, age));
                eprintln!(
                    "{:?} x={x} t_x={t_x} T={age} t={t}: P {got_p} vs {p_alive}, E {got_e} vs {expected}",
                    (m.r, m.alpha, m.a, m.b)
                );
                assert!(close(got_p, p_alive, 1e-8), "{m:?} {x} {t_x} {age}: {got_p} vs {p_alive}");
                assert!(close(got_e, expected, 1e-8), "{m:?} {x} {t_x} {age} {t}: {got_e} vs {expected}");
            }
            assert_eq!(m.expected_transactions_new(26.0), m.expected_transactions(26.0, 0.0, 0.0, 0.0));
        }
    }

    #[test]
    fn fhl_published_example() {
        // FHL 2005: with the CDNOW estimates, a customer with x = 2, t_x = 30.43, T = 38.86 (weeks)
        // expects 1.226 transactions in the next 39 weeks; mpmath gives 1.22602817476714 and
        // P(alive) = 0.726578570080673, and the integration test above agrees
        let m = cdnow();
        assert!(close(m.expected_transactions(39.0, 2.0, 30.43, 38.86), 1.226_028_174_767_144, 1e-12));
        assert!(close(m.p_alive(2.0, 30.43, 38.86), 0.726_578_570_080_673, 1e-12));
        assert_eq!((m.expected_transactions(39.0, 2.0, 30.43, 38.86) * 1000.0).round(), 1226.0);
    }

    #[test]
    fn the_transformed_form_equals_the_textbook_form() {
        // for a ≠ 1 the FHL expression with ₂F₁ can be evaluated as printed
        let textbook = |m: &BgNbdFit, t: f64, x: f64, t_x: f64, age: f64| {
            let (r, alpha, a, b) = (m.r, m.alpha, m.a, m.b);
            let z = t / (alpha + age + t);
            let bracket =
                1.0 - ((alpha + age) / (alpha + age + t)).powf(r + x) * hyp2f1(r + x, b + x, a + b + x - 1.0, z);
            (a + b + x - 1.0) / (a - 1.0) * bracket * m.p_alive(x, t_x, age)
        };
        for m in [cdnow(), params(1.3, 6.0, 2.5, 4.0), params(2.0, 1.0, 0.3, 5.0)] {
            for (x, t_x, age, t) in [(0.0, 0.0, 10.0, 5.0), (4.0, 8.0, 10.0, 20.0), (12.0, 30.0, 31.0, 52.0)] {
                let (got, want) = (m.expected_transactions(t, x, t_x, age), textbook(&m, t, x, t_x, age));
                assert!(close(got, want, 1e-11), "{m:?} {x}: {got} vs {want}");
            }
        }
        // and it is continuous through a = 1
        let at = |a: f64| params(0.8, 3.0, a, 1.7).expected_transactions(20.0, 3.0, 15.0, 25.0);
        assert!(close(at(1.0 - 1e-9), at(1.0), 1e-8) && close(at(1.0 + 1e-9), at(1.0), 1e-8));
        // a short horizon: t times the posterior mean rate (r+x)/(α+T), times P(alive)
        let m = cdnow();
        let short = m.expected_transactions(1e-6, 3.0, 15.0, 25.0);
        assert!(close(short, 1e-6 * (m.r + 3.0) / (m.alpha + 25.0) * m.p_alive(3.0, 15.0, 25.0), 1e-5));
        assert_eq!(m.expected_transactions(0.0, 3.0, 15.0, 25.0), 0.0);
        assert!(m.expected_transactions(-1.0, 3.0, 15.0, 25.0).is_nan());
    }

    #[test]
    fn log_likelihood_sums_the_weighted_customers() {
        let (r, alpha, a, b) = (0.243_f64, 4.414_f64, 0.793_f64, 2.426_f64);
        // eq. 6 directly, with exp instead of logs, for a small customer
        let direct = |x: f64, t_x: f64, age: f64| {
            let a1 = ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln();
            let a2 = ln_gamma(a + b) + ln_gamma(b + x) - ln_gamma(b) - ln_gamma(a + b + x);
            let a3 = -(r + x) * (alpha + age).ln();
            let a4 = if x > 0.0 { (a / (b + x - 1.0)).ln() - (r + x) * (alpha + t_x).ln() } else { f64::NEG_INFINITY };
            a1 + a2 + (a3.exp() + a4.exp()).ln()
        };
        let hs = [history(0.0, 0.0, 30.0), history(2.0, 30.43, 38.86), history(5.0, 3.0, 12.0)];
        for h in &hs {
            let got = log_likelihood(r, alpha, a, b, std::slice::from_ref(h));
            assert!(close(got, direct(h.frequency, h.recency, h.age), 1e-13), "{h:?}");
        }
        let mut weighted = hs;
        weighted[1].count = 3;
        weighted[2].count = 0;
        let want = log_likelihood(r, alpha, a, b, &hs[..1]) + 3.0 * log_likelihood(r, alpha, a, b, &hs[1..2]);
        assert!(close(log_likelihood(r, alpha, a, b, &weighted), want, 1e-14));
        // x = 0: the customer is alive for sure, the likelihood is (α/(α+T))^r
        let ll0 = log_likelihood(r, alpha, a, b, &hs[..1]);
        assert!(close(ll0, r * (alpha / (alpha + 30.0)).ln(), 1e-13));
        // large histories stay finite (e^A3 alone would underflow)
        assert!(log_likelihood(r, alpha, a, b, &[history(5000.0, 1.0, 5000.0)]).is_finite());
        assert!(log_likelihood(0.0, alpha, a, b, &hs).is_nan() && log_likelihood(r, -1.0, a, b, &hs).is_nan());
    }

    #[test]
    fn time_units_scale_alpha_only() {
        let weeks = simulate(&params(1.0, 2.0, 1.5, 3.0), 400, 7);
        let days: Vec<History> =
            weeks.iter().map(|h| History { recency: 7.0 * h.recency, age: 7.0 * h.age, ..*h }).collect();
        let (w, d) = (fit(&weeks).unwrap(), fit(&days).unwrap());
        assert!(close(d.alpha, 7.0 * w.alpha, 1e-5), "{w:?} {d:?}");
        assert!(close(d.r, w.r, 1e-5) && close(d.a, w.a, 1e-5) && close(d.b, w.b, 1e-5), "{w:?} {d:?}");
    }

    #[test]
    fn the_same_customers_give_the_same_fit() {
        let histories = simulate(&cdnow(), 300, 11);
        assert_eq!(fit(&histories).unwrap(), fit(&histories).unwrap());
        // counts are the same as repeated rows, in any order
        let mut doubled: Vec<History> = histories.iter().map(|h| History { count: 2, ..*h }).collect();
        doubled.reverse();
        let mut repeated = histories.clone();
        repeated.extend_from_slice(&histories);
        let (a, b) = (fit(&doubled).unwrap(), fit(&repeated).unwrap());
        assert_eq!(a, b);
        assert_eq!(a.customers, 600);
    }

    #[test]
    fn bad_histories_are_errors() {
        assert_eq!(fit(&[]), Err(BgNbdError::NoCustomers));
        assert_eq!(fit(&[History { count: 0, ..history(1.0, 1.0, 2.0) }]), Err(BgNbdError::NoCustomers));
        assert_eq!(fit(&[history(0.0, 0.0, 5.0), history(0.0, 0.0, 9.0)]), Err(BgNbdError::NoRepeatTransactions));
        let bad = [
            history(-1.0, 0.0, 5.0),
            history(1.5, 1.0, 5.0),
            history(f64::NAN, 1.0, 5.0),
            history(2.0, 6.0, 5.0),
            history(2.0, -1.0, 5.0),
            history(2.0, f64::NAN, 5.0),
            history(0.0, 0.0, -1.0),
            history(0.0, 0.0, f64::INFINITY),
        ];
        for h in bad {
            let histories = [history(1.0, 1.0, 5.0), h];
            assert!(matches!(fit(&histories), Err(BgNbdError::InvalidHistory { row: 1, .. })), "{h:?}");
        }
        // accepted: t_x is ignored when x = 0, and a repeat at time 0 is fine
        let ok = [history(0.0, f64::NAN, 5.0), history(0.0, 7.0, 5.0), history(1.0, 0.0, 5.0), history(3.0, 4.0, 6.0)];
        assert!(fit(&ok).is_ok());
        let message = fit(&[history(2.0, 6.0, 5.0)]).unwrap_err().to_string();
        assert!(message.contains("history 0") && message.contains("recency"), "{message}");
    }
}
