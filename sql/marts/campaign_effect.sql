-- campaign_effect: what each campaign changed: churn among its contacts against its control group, per wave and horizon.
-- grain: one row per campaign, wave (a night whose list was drawn before T, in the 180 days before T) and horizon
--   (30, 60 and 90 days after the wave).
-- partitioning: snapshot_date=T
-- inputs: contacts_history_before (the lists of the nights before T), effect_horizons, stg_subscribers
-- params: $as_of
-- A listed line churned within a horizon when its deactivation_date, as known at T, falls after the wave
-- and no later than the window's end or T, whichever comes first, for any reason but involuntary
-- (non-payment): churn as the churn model counts it. A window that has not ended by T shows what has
-- been observed so far and says so (complete = false).
-- uplift is the control group's churn rate minus the contact group's: the share of the contacted
-- lines the contact kept (positive: the campaign kept lines). Its 95% interval is Wald's for a
-- difference of two proportions, uplift +- 1.96 x sqrt(p1 (1 - p1) / n1 + p0 (1 - p0) / n0); it is
-- null unless both groups have lines. value_saved = uplift x the contacts' value at stake.
-- columns:
--   campaign                 Utf8              the campaign
--   wave_date                Date32            the night the list was drawn (its snapshot)
--   horizon_days             Int32             30, 60 or 90: the window after the wave
--   observed_until           Date32            the window's end, or T when it has not ended
--   complete                 Boolean           whether the window has ended by T
--   contact_lines            Int64             lines contacted in the wave
--   control_lines            Int64             lines held out in the wave
--   contact_churned          Int64             contacted lines that churned in the window (so far)
--   control_churned          Int64             held-out lines that churned in the window (so far)
--   contact_churn_rate       Float64           contact_churned / contact_lines
--   control_churn_rate       Float64           control_churned / control_lines
--   uplift                   Float64           control_churn_rate - contact_churn_rate
--   uplift_ci_low            Float64           the uplift's 95% interval, lower end
--   uplift_ci_high           Float64           the uplift's 95% interval, upper end
--   contact_value_at_stake   Decimal128(18,4)  the contacts' value at stake, summed
--   value_saved              Decimal128(18,4)  uplift x contact_value_at_stake: the value the campaign kept, in expectation
WITH waves AS (
    SELECT
        h.campaign,
        h.snapshot_date AS wave_date,
        h.subscriber_id,
        h."group" = 'contact' AS contacted,
        h.value_at_stake
    FROM contacts_history_before AS h
    WHERE h.snapshot_date < CAST($as_of AS DATE)
        AND h.snapshot_date >= CAST($as_of - INTERVAL '180' DAY AS DATE)
),

windows AS (
    SELECT
        w.campaign,
        w.wave_date,
        e.horizon_days,
        arrow_cast(arrow_cast(w.wave_date, 'Int32') + e.horizon_days, 'Date32') AS window_end,
        w.subscriber_id,
        w.contacted,
        w.value_at_stake
    FROM waves AS w
    CROSS JOIN effect_horizons AS e
),

outcomes AS (
    SELECT
        w.campaign,
        w.wave_date,
        w.horizon_days,
        least(w.window_end, CAST($as_of AS DATE)) AS observed_until,
        w.window_end <= CAST($as_of AS DATE) AS complete,
        w.contacted,
        w.value_at_stake,
        COALESCE(
            s.deactivation_date > w.wave_date
            AND s.deactivation_date <= least(w.window_end, CAST($as_of AS DATE))
            AND COALESCE(s.deactivation_reason, '') <> 'involuntary',
            false
        ) AS churned
    FROM windows AS w
    LEFT JOIN stg_subscribers AS s ON s.subscriber_id = w.subscriber_id
),

counted AS (
    SELECT
        campaign,
        wave_date,
        horizon_days,
        observed_until,
        complete,
        COUNT(*) FILTER (WHERE contacted) AS contact_lines,
        COUNT(*) FILTER (WHERE NOT contacted) AS control_lines,
        COUNT(*) FILTER (WHERE contacted AND churned) AS contact_churned,
        COUNT(*) FILTER (WHERE NOT contacted AND churned) AS control_churned,
        SUM(value_at_stake) FILTER (WHERE contacted) AS contact_value_at_stake
    FROM outcomes
    GROUP BY campaign, wave_date, horizon_days, observed_until, complete
),

rated AS (
    SELECT
        *,
        CAST(contact_churned AS DOUBLE) / CAST(NULLIF(contact_lines, 0) AS DOUBLE) AS p1,
        CAST(control_churned AS DOUBLE) / CAST(NULLIF(control_lines, 0) AS DOUBLE) AS p0
    FROM counted
)

SELECT
    arrow_cast(campaign, 'Utf8') AS campaign,
    wave_date,
    arrow_cast(horizon_days, 'Int32') AS horizon_days,
    observed_until,
    complete,
    contact_lines,
    control_lines,
    contact_churned,
    control_churned,
    p1 AS contact_churn_rate,
    p0 AS control_churn_rate,
    p0 - p1 AS uplift,
    p0 - p1 - 1.96 * sqrt(p1 * (1 - p1) / contact_lines + p0 * (1 - p0) / control_lines) AS uplift_ci_low,
    p0 - p1 + 1.96 * sqrt(p1 * (1 - p1) / contact_lines + p0 * (1 - p0) / control_lines) AS uplift_ci_high,
    CAST(COALESCE(contact_value_at_stake, 0) AS DECIMAL(18, 4)) AS contact_value_at_stake,
    CAST((p0 - p1) * CAST(COALESCE(contact_value_at_stake, 0) AS DOUBLE) AS DECIMAL(18, 4)) AS value_saved
FROM rated
ORDER BY campaign, wave_date, horizon_days
