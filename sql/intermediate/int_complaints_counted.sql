-- int_complaints_counted: complaints opened in the last 90 UTC days, resolved or not.
-- grain: one row per subscriber with at least one such complaint.
-- inputs: stg_tickets
-- params: $as_of (T)
-- columns:
--   subscriber_id   Utf8   the subscriber
--   complaints_90d  Int64  tickets of category complaint opened on T-89 .. T (UTC days)
WITH params AS (
    SELECT
        CAST($as_of AS DATE) AS as_of,
        CAST(CAST($as_of AS DATE) - INTERVAL '89' DAY AS DATE) AS start_90d
)

SELECT
    t.subscriber_id,
    COUNT(*) AS complaints_90d
FROM stg_tickets AS t
CROSS JOIN params AS p
WHERE t.category = 'complaint'
    AND CAST(t.opened_at AS DATE) BETWEEN p.start_90d AND p.as_of
GROUP BY t.subscriber_id
