-- export_effect: what the campaigns changed, as `cvm campaign effect` prints it: snapshot T's
--   campaign_effect rows with rates and uplift in percentage points.
-- grain: one row per campaign, wave and horizon measured at T.
-- inputs: campaign_effect (published)
-- params: $as_of (T)
-- columns:
--   campaign           Utf8              the campaign
--   wave               Date32            the day its list was published
--   days               Int32             the horizon
--   window             Utf8              complete, or open to the last day observed
--   contacts           Int64             contacted lines
--   control            Int64             held-out lines
--   contact_churn_pct  Float64           churn rate of the contacted lines, in %
--   control_churn_pct  Float64           churn rate of the held-out lines, in %
--   uplift_pp          Float64           churn avoided, in percentage points
--   uplift_95pct_pp    Utf8View          its 95% interval, in percentage points (text)
--   value_saved        Decimal128(18,4)  the value the avoided churn keeps
--   arpu_uplift        Decimal128(18,4)  the change in monthly ARPU it made
--   reached_pct        Float64           contacts reached, in %
--   accepted_pct       Float64           contacts that accepted, in %
SELECT
    campaign,
    wave_date AS wave,
    horizon_days AS days,
    CASE WHEN complete THEN 'complete' ELSE 'open to ' || CAST(observed_until AS VARCHAR) END AS window,
    contact_lines AS contacts,
    control_lines AS control,
    round(100 * contact_churn_rate, 2) AS contact_churn_pct,
    round(100 * control_churn_rate, 2) AS control_churn_pct,
    round(100 * uplift, 2) AS uplift_pp,
    '[' || CAST(round(100 * uplift_ci_low, 2) AS VARCHAR) || ', ' || CAST(round(100 * uplift_ci_high, 2) AS VARCHAR)
    || ']' AS uplift_95pct_pp,
    value_saved,
    arpu_uplift,
    round(100 * response_rate, 1) AS reached_pct,
    round(100 * acceptance_rate, 1) AS accepted_pct
FROM campaign_effect
WHERE snapshot_date = CAST($as_of AS DATE)
ORDER BY campaign, wave_date, horizon_days
