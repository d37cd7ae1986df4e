-- campaign_effect: what each campaign changed: churn and ARPU among its contacts against its control group, and
--   how its contacts answered, per wave and horizon.
-- grain: one row per campaign, wave (a night whose list was drawn before T, in the 180 days before T) and horizon
--   (30, 60 and 90 days after the wave).
-- partitioning: snapshot_date=T
-- inputs: contacts_history_before (the lists of the nights before T), effect_horizons, stg_subscribers,
--   int_billing_monthly, stg_responses
-- params: $as_of
-- A listed line churned within a horizon when its deactivation_date, as known at T, falls after the wave
-- and no later than the window's end or T, whichever comes first, for any reason but involuntary
-- (non-payment): churn as the churn model counts it. A window that has not ended by T shows what has
-- been observed so far and says so (complete = false).
-- uplift is the control group's churn rate minus the contact group's: the share of the contacted
-- lines the contact kept (positive: the campaign kept lines). Its 95% interval is Wald's for a
-- difference of two proportions, uplift +- 1.96 x sqrt(p1 (1 - p1) / n1 + p0 (1 - p0) / n0); it is
-- null unless both groups have lines. value_saved = uplift x the contacts' value at stake.
-- ARPU change of a listed line: its mean monthly revenue over the bill months that began after the wave and
-- ended within the window, billed by T (arpu_months of them), less its mean over the 3 bill months before the
-- wave's month; a month without a bill counts 0, so a line that left counts 0 after its end. Null while no
-- such month has ended. arpu_uplift is the contacts' mean change minus the control group's, its 95% interval
-- Welch's (normal approximation).
-- Responses: each response (stg_responses) belongs to the latest wave of its campaign that listed the line on
-- or before the day it was made (its UTC date), and counts when made by the window's end. A line is reached
-- when any of its responses is other than no_answer, and accepted when any is accepted. The rates are null
-- when the responses source holds no row for the campaign.
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
--   arpu_months              Int32             bill months the ARPU change is measured over (0: none has ended yet)
--   contact_arpu_change      Decimal128(18,4)  the contacts' mean ARPU change; null when arpu_months is 0
--   control_arpu_change      Decimal128(18,4)  the control group's mean ARPU change; null when arpu_months is 0
--   arpu_uplift              Decimal128(18,4)  contact_arpu_change - control_arpu_change: monthly revenue a contact added
--   arpu_uplift_ci_low       Decimal128(18,4)  its 95% interval, lower end; null unless each group has 2 lines
--   arpu_uplift_ci_high      Decimal128(18,4)  its 95% interval, upper end
--   contact_reached          Int64             contacted lines reached (a response other than no_answer) in the window
--   contact_accepted         Int64             contacted lines that accepted in the window
--   response_rate            Float64           contact_reached / contact_lines; null without responses for the campaign
--   acceptance_rate          Float64           contact_accepted / contact_lines; null without responses for the campaign
--   control_contacted        Int64             held-out lines with a response in the window: contacted although held
--                                              out, which shrinks the measured uplift (should be 0)
WITH waves AS (
    SELECT
        h.campaign,
        h.snapshot_date AS wave_date,
        CAST(date_trunc('month', h.snapshot_date) AS DATE) AS wave_month,
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
        w.wave_month,
        e.horizon_days,
        least(arrow_cast(arrow_cast(w.wave_date, 'Int32') + e.horizon_days, 'Date32'), CAST($as_of AS DATE))
            AS observed_until,
        arrow_cast(arrow_cast(w.wave_date, 'Int32') + e.horizon_days, 'Date32') <= CAST($as_of AS DATE) AS complete,
        w.subscriber_id,
        w.contacted,
        w.value_at_stake
    -- the three horizons first: the engine builds a cross join's left side and sends each batch of the
    -- right through it, so the waves' rows go through in whole batches (the other way round, each
    -- wave's row made a batch of three rows of its own)
    FROM effect_horizons AS e
    CROSS JOIN waves AS w
),

