-- uplift_candidates: tonight's selection of a campaign with the features its uplift model scores.
-- grain: one row per subscriber the campaign's selection returned.
-- inputs: campaign_selection (the campaign's selection, registered by cvm), uplift_features (over tonight's
--   customer_value)
-- columns:
--   subscriber_id   Utf8              the line
--   score           Float64           the selection's own score
--   value_at_stake  Decimal128(18,4)  the selection's value at stake
--   reason          Utf8              the selection's reason
--   churn_log_odds  Float64           tonight's churn log-odds (uplift_features.sql)
--   segment         Utf8              marketing segment ('unknown' when none)
--   plan_type       Utf8              prepaid or postpaid
SELECT
    c.subscriber_id,
    c.score,
    c.value_at_stake,
    c.reason,
    f.* EXCLUDE (snapshot_date, subscriber_id)
FROM campaign_selection AS c
INNER JOIN uplift_features AS f ON f.subscriber_id = c.subscriber_id
ORDER BY c.subscriber_id
