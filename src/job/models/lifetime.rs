//! `[retention]` and `[value]`: the cohorts lifetimes are fitted in, and how
//! a lifetime becomes a value (margin, discounting, horizon, peer targets).

use serde::Deserialize;

use super::{Invalid, groups, share};
use crate::job::JobError;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::job) struct RetentionFile {
    cohort_groups: Option<Vec<String>>,
    min_churners: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::job) struct ValueFile {
    margin_rate: Option<f64>,
    annual_discount_rate: Option<f64>,
    horizon_months: Option<u32>,
    peer_groups: Option<Vec<String>>,
    target_percentile: Option<f64>,
}

/// Validated `[retention]` and `[value]` settings (their fields of `ModelSettings`).
pub(super) struct LifetimeSettings {
    pub cohort_groups: Vec<String>,
    pub min_churners: u64,
    pub margin_rate: f64,
    pub annual_discount_rate: f64,
    pub horizon_months: u32,
    pub peer_groups: Vec<String>,
    pub target_percentile: f64,
}

pub(super) fn validate(r: RetentionFile, v: ValueFile, invalid: Invalid) -> Result<LifetimeSettings, JobError> {
    let cohort_groups = groups(
        "retention.cohort_groups",
        r.cohort_groups.unwrap_or_else(|| vec!["plan_type".into(), "segment".into()]),
        &["plan_type", "segment", "region"],
        invalid,
    )?;

    let margin_rate = share("value.margin_rate", v.margin_rate.unwrap_or(0.35), invalid)?;
    let annual_discount_rate = share("value.annual_discount_rate", v.annual_discount_rate.unwrap_or(0.10), invalid)?;
    let horizon_months = v.horizon_months.unwrap_or(60);
    if !(1..=600).contains(&horizon_months) {
        return Err(invalid("value.horizon_months", format!("{horizon_months} is not between 1 and 600")));
    }
    let peer_groups = groups(
        "value.peer_groups",
        v.peer_groups.unwrap_or_else(|| vec!["plan_type".into(), "segment".into()]),
        &["plan_type", "segment", "region"],
        invalid,
    )?;
    let target_percentile = share("value.target_percentile", v.target_percentile.unwrap_or(0.75), invalid)?;
    if target_percentile == 0.0 {
        return Err(invalid("value.target_percentile", "must be above 0".into()));
    }
    Ok(LifetimeSettings {
        cohort_groups,
        min_churners: r.min_churners.unwrap_or(30),
        margin_rate,
        annual_discount_rate,
        horizon_months,
        peer_groups,
        target_percentile,
    })
}
