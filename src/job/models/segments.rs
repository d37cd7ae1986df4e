//! `[tiers]`, `[quadrant]` and `[lifecycle]`: the cut-offs that sort the
//! base into value tiers, value x fit quadrants and lifecycle stages.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{Invalid, share};
use crate::job::JobError;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::job) struct TiersFile {
    mode: Option<String>,
    percentile: Option<TierCutsFile>,
    arpu: Option<TierCutsFile>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
struct TierCutsFile {
    diamond: f64,
    gold: f64,
    silver: f64,
    vip: f64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::job) struct QuadrantFile {
    value_top_share: Option<f64>,
    fit_threshold: Option<f64>,
    fit_top_share: Option<f64>,
    fit_default: Option<f64>,
    #[serde(default)]
    fit_by_segment: BTreeMap<String, f64>,
    #[serde(default)]
    fit_by_plan_type: BTreeMap<String, f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::job) struct LifecycleFile {
    new_months: Option<u32>,
    growing_months: Option<u32>,
    dormant_days: Option<u32>,
    declining_trend: Option<f64>,
    growing_trend: Option<f64>,
}

/// Validated `[tiers]` settings.
pub(super) struct TierSettings {
    pub by_arpu: bool,
    pub cuts: [f64; 4],
}

/// Validated `[quadrant]` settings.
pub(super) struct QuadrantSettings {
    pub value_share: f64,
    pub fit_threshold: Option<f64>,
    pub fit_top_share: f64,
    pub fit_default: Option<f64>,
    pub fit_by_segment: BTreeMap<String, f64>,
    pub fit_by_plan_type: BTreeMap<String, f64>,
}

/// `[lifecycle]` settings, every key with its default.
pub(super) struct LifecycleSettings {
    pub new_months: u32,
    pub growing_months: u32,
    pub dormant_days: u32,
    pub declining_trend: f64,
    pub growing_trend: f64,
}

pub(super) fn tiers(t: TiersFile, invalid: Invalid) -> Result<TierSettings, JobError> {
    let by_arpu = match t.mode.as_deref().unwrap_or("percentile") {
        "percentile" => false,
        "arpu" => true,
        other => return Err(invalid("tiers.mode", format!("'{other}' is not percentile or arpu"))),
    };
    let cuts = if by_arpu {
        t.arpu.unwrap_or(TierCutsFile { diamond: 150.0, gold: 80.0, silver: 50.0, vip: 30.0 })
    } else {
        t.percentile.unwrap_or(TierCutsFile { diamond: 0.01, gold: 0.05, silver: 0.15, vip: 0.30 })
    };
    let cuts = [cuts.diamond, cuts.gold, cuts.silver, cuts.vip];
    let key = if by_arpu { "tiers.arpu" } else { "tiers.percentile" };
    let ordered = if by_arpu {
        cuts.windows(2).all(|w| w[0] >= w[1])
    } else {
        cuts.windows(2).all(|w| w[0] <= w[1]) && cuts.iter().all(|c| (0.0..=1.0).contains(c))
    };
    if !ordered || cuts.iter().any(|c| !c.is_finite()) {
        let order = if by_arpu { "falling ARPU floors" } else { "rising top shares between 0 and 1" };
        return Err(invalid(key, format!("diamond, gold, silver, vip must be {order}")));
    }
    Ok(TierSettings { by_arpu, cuts })
}

pub(super) fn quadrant(q: QuadrantFile, invalid: Invalid) -> Result<QuadrantSettings, JobError> {
    let value_share = share("quadrant.value_top_share", q.value_top_share.unwrap_or(0.20), invalid)?;
    let fit_threshold = q.fit_threshold.map(|v| share("quadrant.fit_threshold", v, invalid)).transpose()?;
    let fit_top_share = share("quadrant.fit_top_share", q.fit_top_share.unwrap_or(0.5), invalid)?;
    if fit_threshold.is_some() && q.fit_top_share.is_some() {
        return Err(invalid(
            "quadrant.fit_top_share",
            "set fit_threshold (an absolute cut-off) or fit_top_share (a share of the base), not both".into(),
        ));
    }
    let fit_default = q.fit_default.map(|v| share("quadrant.fit_default", v, invalid)).transpose()?;
    for (name, map) in [("fit_by_segment", &q.fit_by_segment), ("fit_by_plan_type", &q.fit_by_plan_type)] {
        for (k, v) in map {
            share(&format!("quadrant.{name}.{k}"), *v, invalid)?;
        }
    }
    Ok(QuadrantSettings {
        value_share,
        fit_threshold,
        fit_top_share,
        fit_default,
        fit_by_segment: q.fit_by_segment,
        fit_by_plan_type: q.fit_by_plan_type,
    })
}

pub(super) fn lifecycle(l: LifecycleFile) -> LifecycleSettings {
    LifecycleSettings {
        new_months: l.new_months.unwrap_or(3),
        growing_months: l.growing_months.unwrap_or(12),
        dormant_days: l.dormant_days.unwrap_or(30),
        declining_trend: l.declining_trend.unwrap_or(0.85),
        growing_trend: l.growing_trend.unwrap_or(1.15),
    }
}
