-- int_usage_windows: recency and usage over the last 30 and 90 UTC days (T-N+1 .. T).
-- grain: one row per subscriber with at least one event on or before T.
-- inputs: usage_daily
-- params: $as_of (T)
-- The window bounds are constants, not columns of a one-row params table: a join filtered on
-- such columns is a nested loop over every usage_daily row.
-- columns:
--   subscriber_id    Utf8     the subscriber
--   recency_days     Int32    T minus the UTC day of the last event on or before T
--   active_days_30d  Int32    distinct UTC days with an event in the last 30 days
--   mou_30d          Float64  voice minutes (duration_s / 60), both directions, last 30 days
--   mou_90d          Float64  the same over the last 90 days
--   data_mb_30d      Float64  data volume in MiB (bytes / 2^20), last 30 days
--   sms_30d          Int64    sms events, both directions, last 30 days
SELECT
    subscriber_id,
    CAST(CAST(CAST($as_of AS DATE) AS INT) - CAST(MAX(event_date) AS INT) AS INT) AS recency_days,
    CAST(COUNT(*) FILTER (WHERE event_date >= CAST($as_of - INTERVAL '29' DAY AS DATE)) AS INT) AS active_days_30d,
    CAST(COALESCE(SUM(voice_seconds) FILTER (WHERE event_date >= CAST($as_of - INTERVAL '29' DAY AS DATE)), 0) AS DOUBLE)
        / 60.0 AS mou_30d,
    CAST(COALESCE(SUM(voice_seconds) FILTER (WHERE event_date >= CAST($as_of - INTERVAL '89' DAY AS DATE)), 0) AS DOUBLE)
        / 60.0 AS mou_90d,
    CAST(COALESCE(SUM(data_bytes) FILTER (WHERE event_date >= CAST($as_of - INTERVAL '29' DAY AS DATE)), 0) AS DOUBLE)
        / 1048576.0 AS data_mb_30d,
    COALESCE(SUM(sms_count) FILTER (WHERE event_date >= CAST($as_of - INTERVAL '29' DAY AS DATE)), 0) AS sms_30d
FROM usage_daily
WHERE event_date <= CAST($as_of AS DATE)
GROUP BY subscriber_id
