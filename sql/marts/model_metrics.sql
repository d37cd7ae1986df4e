-- model_metrics: how the run's models fitted and how they did on their back-tests.
-- grain: one row per model x scope x metric x decile (decile null for whole-model figures).
-- partitioning: snapshot_date=T
-- inputs: model_metrics_computed (the figures the run's model step computed)
-- Models: churn (logistic regression; scope backtest: trained at T-2H, scored at T-H against
-- deactivations in (T-H, T]; scope training: the model applied at T), retention_sbg (scope: the
-- cohort group), prepaid_bgnbd. Figures are unitless unless the metric's name says otherwise.
-- columns:
--   model    Utf8     churn, retention_sbg or prepaid_bgnbd
--   scope    Utf8     backtest, training, or the cohort group a retention fit belongs to
--   metric   Utf8     e.g. auc, top_decile_lift, brier, calibration_predicted, calibration_observed, alpha, beta
--   decile   Int32    1 (highest predicted risk) .. 10 for calibration rows; null otherwise
--   value    Float64  the figure
--   rows     Int64    rows the figure is computed on
SELECT model, scope, metric, decile, value, rows
FROM model_metrics_computed
ORDER BY model, scope, metric, decile NULLS FIRST
