//! A robust Mahalanobis distance: how far a line's usage profile lies from
//! its peers', in a way a few extreme lines cannot bend.
//!
//! Each feature is centred on its median and scaled by its MAD (x 1.4826,
//! the normal's standard deviation), floored so that a feature most lines
//! share exactly does not divide by zero. The features' covariance is
//! estimated on the core: the lines whose every scaled feature lies within
//! `CORE` of the median, so the outliers the distance is meant to find do
//! not widen it. The distance of a line is sqrt(z' C^-1 z), computed with
//! the Cholesky factor of C (C = L L', d = |L^-1 z|).
//!
//! One-sided, only what lies above the median counts (each scaled feature
//! is cut at 0, in the core as in the distance): fraud uses more, and a
//! quiet or new line is not anomalous for being quiet.

/// Scaled features beyond this are outside the core the covariance is
/// estimated on.
const CORE: f64 = 3.0;

/// Added to the core covariance's diagonal (scaled features have variances near 1).
const RIDGE: f64 = 0.01;

/// The fitted profile of one peer group.
#[derive(Debug, Clone)]
pub struct RobustProfile {
    pub medians: Vec<f64>,
    pub scales: Vec<f64>,
    /// Lower-triangular Cholesky factor of the core's covariance, row by row.
    factor: Vec<Vec<f64>>,
    /// Lines in the core the covariance was estimated on.
    pub core_size: usize,
    one_sided: bool,
}

impl RobustProfile {
    /// Fits the profile of `rows` (each one line's features), with `floors`
    /// the least scale of each feature. None with fewer core lines than
    /// features plus two.
    pub fn fit(rows: &[Vec<f64>], floors: &[f64], one_sided: bool) -> Option<RobustProfile> {
        let k = floors.len();
        let mut medians = Vec::with_capacity(k);
        let mut scales = Vec::with_capacity(k);
        for j in 0..k {
            let mut column: Vec<f64> = rows.iter().map(|r| r[j]).collect();
            let median = median_of(&mut column);
            let mut deviations: Vec<f64> = column.iter().map(|v| (v - median).abs()).collect();
            let mad = median_of(&mut deviations);
            medians.push(median);
            scales.push((1.4826 * mad).max(floors[j]));
        }
        let cut = |z: f64| if one_sided { z.max(0.0) } else { z };
        let scaled = |r: &[f64]| -> Vec<f64> { (0..k).map(|j| cut((r[j] - medians[j]) / scales[j])).collect() };
        let core: Vec<Vec<f64>> =
            rows.iter().map(|r| scaled(r)).filter(|z| z.iter().all(|v| v.abs() <= CORE)).collect();
        if core.len() < k + 2 {
            return None;
        }
        let n = core.len() as f64;
        let means: Vec<f64> = (0..k).map(|j| core.iter().map(|z| z[j]).sum::<f64>() / n).collect();
        let mut covariance = vec![vec![0.0; k]; k];
        for z in &core {
            for a in 0..k {
                for b in 0..=a {
                    covariance[a][b] += (z[a] - means[a]) * (z[b] - means[b]) / (n - 1.0);
                }
            }
        }
        // a ridge on the diagonal: a feature the whole core shares exactly (variance 0) keeps the
        // matrix invertible, and any line off it is then far, as it should be
        for (j, row) in covariance.iter_mut().enumerate() {
            row[j] += RIDGE;
        }
        let factor = cholesky(covariance)?;
        Some(RobustProfile { medians, scales, factor, core_size: core.len(), one_sided })
    }

    /// A line's features scaled: (x - median) / scale, cut at 0 when one-sided.
    pub fn scaled(&self, row: &[f64]) -> Vec<f64> {
        let cut = |z: f64| if self.one_sided { z.max(0.0) } else { z };
        row.iter().zip(&self.medians).zip(&self.scales).map(|((x, m), s)| cut((x - m) / s)).collect()
    }

    /// The robust Mahalanobis distance of a line's features.
    pub fn distance(&self, row: &[f64]) -> f64 {
        let z = self.scaled(row);
        // forward substitution: L w = z, d^2 = |w|^2
        let mut w = vec![0.0; z.len()];
        for i in 0..z.len() {
            let partial: f64 = (0..i).map(|j| self.factor[i][j] * w[j]).sum();
            w[i] = (z[i] - partial) / self.factor[i][i];
        }
        w.iter().map(|v| v * v).sum::<f64>().sqrt()
    }

