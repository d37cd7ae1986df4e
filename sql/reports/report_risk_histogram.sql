-- report_risk_histogram: lines by churn risk in twenty bins of 0.05.
-- grain: one row per bin that holds a line, lowest first.
-- inputs: customer_value (published); $as_of = T
-- columns:
--   bin    Int64  the bin: floor(churn_risk x 20), 1.0 in bin 19
--   lines  Int64  lines in it
SELECT
    LEAST(CAST(floor(churn_risk * 20) AS BIGINT), 19) AS bin,
    count(*) AS lines
FROM customer_value
WHERE snapshot_date = $as_of AND churn_risk IS NOT NULL
GROUP BY 1
ORDER BY 1
