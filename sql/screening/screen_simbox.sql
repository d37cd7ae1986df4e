-- screen_simbox: lines that behave like a SIM box, a gateway that turns bulk traffic into local calls.
-- grain: one row per line in service at T on which the rule fires.
-- inputs: usage_daily (the days $screen_from .. T), int_tenure_computed
-- params: $as_of (T), $screen_from, $simbox_weight, $simbox_min_calls_per_day,
--   $simbox_min_numbers_per_day, $simbox_max_incoming_share, $simbox_max_other_events_per_day,
--   $simbox_min_night_share
-- Every threshold must hold, per day with any usage in the window: many outgoing calls, to many
-- distinct numbers (estimated from the day's sketch: the numbers never leave the engine), almost
-- nothing incoming, no sms, mms or data, and a share of the calls at night (00:00-05:59) that a
-- person does not make. Days folded before cvm counted these have nulls: the rule cannot fire on them.
-- columns:
--   subscriber_id  Utf8     the line
--   rule           Utf8     simbox
--   weight         Float64  the rule's weight in the fraud score
--   figure         Float64  distinct numbers called a day, on average over the days it called
--   reason         Utf8     the rule in words, with the line's figures
WITH window_usage AS (
    SELECT
        u.subscriber_id,
        CAST(COUNT(*) AS DOUBLE) AS active_days,
        CAST(SUM(u.voice_out_calls) AS DOUBLE) AS calls_out,
        CAST(SUM(u.voice_calls - u.voice_out_calls) AS DOUBLE) AS calls_in,
        CAST(SUM(u.sms_count + u.mms_count + u.data_sessions) AS DOUBLE) AS other_events,
        CAST(SUM(u.night_voice_out) AS DOUBLE) AS night_calls,
        AVG(CAST(u.voice_out_numbers AS DOUBLE)) FILTER (WHERE u.voice_out_calls > 0) AS numbers_per_day
    FROM usage_daily AS u
    WHERE u.event_date >= CAST($screen_from AS DATE) AND u.event_date <= CAST($as_of AS DATE)
    GROUP BY u.subscriber_id
),

measured AS (
    SELECT
        w.subscriber_id,
        w.active_days,
        w.calls_out / w.active_days AS calls_per_day,
        w.numbers_per_day,
        w.calls_in / (w.calls_in + w.calls_out) AS incoming_share,
        w.other_events / w.active_days AS other_events_per_day,
        w.night_calls / w.calls_out AS night_share
    FROM int_tenure_computed AS t
    INNER JOIN window_usage AS w ON w.subscriber_id = t.subscriber_id
    WHERE t.is_active
      AND w.calls_out > 0
)

SELECT
    m.subscriber_id,
    'simbox' AS rule,
    CAST($simbox_weight AS DOUBLE) AS weight,
    m.numbers_per_day AS figure,
    arrow_cast(concat(
        'outgoing voice to about ', CAST(CAST(round(m.numbers_per_day) AS BIGINT) AS VARCHAR),
        ' distinct numbers a day (', CAST(CAST(round(m.calls_per_day) AS BIGINT) AS VARCHAR),
        ' calls a day over ', CAST(CAST(m.active_days AS BIGINT) AS VARCHAR), ' days, ',
        CAST(CAST(round(100 * m.night_share) AS BIGINT) AS VARCHAR), '% at night), ',
        CAST(CAST(round(100 * m.incoming_share) AS BIGINT) AS VARCHAR), '% incoming, ',
        CAST(round(m.other_events_per_day, 1) AS VARCHAR), ' sms, mms or data sessions a day'
    ), 'Utf8') AS reason
FROM measured AS m
WHERE m.calls_per_day >= $simbox_min_calls_per_day
  AND m.numbers_per_day >= $simbox_min_numbers_per_day
  AND m.incoming_share <= $simbox_max_incoming_share
  AND m.other_events_per_day <= $simbox_max_other_events_per_day
  AND m.night_share >= $simbox_min_night_share
