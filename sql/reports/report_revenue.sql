-- report_revenue: every line's 12-month revenue, largest first: the report's Lorenz curve.
-- grain: one row per line with service or revenue in the trailing 12 months of snapshot T.
-- inputs: customer_value (published); $as_of = T
-- columns:
--   revenue_12m  Float64  the line's revenue over the trailing 12 months
SELECT CAST(revenue_12m AS DOUBLE) AS revenue_12m
FROM customer_value
WHERE snapshot_date = $as_of AND (months_in_service_12m > 0 OR revenue_12m <> 0)
ORDER BY revenue_12m DESC
