-- stg_subscribers: the subscribers extract, typed and checked.
-- grain: one row per subscriber (subscriber_id unique).
-- inputs: raw_subscribers (every column as text, with _file, _row, _raw, _parse_error)
-- params: $as_of, $date_format, $keep_msisdn
-- rejects: subscriber_id_missing, activation_date_missing, activation_date_invalid,
--   activation_after_snapshot, deactivation_date_invalid, deactivation_before_activation,
--   plan_type_missing, plan_type_invalid, subscriber_id_duplicate (the last row of an id,
--   in file and line order, is kept; the earlier ones are rejected).
-- warnings (value set to null, row kept): deactivation_reason_invalid, birth_year_invalid,
--   commitment_months_invalid.
-- columns:
--   subscriber_id        Utf8     the subscriber's key
--   msisdn               Utf8     personal: kept for contact exports, never published in clear; null (never
--                                 read) unless the job's [exports] msisdn is hmac or allow ($keep_msisdn)
--   activation_date      Date32   first day in service
--   deactivation_date    Date32   first day out of service; null while in service
--   deactivation_reason  Utf8     voluntary, involuntary, port_out, other
--   plan_type            Utf8     prepaid or postpaid
--   plan_id              Utf8     tariff plan
--   segment              Utf8     marketing segment
--   region               Utf8     home region
--   channel              Utf8     sales channel
--   birth_year           Int32    1900 .. year(T)
--   commitment_months    Int32    length of the line's commitment term in months, 0 .. 120 (0: none);
--                                 null when the extract does not say (the job's churn.commitment_months
--                                 applies to postpaid lines)
WITH typed AS (
    SELECT
        r._file,
        r._row,
        r._raw,
        -- the contract's columns as read, for a rejected row's raw record (never msisdn)
        named_struct(
            'subscriber_id', r.subscriber_id,
            'activation_date', r.activation_date,
            'deactivation_date', r.deactivation_date,
            'deactivation_reason', r.deactivation_reason,
            'plan_type', r.plan_type,
            'plan_id', r.plan_id,
            'segment', r.segment,
            'region', r.region,
            'channel', r.channel,
            'birth_year', r.birth_year,
            'commitment_months', r.commitment_months
        ) AS _as_read,
        r._parse_error,
        r.subscriber_id,
        CASE WHEN $keep_msisdn THEN r.msisdn END AS msisdn,
        r.activation_date AS activation_date_text,
        cvm_to_date(r.activation_date, CAST($date_format AS VARCHAR)) AS activation_date,
        r.deactivation_date AS deactivation_date_text,
        cvm_to_date(r.deactivation_date, CAST($date_format AS VARCHAR)) AS deactivation_date,
        lower(r.deactivation_reason) AS deactivation_reason_text,
        lower(r.plan_type) AS plan_type,
        r.plan_id,
        r.segment,
        r.region,
        r.channel,
        r.birth_year AS birth_year_text,
        TRY_CAST(r.birth_year AS INT) AS birth_year,
        r.commitment_months AS commitment_months_text,
        TRY_CAST(r.commitment_months AS INT) AS commitment_months,
        CAST($as_of AS DATE) AS as_of
    FROM raw_subscribers AS r
),

checked AS (
    SELECT
        *,
        CASE
            WHEN _parse_error IS NOT NULL THEN _parse_error
            WHEN subscriber_id IS NULL THEN 'subscriber_id_missing'
            WHEN activation_date_text IS NULL THEN 'activation_date_missing'
            WHEN activation_date IS NULL THEN 'activation_date_invalid'
            WHEN activation_date > as_of THEN 'activation_after_snapshot'
            WHEN deactivation_date_text IS NOT NULL AND deactivation_date IS NULL THEN 'deactivation_date_invalid'
            WHEN deactivation_date < activation_date THEN 'deactivation_before_activation'
            WHEN plan_type IS NULL THEN 'plan_type_missing'
            WHEN plan_type NOT IN ('prepaid', 'postpaid') THEN 'plan_type_invalid'
        END AS row_rule,
        deactivation_reason_text IN ('voluntary', 'involuntary', 'port_out', 'other') AS reason_ok,
        birth_year BETWEEN 1900 AND CAST(date_part('year', as_of) AS INT) AS birth_year_ok,
        commitment_months BETWEEN 0 AND 120 AS commitment_ok
    FROM typed
),

ranked AS (
    SELECT
        *,
        -- among the rows that pass every other rule, the latest row of an id wins: in this
        -- order an id's passing rows are adjacent, latest first, so a row whose predecessor
        -- is a passing row of the same id is an earlier duplicate. (One ordered pass: a
        -- window partitioned by id runs per partition, slow for a million one-row ids.)
        coalesce(
            row_rule IS NULL
            AND LAG(subscriber_id) OVER latest_first = subscriber_id
            AND LAG(row_rule IS NULL) OVER latest_first,
            false
        ) AS is_earlier_duplicate
    FROM checked
    WINDOW latest_first AS (ORDER BY subscriber_id, row_rule IS NULL, _file DESC, _row DESC)
),

judged AS (
    SELECT
        _file,
        _row,
        _raw,
        _as_read,
        CASE
            WHEN row_rule IS NOT NULL THEN row_rule
            WHEN is_earlier_duplicate THEN 'subscriber_id_duplicate'
        END AS _reject_rule,
        concat_ws(',',
            CASE WHEN deactivation_reason_text IS NOT NULL AND NOT reason_ok THEN 'deactivation_reason_invalid' END,
            CASE WHEN birth_year_text IS NOT NULL AND NOT coalesce(birth_year_ok, false) THEN 'birth_year_invalid' END,
            CASE WHEN commitment_months_text IS NOT NULL AND NOT coalesce(commitment_ok, false)
                THEN 'commitment_months_invalid' END
        ) AS _warnings,
        subscriber_id,
        msisdn,
        activation_date,
        deactivation_date,
        CASE WHEN reason_ok THEN deactivation_reason_text END AS deactivation_reason,
        plan_type,
        plan_id,
        segment,
        region,
        channel,
        CASE WHEN birth_year_ok THEN birth_year END AS birth_year,
        CASE WHEN commitment_ok THEN commitment_months END AS commitment_months
    FROM ranked
)

SELECT
    * EXCLUDE (_raw, _as_read),
    -- a rejected row's record: its shape if it is broken, else its contract columns as read
    CASE WHEN _reject_rule IS NOT NULL THEN coalesce(_raw, cvm_raw_record(_as_read)) END AS _raw
FROM judged