-- the bill months after the wave: from the first that begins after it to the last that has ended by the
-- window's end and is billed by T (the month before T's month)
months AS (
    SELECT
        *,
        CAST(wave_month + INTERVAL '1' MONTH AS DATE) AS first_after,
        least(
            CAST(date_trunc('month', observed_until + INTERVAL '1' DAY) - INTERVAL '1' MONTH AS DATE),
            CAST(date_trunc('month', CAST($as_of AS DATE)) - INTERVAL '1' MONTH AS DATE)
        ) AS last_after
    FROM windows
),

measured AS (
    SELECT
        *,
        greatest(
            CAST(
                (date_part('year', last_after) - date_part('year', first_after)) * 12
                + date_part('month', last_after) - date_part('month', first_after) + 1
                AS INT
            ),
            0
        ) AS arpu_months
    FROM months
),

revenue AS (
    SELECT
        m.campaign,
        m.wave_date,
        m.horizon_days,
        m.subscriber_id,
        SUM(b.revenue) FILTER (WHERE b.bill_month < m.wave_month) AS revenue_before,
        SUM(b.revenue) FILTER (WHERE b.bill_month >= m.first_after) AS revenue_after
    FROM measured AS m
    INNER JOIN int_billing_monthly AS b
        ON b.subscriber_id = m.subscriber_id
        AND b.bill_month >= CAST(m.wave_month - INTERVAL '3' MONTH AS DATE)
        AND b.bill_month <= m.last_after
        AND (b.bill_month < m.wave_month OR b.bill_month >= m.first_after)
    GROUP BY m.campaign, m.wave_date, m.horizon_days, m.subscriber_id
),

-- each response to the latest wave of its campaign that listed the line by the day it was made
answered AS (
    SELECT
        r.campaign,
        r.subscriber_id,
        r.contacted_at,
        r.outcome,
        max(w.wave_date) AS wave_date
    FROM stg_responses AS r
    INNER JOIN waves AS w
        ON w.campaign = r.campaign
        AND w.subscriber_id = r.subscriber_id
        AND w.wave_date <= CAST(r.contacted_at AS DATE)
    GROUP BY r.campaign, r.subscriber_id, r.contacted_at, r.outcome
),

answers AS (
    SELECT
        campaign,
        wave_date,
        subscriber_id,
        min(CAST(contacted_at AS DATE)) AS first_response,
        min(CAST(contacted_at AS DATE)) FILTER (WHERE outcome <> 'no_answer') AS first_reached,
        min(CAST(contacted_at AS DATE)) FILTER (WHERE outcome = 'accepted') AS first_accepted
    FROM answered
    GROUP BY campaign, wave_date, subscriber_id
),

outcomes AS (
    SELECT
        m.campaign,
        m.wave_date,
        m.horizon_days,
        m.observed_until,
        m.complete,
        m.arpu_months,
        m.contacted,
        m.value_at_stake,
        COALESCE(
            s.deactivation_date > m.wave_date
            AND s.deactivation_date <= m.observed_until
            AND COALESCE(s.deactivation_reason, '') <> 'involuntary',
            false
        ) AS churned,
        CASE
            WHEN m.arpu_months > 0
                THEN COALESCE(r.revenue_after, 0) / m.arpu_months - COALESCE(r.revenue_before, 0) / 3
        END AS arpu_change,
        COALESCE(a.first_response <= m.observed_until, false) AS responded,
        COALESCE(a.first_reached <= m.observed_until, false) AS reached,
        COALESCE(a.first_accepted <= m.observed_until, false) AS accepted
    FROM measured AS m
    LEFT JOIN stg_subscribers AS s ON s.subscriber_id = m.subscriber_id
    LEFT JOIN revenue AS r
        ON r.campaign = m.campaign
        AND r.wave_date = m.wave_date
        AND r.horizon_days = m.horizon_days
        AND r.subscriber_id = m.subscriber_id
    LEFT JOIN answers AS a
        ON a.campaign = m.campaign
        AND a.wave_date = m.wave_date
        AND a.subscriber_id = m.subscriber_id
),

