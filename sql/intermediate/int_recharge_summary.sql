-- int_recharge_summary: each prepaid line's recharge history as the BG/NBD model reads it.
-- grain: one row per prepaid subscriber known at $as_of.
-- inputs: stg_subscribers, stg_recharges, int_tenure_computed (is_active: in service at T, written once there)
-- params: $as_of, $churn_horizon_end ($as_of + H), $churn_seed
-- The activation is the first purchase; a repeat purchase is a UTC day after the activation
-- day with at least one recharge (several top-ups on one day count once). Time unit: week
-- (7 days), counted on UTC dates: recency = last recharge day - activation, age = T - activation.
-- columns:
--   subscriber_id        Utf8     the subscriber
--   is_active            Boolean  in service at the end of $as_of
--   frequency            Int64    repeat recharge days in (activation, $as_of]
--   recency_weeks        Float64  weeks from activation to the last repeat recharge day (0 with none)
--   age_weeks            Float64  weeks from activation to $as_of
--   recharges_in_horizon Int64    recharge days in ($as_of, $as_of + H]: the back-test's outcome
--   sample_key           Float64  uniform in [0, 1) from subscriber_id and the seed
WITH prepaid AS (
    SELECT s.subscriber_id, s.activation_date, t.is_active
    FROM stg_subscribers AS s
    INNER JOIN int_tenure_computed AS t ON t.subscriber_id = s.subscriber_id
    WHERE s.plan_type = 'prepaid' AND s.activation_date <= CAST($as_of AS DATE)
),

-- every prepaid line with its recharges' UTC days (a null day for a line without any); the
-- distinct days are counted per line below, which is cheaper than a DISTINCT over every
-- (line, day) pair of the extract first, by cvm_distinct_count: COUNT(DISTINCT), faster where
-- nearly every recharge is on a day of its own (src/engine/udf/distinct_count.rs)
recharges AS (
    SELECT
        p.subscriber_id,
        p.activation_date,
        cvm_utc_date(r.recharge_time) AS recharge_day
    FROM prepaid AS p
    LEFT JOIN stg_recharges AS r ON r.subscriber_id = p.subscriber_id
),

history AS (
    SELECT
        subscriber_id,
        cvm_distinct_count(recharge_day) FILTER (
            WHERE recharge_day > activation_date AND recharge_day <= CAST($as_of AS DATE)
        ) AS frequency,
        MAX(recharge_day) FILTER (
            WHERE recharge_day > activation_date AND recharge_day <= CAST($as_of AS DATE)
        ) AS last_day,
        cvm_distinct_count(recharge_day) FILTER (
            WHERE recharge_day > CAST($as_of AS DATE) AND recharge_day <= CAST($churn_horizon_end AS DATE)
        ) AS recharges_in_horizon
    FROM recharges
    GROUP BY subscriber_id
)

SELECT
    p.subscriber_id,
    p.is_active,
    h.frequency,
    CASE WHEN h.last_day IS NULL THEN 0.0
        ELSE CAST(CAST(h.last_day AS INT) - CAST(p.activation_date AS INT) AS DOUBLE) / 7.0
    END AS recency_weeks,
    CAST(CAST(CAST($as_of AS DATE) AS INT) - CAST(p.activation_date AS INT) AS DOUBLE) / 7.0 AS age_weeks,
    h.recharges_in_horizon,
    cvm_hash_unit(p.subscriber_id, $churn_seed) AS sample_key
FROM prepaid AS p
INNER JOIN history AS h ON h.subscriber_id = p.subscriber_id
