-- int_recharge_behaviour: each prepaid line's recent top-ups against its own rhythm, at $as_of.
-- grain: one row per prepaid subscriber known at $as_of.
-- inputs: stg_subscribers, stg_recharges
-- params: $as_of
-- A prepaid line leaves by not topping up again, so the signal is a gap that is long for this
-- line: days since its last recharge against its usual interval between recharge days (the mean
-- gap between successive recharge days in the 180 days up to $as_of). Counts and amounts are of
-- top-ups (several on a day count each) by UTC day of recharge_time. Only the 180 days up to
-- $as_of are read: the churn features cap the gap at 180 days. cvm_distinct_count is
-- COUNT(DISTINCT), faster on days (src/engine/udf/distinct_count.rs).
-- columns:
--   subscriber_id                 Utf8              the subscriber
--   days_since_last_recharge      Int32             $as_of minus the UTC day of the last top-up; null with none in
--                                                   the last 180 days
--   usual_recharge_interval_days  Float64           mean days between successive recharge days in the last 180 days;
--                                                   null with fewer than two such days
--   recharges_30d                 Int64             top-ups in the last 30 days
--   recharges_90d                 Int64             top-ups in the last 90 days
--   recharge_amount_30d           Decimal128(18,4)  amount topped up in the last 30 days
--   recharge_amount_90d           Decimal128(18,4)  amount topped up in the last 90 days
WITH prepaid AS (
    SELECT subscriber_id
    FROM stg_subscribers
    WHERE plan_type = 'prepaid' AND activation_date <= CAST($as_of AS DATE)
),

topups AS (
    SELECT
        subscriber_id,
        cvm_utc_date(recharge_time) AS recharge_day,
        amount
    FROM stg_recharges
    WHERE cvm_utc_date(recharge_time) BETWEEN CAST($as_of - INTERVAL '179' DAY AS DATE) AND CAST($as_of AS DATE)
),

totals AS (
    SELECT
        subscriber_id,
        MAX(recharge_day) AS last_day,
        MIN(recharge_day) AS first_day,
        cvm_distinct_count(recharge_day) AS days,
        COUNT(*) FILTER (WHERE recharge_day >= CAST($as_of - INTERVAL '29' DAY AS DATE)) AS recharges_30d,
        COUNT(*) FILTER (WHERE recharge_day >= CAST($as_of - INTERVAL '89' DAY AS DATE)) AS recharges_90d,
        SUM(amount) FILTER (WHERE recharge_day >= CAST($as_of - INTERVAL '29' DAY AS DATE)) AS amount_30d,
        SUM(amount) FILTER (WHERE recharge_day >= CAST($as_of - INTERVAL '89' DAY AS DATE)) AS amount_90d
    FROM topups
    GROUP BY subscriber_id
)

SELECT
    p.subscriber_id,
    CAST(CAST(CAST($as_of AS DATE) AS INT) - CAST(t.last_day AS INT) AS INT) AS days_since_last_recharge,
    CASE WHEN t.days >= 2
        THEN CAST(CAST(t.last_day AS INT) - CAST(t.first_day AS INT) AS DOUBLE) / CAST(t.days - 1 AS DOUBLE)
    END AS usual_recharge_interval_days,
    COALESCE(t.recharges_30d, 0) AS recharges_30d,
    COALESCE(t.recharges_90d, 0) AS recharges_90d,
    CAST(COALESCE(t.amount_30d, 0) AS DECIMAL(18, 4)) AS recharge_amount_30d,
    CAST(COALESCE(t.amount_90d, 0) AS DECIMAL(18, 4)) AS recharge_amount_90d
FROM prepaid AS p
LEFT JOIN totals AS t ON t.subscriber_id = p.subscriber_id
