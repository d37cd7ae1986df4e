-- uplift_features: what an uplift model knows of a line on a night, from that night's customer_value.
-- grain: one row per subscriber and night of the source.
-- inputs: uplift_feature_source (customer_value rows with their snapshot_date: the published snapshots of a
--   campaign's waves when the model is fitted, tonight's when it scores the list), registered by cvm
-- The one place the features are computed: uplift_observations.sql (training) and uplift_candidates.sql
-- (scoring) both read them here, so a model fitted on the waves reads tonight's lines the same way.
-- The model takes a line's risk from churn_log_odds and learns, by segment and plan type, the share of that
-- risk a contact avoids (src/maths/uplift.rs says why no more features).
-- columns:
--   snapshot_date   Date32   the night
--   subscriber_id   Utf8     the line
--   churn_log_odds  Float64  the churn model's log-odds, ln(r / (1 - r)) of churn_risk r held inside
--                            [0.0001, 0.9999] (r = 0.0001 when the line has none)
--   segment         Utf8     marketing segment ('unknown' when none)
--   plan_type       Utf8     prepaid or postpaid ('unknown' when none)
SELECT
    snapshot_date,
    subscriber_id,
    ln(risk / (1 - risk)) AS churn_log_odds,
    segment,
    plan_type
FROM (
    SELECT
        CAST(v.snapshot_date AS DATE) AS snapshot_date,
        v.subscriber_id,
        greatest(least(CAST(COALESCE(v.churn_risk, 0) AS DOUBLE), 0.9999), 0.0001) AS risk,
        arrow_cast(COALESCE(v.segment, 'unknown'), 'Utf8') AS segment,
        arrow_cast(COALESCE(v.plan_type, 'unknown'), 'Utf8') AS plan_type
    FROM uplift_feature_source AS v
) AS line
