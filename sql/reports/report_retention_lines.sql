-- report_retention_lines: each postpaid line's tenure and whether it is still active, by cohort group,
-- for the observed (Kaplan-Meier) survival the report draws beside the fitted one.
-- grain: one row per postpaid line of snapshot T.
-- inputs: customer_value (published); $as_of = T
-- columns:
--   cohort_group   Utf8     the line's cohort group
--   tenure_months  Int32    its tenure in whole months
--   is_active      Boolean  whether it is active at T
SELECT
    cohort_group,
    tenure_months,
    is_active
FROM customer_value
WHERE snapshot_date = $as_of AND plan_type = 'postpaid'
