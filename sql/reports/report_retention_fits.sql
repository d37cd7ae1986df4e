-- report_retention_fits: the fitted retention curve of each cohort group (sBG or geometric).
-- grain: one row per cohort group and parameter of snapshot T.
-- inputs: model_metrics (published); $as_of = T
-- columns:
--   scope   Utf8     the cohort group
--   metric  Utf8     alpha, beta, monthly_churn, own_fit or fit_failed
--   value   Float64  its value
SELECT scope, metric, value
FROM model_metrics
WHERE snapshot_date = $as_of AND model = 'retention_sbg'
    AND metric IN ('alpha', 'beta', 'monthly_churn', 'own_fit', 'fit_failed')
ORDER BY scope, metric
