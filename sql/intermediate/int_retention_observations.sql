-- int_retention_observations: postpaid survival by cohort group, the sBG model's input.
-- grain: one row per cohort_group x periods x churned, over postpaid subscribers known at T.
-- inputs: int_subscriber_features, int_cohort_groups, stg_subscribers
-- params: $as_of (T)
-- Time unit: the calendar month, counted age style from the activation date (docs/models.md).
-- A line still in service at T completed `periods` = tenure_months whole months (right-censored:
-- it contributes S(periods)). A line that ended was lost in the period it did not complete:
--   - ended exactly on an anniversary of its activation (same day of month, at least one month
--     in): it served tenure_months whole periods and did not renew, so its lifetime is
--     tenure_months and it completed tenure_months - 1 before the one it was lost in;
--   - ended any other day: it started period tenure_months + 1 and left during it, so it
--     completed tenure_months.
-- Term contracts end on anniversaries, so real bases hold many lines of the first kind.
-- columns:
--   cohort_group  Utf8     retention model group (int_cohort_groups)
--   periods       Int32    whole months completed before the month the line was lost in (ended
--                          lines), or in service so far (lines in service at T)
--   churned       Boolean  the line ended on or before T: lost in month periods + 1
--   subscribers   Int64    lines with this observation
WITH observed AS (
    SELECT
        g.cohort_group,
        NOT f.is_active AS churned,
        CASE
            WHEN NOT f.is_active
                AND f.tenure_months >= 1
                AND date_part('day', s.deactivation_date) = date_part('day', s.activation_date)
                THEN f.tenure_months - 1
            ELSE f.tenure_months
        END AS periods
    FROM int_subscriber_features AS f
    INNER JOIN int_cohort_groups AS g ON g.subscriber_id = f.subscriber_id
    INNER JOIN stg_subscribers AS s ON s.subscriber_id = f.subscriber_id
    WHERE f.plan_type = 'postpaid' AND s.activation_date <= CAST($as_of AS DATE)
)

SELECT cohort_group, CAST(periods AS INT) AS periods, churned, COUNT(*) AS subscribers
FROM observed
GROUP BY cohort_group, periods, churned