    /// The feature that lies furthest from its median, with its scaled value.
    pub fn strongest(&self, row: &[f64]) -> (usize, f64) {
        self.scaled(row)
            .into_iter()
            .enumerate()
            .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
            .expect("at least one feature")
    }
}

/// The lower-triangular L with L L' = a (a symmetric, its lower half read).
fn cholesky(mut a: Vec<Vec<f64>>) -> Option<Vec<Vec<f64>>> {
    let n = a.len();
    for j in 0..n {
        let d = a[j][j] - (0..j).map(|k| a[j][k] * a[j][k]).sum::<f64>();
        if d <= 1e-12 {
            return None;
        }
        a[j][j] = d.sqrt();
        for i in j + 1..n {
            a[i][j] = (a[i][j] - (0..j).map(|k| a[i][k] * a[j][k]).sum::<f64>()) / a[j][j];
        }
        for value in a[j].iter_mut().skip(j + 1) {
            *value = 0.0;
        }
    }
    Some(a)
}

/// The median (the mean of the middle two for an even count); sorts `values`.
fn median_of(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    match values.len() {
        0 => 0.0,
        n if n % 2 == 1 => values[mid],
        _ => (values[mid - 1] + values[mid]) / 2.0,
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_rng::Rng;
    use super::*;

    /// Two correlated features: y = x + noise, x ~ N(0, 1), noise ~ N(0, 0.3).
    fn correlated(n: usize, rng: &mut Rng) -> Vec<Vec<f64>> {
        (0..n)
            .map(|_| {
                let x = rng.normal();
                vec![x, x + 0.3 * rng.normal()]
            })
            .collect()
    }

    #[test]
    fn a_line_against_the_correlation_is_far_though_each_feature_is_usual() {
        let mut rng = Rng(7);
        let rows = correlated(20_000, &mut rng);
        let profile = RobustProfile::fit(&rows, &[0.01, 0.01], false).unwrap();
        // (1, 1) follows the correlation; (1, -1) breaks it with the same marginal values
        let along = profile.distance(&[1.0, 1.0]);
        let against = profile.distance(&[1.0, -1.0]);
        assert!(along < 2.0, "{along}");
        assert!(against > 5.0, "{against}");
        assert_eq!(profile.strongest(&[0.2, 4.0]).0, 1);
    }

    #[test]
    fn outliers_do_not_bend_the_profile() {
        let mut rng = Rng(3);
        let mut rows = correlated(10_000, &mut rng);
        let clean = RobustProfile::fit(&rows, &[0.01, 0.01], false).unwrap();
        // 2% of the lines far out on both features
        rows.extend((0..200).map(|_| vec![40.0, -40.0]));
        let dirty = RobustProfile::fit(&rows, &[0.01, 0.01], false).unwrap();
        for point in [[0.5, 0.5], [2.0, 1.0], [-1.0, 0.0]] {
            let (a, b) = (clean.distance(&point), dirty.distance(&point));
            assert!((a - b).abs() < 0.25 * a.max(1.0), "{point:?}: {a} against {b}");
        }
        assert!(dirty.distance(&[40.0, -40.0]) > 50.0);
    }

    #[test]
    fn one_sided_only_more_than_usual_counts() {
        let mut rng = Rng(11);
        let rows = correlated(10_000, &mut rng);
        let profile = RobustProfile::fit(&rows, &[0.01, 0.01], true).unwrap();
        assert!(profile.distance(&[-6.0, -6.0]) < 1e-9, "far below on both: not anomalous");
        assert!(profile.distance(&[0.0, 6.0]) > 5.0);
    }

    #[test]
    fn a_feature_most_lines_share_exactly_is_floored() {
        let rows: Vec<Vec<f64>> = (0..100).map(|i| vec![(i % 10) as f64, 1.0]).collect();
        let profile = RobustProfile::fit(&rows, &[0.01, 0.5], false).unwrap_or_else(|| panic!("fits"));
        assert_eq!(profile.scales[1], 0.5);
        assert!(profile.distance(&[4.5, 1.0]) < 1.0);
        assert!(RobustProfile::fit(&rows[..3], &[0.01, 0.5], false).is_none(), "too few lines");
    }
}
