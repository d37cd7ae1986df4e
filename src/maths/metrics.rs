//! How good a churn score is on a back-test: AUC, top-decile lift, Brier
//! score and a calibration table. Scores are probabilities, labels are
//! "deactivated within the horizon".

/// AUC: the probability that a random positive scores above a random
/// negative, ties counting one half (the Mann-Whitney statistic from
/// mid-ranks). None when either class is empty.
pub fn auc(scores: &[f64], labels: &[bool]) -> Option<f64> {
    let positives = labels.iter().filter(|l| **l).count();
    let negatives = labels.len() - positives;
    if positives == 0 || negatives == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    // sum of the positives' mid-ranks (1-based), tied scores sharing their mean rank
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let mid_rank = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += mid_rank * order[i..=j].iter().filter(|&&k| labels[k]).count() as f64;
        i = j + 1;
    }
    let (p, n) = (positives as f64, negatives as f64);
    Some((rank_sum - p * (p + 1.0) / 2.0) / (p * n))
}

/// Mean squared difference between the predicted probability and the outcome.
pub fn brier(scores: &[f64], labels: &[bool]) -> Option<f64> {
    if scores.is_empty() {
        return None;
    }
    let sum: f64 = scores.iter().zip(labels).map(|(s, &l)| (s - if l { 1.0 } else { 0.0 }).powi(2)).sum();
    Some(sum / scores.len() as f64)
}

/// One tenth of the scored rows, by predicted risk.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Decile {
    /// 1 = the highest predicted risk, 10 = the lowest.
    pub decile: u32,
    pub rows: u64,
    pub mean_predicted: f64,
    pub observed_rate: f64,
}

/// Rows sorted by score, highest first (ties by position, so deterministic),
/// cut into ten groups whose sizes differ by at most one. Groups are empty
/// (and left out) when there are fewer than ten rows.
pub fn deciles(scores: &[f64], labels: &[bool]) -> Vec<Decile> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    let n = order.len();
    (0..10u32)
        .filter_map(|d| {
            let (start, end) = (n * d as usize / 10, n * (d as usize + 1) / 10);
            let rows = &order[start..end];
            if rows.is_empty() {
                return None;
            }
            let len = rows.len() as f64;
            Some(Decile {
                decile: d + 1,
                rows: rows.len() as u64,
                mean_predicted: rows.iter().map(|&k| scores[k]).sum::<f64>() / len,
                observed_rate: rows.iter().filter(|&&k| labels[k]).count() as f64 / len,
            })
        })
        .collect()
}

/// The observed rate in the top-risk decile over the overall rate. None with
/// no positives or fewer than ten rows.
pub fn top_decile_lift(scores: &[f64], labels: &[bool]) -> Option<f64> {
    let overall = labels.iter().filter(|l| **l).count() as f64 / labels.len().max(1) as f64;
    let deciles = deciles(scores, labels);
    if overall == 0.0 || deciles.len() < 10 {
        return None;
    }
    Some(deciles[0].observed_rate / overall)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AUC by its definition: compare every positive with every negative.
    fn auc_by_pairs(scores: &[f64], labels: &[bool]) -> f64 {
        let (mut wins, mut pairs) = (0.0, 0.0);
        for (i, &li) in labels.iter().enumerate() {
            for (j, &lj) in labels.iter().enumerate() {
                if li && !lj {
                    pairs += 1.0;
                    wins += if scores[i] > scores[j] {
                        1.0
                    } else if scores[i] == scores[j] {
                        0.5
                    } else {
                        0.0
                    };
                }
            }
        }
        wins / pairs
    }

    #[test]
    fn auc_with_ties_matches_the_pairwise_count() {
        // by hand: positives 0.8, 0.4, 0.4; negatives 0.4, 0.2.
        // pairs: 0.8 beats both (2); each 0.4 ties 0.4 (0.5) and beats 0.2 (1): 1.5 + 1.5.
        // AUC = (2 + 1.5 + 1.5) / 6 = 5/6
        let scores = [0.8, 0.4, 0.4, 0.4, 0.2];
        let labels = [true, true, true, false, false];
        let a = auc(&scores, &labels).unwrap();
        assert!((a - 5.0 / 6.0).abs() < 1e-12, "{a}");
        assert!((a - auc_by_pairs(&scores, &labels)).abs() < 1e-12);

        let scores: Vec<f64> = (0..40).map(|i| ((i * 37) % 11) as f64 / 10.0).collect();
        let labels: Vec<bool> = (0..40).map(|i| (i * 13) % 7 < 3).collect();
        assert!((auc(&scores, &labels).unwrap() - auc_by_pairs(&scores, &labels)).abs() < 1e-12);
    }

    #[test]
    fn auc_needs_both_classes() {
        assert_eq!(auc(&[0.1, 0.2], &[true, true]), None);
        assert_eq!(auc(&[0.1, 0.9], &[false, true]), Some(1.0));
    }

    #[test]
    fn brier_by_hand() {
        // (0.9-1)^2 + (0.2-0)^2 = 0.01 + 0.04 -> mean 0.025
        assert!((brier(&[0.9, 0.2], &[true, false]).unwrap() - 0.025).abs() < 1e-12);
    }

    #[test]
    fn deciles_and_lift() {
        // 20 rows, scores 0.95, 0.90, ... ; the two highest are the only positives
        let scores: Vec<f64> = (0..20).map(|i| 1.0 - (i + 1) as f64 * 0.05).collect();
        let labels: Vec<bool> = (0..20).map(|i| i < 2).collect();
        let d = deciles(&scores, &labels);
        assert_eq!(d.len(), 10);
        assert_eq!((d[0].decile, d[0].rows, d[0].observed_rate), (1, 2, 1.0));
        assert!((d[0].mean_predicted - 0.925).abs() < 1e-12);
        assert_eq!(d[9].observed_rate, 0.0);
        // overall rate 0.1, top decile 1.0: lift 10
        assert!((top_decile_lift(&scores, &labels).unwrap() - 10.0).abs() < 1e-12);
        assert_eq!(top_decile_lift(&scores[..5], &labels[..5]), None);
    }
}
