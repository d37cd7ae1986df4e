-- report_months: the report's monthly figures of the whole base, from kpi.
-- grain: one row per month of kpi's window for snapshot T, oldest first.
-- inputs: kpi (published, dimension 'total'); $as_of = T
-- columns:
--   month         Utf8View the month's first day, YYYY-MM-DD
--   arpu          Float64  network ARPU of the month
--   revenue       Float64  the month's revenue
--   closing_base  Int64    lines in service at the month's end
--   churn_rate    Float64  lines ended in the month over the opening base
SELECT
    CAST(month AS VARCHAR) AS month,
    CAST(network_arpu AS DOUBLE) AS arpu,
    CAST(revenue AS DOUBLE) AS revenue,
    closing_base,
    churn_rate
FROM kpi
WHERE snapshot_date = $as_of AND dimension = 'total'
ORDER BY month
