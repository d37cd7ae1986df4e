-- report_campaign_effect: every campaign wave's measured effect as of snapshot T.
-- grain: one row per campaign, wave and horizon, the latest wave first.
-- inputs: campaign_effect (published); $as_of = T
-- columns:
--   campaign            Utf8     the campaign
--   wave                Utf8View the night its list was drawn, YYYY-MM-DD
--   horizon_days        Int32    days after the wave the churn is counted over
--   done                Utf8View whether the horizon has passed (true/false)
--   contact_lines       Int64    lines contacted
--   control_lines       Int64    lines held back
--   contact_churn_rate  Float64  churn of the contacted lines
--   control_churn_rate  Float64  churn of the control group
--   uplift              Float64  control churn minus contact churn
--   uplift_ci_low       Float64  lower end of its 95% interval
--   uplift_ci_high      Float64  upper end
--   saved               Float64  value_saved: uplift x the contacts' value at stake
--   arpu_uplift         Float64  the contacts' change in monthly revenue minus the control group's
--   response_rate       Float64  share of contacts that responded
--   acceptance_rate     Float64  share of contacts that accepted the offer
SELECT
    campaign,
    CAST(wave_date AS VARCHAR) AS wave,
    horizon_days,
    CAST(complete AS VARCHAR) AS done,
    contact_lines,
    control_lines,
    contact_churn_rate,
    control_churn_rate,
    uplift,
    uplift_ci_low,
    uplift_ci_high,
    CAST(value_saved AS DOUBLE) AS saved,
    CAST(arpu_uplift AS DOUBLE) AS arpu_uplift,
    response_rate,
    acceptance_rate
FROM campaign_effect
WHERE snapshot_date = $as_of
ORDER BY campaign, wave DESC, horizon_days
