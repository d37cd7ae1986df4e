//! L2-regularised logistic regression on standardised features, fitted by
//! Newton's method (IRLS). Small and exact enough for churn on a sample of
//! subscribers: p features, n rows, O(n p^2) per iteration.
//!
//! Features are standardised with the training means and scales, which the
//! fitted model keeps, so it can be applied anywhere (including as a SQL
//! expression) as `sigmoid(b0 + sum_j b_j * (x_j - mean_j) / scale_j)`.
//! The intercept is not penalised.

// matrix arithmetic reads best with explicit indices
#![allow(clippy::needless_range_loop)]

/// A fitted model.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Logistic {
    pub intercept: f64,
    /// One coefficient per feature, on the standardised scale.
    pub coefficients: Vec<f64>,
    pub means: Vec<f64>,
    /// Standard deviations (1 for a constant feature, so it drops out).
    pub scales: Vec<f64>,
    pub iterations: usize,
}

impl Logistic {
    /// Each feature's term of the log-odds for one row: `b_j * (x_j - mean_j) / scale_j`.
    pub fn contributions(&self, x: &[f64]) -> Vec<f64> {
        x.iter()
            .zip(&self.coefficients)
            .zip(self.means.iter().zip(&self.scales))
            .map(|((v, b), (m, s))| b * (v - m) / s)
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FitError {
    #[error("no training rows")]
    Empty,
    #[error("row {row} has {got} features, expected {expected}")]
    Ragged { row: usize, got: usize, expected: usize },
    #[error("the Newton step could not be solved (singular Hessian); increase the L2 penalty")]
    Singular,
}

pub(crate) fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

impl Logistic {
    /// Probability of the positive class for one row of raw features.
    pub fn predict(&self, x: &[f64]) -> f64 {
        sigmoid(self.linear(x))
    }

    /// The linear predictor (log-odds) for one row of raw features.
    pub fn linear(&self, x: &[f64]) -> f64 {
        self.intercept
            + x.iter()
                .zip(&self.coefficients)
                .zip(self.means.iter().zip(&self.scales))
                .map(|((v, b), (m, s))| b * (v - m) / s)
                .sum::<f64>()
    }
}

/// Each column's mean and standard deviation (1 for a constant column, so
/// that it drops out): what standardises the features of a fit.
pub(crate) fn moments(x: &[Vec<f64>]) -> (Vec<f64>, Vec<f64>) {
    let (n, p) = (x.len() as f64, x.first().map_or(0, Vec::len));
    let means: Vec<f64> = (0..p).map(|j| x.iter().map(|r| r[j]).sum::<f64>() / n).collect();
    let scales = (0..p)
        .map(|j| {
            let var = x.iter().map(|r| (r[j] - means[j]).powi(2)).sum::<f64>() / n;
            if var > 0.0 { var.sqrt() } else { 1.0 }
        })
        .collect();
    (means, scales)
}

/// Fits `y ~ x` with penalty `l2 * sum(b_j^2) / 2`.
pub fn fit(x: &[Vec<f64>], y: &[bool], l2: f64) -> Result<Logistic, FitError> {
    let n = x.len();
    if n == 0 {
        return Err(FitError::Empty);
    }
    let p = x[0].len();
    if let Some((row, r)) = x.iter().enumerate().find(|(_, r)| r.len() != p) {
        return Err(FitError::Ragged { row, got: r.len(), expected: p });
    }
    let (means, scales) = moments(x);
    // the design matrix with an intercept column, standardised, one row after another in one
    // block: the Newton loop below reads it k values at a time
    let k = p + 1;
    let mut z = Vec::with_capacity(n * k);
    for r in x {
        z.push(1.0);
        z.extend((0..p).map(|j| (r[j] - means[j]) / scales[j]));
    }
    let mut beta = vec![0.0; k];
    let mut iterations = 0;
    for _ in 0..100 {
        iterations += 1;
        let mut gradient = vec![0.0; k];
        // the Hessian's upper triangle, row a holding columns a..k
        let mut hessian = vec![0.0; k * k];
        for (row, &label) in z.chunks_exact(k).zip(y) {
            let eta: f64 = row.iter().zip(&beta).map(|(a, b)| a * b).sum();
            let mu = sigmoid(eta);
            let w = (mu * (1.0 - mu)).max(1e-12);
            let residual = if label { 1.0 } else { 0.0 } - mu;
            for a in 0..k {
                gradient[a] += row[a] * residual;
                let weighted = w * row[a];
                // a contiguous run of k - a products, which the compiler vectorises
                for (h, v) in hessian[a * k + a..(a + 1) * k].iter_mut().zip(&row[a..]) {
                    *h += weighted * v;
                }
            }
        }
        let mut hessian: Vec<Vec<f64>> = hessian.chunks_exact(k).map(<[f64]>::to_vec).collect();
        for a in 1..k {
            gradient[a] -= l2 * beta[a];
            hessian[a][a] += l2;
        }
        for a in 0..k {
            for b in 0..a {
                hessian[a][b] = hessian[b][a];
            }
        }
        let step = solve(hessian, gradient).ok_or(FitError::Singular)?;
        let size: f64 = step.iter().map(|s| s.abs()).fold(0.0, f64::max);
        for (b, s) in beta.iter_mut().zip(&step) {
            *b += s;
        }
        if size < 1e-10 {
            break;
        }
    }
    Ok(Logistic { intercept: beta[0], coefficients: beta[1..].to_vec(), means, scales, iterations })
}

/// Solves `a x = b` for a symmetric positive definite `a` (Cholesky).
pub(crate) fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    for j in 0..n {
        let d = a[j][j] - (0..j).map(|k| a[j][k] * a[j][k]).sum::<f64>();
        if d <= 1e-300 {
            return None;
        }
        a[j][j] = d.sqrt();
        for i in j + 1..n {
            a[i][j] = (a[i][j] - (0..j).map(|k| a[i][k] * a[j][k]).sum::<f64>()) / a[j][j];
        }
    }
    for i in 0..n {
        b[i] = (b[i] - (0..i).map(|k| a[i][k] * b[k]).sum::<f64>()) / a[i][i];
    }
    for i in (0..n).rev() {
        b[i] = (b[i] - (i + 1..n).map(|k| a[k][i] * b[k]).sum::<f64>()) / a[i][i];
    }
    Some(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::super::test_rng::Rng;

    #[test]
    fn recovers_known_coefficients_from_simulated_data() {
        // log-odds = -1 + 2 x1 - 0.5 x2 with x ~ N(0, 1): the standardised fit
        // recovers them within sampling error (n = 20,000, fixed seed)
        let mut rng = Rng(42);
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for _ in 0..20_000 {
            let (a, b) = (rng.normal(), rng.normal());
            let p = sigmoid(-1.0 + 2.0 * a - 0.5 * b);
            x.push(vec![a, b]);
            y.push(rng.uniform() < p);
        }
        let m = fit(&x, &y, 1e-6).unwrap();
        // back on the raw scale: b_raw = b / scale, intercept shifts by the means
        let raw: Vec<f64> = m.coefficients.iter().zip(&m.scales).map(|(b, s)| b / s).collect();
        let intercept = m.intercept - raw.iter().zip(&m.means).map(|(b, mu)| b * mu).sum::<f64>();
        assert!((raw[0] - 2.0).abs() < 0.1, "{raw:?}");
        assert!((raw[1] + 0.5).abs() < 0.06, "{raw:?}");
        assert!((intercept + 1.0).abs() < 0.06, "{intercept}");
        assert!((m.predict(&[0.0, 0.0]) - sigmoid(intercept)).abs() < 1e-12);
    }

    #[test]
    fn separable_data_stays_finite_with_a_penalty() {
        let x: Vec<Vec<f64>> = (0..20).map(|i| vec![i as f64]).collect();
        let y: Vec<bool> = (0..20).map(|i| i >= 10).collect();
        let m = fit(&x, &y, 1.0).unwrap();
        assert!(m.coefficients[0].is_finite() && m.coefficients[0] > 0.0);
        assert!(m.predict(&[19.0]) > 0.9 && m.predict(&[0.0]) < 0.1);
    }

    #[test]
    fn the_same_data_gives_the_same_model() {
        let x: Vec<Vec<f64>> = (0..50).map(|i| vec![(i % 7) as f64, (i % 3) as f64]).collect();
        let y: Vec<bool> = (0..50).map(|i| (i * 7919) % 5 < 2).collect();
        assert_eq!(fit(&x, &y, 0.1).unwrap(), fit(&x, &y, 0.1).unwrap());
    }

    #[test]
    fn bad_input_is_an_error() {
        assert_eq!(fit(&[], &[], 1.0).unwrap_err(), FitError::Empty);
        assert!(matches!(fit(&[vec![1.0], vec![1.0, 2.0]], &[true, false], 1.0), Err(FitError::Ragged { .. })));
    }
}
