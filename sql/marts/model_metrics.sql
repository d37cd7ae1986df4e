-- model_metrics: how the run's models fitted and how they did on their back-tests.
-- grain: one row per model x scope x metric x decile (decile null for whole-model figures).
-- partitioning: snapshot_date=T
-- inputs: model_metrics_computed (the figures the run's model step computed)
-- Models: churn (scopes backtest_logistic and backtest_boosted: each learner trained at T-2H,
-- scored at T-H against voluntary deactivations in (T-H, T]; backtest: the chosen learner's, with
-- its calibration by decile; calibration: the Platt map applied at T; training: the final model's
-- window and days_since_fit, the age of the fit applied at T), retention_sbg (scope: the cohort
-- group; fit_failed 1 when a fit did not converge), prepaid_bgnbd, uplift (scope: the campaign ranked by uplift; its back-test's Qini and uplift in the
-- top 30% for its ranking and for a ranking by churn risk, and its training lines and waves), fraud (the
-- screening's supervised model, where confirmed fraud cases exist; scope backtest: trained at T-2H,
-- judged at T-H against the cases confirmed in (T-H, T]; training: the final fit). The churn and
-- prepaid models are fitted every [churn] refit_every_days nights: on the nights between, their rows
-- are those of the stored fit they apply, but for days_since_fit. Figures are unitless unless the
-- metric's name says otherwise (docs/models.md).
-- columns:
--   model    Utf8     churn, retention_sbg, prepaid_bgnbd, uplift or fraud
--   scope    Utf8     backtest, backtest_logistic, backtest_boosted, calibration, training, the cohort group
--                     a retention fit belongs to, or the campaign an uplift model ranks
--   metric   Utf8     e.g. auc, top_decile_lift, brier, calibration_predicted, calibration_observed, alpha, beta
--   decile   Int32    1 (highest predicted risk) .. 10 for calibration rows; null otherwise
--   value    Float64  the figure
--   rows     Int64    rows the figure is computed on
SELECT model, scope, metric, decile, value, rows
FROM model_metrics_computed
ORDER BY model, scope, metric, decile NULLS FIRST
