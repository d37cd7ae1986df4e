-- report_profit_deciles: the report's profit by decile of lines, from kpi.
-- grain: one row per profit decile of snapshot T, the most profitable first.
-- inputs: kpi (published, dimension 'profit_decile'); $as_of = T
-- columns:
--   member                   Utf8     the decile
--   profit                   Float64  its profit over the trailing 12 months
--   cumulative_profit_share  Float64  share of the whole profit held by it and the deciles above it
SELECT
    member,
    CAST(profit_12m AS DOUBLE) AS profit,
    cumulative_profit_share
FROM kpi
WHERE snapshot_date = $as_of AND dimension = 'profit_decile'
ORDER BY member
