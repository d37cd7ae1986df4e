-- usage_by_file: usage per CDR extract, subscriber and UTC day: the parts usage_daily is summed from.
-- grain: one row per extract file, subscriber and UTC day with at least one valid event in that file.
-- inputs: stg_cdr (only the CDR files this run reads: new or re-extracted ones)
-- params: $cdr_utc_offset_s (the CDR time zone's standard offset from UTC, seconds)
-- Each extract's part is kept (table _usage_by_file), so a night that reads
-- one new file rebuilds the days it touches from the parts of the others,
-- without reading their raw CDR again. The sums are additive: a day is the
-- sum of its parts.
-- columns:
--   source_file    Utf8    the extract the events came from (its URL)
--   subscriber_id  Utf8    the subscriber
--   events         Int64   events of any type and direction
--   voice_calls    Int64   voice events, both directions
--   voice_seconds  Int64   duration_s summed over voice events, both directions
--   sms_count      Int64   sms events, both directions (mms not counted)
--   mms_count      Int64   mms events, both directions
--   data_sessions  Int64   data events
--   data_bytes     Int64   volume_bytes summed over data events
--   events_out     Int64   voice, sms and mms events the line made (direction out); data sessions,
--                          which have no other party, are not counted
--   events_in      Int64   voice, sms and mms events the line received (direction in)
--   voice_out_calls     Int64   voice calls the line made (direction out)
--   night_voice_out     Int64   of those, calls made between 00:00 and 05:59, the CDR's time zone
--                               (its standard offset: within an hour in summer time)
--   out_numbers_sketch  Int64   the numbers it called (voice, out) as a 64-bit sketch: BIT_OR of
--                               cvm_number_bit; 0 when it called none
--   event_date     Date32  the UTC day of the events (not the dt= folder they came in)
SELECT
    arrow_cast(c._file, 'Utf8') AS source_file,
    c.subscriber_id,
    COUNT(*) AS events,
    COUNT(*) FILTER (WHERE c.event_type = 'voice') AS voice_calls,
    COALESCE(SUM(c.duration_s) FILTER (WHERE c.event_type = 'voice'), 0) AS voice_seconds,
    COUNT(*) FILTER (WHERE c.event_type = 'sms') AS sms_count,
    COUNT(*) FILTER (WHERE c.event_type = 'mms') AS mms_count,
    COUNT(*) FILTER (WHERE c.event_type = 'data') AS data_sessions,
    COALESCE(SUM(c.volume_bytes) FILTER (WHERE c.event_type = 'data'), 0) AS data_bytes,
    COUNT(*) FILTER (WHERE c.event_type <> 'data' AND c.direction = 'out') AS events_out,
    COUNT(*) FILTER (WHERE c.event_type <> 'data' AND c.direction = 'in') AS events_in,
    COUNT(*) FILTER (WHERE c.event_type = 'voice' AND c.direction = 'out') AS voice_out_calls,
    COUNT(*) FILTER (
        WHERE c.event_type = 'voice' AND c.direction = 'out'
          -- local seconds into the day < 6 h, by integer arithmetic on the instant's microseconds
          AND (CAST(c.event_time AS BIGINT) / 1000000 + $cdr_utc_offset_s) % 86400 < 21600
    ) AS night_voice_out,
    COALESCE(BIT_OR(c.number_bit) FILTER (WHERE c.event_type = 'voice' AND c.direction = 'out'), 0)
        AS out_numbers_sketch,
    cvm_utc_date(c.event_time) AS event_date
FROM stg_cdr AS c
-- the file as text: grouped by its dictionary-encoded column, DataFusion falls back to its
-- row-by-row grouping for every key
GROUP BY arrow_cast(c._file, 'Utf8'), c.subscriber_id, cvm_utc_date(c.event_time)
ORDER BY event_date, source_file, c.subscriber_id
