-- int_churn_features: the churn model's inputs for every subscriber active at $as_of, and its label.
-- grain: one row per subscriber active at $as_of.
-- inputs: int_subscriber_features, stg_subscribers
-- params: $as_of (the day the features describe), $churn_horizon_end ($as_of + H), $churn_seed
-- The run evaluates this file at T - 2H and T - H (training and back-test, where the label is
-- known) and at T (scoring, where it is not). Gaps are filled so every row scores: no ARPU -> 0,
-- no trend -> 1 (flat), no usage event -> recency 90 days. Heavy-tailed usage enters as ln(1 + x).
-- columns:
--   subscriber_id               Utf8     the subscriber
--   tenure_months               Float64  whole months in service
--   arpu_3m                     Float64  ARPU over L-2 .. L (0 when none)
--   arpu_trend                  Float64  arpu_trend clipped to [0, 3] (1 when undefined)
--   recency_days                Float64  days since the last usage event, capped at 90
--   active_days_30d             Float64  days with usage in the last 30 days
--   log_mou_30d                 Float64  ln(1 + voice minutes, last 30 days)
--   log_data_mb_30d             Float64  ln(1 + data MiB, last 30 days)
--   usage_trend                 Float64  voice minutes of the last 30 days over a third of the last 90, in [0, 3] (1
--                                        when none)
--   complaints_90d              Float64  complaints opened in the last 90 days
--   is_prepaid                  Float64  1 for prepaid, 0 for postpaid
--   sample_key                  Float64  uniform in [0, 1) from subscriber_id and the seed: a training sample of share
--                                        s is the rows with sample_key < s
--   deactivates_within_horizon  Boolean  deactivation_date in ($as_of, $as_of + H]: the label
SELECT
    f.subscriber_id,
    CAST(f.tenure_months AS DOUBLE) AS tenure_months,
    COALESCE(CAST(f.arpu_3m AS DOUBLE), 0.0) AS arpu_3m,
    LEAST(GREATEST(COALESCE(f.arpu_trend, 1.0), 0.0), 3.0) AS arpu_trend,
    CAST(LEAST(COALESCE(f.recency_days, 90), 90) AS DOUBLE) AS recency_days,
    CAST(f.active_days_30d AS DOUBLE) AS active_days_30d,
    ln(1.0 + f.mou_30d) AS log_mou_30d,
    ln(1.0 + f.data_mb_30d) AS log_data_mb_30d,
    CASE WHEN f.mou_90d > 0 THEN LEAST(3.0 * f.mou_30d / f.mou_90d, 3.0) ELSE 1.0 END AS usage_trend,
    CAST(f.complaints_90d AS DOUBLE) AS complaints_90d,
    CASE WHEN f.plan_type = 'prepaid' THEN 1.0 ELSE 0.0 END AS is_prepaid,
    cvm_hash_unit(f.subscriber_id, $churn_seed) AS sample_key,
    COALESCE(
        s.deactivation_date > CAST($as_of AS DATE) AND s.deactivation_date <= CAST($churn_horizon_end AS DATE), false
    )
        AS deactivates_within_horizon
FROM int_subscriber_features AS f
INNER JOIN stg_subscribers AS s ON s.subscriber_id = f.subscriber_id
WHERE f.is_active
