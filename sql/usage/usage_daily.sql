-- usage_daily: usage per subscriber and UTC day, the base of every usage window.
-- grain: one row per subscriber and UTC day with at least one valid event.
-- partitioning: event_date=YYYY-MM-DD (the UTC day of the events, not the dt= folder they came in)
-- inputs: usage_by_file (every extract's part of the days this run rebuilds)
-- Built incrementally: a run rebuilds only the days its new or re-extracted
-- CDR files touch, from the parts of every extract of those days; the other
-- days stay as published. It holds every day of the CDR folded so far (the
-- windows read the days up to T).
-- columns:
--   subscriber_id  Utf8    the subscriber
--   events         Int64   events of any type and direction
--   voice_calls    Int64   voice events, both directions
--   voice_seconds  Int64   duration_s summed over voice events, both directions
--   sms_count      Int64   sms events, both directions (mms not counted)
--   mms_count      Int64   mms events, both directions
--   data_sessions  Int64   data events
--   data_bytes     Int64   volume_bytes summed over data events
--   events_out     Int64   voice, sms and mms events the line made (direction out; data not counted);
--                          null for days folded before cvm counted directions
--   events_in      Int64   voice, sms and mms events the line received (direction in); null likewise
--   voice_out_calls     Int64   voice calls the line made (direction out); null for days folded before
--                               cvm counted them
--   night_voice_out     Int64   of those, calls made between 00:00 and 05:59 in the CDR's time zone
--                               (its standard offset); null likewise
--   out_numbers_sketch  Int64   the numbers it called (voice, out) as a 64-bit sketch (BIT_OR of
--                               cvm_number_bit): merge days with BIT_OR; null likewise
--   voice_out_numbers   Int64   distinct numbers it called that day, estimated from the sketch
--                               (linear counting: about ±15% at 40, at most 266); null likewise
--   event_date     Date32  the UTC day (partition column)
SELECT
    p.subscriber_id,
    CAST(SUM(p.events) AS BIGINT) AS events,
    CAST(SUM(p.voice_calls) AS BIGINT) AS voice_calls,
    CAST(SUM(p.voice_seconds) AS BIGINT) AS voice_seconds,
    CAST(SUM(p.sms_count) AS BIGINT) AS sms_count,
    CAST(SUM(p.mms_count) AS BIGINT) AS mms_count,
    CAST(SUM(p.data_sessions) AS BIGINT) AS data_sessions,
    CAST(SUM(p.data_bytes) AS BIGINT) AS data_bytes,
    CAST(SUM(p.events_out) AS BIGINT) AS events_out,
    CAST(SUM(p.events_in) AS BIGINT) AS events_in,
    CAST(SUM(p.voice_out_calls) AS BIGINT) AS voice_out_calls,
    CAST(SUM(p.night_voice_out) AS BIGINT) AS night_voice_out,
    BIT_OR(p.out_numbers_sketch) AS out_numbers_sketch,
    cvm_sketch_count(BIT_OR(p.out_numbers_sketch)) AS voice_out_numbers,
    p.event_date
FROM usage_by_file AS p
GROUP BY p.subscriber_id, p.event_date
ORDER BY p.event_date, p.subscriber_id
