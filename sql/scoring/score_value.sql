-- score_value: value score, value tier and value quadrant of every line active at T.
-- grain: one row per subscriber active at T.
-- inputs: int_subscriber_features, score_churn, score_lifetime, stg_strategic_fit,
--   job_strategic_fit (the job's fit rules: one row per segment or plan_type rule), screening
-- params: $w_clv, $w_current_value, $w_historical_value, $w_arpu_3m, $w_revenue_12m, $w_tenure_months,
--   $w_retention, $w_active_days_30d (AHP weights, 0 for a metric not chosen); $tier_by_arpu;
--   $tier_diamond, $tier_gold, $tier_silver, $tier_vip (top shares, or arpu_3m floors when by ARPU);
--   $quadrant_value_share; $fit_by_rank, $fit_top_share, $fit_threshold; $has_fit_default, $fit_default;
--   $hold_suspects
-- Each metric is normalised to its percent rank among active lines (0 = lowest, 1 = highest; null
-- ranks lowest; retention = 1 - churn_risk), and value_score = 100 * sum(weight * rank).
-- Lines are ordered by value_score, then clv, then subscriber_id (highest first), so ties break the
-- same way every run; position / lines is a line's top share. Percentile tiers: diamond within the
-- top $tier_diamond share, gold $tier_gold, silver $tier_silver, vip $tier_vip, standard the rest.
-- ARPU tiers: arpu_3m at or above each floor. A line the screening holds suspect is under_review
-- instead when $hold_suspects (it keeps its place in the ranks: the other lines' tiers do not move).
-- Value is high in the top $quadrant_value_share.
-- Strategic fit: the line's own score, else its segment's from the strategic_fit source, else the
-- job's segment rule, else its plan_type rule, else $fit_default when the job sets one, else the
-- line's behavioural fit: the mean percent rank among active lines of its data use over 30 days
-- (digital engagement), its retention (1 - churn_risk) and its usage growth (events of the last 30
-- days against the 60 before). Fit is high, when $fit_by_rank (the job sets no fit_threshold), for
-- the lines whose fit is within the top $fit_top_share of the base (the share of lines with a fit
-- at least theirs, ties counted together), so the axis splits any base; else at or above
-- $fit_threshold.
-- columns:
--   subscriber_id   Utf8     the subscriber
--   value_score     Float64  0..100 weighted composite of the value metrics' percent ranks
--   value_tier      Utf8     diamond / gold / silver / vip / standard; under_review for a suspect line
--   strategic_fit   Float64  strategic fit score in [0, 1] used for the quadrant (see above)
--   value_quadrant  Utf8     strategic (high value, high fit) / profit (high, low) / potential (low, high) / ordinary
WITH base AS (
    SELECT
        f.subscriber_id,
        f.plan_type,
        f.segment,
        f.arpu_3m,
        f.historical_value,
        f.revenue_12m,
        f.tenure_months,
        f.active_days_30d,
        f.data_mb_30d,
        (1.0 + f.events_30d) / (1.0 + (f.events_90d - f.events_30d) / 2.0) AS usage_growth,
        l.current_value,
        l.clv,
        1.0 - c.churn_risk AS retention
    FROM int_subscriber_features AS f
    INNER JOIN score_lifetime AS l ON l.subscriber_id = f.subscriber_id
    LEFT JOIN score_churn AS c ON c.subscriber_id = f.subscriber_id
    WHERE f.is_active
),

normalised AS (
    SELECT
        subscriber_id,
        plan_type,
        segment,
        arpu_3m,
        clv,
        (
            percent_rank() OVER (ORDER BY data_mb_30d NULLS FIRST)
            + percent_rank() OVER (ORDER BY retention NULLS FIRST)
            + percent_rank() OVER (ORDER BY usage_growth NULLS FIRST)
        ) / 3.0 AS behavioural_fit,
        100.0 * (
            $w_clv * percent_rank() OVER (ORDER BY clv NULLS FIRST)
            + $w_current_value * percent_rank() OVER (ORDER BY current_value NULLS FIRST)
            + $w_historical_value * percent_rank() OVER (ORDER BY historical_value NULLS FIRST)
            + $w_arpu_3m * percent_rank() OVER (ORDER BY arpu_3m NULLS FIRST)
            + $w_revenue_12m * percent_rank() OVER (ORDER BY revenue_12m NULLS FIRST)
            + $w_tenure_months * percent_rank() OVER (ORDER BY tenure_months NULLS FIRST)
            + $w_retention * percent_rank() OVER (ORDER BY retention NULLS FIRST)
            + $w_active_days_30d * percent_rank() OVER (ORDER BY active_days_30d NULLS FIRST)
        ) AS value_score
    FROM base
),

ranked AS (
    SELECT
        *,
        CAST(ROW_NUMBER() OVER (ORDER BY value_score DESC, clv DESC NULLS LAST, subscriber_id) AS DOUBLE)
            / CAST(COUNT(*) OVER () AS DOUBLE) AS top_share
    FROM normalised
),

fit AS (
    SELECT
        r.*,
        COALESCE(
            own.score, seg.score, job_segment.score, job_plan.score,
            CASE WHEN $has_fit_default THEN $fit_default END, r.behavioural_fit
        ) AS strategic_fit
    FROM ranked AS r
    LEFT JOIN (
        SELECT subscriber_id, MAX(score) AS score FROM stg_strategic_fit
        WHERE subscriber_id IS NOT NULL GROUP BY subscriber_id
    ) AS own ON own.subscriber_id = r.subscriber_id
    LEFT JOIN (
        SELECT segment, MAX(score) AS score FROM stg_strategic_fit
        WHERE subscriber_id IS NULL GROUP BY segment
    ) AS seg ON seg.segment = r.segment
    LEFT JOIN (
        SELECT value, MAX(score) AS score FROM job_strategic_fit WHERE kind = 'segment' GROUP BY value
    ) AS job_segment ON job_segment.value = r.segment
    LEFT JOIN (
        SELECT value, MAX(score) AS score FROM job_strategic_fit WHERE kind = 'plan_type' GROUP BY value
    ) AS job_plan ON job_plan.value = r.plan_type
),

fit_ranked AS (
    SELECT
        *,
        CASE
            WHEN $fit_by_rank THEN cume_dist() OVER (ORDER BY strategic_fit DESC) <= $fit_top_share
            ELSE strategic_fit >= $fit_threshold
        END AS fit_high
    FROM fit
)

SELECT
    r.subscriber_id,
    r.value_score,
    CASE
        WHEN $hold_suspects AND s.screening_level = 'suspect' THEN 'under_review'
        WHEN $tier_by_arpu THEN CASE
            WHEN CAST(arpu_3m AS DOUBLE) >= $tier_diamond THEN 'diamond'
            WHEN CAST(arpu_3m AS DOUBLE) >= $tier_gold THEN 'gold'
            WHEN CAST(arpu_3m AS DOUBLE) >= $tier_silver THEN 'silver'
            WHEN CAST(arpu_3m AS DOUBLE) >= $tier_vip THEN 'vip'
            ELSE 'standard'
        END
        WHEN top_share <= $tier_diamond THEN 'diamond'
        WHEN top_share <= $tier_gold THEN 'gold'
        WHEN top_share <= $tier_silver THEN 'silver'
        WHEN top_share <= $tier_vip THEN 'vip'
        ELSE 'standard'
    END AS value_tier,
    strategic_fit,
    CASE
        WHEN top_share <= $quadrant_value_share AND fit_high THEN 'strategic'
        WHEN top_share <= $quadrant_value_share THEN 'profit'
        WHEN fit_high THEN 'potential'
        ELSE 'ordinary'
    END AS value_quadrant
FROM fit_ranked AS r
LEFT JOIN screening AS s ON s.subscriber_id = r.subscriber_id
