-- stg_cdr: usage events, typed and checked; times in UTC. other_party only as its sketch bit.
-- grain: one row per usage event as extracted.
-- inputs: raw_cdr; the staged subscribers' ids (cvm_known_subscriber, the subscriber rule)
-- params: $timestamp_format, $timezone
-- rejects: subscriber_id_missing, event_time_missing, event_time_invalid,
--   event_type_missing, event_type_invalid, duration_s_invalid, volume_bytes_invalid
--   (present but not a whole number >= 0), unknown_subscriber.
-- warnings: direction_invalid, charged_amount_invalid, roaming_invalid.
-- columns:
--   subscriber_id   Utf8                 the subscriber whose line made or received the event
--   event_time      Timestamp(us,UTC)   when the event happened
--   event_type      Utf8                 voice, sms, data, mms
--   direction       Utf8                 out, in
--   duration_s      Int64                seconds (voice calls and data sessions)
--   volume_bytes    Int64                bytes (data)
--   charged_amount  Decimal128(18,4)     rated charge
--   roaming         Boolean              event while roaming
--   number_bit      Int64                the other party's bit of a distinct-number sketch (cvm_number_bit):
--                                        one of 64 bits, never the number; null without an other party
WITH typed AS (
    SELECT
        r._file,
        r._row,
        r._raw,
        -- the contract's columns as read, for a rejected row's raw record (never msisdn)
        named_struct(
            'subscriber_id', r.subscriber_id,
            'event_time', r.event_time,
            'event_type', r.event_type,
            'direction', r.direction,
            'duration_s', r.duration_s,
            'volume_bytes', r.volume_bytes,
            'charged_amount', r.charged_amount,
            'roaming', r.roaming
        ) AS _as_read,
        r._parse_error,
        r.subscriber_id,
        r.event_time AS event_time_text,
        cvm_to_timestamp(r.event_time, CAST($timestamp_format AS VARCHAR), CAST($timezone AS VARCHAR)) AS event_time,
        lower(r.event_type) AS event_type,
        lower(r.direction) AS direction_text,
        r.duration_s AS duration_s_text,
        cvm_whole(r.duration_s, 15) AS duration_s,
        r.volume_bytes AS volume_bytes_text,
        cvm_whole(r.volume_bytes, 18) AS volume_bytes,
        r.charged_amount AS charged_amount_text,
        cvm_money(r.charged_amount) AS charged_amount,
        r.roaming AS roaming_text,
        TRY_CAST(r.roaming AS BOOLEAN) AS roaming,
        -- the number itself stops here: only its bit goes on
        cvm_number_bit(r.other_party) AS number_bit,
        cvm_known_subscriber(r.subscriber_id) AS subscriber_known
    FROM raw_cdr AS r
),

judged AS (
    SELECT
        _file,
        _row,
        _raw,
        _as_read,
        CASE
            WHEN _parse_error IS NOT NULL THEN _parse_error
            WHEN subscriber_id IS NULL THEN 'subscriber_id_missing'
            WHEN event_time_text IS NULL THEN 'event_time_missing'
            WHEN event_time IS NULL THEN 'event_time_invalid'
            WHEN event_type IS NULL THEN 'event_type_missing'
            WHEN event_type NOT IN ('voice', 'sms', 'data', 'mms') THEN 'event_type_invalid'
            WHEN duration_s_text IS NOT NULL AND duration_s IS NULL THEN 'duration_s_invalid'
            WHEN volume_bytes_text IS NOT NULL AND volume_bytes IS NULL THEN 'volume_bytes_invalid'
            WHEN NOT subscriber_known THEN 'unknown_subscriber'
        END AS _reject_rule,
        concat_ws(',',
            CASE WHEN direction_text IS NOT NULL AND direction_text NOT IN ('out', 'in') THEN 'direction_invalid' END,
            CASE WHEN charged_amount_text IS NOT NULL AND charged_amount IS NULL THEN 'charged_amount_invalid' END,
            CASE WHEN roaming_text IS NOT NULL AND roaming IS NULL THEN 'roaming_invalid' END
        ) AS _warnings,
        subscriber_id,
        event_time,
        event_type,
        CASE WHEN direction_text IN ('out', 'in') THEN direction_text END AS direction,
        duration_s,
        volume_bytes,
        charged_amount,
        roaming,
        number_bit
    FROM typed
)

SELECT
    * EXCLUDE (_raw, _as_read),
    -- a rejected row's record: its shape if it is broken, else its contract columns as read
    CASE WHEN _reject_rule IS NOT NULL THEN coalesce(_raw, cvm_raw_record(_as_read)) END AS _raw
FROM judged
