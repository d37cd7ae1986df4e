//! Analytic Hierarchy Process weights: the principal eigenvector of a
//! pairwise-comparison matrix, and Saaty's consistency ratio.
//!
//! `matrix[i][j]` says how much more important criterion i is than j on
//! Saaty's 1..9 scale; the matrix must be positive and reciprocal
//! (`m[j][i] = 1 / m[i][j]`, ones on the diagonal). A consistency ratio above
//! 0.1 means the judgements contradict each other too much to use.

/// Saaty's random consistency index for n = 1..=15 (Saaty 1980; Alonso & Lamata 2006 for n > 10).
const RANDOM_INDEX: [f64; 15] =
    [0.0, 0.0, 0.58, 0.90, 1.12, 1.24, 1.32, 1.41, 1.45, 1.49, 1.51, 1.48, 1.56, 1.57, 1.59];

/// Weights that sum to 1, with the matrix's consistency.
#[derive(Debug, Clone, PartialEq)]
pub struct AhpWeights {
    pub weights: Vec<f64>,
    /// Principal eigenvalue.
    pub lambda_max: f64,
    /// (lambda_max - n) / (n - 1).
    pub consistency_index: f64,
    /// consistency_index / random index; 0 for n <= 2.
    pub consistency_ratio: f64,
}

/// Why a matrix cannot give weights.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AhpError {
    #[error("the matrix must be square with 1 to 15 rows, got {rows} rows")]
    Shape { rows: usize },
    #[error("entry ({row}, {col}) is {value}: every judgement must be a positive number")]
    NotPositive { row: usize, col: usize, value: f64 },
    #[error(
        "entry ({row}, {col}) is {value}, but 1 / entry ({col}, {row}) is {expected}: the matrix must be reciprocal"
    )]
    NotReciprocal { row: usize, col: usize, value: f64, expected: f64 },
    #[error("consistency ratio {ratio:.3} is above 0.1: the pairwise judgements contradict each other; revise them")]
    Inconsistent { ratio: f64 },
}

/// Weights from a pairwise-comparison matrix, by power iteration.
/// An inconsistent matrix (CR > 0.1) is an error.
pub fn weights(matrix: &[Vec<f64>]) -> Result<AhpWeights, AhpError> {
    let n = matrix.len();
    if n == 0 || n > RANDOM_INDEX.len() || matrix.iter().any(|row| row.len() != n) {
        return Err(AhpError::Shape { rows: n });
    }
    for (i, row) in matrix.iter().enumerate() {
        for (j, &value) in row.iter().enumerate() {
            if !(value.is_finite() && value > 0.0) {
                return Err(AhpError::NotPositive { row: i, col: j, value });
            }
            let expected = 1.0 / matrix[j][i];
            if (value - expected).abs() > 1e-6 * expected.max(1.0) {
                return Err(AhpError::NotReciprocal { row: i, col: j, value, expected });
            }
        }
    }
    // power iteration: a positive matrix has a unique positive principal eigenvector
    let mut w = vec![1.0 / n as f64; n];
    let mut lambda = n as f64;
    for _ in 0..1000 {
        let next: Vec<f64> = matrix.iter().map(|row| row.iter().zip(&w).map(|(a, b)| a * b).sum()).collect();
        let sum: f64 = next.iter().sum();
        lambda = sum; // w sums to 1, so the sum of A·w is lambda once converged
        let next: Vec<f64> = next.iter().map(|x| x / sum).collect();
        let change: f64 = next.iter().zip(&w).map(|(a, b)| (a - b).abs()).sum();
        w = next;
        if change < 1e-15 {
            break;
        }
    }
    let consistency_index = if n > 1 { (lambda - n as f64) / (n as f64 - 1.0) } else { 0.0 };
    let consistency_ratio = if n > 2 { consistency_index / RANDOM_INDEX[n - 1] } else { 0.0 };
    if consistency_ratio > 0.1 {
        return Err(AhpError::Inconsistent { ratio: consistency_ratio });
    }
    Ok(AhpWeights { weights: w, lambda_max: lambda, consistency_index, consistency_ratio })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reciprocal(upper: &[(usize, usize, f64)], n: usize) -> Vec<Vec<f64>> {
        let mut m = vec![vec![1.0; n]; n];
        for &(i, j, v) in upper {
            m[i][j] = v;
            m[j][i] = 1.0 / v;
        }
        m
    }

    #[test]
    fn a_consistent_matrix_gives_its_ratio_weights() {
        // weights 4:2:1 judged perfectly consistently
        let m = reciprocal(&[(0, 1, 2.0), (0, 2, 4.0), (1, 2, 2.0)], 3);
        let w = weights(&m).unwrap();
        for (got, want) in w.weights.iter().zip([4.0 / 7.0, 2.0 / 7.0, 1.0 / 7.0]) {
            assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        }
        assert!((w.lambda_max - 3.0).abs() < 1e-9);
        assert!(w.consistency_ratio.abs() < 1e-9);
    }

    #[test]
    fn saatys_textbook_example() {
        // A 3x3 example with a known principal eigenvector (0.6370, 0.2583, 0.1047),
        // lambda_max 3.0385, CR 0.033 (Saaty's scale, RI = 0.58).
        let m = reciprocal(&[(0, 1, 3.0), (0, 2, 5.0), (1, 2, 3.0)], 3);
        let w = weights(&m).unwrap();
        for (got, want) in w.weights.iter().zip([0.6370, 0.2583, 0.1047]) {
            assert!((got - want).abs() < 5e-4, "{got} vs {want}");
        }
        assert!((w.lambda_max - 3.0385).abs() < 1e-3, "{}", w.lambda_max);
        assert!((w.consistency_ratio - 0.033).abs() < 1e-3, "{}", w.consistency_ratio);
    }

    #[test]
    fn contradictory_judgements_are_refused() {
        // a > b (9), b > c (9), but c > a (9): as inconsistent as it gets
        let m = reciprocal(&[(0, 1, 9.0), (1, 2, 9.0), (0, 2, 1.0 / 9.0)], 3);
        let err = weights(&m).unwrap_err();
        assert!(matches!(err, AhpError::Inconsistent { ratio } if ratio > 0.1), "{err}");
        assert!(err.to_string().contains("above 0.1"));
    }

    #[test]
    fn malformed_matrices_are_refused() {
        assert_eq!(weights(&[]).unwrap_err(), AhpError::Shape { rows: 0 });
        assert!(matches!(weights(&[vec![1.0, 2.0], vec![0.4, 1.0]]), Err(AhpError::NotReciprocal { .. })));
        assert!(matches!(weights(&[vec![1.0, -2.0], vec![-0.5, 1.0]]), Err(AhpError::NotPositive { .. })));
    }
}
