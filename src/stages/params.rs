//! The SQL parameters the job's settings give: the one place a setting of
//! the job file becomes a `$name` of sql/ (the job module knows nothing of
//! the SQL; the stages bind these).

use chrono::NaiveDate;

use crate::contract::SourceKind;
use crate::engine::Params;
use crate::job::{Campaign, ControlSettings, KpiSettings};
use crate::job::{Job, QualitySettings, ScreeningSettings};
use crate::job::{ModelSettings, VALUE_CRITERIA};

/// The models' and scores' settings (everything but the fitted models).
pub fn models(settings: &ModelSettings) -> Params {
    let has = |list: &[String], name: &str| list.iter().any(|g| g == name);
    let mut p = Params::new()
        .int("churn_horizon_days", settings.churn_horizon_days as i64)
        .text("churn_seed", &settings.seed.to_string())
        .text("churn_band_mode", settings.churn_band_mode.name())
        .float("churn_band_medium", settings.churn_band_medium)
        .float("churn_band_high", settings.churn_band_high)
        .int("commitment_months", settings.commitment_months as i64)
        .flag("cohort_by_segment", has(&settings.cohort_groups, "segment"))
        .flag("cohort_by_region", has(&settings.cohort_groups, "region"))
        .flag("peer_by_plan_type", has(&settings.peer_groups, "plan_type"))
        .flag("peer_by_segment", has(&settings.peer_groups, "segment"))
        .flag("peer_by_region", has(&settings.peer_groups, "region"))
        .float("peer_percentile", settings.target_percentile)
        .float("margin_rate", settings.margin_rate)
        .float("monthly_discount_rate", crate::maths::discount::monthly_rate(settings.annual_discount_rate))
        .int("clv_horizon_months", settings.horizon_months as i64)
        .flag("tier_by_arpu", settings.tiers_by_arpu)
        .float("tier_diamond", settings.tier_cuts[0])
        .float("tier_gold", settings.tier_cuts[1])
        .float("tier_silver", settings.tier_cuts[2])
        .float("tier_vip", settings.tier_cuts[3])
        .float("quadrant_value_share", settings.quadrant_value_share)
        .flag("fit_by_rank", settings.fit_threshold.is_none())
        .float("fit_threshold", settings.fit_threshold.unwrap_or(0.5))
        .float("fit_top_share", settings.fit_top_share)
        .flag("has_fit_default", settings.fit_default.is_some())
        .float("fit_default", settings.fit_default.unwrap_or(0.0))
        .int("new_months", settings.new_months as i64)
        .int("growing_months", settings.growing_months as i64)
        .int("dormant_days", settings.dormant_days as i64)
        .float("declining_trend", settings.declining_trend)
        .float("growing_trend", settings.growing_trend);
    for name in VALUE_CRITERIA {
        let weight = settings
            .value_criteria
            .iter()
            .position(|c| c == name)
            .map(|i| settings.value_weights.weights[i])
            .unwrap_or(0.0);
        p = p.float(&format!("w_{name}"), weight);
    }
    p
}

/// Settings that layers other than their own read: the CDR time zone's
/// standard offset from UTC on `date`, by which the usage parts count a
/// call as a night call (the standard offset, not the summer one, so that a
/// day's parts do not change with the season); whether the screening's
/// suspects are held out of the value tiers and the campaigns.
pub fn run_wide(job: &Job, date: NaiveDate) -> Params {
    use chrono::Offset;
    use chrono_tz::OffsetComponents;
    let zone: chrono_tz::Tz = job.source(SourceKind::Cdr).timezone.parse().unwrap_or(chrono_tz::UTC);
    let noon = date.and_hms_opt(12, 0, 0).expect("noon exists").and_utc();
    let offset = *noon.with_timezone(&zone).offset();
    let standard = offset.fix().local_minus_utc() as i64 - offset.dst_offset().num_seconds();
    Params::new().int("cdr_utc_offset_s", standard).flag("hold_suspects", job.screening.hold_suspects)
}

