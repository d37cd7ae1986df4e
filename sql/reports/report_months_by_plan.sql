-- report_months_by_plan: the report's monthly network ARPU per plan type, from kpi.
-- grain: one row per plan type and month of kpi's window for snapshot T.
-- inputs: kpi (published, dimension 'plan_type'); $as_of = T
-- columns:
--   month   Utf8View  the month's first day, YYYY-MM-DD
--   member  Utf8      the plan type
--   arpu    Float64   network ARPU of the plan type in the month
SELECT
    CAST(month AS VARCHAR) AS month,
    member,
    CAST(network_arpu AS DOUBLE) AS arpu
FROM kpi
WHERE snapshot_date = $as_of AND dimension = 'plan_type'
ORDER BY member, month
