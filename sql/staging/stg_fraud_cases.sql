-- stg_fraud_cases: the fraud team's confirmed cases (optional source), typed and checked: the labels
--   the screening's supervised fraud model learns from (src/stages/screening/fraud_model.rs).
-- grain: one row per confirmed case as extracted.
-- inputs: raw_fraud_cases; the staged subscribers' ids (cvm_known_subscriber, the subscriber rule)
-- params: $as_of, $date_format
-- rejects: subscriber_id_missing, confirmed_date_missing, confirmed_date_invalid,
--   confirmed_after_snapshot (a case cannot be confirmed after T), unknown_subscriber.
-- columns:
--   subscriber_id   Utf8    the line the case is about
--   confirmed_date  Date32  the day the fraud team confirmed the case
--   fraud_type      Utf8    the kind of fraud as the team names it (simbox, subscription, ...), lower case;
--                           null when not given
WITH typed AS (
    SELECT
        r._file,
        r._row,
        r._raw,
        -- the contract's columns as read, for a rejected row's raw record
        named_struct(
            'subscriber_id', r.subscriber_id,
            'confirmed_date', r.confirmed_date,
            'fraud_type', r.fraud_type
        ) AS _as_read,
        r._parse_error,
        r.subscriber_id,
        r.confirmed_date AS confirmed_date_text,
        cvm_to_date(r.confirmed_date, CAST($date_format AS VARCHAR)) AS confirmed_date,
        lower(r.fraud_type) AS fraud_type,
        cvm_known_subscriber(r.subscriber_id) AS subscriber_known
    FROM raw_fraud_cases AS r
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
            WHEN confirmed_date_text IS NULL THEN 'confirmed_date_missing'
            WHEN confirmed_date IS NULL THEN 'confirmed_date_invalid'
            WHEN confirmed_date > CAST($as_of AS DATE) THEN 'confirmed_after_snapshot'
            WHEN NOT subscriber_known THEN 'unknown_subscriber'
        END AS _reject_rule,
        '' AS _warnings,
        subscriber_id,
        confirmed_date,
        fraud_type
    FROM typed
)

SELECT
    * EXCLUDE (_raw, _as_read),
    -- a rejected row's record: its shape if it is broken, else its contract columns as read
    CASE WHEN _reject_rule IS NOT NULL THEN coalesce(_raw, cvm_raw_record(_as_read)) END AS _raw
FROM judged
