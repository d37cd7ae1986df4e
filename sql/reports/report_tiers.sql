-- report_tiers: the report's value tiers, lines and 12-month revenue of the active lines of snapshot T.
-- grain: one row per value tier, diamond first.
-- inputs: customer_value (published); $as_of = T
-- columns:
--   value_tier  Utf8     the tier
--   lines       Int64    active lines in it
--   revenue     Float64  their revenue over the trailing 12 months
SELECT
    value_tier,
    count(*) AS lines,
    CAST(sum(revenue_12m) AS DOUBLE) AS revenue
FROM customer_value
WHERE snapshot_date = $as_of AND is_active AND value_tier IS NOT NULL
GROUP BY value_tier
ORDER BY CASE value_tier WHEN 'diamond' THEN 1 WHEN 'gold' THEN 2 WHEN 'silver' THEN 3 WHEN 'vip' THEN 4 ELSE 5 END
