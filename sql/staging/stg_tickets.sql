-- stg_tickets: customer-service contacts, typed and checked; times in UTC.
-- grain: one row per ticket as extracted.
-- inputs: raw_tickets; the staged subscribers' ids (cvm_known_subscriber, the subscriber rule)
-- params: $timestamp_format, $timezone
-- rejects: subscriber_id_missing, opened_at_missing, opened_at_invalid,
--   category_missing, category_invalid, unknown_subscriber.
-- warnings: resolved_at_invalid.
-- columns:
--   subscriber_id  Utf8                the subscriber who made contact
--   opened_at      Timestamp(us,UTC)  when the ticket was opened
--   category       Utf8                complaint, fault, inquiry, other
--   resolved_at    Timestamp(us,UTC)  when it was resolved; null while open
WITH typed AS (
    SELECT
        r._file,
        r._row,
        r._raw,
        -- the contract's columns as read, for a rejected row's raw record (never msisdn)
        named_struct(
            'subscriber_id', r.subscriber_id,
            'opened_at', r.opened_at,
            'category', r.category,
            'resolved_at', r.resolved_at
        ) AS _as_read,
        r._parse_error,
        r.subscriber_id,
        r.opened_at AS opened_at_text,
        cvm_to_timestamp(r.opened_at, CAST($timestamp_format AS VARCHAR), CAST($timezone AS VARCHAR)) AS opened_at,
        lower(r.category) AS category,
        r.resolved_at AS resolved_at_text,
        cvm_to_timestamp(r.resolved_at, CAST($timestamp_format AS VARCHAR), CAST($timezone AS VARCHAR)) AS resolved_at,
        cvm_known_subscriber(r.subscriber_id) AS subscriber_known
    FROM raw_tickets AS r
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
            WHEN opened_at_text IS NULL THEN 'opened_at_missing'
            WHEN opened_at IS NULL THEN 'opened_at_invalid'
            WHEN category IS NULL THEN 'category_missing'
            WHEN category NOT IN ('complaint', 'fault', 'inquiry', 'other') THEN 'category_invalid'
            WHEN NOT subscriber_known THEN 'unknown_subscriber'
        END AS _reject_rule,
        CASE WHEN resolved_at_text IS NOT NULL AND resolved_at IS NULL THEN 'resolved_at_invalid' ELSE '' END AS _warnings,
        subscriber_id,
        opened_at,
        category,
        resolved_at
    FROM typed
)

SELECT
    * EXCLUDE (_raw, _as_read),
    -- a rejected row's record: its shape if it is broken, else its contract columns as read
    CASE WHEN _reject_rule IS NOT NULL THEN coalesce(_raw, cvm_raw_record(_as_read)) END AS _raw
FROM judged
