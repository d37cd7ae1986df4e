-- int_usage_windows: recency and usage over the last 30 and 90 UTC days (T-N+1 .. T).
-- grain: one row per subscriber with at least one event on or before T.
-- inputs: usage_daily
-- params: $as_of (T)
-- columns:
--   subscriber_id    Utf8     the subscriber
--   recency_days     Int32    T minus the UTC day of the last event on or before T
--   active_days_30d  Int32    distinct UTC days with an event in the last 30 days
--   mou_30d          Float64  voice minutes (duration_s / 60), both directions, last 30 days
--   mou_90d          Float64  the same over the last 90 days
--   data_mb_30d      Float64  data volume in MiB (bytes / 2^20), last 30 days
--   sms_30d          Int64    sms events, both directions, last 30 days
WITH params AS (
    SELECT
        CAST($as_of AS DATE) AS as_of,
        CAST(CAST($as_of AS DATE) - INTERVAL '29' DAY AS DATE) AS start_30d,
        CAST(CAST($as_of AS DATE) - INTERVAL '89' DAY AS DATE) AS start_90d
)

SELECT
    u.subscriber_id,
    CAST(CAST(p.as_of AS INT) - CAST(MAX(u.event_date) AS INT) AS INT) AS recency_days,
    CAST(COUNT(*) FILTER (WHERE u.event_date >= p.start_30d) AS INT) AS active_days_30d,
    CAST(COALESCE(SUM(u.voice_seconds) FILTER (WHERE u.event_date >= p.start_30d), 0) AS DOUBLE) / 60.0 AS mou_30d,
    CAST(COALESCE(SUM(u.voice_seconds) FILTER (WHERE u.event_date >= p.start_90d), 0) AS DOUBLE) / 60.0 AS mou_90d,
    CAST(COALESCE(SUM(u.data_bytes) FILTER (WHERE u.event_date >= p.start_30d), 0) AS DOUBLE) / 1048576.0
        AS data_mb_30d,
    COALESCE(SUM(u.sms_count) FILTER (WHERE u.event_date >= p.start_30d), 0) AS sms_30d
FROM usage_daily AS u
CROSS JOIN params AS p
WHERE u.event_date <= p.as_of
GROUP BY u.subscriber_id, p.as_of
