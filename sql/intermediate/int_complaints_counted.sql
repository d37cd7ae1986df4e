-- int_complaints_counted: complaints opened in the last 90 UTC days, resolved or not.
-- grain: one row per subscriber with at least one such complaint.
-- inputs: stg_tickets
-- params: $as_of (T)
-- columns:
--   subscriber_id   Utf8   the subscriber
--   complaints_90d  Int64  tickets of category complaint opened on T-89 .. T (UTC days)
SELECT
    subscriber_id,
    COUNT(*) AS complaints_90d
FROM stg_tickets
WHERE category = 'complaint'
    AND CAST(opened_at AS DATE) BETWEEN CAST($as_of - INTERVAL '89' DAY AS DATE) AND CAST($as_of AS DATE)
GROUP BY subscriber_id
