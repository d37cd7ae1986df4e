-- report_backtest: the churn model's back-test metrics of snapshot T (AUC, lift, ...).
-- grain: one row per metric.
-- inputs: model_metrics (published); $as_of = T
-- columns:
--   metric  Utf8     the metric's name
--   value   Float64  its value
SELECT metric, value
FROM model_metrics
WHERE snapshot_date = $as_of AND model = 'churn' AND scope = 'backtest' AND decile IS NULL
ORDER BY metric
