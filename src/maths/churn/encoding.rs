//! Feature rows into the model's numeric matrix. Numeric features pass as
//! they are (a missing value, NaN, is imputed with the training mean for the
//! logistic model and left missing for the trees, which route it
//! themselves). Categorical features are one-hot over the levels seen often
//! enough in training; rarer and unseen levels share an "other" column, so a
//! level that appears after training scores like the rare ones did.

use serde::{Deserialize, Serialize};

/// A level is kept when at least this many training rows have it ...
const MIN_LEVEL_ROWS: usize = 20;
/// ... and at least this share of them.
const MIN_LEVEL_SHARE: f64 = 0.01;
/// At most this many levels per feature are kept, the most frequent first.
const MAX_LEVELS: usize = 30;

/// The features of a set of rows, column by column, in the catalogue's order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeatureColumns {
    pub numeric: Vec<Vec<f64>>,
    pub categorical: Vec<Vec<String>>,
}

impl FeatureColumns {
    pub fn rows(&self) -> usize {
        self.numeric.first().map(Vec::len).or_else(|| self.categorical.first().map(Vec::len)).unwrap_or(0)
    }

    /// The rows at `keep`, in that order.
    pub fn select(&self, keep: &[usize]) -> FeatureColumns {
        FeatureColumns {
            numeric: self.numeric.iter().map(|c| keep.iter().map(|&i| c[i]).collect()).collect(),
            categorical: self.categorical.iter().map(|c| keep.iter().map(|&i| c[i].clone()).collect()).collect(),
        }
    }
}

/// A column-major matrix of encoded rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    pub data: Vec<f64>,
    pub rows: usize,
    pub cols: usize,
}

impl Encoded {
    /// Row `i` as a vector.
    pub fn row(&self, i: usize) -> Vec<f64> {
        (0..self.cols).map(|j| self.data[j * self.rows + i]).collect()
    }
}

/// What training taught the encoding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Encoder {
    /// Per numeric feature, its mean over the training rows that have it.
    pub means: Vec<f64>,
    /// Per categorical feature, the levels with a column of their own.
    pub levels: Vec<Vec<String>>,
}

impl Encoder {
    pub fn fit(x: &FeatureColumns) -> Encoder {
        let means = x
            .numeric
            .iter()
            .map(|c| {
                let (sum, n) = c.iter().filter(|v| !v.is_nan()).fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
                if n == 0 { 0.0 } else { sum / n as f64 }
            })
            .collect();
        let rows = x.rows();
        let floor = MIN_LEVEL_ROWS.max((MIN_LEVEL_SHARE * rows as f64).ceil() as usize);
        let levels = x
            .categorical
            .iter()
            .map(|c| {
                let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
                for v in c {
                    *counts.entry(v.as_str()).or_default() += 1;
                }
                let mut kept: Vec<(&str, usize)> = counts.into_iter().filter(|(_, n)| *n >= floor).collect();
                // most frequent first, then by name: the same data gives the same columns
                kept.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
                kept.into_iter().take(MAX_LEVELS).map(|(l, _)| l.to_string()).collect()
            })
            .collect();
        Encoder { means, levels }
    }

    /// Columns of the encoded matrix.
    pub fn width(&self) -> usize {
        self.means.len() + self.levels.iter().map(|l| l.len() + 1).sum::<usize>()
    }

    /// For each encoded column, the feature (index in the catalogue's order) it comes from.
    pub fn sources(&self) -> Vec<usize> {
        let numeric = self.means.len();
        (0..numeric)
            .chain(self.levels.iter().enumerate().flat_map(|(c, l)| std::iter::repeat_n(numeric + c, l.len() + 1)))
            .collect()
    }

    /// The level's column within its feature's block: its own, or "other" (the last).
    pub fn level_slot(&self, feature: usize, level: &str) -> usize {
        let levels = &self.levels[feature];
        levels.iter().position(|l| l == level).unwrap_or(levels.len())
    }

    /// Encodes `x`; with `impute`, a missing numeric value becomes its training mean.
    pub fn encode(&self, x: &FeatureColumns, impute: bool) -> Encoded {
        let rows = x.rows();
        let cols = self.width();
        let mut data = Vec::with_capacity(rows * cols);
        for (column, mean) in x.numeric.iter().zip(&self.means) {
            data.extend(column.iter().map(|v| if impute && v.is_nan() { *mean } else { *v }));
        }
        for (feature, column) in x.categorical.iter().enumerate() {
            let width = self.levels[feature].len() + 1;
            let start = data.len();
            data.resize(start + width * rows, 0.0);
            for (i, level) in column.iter().enumerate() {
                data[start + self.level_slot(feature, level) * rows + i] = 1.0;
            }
        }
        Encoded { data, rows, cols }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns(numeric: Vec<Vec<f64>>, categorical: Vec<Vec<&str>>) -> FeatureColumns {
        FeatureColumns {
            numeric,
            categorical: categorical.into_iter().map(|c| c.into_iter().map(String::from).collect()).collect(),
        }
    }

    #[test]
    fn frequent_levels_get_a_column_and_the_rest_share_other() {
        // 100 rows: a 60, b 25, c 15, d 0 (unseen in training)
        let levels: Vec<&str> = (0..100)
            .map(|i| {
                if i < 60 {
                    "a"
                } else if i < 85 {
                    "b"
                } else {
                    "c"
                }
            })
            .collect();
        let numeric: Vec<f64> = (0..100).map(|i| if i == 0 { f64::NAN } else { i as f64 }).collect();
        let x = columns(vec![numeric], vec![levels]);
        let enc = Encoder::fit(&x);
        // c has 15 rows, under the 20-row floor
        assert_eq!(enc.levels, vec![vec!["a".to_string(), "b".to_string()]]);
        assert_eq!(enc.means, vec![50.0]); // mean of 1..=99
        assert_eq!(enc.width(), 4);
        assert_eq!(enc.sources(), vec![0, 1, 1, 1]);

        let probe = columns(vec![vec![f64::NAN, 7.0, 8.0]], vec![vec!["b", "c", "d"]]);
        let imputed = enc.encode(&probe, true);
        assert_eq!(imputed.row(0), vec![50.0, 0.0, 1.0, 0.0]);
        assert_eq!(imputed.row(1), vec![7.0, 0.0, 0.0, 1.0]);
        assert_eq!(imputed.row(2), vec![8.0, 0.0, 0.0, 1.0]);
        assert!(enc.encode(&probe, false).row(0)[0].is_nan());
    }
}
