-- usage_daily: usage per subscriber and UTC day, the base of every usage window.
-- grain: one row per subscriber and UTC day with at least one valid event on or before T.
-- partitioning: event_date=YYYY-MM-DD (the UTC day of the events, not the dt= folder they came in)
-- inputs: stg_cdr
-- params: $as_of
-- columns:
--   subscriber_id  Utf8    the subscriber
--   events         Int64   events of any type and direction
--   voice_calls    Int64   voice events, both directions
--   voice_seconds  Int64   duration_s summed over voice events, both directions
--   sms_count      Int64   sms events, both directions (mms not counted)
--   mms_count      Int64   mms events, both directions
--   data_sessions  Int64   data events
--   data_bytes     Int64   volume_bytes summed over data events
--   event_date     Date32  the UTC day (partition column)
WITH params AS (
    SELECT CAST($as_of AS DATE) AS as_of
),

events AS (
    SELECT
        c.subscriber_id,
        CAST(c.event_time AS DATE) AS event_date,
        c.event_type,
        c.duration_s,
        c.volume_bytes
    FROM stg_cdr AS c
)

SELECT
    e.subscriber_id,
    COUNT(*) AS events,
    COUNT(*) FILTER (WHERE e.event_type = 'voice') AS voice_calls,
    COALESCE(SUM(e.duration_s) FILTER (WHERE e.event_type = 'voice'), 0) AS voice_seconds,
    COUNT(*) FILTER (WHERE e.event_type = 'sms') AS sms_count,
    COUNT(*) FILTER (WHERE e.event_type = 'mms') AS mms_count,
    COUNT(*) FILTER (WHERE e.event_type = 'data') AS data_sessions,
    COALESCE(SUM(e.volume_bytes) FILTER (WHERE e.event_type = 'data'), 0) AS data_bytes,
    e.event_date
FROM events AS e
CROSS JOIN params AS p
WHERE e.event_date <= p.as_of
GROUP BY e.subscriber_id, e.event_date
ORDER BY e.event_date, e.subscriber_id
