-- int_bill_trend: each line's last bill against the three before it, and how long it has been billed.
-- grain: one row per subscriber with at least one bill month <= L.
-- inputs: int_billing_monthly
-- params: $window_end_month (first day of L, the last full month before $as_of's month)
-- A falling bill (a downgrade, a prepaid line spending less, a final bill) comes before many
-- deactivations. The ratio compares the bill of L with the mean of L-3 .. L-1, the months with no
-- bill counting 0.
-- columns:
--   subscriber_id   Utf8     the subscriber
--   bill_trend      Float64  revenue of L over the mean revenue of L-3 .. L-1; null when that mean is not above 0
--   months_billed   Int64    bill months <= L with a bill
SELECT
    subscriber_id,
    CASE WHEN COALESCE(SUM(revenue) FILTER (
            WHERE bill_month >= CAST($window_end_month - INTERVAL '3' MONTH AS DATE)
            AND bill_month < CAST($window_end_month AS DATE)
        ), 0) > 0
        THEN CAST(COALESCE(SUM(revenue) FILTER (WHERE bill_month = CAST($window_end_month AS DATE)), 0) AS DOUBLE)
            / (CAST(SUM(revenue) FILTER (
                WHERE bill_month >= CAST($window_end_month - INTERVAL '3' MONTH AS DATE)
                AND bill_month < CAST($window_end_month AS DATE)
            ) AS DOUBLE) / 3.0)
    END AS bill_trend,
    COUNT(*) AS months_billed
FROM int_billing_monthly
WHERE bill_month <= CAST($window_end_month AS DATE)
GROUP BY subscriber_id
