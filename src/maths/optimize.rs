//! Derivative-free minimisation (Nelder-Mead) for the small maximum-likelihood
//! fits: sBG has two parameters, BG/NBD four. The models fit on
//! log-parameters, so the search is unconstrained and a step can never make a
//! parameter negative.

/// The result of a minimisation.
#[derive(Debug, Clone, PartialEq)]
pub struct Minimum {
    pub x: Vec<f64>,
    pub value: f64,
    pub iterations: usize,
    /// False when the iteration budget ran out before the simplex shrank.
    pub converged: bool,
}

/// Minimises `f` from `start` with initial steps of `step` in each
/// coordinate. Non-finite values of `f` count as +infinity, so the search
/// steps away from them. Deterministic: the same inputs give the same result.
pub fn nelder_mead(f: impl Fn(&[f64]) -> f64, start: &[f64], step: f64, max_iterations: usize) -> Minimum {
    let n = start.len();
    let eval = |x: &[f64]| {
        let v = f(x);
        if v.is_finite() { v } else { f64::INFINITY }
    };
    let mut simplex: Vec<(Vec<f64>, f64)> = Vec::with_capacity(n + 1);
    simplex.push((start.to_vec(), eval(start)));
    for i in 0..n {
        let mut x = start.to_vec();
        x[i] += step;
        let v = eval(&x);
        simplex.push((x, v));
    }
    let (alpha, gamma, rho, sigma) = (1.0, 2.0, 0.5, 0.5);
    let mut iterations = 0;
    let mut converged = false;
    while iterations < max_iterations {
        iterations += 1;
        simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
        let (best, worst) = (simplex[0].1, simplex[n].1);
        let spread = simplex.iter().flat_map(|(x, _)| x.iter().zip(&simplex[0].0).map(|(a, b)| (a - b).abs()));
        let size = spread.fold(0.0, f64::max);
        if size < 1e-10 || (worst - best).abs() <= 1e-12 * (1.0 + best.abs()) && size < 1e-6 {
            converged = true;
            break;
        }
        let centroid: Vec<f64> =
            (0..n).map(|j| simplex[..n].iter().map(|(x, _)| x[j]).sum::<f64>() / n as f64).collect();
        let toward =
            |coef: f64| -> Vec<f64> { centroid.iter().zip(&simplex[n].0).map(|(c, w)| c + coef * (w - c)).collect() };
        let reflected = toward(-alpha);
        let fr = eval(&reflected);
        if fr < simplex[0].1 {
            let expanded = toward(-gamma);
            let fe = eval(&expanded);
            simplex[n] = if fe < fr { (expanded, fe) } else { (reflected, fr) };
        } else if fr < simplex[n - 1].1 {
            simplex[n] = (reflected, fr);
        } else {
            let contracted = if fr < worst { toward(-rho) } else { toward(rho) };
            let fc = eval(&contracted);
            if fc < worst.min(fr) {
                simplex[n] = (contracted, fc);
            } else {
                // shrink toward the best point
                let best_x = simplex[0].0.clone();
                for (x, v) in simplex.iter_mut().skip(1) {
                    for (xi, bi) in x.iter_mut().zip(&best_x) {
                        *xi = bi + sigma * (*xi - bi);
                    }
                    *v = eval(x);
                }
            }
        }
    }
    simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
    let (x, value) = simplex.swap_remove(0);
    Minimum { x, value, iterations, converged }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_minimum_of_rosenbrock() {
        let f = |x: &[f64]| (1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2);
        let m = nelder_mead(f, &[-1.2, 1.0], 0.5, 5000);
        assert!(m.converged);
        assert!((m.x[0] - 1.0).abs() < 1e-4 && (m.x[1] - 1.0).abs() < 1e-4, "{m:?}");
    }

    #[test]
    fn steps_away_from_undefined_regions() {
        // undefined (NaN) for x < 0; minimum at x = 2
        let f = |x: &[f64]| if x[0] < 0.0 { f64::NAN } else { (x[0] - 2.0).powi(2) };
        let m = nelder_mead(f, &[0.1], 1.0, 1000);
        assert!((m.x[0] - 2.0).abs() < 1e-5, "{m:?}");
    }
}
