//! `[value_score]`: the metrics the value score weighs, and their AHP
//! weights from the pairwise judgements (an inconsistent matrix is a
//! configuration error).

use serde::Deserialize;

use super::{Invalid, VALUE_CRITERIA};
use crate::job::JobError;
use crate::maths::ahp;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::job) struct ValueScoreFile {
    criteria: Option<Vec<String>>,
    pairwise: Option<Vec<Vec<Judgement>>>,
}

/// A pairwise judgement: a number, or a fraction written "1/3".
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Judgement {
    Number(f64),
    Text(String),
}

/// Validated `[value_score]` settings.
pub(super) struct ValueScoreSettings {
    pub criteria: Vec<String>,
    pub weights: ahp::AhpWeights,
}

pub(super) fn validate(s: ValueScoreFile, invalid: Invalid) -> Result<ValueScoreSettings, JobError> {
    let criteria = s.criteria.unwrap_or_else(|| vec!["clv".into(), "arpu_3m".into(), "tenure_months".into()]);
    for name in &criteria {
        if !VALUE_CRITERIA.contains(&name.as_str()) {
            return Err(invalid(
                "value_score.criteria",
                format!("'{name}' is not one of {}", VALUE_CRITERIA.join(", ")),
            ));
        }
    }
    let pairwise = match s.pairwise {
        Some(rows) => rows
            .iter()
            .enumerate()
            .map(|(i, row)| {
                row.iter()
                    .enumerate()
                    .map(|(j, x)| judgement(&format!("value_score.pairwise[{i}][{j}]"), x, invalid))
                    .collect::<Result<Vec<f64>, _>>()
            })
            .collect::<Result<Vec<_>, _>>()?,
        None if criteria.len() == 3 => {
            vec![vec![1.0, 3.0, 5.0], vec![1.0 / 3.0, 1.0, 3.0], vec![1.0 / 5.0, 1.0 / 3.0, 1.0]]
        }
        None => vec![vec![1.0; criteria.len()]; criteria.len()],
    };
    if pairwise.len() != criteria.len() {
        return Err(invalid(
            "value_score.pairwise",
            format!("has {} rows for {} criteria", pairwise.len(), criteria.len()),
        ));
    }
    let weights = ahp::weights(&pairwise).map_err(|e| invalid("value_score.pairwise", e.to_string()))?;
    Ok(ValueScoreSettings { criteria, weights })
}

fn judgement(key: &str, j: &Judgement, invalid: Invalid) -> Result<f64, JobError> {
    let value = match j {
        Judgement::Number(v) => Some(*v),
        Judgement::Text(t) => match t.split_once('/') {
            Some((a, b)) => a.trim().parse::<f64>().ok().zip(b.trim().parse::<f64>().ok()).map(|(a, b)| a / b),
            None => t.trim().parse().ok(),
        },
    };
    value
        .filter(|v| v.is_finite() && *v > 0.0)
        .ok_or_else(|| invalid(key, format!("{j:?} is not a positive number or a fraction such as \"1/3\"")))
}
