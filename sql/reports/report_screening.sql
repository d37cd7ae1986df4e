-- report_screening: the report's fraud screening of snapshot T: lines per level and the revenue on them.
-- grain: one row per screening level with a line at T, suspect first.
-- inputs: screening, customer_value (published); $as_of = T
-- columns:
--   level        Utf8     suspect, watch or clear
--   lines        Int64    lines in service at T at that level
--   revenue_3m   Float64  their net revenue billed for L-2 .. L
--   revenue_12m  Float64  their net revenue billed for L-11 .. L
SELECT
    s.screening_level AS level,
    count(*) AS lines,
    CAST(sum(cv.revenue_3m) AS DOUBLE) AS revenue_3m,
    CAST(sum(cv.revenue_12m) AS DOUBLE) AS revenue_12m
FROM screening AS s
LEFT JOIN customer_value AS cv ON cv.snapshot_date = s.snapshot_date AND cv.subscriber_id = s.subscriber_id
WHERE s.snapshot_date = $as_of
GROUP BY s.screening_level
ORDER BY CASE s.screening_level WHEN 'suspect' THEN 1 WHEN 'watch' THEN 2 ELSE 3 END