/// The screening rules' thresholds, weights and windows at `as_of` (sql/screening).
pub fn screening(settings: &ScreeningSettings, as_of: NaiveDate) -> Params {
    let (simbox, spike, burst) = (&settings.simbox, &settings.usage_spike, &settings.new_line_burst);
    // the first day of a window of n days ending on T
    let first = |days: u32| as_of - chrono::Days::new(u64::from(days) - 1);
    let spike_recent_from = first(spike.recent_days);
    Params::new()
        .date("screen_from", first(settings.days))
        .date("spike_recent_from", spike_recent_from)
        .date("spike_history_from", spike_recent_from - chrono::Days::new(spike.history_days.into()))
        .date("burst_from", first(burst.max_tenure_days))
        .float("watch_score", settings.watch_score)
        .float("suspect_score", settings.suspect_score)
        .float("simbox_weight", simbox.weight)
        .float("simbox_min_calls_per_day", simbox.min_calls_per_day)
        .float("simbox_min_numbers_per_day", simbox.min_numbers_per_day)
        .float("simbox_max_incoming_share", simbox.max_incoming_share)
        .float("simbox_max_other_events_per_day", simbox.max_other_events_per_day)
        .float("simbox_min_night_share", simbox.min_night_share)
        .float("spike_weight", spike.weight)
        .float("spike_min_z", spike.min_z)
        .int("spike_min_history_days", spike.min_history_days as i64)
        .float("burst_weight", burst.weight)
        .int("burst_max_tenure_days", burst.max_tenure_days as i64)
        .float("burst_peer_quantile", burst.peer_quantile)
        .float("burst_min_ratio", burst.min_ratio)
        .float("fraud_model_weight", settings.fraud_model.weight)
        .float("fraud_model_threshold", settings.fraud_model.threshold)
        .float("confirmed_case_weight", settings.confirmed_case.weight)
        .merged(&fraud_window(&settings.fraud_model, as_of))
        .merged(&revenue(settings, as_of))
}

/// The parameters of sql/models/fraud_features.sql at `date`: the fraud
/// model's features over the window up to it, its label over the horizon after.
pub fn fraud_window(rule: &crate::job::FraudModelRule, date: NaiveDate) -> Params {
    Params::new()
        .date("fraud_at", date)
        .date("fraud_window_from", date - chrono::Days::new(u64::from(rule.window_days) - 1))
        .date("fraud_label_end", date + chrono::Days::new(rule.horizon_days.into()))
}

/// The revenue rules' settings (sql/screening/screen_revenue.sql).
fn revenue(settings: &ScreeningSettings, as_of: NaiveDate) -> Params {
    let (bill, credit, recharge) = (&settings.bill_jump, &settings.credit_heavy, &settings.recharge_mismatch);
    let history_from = crate::engine::window_end_month(as_of) - chrono::Months::new(bill.history_months);
    Params::new()
        .date("revenue_history_from", history_from)
        .float("bill_jump_weight", bill.weight)
        .float("bill_jump_min_ratio", bill.min_ratio)
        .int("bill_jump_min_months", bill.min_months as i64)
        .float("bill_jump_min_amount", bill.min_amount)
        .float("credit_heavy_weight", credit.weight)
        .float("credit_heavy_min_share", credit.min_share)
        .float("credit_heavy_min_amount", credit.min_amount)
        .float("recharge_mismatch_weight", recharge.weight)
        .float("recharge_mismatch_min_ratio", recharge.min_ratio)
        .float("recharge_mismatch_max_usage_ratio", recharge.max_usage_ratio)
        .float("recharge_mismatch_peer_quantile", recharge.peer_quantile)
        .float("profile_weight", settings.usage_profile.weight)
}

/// The data-quality check's windows at `as_of` (sql/quality): the daily
/// history before T, the monthly history before L.
pub fn quality(settings: &QualitySettings, as_of: NaiveDate) -> Params {
    let month_from = crate::engine::window_end_month(as_of) - chrono::Months::new(settings.history_months);
    Params::new()
        .date("quality_from", as_of - chrono::Days::new(settings.history_days.into()))
        .date("quality_month_from", month_from)
}

/// kpi's costs to serve and Pareto shares.
pub fn kpi(settings: &KpiSettings) -> Params {
    Params::new()
        .text("cost_per_subscriber_month", &settings.cost_per_subscriber_month)
        .text("cost_per_complaint", &settings.cost_per_complaint)
        .float("pareto_top_share", settings.top_share)
        .float("pareto_bottom_share", settings.bottom_share)
}

/// The campaigns mart's parameters for `campaign`: its control group's draw.
pub fn control(settings: &ControlSettings, campaign: &Campaign) -> Params {
    Params::new()
        .text("campaign", &campaign.name)
        .text("control_seed", &settings.seed.to_string())
        .float("control_share", campaign.control_share)
}
