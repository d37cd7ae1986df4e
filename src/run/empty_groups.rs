//! Groups that come out empty: value tiers, value quadrants, churn bands and
//! campaigns. A group a job's settings leave no line on any base is empty
//! *by construction*: `cvm validate` and every run say so. A run also says
//! which groups its snapshot left empty, so a silent campaign or a tier
//! nobody reaches is never mistaken for a quiet night.

use datafusion::error::DataFusionError;
use datafusion::prelude::{SessionContext, col};

use crate::contract::SourceKind;
use crate::job::{BandMode, Job, ModelSettings};
use crate::stages::campaigns::CampaignSize;
use crate::stages::models::Frame;

const TIERS: [&str; 5] = ["diamond", "gold", "silver", "vip", "standard"];

/// Why each group is empty whatever the data, from the job's settings alone.
pub fn by_construction(job: &Job) -> Vec<String> {
    let mut out = Vec::new();
    let empty_tiers = tiers(&job.models, &mut out);
    let empty_quadrants = quadrants(job, &mut out);
    let high_band_empty = churn_bands(&job.models, &mut out);
    // the shipped campaigns whose rule needs an empty group
    let silver_or_better_empty = ["diamond", "gold", "silver"].iter().all(|t| empty_tiers.contains(t));
    for campaign in &job.campaigns {
        let origin = campaign.selection.origin(&campaign.name);
        let needs: Option<(&str, bool)> = match origin.rsplit('/').next().unwrap_or("") {
            "upsell_potential.sql" => Some(("the potential quadrant", empty_quadrants.contains(&"potential"))),
            "retention_priority.sql" => {
                Some(("the high churn band and a silver or better tier", high_band_empty || silver_or_better_empty))
            }
            "loyalty_care.sql" => Some(("a silver or better tier", silver_or_better_empty)),
            _ => None,
        };
        if let Some((group, true)) = needs {
            out.push(format!("campaign {} selects nobody by construction: it needs {group}", campaign.name));
        }
    }
    out
}

/// The value tiers the cut-offs leave empty (a tier is empty when its cut
/// equals the one above it), each with its warning in `out`.
fn tiers(m: &ModelSettings, out: &mut Vec<String>) -> Vec<&'static str> {
    let mut empty_tiers = Vec::new();
    let bounds: Vec<f64> = if m.tiers_by_arpu {
        std::iter::once(f64::INFINITY).chain(m.tier_cuts).chain([f64::NEG_INFINITY]).collect()
    } else {
        std::iter::once(0.0).chain(m.tier_cuts).chain([1.0]).collect()
    };
    for (i, tier) in TIERS.iter().enumerate() {
        if bounds[i] == bounds[i + 1] {
            empty_tiers.push(*tier);
            out.push(format!("value_tier {tier} is empty by construction: its cut-off equals the tier's above it"));
        }
    }
    empty_tiers
}

/// The value quadrants the value share or the strategic fit settings leave
/// empty, each with its warning in `out`.
fn quadrants(job: &Job, out: &mut Vec<String>) -> Vec<&'static str> {
    let m = &job.models;
    let mut empty_quadrants = Vec::new();
    let value_high_empty = m.quadrant_value_share == 0.0;
    let value_low_empty = m.quadrant_value_share == 1.0;
    let fit_source = job.sources.iter().any(|s| s.kind == SourceKind::StrategicFit);
    let fit_rules = !m.fit_by_segment.is_empty() || !m.fit_by_plan_type.is_empty();
    let (mut fit_high_empty, mut fit_low_empty) = (false, false);
    match (m.fit_threshold, m.fit_default) {
        (None, _) => {
            fit_high_empty = m.fit_top_share == 0.0;
            fit_low_empty = m.fit_top_share == 1.0;
        }
        (Some(threshold), Some(default)) if !fit_source && !fit_rules => {
            // every line has the default fit
            fit_high_empty = default < threshold;
            fit_low_empty = default >= threshold;
        }
        _ => {}
    }
    for (quadrant, value_empty, fit_empty) in [
        ("strategic", value_high_empty, fit_high_empty),
        ("profit", value_high_empty, fit_low_empty),
        ("potential", value_low_empty, fit_high_empty),
        ("ordinary", value_low_empty, fit_low_empty),
    ] {
        if value_empty || fit_empty {
            empty_quadrants.push(quadrant);
            let why = if value_empty {
                "quadrant.value_top_share leaves no line on its value side"
            } else {
                "no strategic_fit source or quadrant rule, and quadrant.fit_default puts every line on one side of \
                 quadrant.fit_threshold"
            };
            out.push(format!("value_quadrant {quadrant} is empty by construction: {why}"));
        }
    }
    empty_quadrants
}

/// Warns of the churn risk bands the settings leave empty; returns whether
/// the high band is.
fn churn_bands(m: &ModelSettings, out: &mut Vec<String>) -> bool {
    let (medium, high) = (m.churn_band_medium, m.churn_band_high);
    let high_band_empty = match m.churn_band_mode {
        BandMode::Percentile => high == 0.0,
        BandMode::Lift | BandMode::Absolute => false,
    };
    if high_band_empty {
        out.push("churn_risk_band high is empty by construction: churn.bands.high is a top share of 0".into());
    }
    if medium == high {
        out.push("churn_risk_band medium is empty by construction: churn.bands.medium equals churn.bands.high".into());
    }
    high_band_empty
}

/// The groups this snapshot left empty: tiers, quadrants and bands among the
/// active lines of customer_value, and campaigns that selected nobody.
pub async fn in_snapshot(ctx: &SessionContext, campaigns: &[CampaignSize]) -> Result<Vec<String>, DataFusionError> {
    let axes: [(&str, &[&str]); 3] = [
        ("value_tier", &TIERS),
        ("value_quadrant", &["strategic", "profit", "potential", "ordinary"]),
        ("churn_risk_band", &["low", "medium", "high"]),
    ];
    let mut out = Vec::new();
    for (axis, members) in axes {
        // one small query per axis (a UNION with an empty side never finishes on Ballista 55)
        let members_seen = ctx
            .table("customer_value")
            .await?
            .filter(col("is_active").and(col(axis).is_not_null()))?
            .select(vec![col(axis).alias("member")])?
            .distinct()?;
        let seen = Frame::collect(members_seen).await?.strings("member")?;
        // an axis nobody has (no active line, or no fitted model) is not a finding
        if seen.is_empty() {
            continue;
        }
        for member in members.iter().filter(|m| !seen.iter().any(|s| s == **m)) {
            out.push(format!("{axis} {member} is empty in this snapshot"));
        }
    }
    for c in campaigns.iter().filter(|c| c.rows + c.control == 0) {
        out.push(format!("campaign {} selected nobody", c.campaign));
    }
    Ok(out)
}
