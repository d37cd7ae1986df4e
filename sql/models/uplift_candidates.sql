-- uplift_candidates: tonight's selection of a campaign with the features its uplift model scores.
-- grain: one row per subscriber the campaign's selection returned.
-- inputs: campaign_selection (the campaign's selection, registered by cvm), customer_value (tonight's)
-- The feature columns are uplift_observations.sql's, computed the same way.
-- columns:
--   subscriber_id   Utf8              the line
--   score           Float64           the selection's own score
--   value_at_stake  Decimal128(18,4)  the selection's value at stake
--   reason          Utf8              the selection's reason
--   churn_risk      Float64           churn risk (0 when none)
--   tenure_months   Float64           tenure in months
--   arpu_3m         Float64           ARPU over the last 3 months (0 when none)
--   arpu_trend      Float64           ARPU trend (1 when undefined)
--   recency_days    Float64           days since the last usage event (365 when none)
--   complaints_90d  Float64           complaints in the last 90 days
--   mou_30d         Float64           voice minutes, last 30 days
--   data_mb_30d     Float64           data MiB, last 30 days
--   segment         Utf8              marketing segment ('unknown' when none)
--   plan_type       Utf8              prepaid or postpaid
SELECT
    c.subscriber_id,
    c.score,
    c.value_at_stake,
    c.reason,
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
FROM campaign_selection AS c
INNER JOIN customer_value AS v ON v.subscriber_id = c.subscriber_id
ORDER BY c.subscriber_id
