-- int_cohort_groups: the groups each subscriber is modelled and compared in.
-- grain: one row per subscriber known at T.
-- inputs: stg_subscribers
-- params: $cohort_by_segment, $cohort_by_region (retention cohort groups, always split by
--   plan_type), $peer_by_plan_type, $peer_by_segment, $peer_by_region (ARPU peer groups)
-- A group is its parts joined with '|' in the order plan_type|segment|region, parts not
-- grouped on left out; a peer group on nothing is 'all'.
-- columns:
--   subscriber_id  Utf8  the subscriber
--   cohort_group   Utf8  retention model group, e.g. postpaid|consumer
--   peer_group     Utf8  ARPU peer group for potential_value, e.g. postpaid|consumer
SELECT
    subscriber_id,
    concat_ws(
        '|',
        plan_type,
        CASE WHEN $cohort_by_segment THEN COALESCE(segment, '(none)') END,
        CASE WHEN $cohort_by_region THEN COALESCE(region, '(none)') END
    ) AS cohort_group,
    COALESCE(
        NULLIF(
            concat_ws(
                '|',
                CASE WHEN $peer_by_plan_type THEN plan_type END,
                CASE WHEN $peer_by_segment THEN COALESCE(segment, '(none)') END,
                CASE WHEN $peer_by_region THEN COALESCE(region, '(none)') END
            ),
            ''
        ),
        'all'
    ) AS peer_group
FROM stg_subscribers
