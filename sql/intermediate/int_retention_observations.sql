-- int_retention_observations: postpaid survival by cohort group, the sBG model's input.
-- grain: one row per cohort_group x periods x churned, over postpaid subscribers known at T.
-- inputs: int_subscriber_features, int_cohort_groups
-- A line still in service at T survived `periods` = tenure_months whole months (right-censored);
-- a line that ended on or before T was lost in month tenure_months + 1. Time unit: calendar month.
-- columns:
--   cohort_group  Utf8     retention model group (int_cohort_groups)
--   periods       Int32    whole months in service
--   churned       Boolean  the line ended on or before T
--   subscribers   Int64    lines with this observation
SELECT
    g.cohort_group,
    f.tenure_months AS periods,
    NOT f.is_active AS churned,
    COUNT(*) AS subscribers
FROM int_subscriber_features AS f
INNER JOIN int_cohort_groups AS g ON g.subscriber_id = f.subscriber_id
WHERE f.plan_type = 'postpaid'
GROUP BY g.cohort_group, f.tenure_months, NOT f.is_active
