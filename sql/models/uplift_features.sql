-- uplift_features: what an uplift model knows of a line on a night, from that night's customer_value.
-- grain: one row per subscriber and night of the source.
-- inputs: uplift_feature_source (customer_value rows with their snapshot_date: the published snapshots of a
--   campaign's waves when the model is fitted, tonight's when it scores the list), registered by cvm
-- The one place the features are computed: uplift_observations.sql (training) and uplift_candidates.sql
-- (scoring) both read them here, so a model fitted on the waves reads tonight's lines the same way.
-- columns:
--   snapshot_date   Date32   the night
--   subscriber_id   Utf8     the line
--   churn_risk      Float64  churn risk (0 when none)
--   tenure_months   Float64  tenure in months
--   arpu_3m         Float64  ARPU over the last 3 months (0 when none)
--   arpu_trend      Float64  ARPU trend (1 when undefined)
--   recency_days    Float64  days since the last usage event (365 when none)
--   complaints_90d  Float64  complaints in the last 90 days
--   mou_30d         Float64  voice minutes, last 30 days
--   data_mb_30d     Float64  data MiB, last 30 days
--   segment         Utf8     marketing segment ('unknown' when none)
--   plan_type       Utf8     prepaid or postpaid
SELECT
    CAST(v.snapshot_date AS DATE) AS snapshot_date,
    v.subscriber_id,
    CAST(COALESCE(v.churn_risk, 0) AS DOUBLE) AS churn_risk,
    CAST(COALESCE(v.tenure_months, 0) AS DOUBLE) AS tenure_months,
    CAST(COALESCE(v.arpu_3m, 0) AS DOUBLE) AS arpu_3m,
    CAST(COALESCE(v.arpu_trend, 1) AS DOUBLE) AS arpu_trend,
    CAST(COALESCE(v.recency_days, 365) AS DOUBLE) AS recency_days,
    CAST(COALESCE(v.complaints_90d, 0) AS DOUBLE) AS complaints_90d,
    CAST(COALESCE(v.mou_30d, 0) AS DOUBLE) AS mou_30d,
    CAST(COALESCE(v.data_mb_30d, 0) AS DOUBLE) AS data_mb_30d,
    arrow_cast(COALESCE(v.segment, 'unknown'), 'Utf8') AS segment,
    arrow_cast(COALESCE(v.plan_type, 'unknown'), 'Utf8') AS plan_type
FROM uplift_feature_source AS v