counted AS (
    SELECT
        campaign,
        wave_date,
        horizon_days,
        observed_until,
        complete,
        arpu_months,
        COUNT(*) FILTER (WHERE contacted) AS contact_lines,
        COUNT(*) FILTER (WHERE NOT contacted) AS control_lines,
        COUNT(*) FILTER (WHERE contacted AND churned) AS contact_churned,
        COUNT(*) FILTER (WHERE NOT contacted AND churned) AS control_churned,
        SUM(value_at_stake) FILTER (WHERE contacted) AS contact_value_at_stake,
        AVG(arpu_change) FILTER (WHERE contacted) AS contact_arpu_change,
        AVG(arpu_change) FILTER (WHERE NOT contacted) AS control_arpu_change,
        VAR_SAMP(CAST(arpu_change AS DOUBLE)) FILTER (WHERE contacted) AS contact_arpu_var,
        VAR_SAMP(CAST(arpu_change AS DOUBLE)) FILTER (WHERE NOT contacted) AS control_arpu_var,
        COUNT(*) FILTER (WHERE contacted AND reached) AS contact_reached,
        COUNT(*) FILTER (WHERE contacted AND accepted) AS contact_accepted,
        COUNT(*) FILTER (WHERE NOT contacted AND responded) AS control_contacted
    FROM outcomes
    GROUP BY campaign, wave_date, horizon_days, observed_until, complete, arpu_months
),

answering_campaigns AS (
    SELECT DISTINCT campaign FROM stg_responses
),

rated AS (
    SELECT
        c.*,
        CAST(c.contact_churned AS DOUBLE) / CAST(NULLIF(c.contact_lines, 0) AS DOUBLE) AS p1,
        CAST(c.control_churned AS DOUBLE) / CAST(NULLIF(c.control_lines, 0) AS DOUBLE) AS p0,
        c.contact_arpu_change - c.control_arpu_change AS arpu_uplift,
        1.96 * sqrt(c.contact_arpu_var / c.contact_lines + c.control_arpu_var / c.control_lines) AS arpu_margin,
        a.campaign IS NOT NULL AS has_responses
    FROM counted AS c
    LEFT JOIN answering_campaigns AS a ON a.campaign = c.campaign
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
    CAST((p0 - p1) * CAST(COALESCE(contact_value_at_stake, 0) AS DOUBLE) AS DECIMAL(18, 4)) AS value_saved,
    arrow_cast(arpu_months, 'Int32') AS arpu_months,
    CAST(contact_arpu_change AS DECIMAL(18, 4)) AS contact_arpu_change,
    CAST(control_arpu_change AS DECIMAL(18, 4)) AS control_arpu_change,
    CAST(arpu_uplift AS DECIMAL(18, 4)) AS arpu_uplift,
    CAST(CAST(arpu_uplift AS DOUBLE) - arpu_margin AS DECIMAL(18, 4)) AS arpu_uplift_ci_low,
    CAST(CAST(arpu_uplift AS DOUBLE) + arpu_margin AS DECIMAL(18, 4)) AS arpu_uplift_ci_high,
    contact_reached,
    contact_accepted,
    CASE WHEN has_responses THEN CAST(contact_reached AS DOUBLE) / CAST(NULLIF(contact_lines, 0) AS DOUBLE) END
        AS response_rate,
    CASE WHEN has_responses THEN CAST(contact_accepted AS DOUBLE) / CAST(NULLIF(contact_lines, 0) AS DOUBLE) END
        AS acceptance_rate,
    control_contacted
FROM rated
ORDER BY campaign, wave_date, horizon_days
