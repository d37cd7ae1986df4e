-- report_calibration: the churn model's back-test, predicted against observed churn per decile of risk.
-- grain: one row per decile of the back-test of snapshot T.
-- inputs: model_metrics (published); $as_of = T
-- columns:
--   decile     Int32    the decile of predicted risk
--   predicted  Float64  the mean predicted churn in it
--   observed   Float64  the share that churned
SELECT
    p.decile,
    p.value AS predicted,
    o.value AS observed
FROM model_metrics AS p
JOIN model_metrics AS o
    ON o.snapshot_date = p.snapshot_date AND o.model = p.model AND o.scope = p.scope AND o.decile = p.decile
WHERE p.snapshot_date = $as_of AND p.model = 'churn' AND p.scope = 'backtest'
    AND p.metric = 'calibration_predicted' AND o.metric = 'calibration_observed'
ORDER BY p.decile
