-- stg_optouts: do-not-contact requests, typed and checked.
-- grain: one row per opt-out as extracted.
-- inputs: raw_optouts; the staged subscribers' ids (cvm_known_subscriber, the subscriber rule)
-- params: $date_format
-- rejects: subscriber_id_missing, unknown_subscriber.
-- warnings: since_invalid (the opt-out then holds from the beginning: an opt-out is never
--   dropped for a bad date, since contacting an opted-out subscriber is the worse error).
-- columns:
--   subscriber_id  Utf8    the subscriber who opted out
--   channel        Utf8    the channel refused (sms, email, call, ...); null = every channel
--   since          Date32  first day of the opt-out; null = always
WITH typed AS (
    SELECT
        r._file,
        r._row,
        r._raw,
        -- the contract's columns as read, for a rejected row's raw record (never msisdn)
        named_struct(
            'subscriber_id', r.subscriber_id,
            'channel', r.channel,
            'since', r.since
        ) AS _as_read,
        r._parse_error,
        r.subscriber_id,
        lower(r.channel) AS channel,
        r.since AS since_text,
        cvm_to_date(r.since, CAST($date_format AS VARCHAR)) AS since,
        cvm_known_subscriber(r.subscriber_id) AS subscriber_known
    FROM raw_optouts AS r
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
            WHEN NOT subscriber_known THEN 'unknown_subscriber'
        END AS _reject_rule,
        CASE WHEN since_text IS NOT NULL AND since IS NULL THEN 'since_invalid' ELSE '' END AS _warnings,
        subscriber_id,
        channel,
        since
    FROM typed
)

SELECT
    * EXCLUDE (_raw, _as_read),
    -- a rejected row's record: its shape if it is broken, else its contract columns as read
    CASE WHEN _reject_rule IS NOT NULL THEN coalesce(_raw, cvm_raw_record(_as_read)) END AS _raw
FROM judged
