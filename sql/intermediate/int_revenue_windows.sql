-- int_revenue_windows: revenue over the trailing calendar months ending with L.
-- grain: one row per subscriber with at least one bill month <= L.
-- inputs: int_billing_monthly
-- params: $window_end_month (first day of L, the month before T's month)
-- Summed from the monthly revenue (exact decimal sums, so the same as from the distinct lines):
-- the run materialises int_billing_monthly once, as it does not depend on the date, instead of
-- deduplicating every billing line again at each date the models read. The window bounds are
-- constants, not columns of a one-row params table: a join filtered on such columns is a nested
-- loop over every billing month.
-- columns:
--   subscriber_id            Utf8              the subscriber
--   revenue_1m               Decimal128(18,4)  revenue billed for L
--   revenue_3m               Decimal128(18,4)  revenue billed for L-2 .. L
--   revenue_12m              Decimal128(18,4)  revenue billed for L-11 .. L
--   revenue_prior_3m         Decimal128(18,4)  revenue billed for L-5 .. L-3 (arpu_trend's earlier half)
--   revenue_before_1m        Decimal128(18,4)  revenue billed for L-3 .. L-1 (the churn model's bill trend compares
--                                              L with it)
--   historical_value         Decimal128(18,4)  revenue billed for every month <= L
--   months_since_first_bill  Int64             calendar months from the first bill month to L, both counted
SELECT
    subscriber_id,
    CAST(COALESCE(SUM(revenue) FILTER (WHERE bill_month = CAST($window_end_month AS DATE)), 0) AS DECIMAL(18, 4))
        AS revenue_1m,
    CAST(
        COALESCE(SUM(revenue) FILTER (WHERE bill_month >= CAST($window_end_month - INTERVAL '2' MONTH AS DATE)), 0)
        AS DECIMAL(18, 4)
    ) AS revenue_3m,
    CAST(
        COALESCE(SUM(revenue) FILTER (WHERE bill_month >= CAST($window_end_month - INTERVAL '11' MONTH AS DATE)), 0)
        AS DECIMAL(18, 4)
    ) AS revenue_12m,
    CAST(
        COALESCE(
            SUM(revenue) FILTER (
                WHERE bill_month >= CAST($window_end_month - INTERVAL '5' MONTH AS DATE)
                AND bill_month < CAST($window_end_month - INTERVAL '2' MONTH AS DATE)
            ),
            0
        )
        AS DECIMAL(18, 4)
    ) AS revenue_prior_3m,
    CAST(
        COALESCE(
            SUM(revenue) FILTER (
                WHERE bill_month >= CAST($window_end_month - INTERVAL '3' MONTH AS DATE)
                AND bill_month < CAST($window_end_month AS DATE)
            ),
            0
        )
        AS DECIMAL(18, 4)
    ) AS revenue_before_1m,
    CAST(SUM(revenue) AS DECIMAL(18, 4)) AS historical_value,
    CAST(
        12 * (date_part('year', CAST($window_end_month AS DATE)) - date_part('year', MIN(bill_month)))
        + date_part('month', CAST($window_end_month AS DATE)) - date_part('month', MIN(bill_month)) + 1
        AS BIGINT
    ) AS months_since_first_bill
FROM int_billing_monthly
WHERE bill_month <= CAST($window_end_month AS DATE)
GROUP BY subscriber_id
