-- int_revenue_windows: revenue over the trailing calendar months ending with L.
-- grain: one row per subscriber with at least one bill month <= L.
-- inputs: int_billing_monthly
-- params: $window_end_month (first day of L, the month before T's month)
-- columns:
--   subscriber_id     Utf8              the subscriber
--   revenue_1m        Decimal128(18,4)  revenue billed for L
--   revenue_3m        Decimal128(18,4)  revenue billed for L-2 .. L
--   revenue_12m       Decimal128(18,4)  revenue billed for L-11 .. L
--   revenue_prior_3m  Decimal128(18,4)  revenue billed for L-5 .. L-3 (arpu_trend's earlier half)
--   historical_value  Decimal128(18,4)  revenue billed for every month <= L
WITH params AS (
    SELECT CAST($window_end_month AS DATE) AS month_l
),

bounds AS (
    SELECT
        month_l,
        CAST(month_l - INTERVAL '2' MONTH AS DATE) AS month_l_2,
        CAST(month_l - INTERVAL '5' MONTH AS DATE) AS month_l_5,
        CAST(month_l - INTERVAL '11' MONTH AS DATE) AS month_l_11
    FROM params
)

SELECT
    b.subscriber_id,
    CAST(COALESCE(SUM(b.revenue) FILTER (WHERE b.bill_month = w.month_l), 0) AS DECIMAL(18, 4)) AS revenue_1m,
    CAST(COALESCE(SUM(b.revenue) FILTER (WHERE b.bill_month >= w.month_l_2), 0) AS DECIMAL(18, 4)) AS revenue_3m,
    CAST(COALESCE(SUM(b.revenue) FILTER (WHERE b.bill_month >= w.month_l_11), 0) AS DECIMAL(18, 4)) AS revenue_12m,
    CAST(
        COALESCE(SUM(b.revenue) FILTER (WHERE b.bill_month >= w.month_l_5 AND b.bill_month < w.month_l_2), 0)
        AS DECIMAL(18, 4)
    ) AS revenue_prior_3m,
    CAST(SUM(b.revenue) AS DECIMAL(18, 4)) AS historical_value
FROM int_billing_monthly AS b
CROSS JOIN bounds AS w
WHERE b.bill_month <= w.month_l
GROUP BY b.subscriber_id
