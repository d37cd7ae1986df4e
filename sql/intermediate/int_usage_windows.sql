-- int_usage_windows: recency and usage over the last 7, 30 and 90 UTC days (T-N+1 .. T).
-- grain: one row per subscriber with at least one event on or before T.
-- inputs: usage_daily
-- params: $as_of (T)
-- One scan of usage_daily's last 90 days gives customer_value's usage columns and the windows
-- the churn model's usage trends compare (int_churn_features): the last 7 and 30 days against
-- the 90. The window bounds are constants, not columns of a one-row params table: a join
-- filtered on such columns is a nested loop over every usage_daily row.
-- columns:
--   subscriber_id    Utf8     the subscriber
--   recency_days     Int32    T minus the UTC day of the last event on or before T
--   active_days_7d   Int32    distinct UTC days with an event in the last 7 days
--   active_days_30d  Int32    distinct UTC days with an event in the last 30 days
--   active_days_90d  Int32    distinct UTC days with an event in the last 90 days
--   events_7d        Int64    events of any type and direction, last 7 days
--   events_30d       Int64    the same, last 30 days
--   events_90d       Int64    the same, last 90 days
--   mou_7d           Float64  voice minutes (duration_s / 60), both directions, last 7 days
--   mou_30d          Float64  the same over the last 30 days
--   mou_90d          Float64  the same over the last 90 days
--   data_mb_7d       Float64  data volume in MiB (bytes / 2^20), last 7 days
--   data_mb_30d      Float64  the same, last 30 days
--   data_mb_90d      Float64  the same, last 90 days
--   sms_7d           Int64    sms events, both directions, last 7 days
--   sms_30d          Int64    the same, last 30 days
--   sms_90d          Int64    the same, last 90 days
--   events_out_30d   Int64    voice, sms and mms events made (direction out), last 30 days
--   events_in_30d    Int64    the same received (direction in), last 30 days
--   events_out_90d   Int64    events made, last 90 days
--   events_in_90d    Int64    events received, last 90 days
WITH recent AS (
    SELECT
        subscriber_id,
        event_date,
        event_date >= CAST($as_of - INTERVAL '6' DAY AS DATE) AS in_7d,
        event_date >= CAST($as_of - INTERVAL '29' DAY AS DATE) AS in_30d,
        event_date >= CAST($as_of - INTERVAL '89' DAY AS DATE) AS in_90d,
        events,
        voice_seconds,
        data_bytes,
        sms_count,
        events_out,
        events_in
    FROM usage_daily
    WHERE event_date <= CAST($as_of AS DATE)
)

SELECT
    subscriber_id,
    CAST(CAST(CAST($as_of AS DATE) AS INT) - CAST(MAX(event_date) AS INT) AS INT) AS recency_days,
    CAST(COUNT(*) FILTER (WHERE in_7d) AS INT) AS active_days_7d,
    CAST(COUNT(*) FILTER (WHERE in_30d) AS INT) AS active_days_30d,
    CAST(COUNT(*) FILTER (WHERE in_90d) AS INT) AS active_days_90d,
    COALESCE(SUM(events) FILTER (WHERE in_7d), 0) AS events_7d,
    COALESCE(SUM(events) FILTER (WHERE in_30d), 0) AS events_30d,
    COALESCE(SUM(events) FILTER (WHERE in_90d), 0) AS events_90d,
    CAST(COALESCE(SUM(voice_seconds) FILTER (WHERE in_7d), 0) AS DOUBLE) / 60.0 AS mou_7d,
    CAST(COALESCE(SUM(voice_seconds) FILTER (WHERE in_30d), 0) AS DOUBLE) / 60.0 AS mou_30d,
    CAST(COALESCE(SUM(voice_seconds) FILTER (WHERE in_90d), 0) AS DOUBLE) / 60.0 AS mou_90d,
    CAST(COALESCE(SUM(data_bytes) FILTER (WHERE in_7d), 0) AS DOUBLE) / 1048576.0 AS data_mb_7d,
    CAST(COALESCE(SUM(data_bytes) FILTER (WHERE in_30d), 0) AS DOUBLE) / 1048576.0 AS data_mb_30d,
    CAST(COALESCE(SUM(data_bytes) FILTER (WHERE in_90d), 0) AS DOUBLE) / 1048576.0 AS data_mb_90d,
    COALESCE(SUM(sms_count) FILTER (WHERE in_7d), 0) AS sms_7d,
    COALESCE(SUM(sms_count) FILTER (WHERE in_30d), 0) AS sms_30d,
    COALESCE(SUM(sms_count) FILTER (WHERE in_90d), 0) AS sms_90d,
    COALESCE(SUM(events_out) FILTER (WHERE in_30d), 0) AS events_out_30d,
    COALESCE(SUM(events_in) FILTER (WHERE in_30d), 0) AS events_in_30d,
    COALESCE(SUM(events_out) FILTER (WHERE in_90d), 0) AS events_out_90d,
    COALESCE(SUM(events_in) FILTER (WHERE in_90d), 0) AS events_in_90d
FROM recent
GROUP BY subscriber_id
