-- stg_billing: the billing extract, typed and checked (duplicates are kept here and
-- counted once downstream, in int_billing_monthly).
-- grain: one row per billing line as extracted.
-- inputs: raw_billing; the staged subscribers' ids (cvm_known_subscriber, the subscriber rule)
-- params: $date_format, $currency
-- rejects: subscriber_id_missing, bill_month_missing, bill_month_invalid,
--   net_amount_missing, net_amount_invalid (not a decimal with at most 4 fractional
--   digits), currency_mismatch, unknown_subscriber.
-- warnings: charge_type_invalid.
-- columns:
--   subscriber_id  Utf8            the subscriber billed
--   bill_month     Date32          first day of the billed month (YYYY-MM or any date of it)
--   invoice_id     Utf8            invoice the line belongs to
--   charge_type    Utf8            recurring, voice, sms, data, vas, roaming, equipment, adjustment, discount
--   net_amount     Decimal128(18,4) revenue excluding tax after discounts; negative for credits
WITH typed AS (
    SELECT
        r._file,
        r._row,
        r._raw,
        -- the contract's columns as read, for a rejected row's raw record (never msisdn)
        named_struct(
            'subscriber_id', r.subscriber_id,
            'bill_month', r.bill_month,
            'invoice_id', r.invoice_id,
            'charge_type', r.charge_type,
            'net_amount', r.net_amount,
            'currency', r.currency
        ) AS _as_read,
        r._parse_error,
        r.subscriber_id,
        r.bill_month AS bill_month_text,
        cvm_month(r.bill_month, CAST($date_format AS VARCHAR)) AS bill_month,
        r.invoice_id,
        lower(r.charge_type) AS charge_type_text,
        r.net_amount AS net_amount_text,
        cvm_money(r.net_amount) AS net_amount,
        upper(r.currency) AS currency,
        upper(CAST($currency AS VARCHAR)) AS job_currency,
        cvm_known_subscriber(r.subscriber_id) AS subscriber_known
    FROM raw_billing AS r
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
            WHEN bill_month_text IS NULL THEN 'bill_month_missing'
            WHEN bill_month IS NULL THEN 'bill_month_invalid'
            WHEN net_amount_text IS NULL THEN 'net_amount_missing'
            WHEN net_amount IS NULL THEN 'net_amount_invalid'
            WHEN currency IS NOT NULL AND currency <> job_currency THEN 'currency_mismatch'
            WHEN NOT subscriber_known THEN 'unknown_subscriber'
        END AS _reject_rule,
        CASE
            WHEN charge_type_text IS NOT NULL
                AND charge_type_text NOT IN ('recurring', 'voice', 'sms', 'data', 'vas', 'roaming', 'equipment', 'adjustment', 'discount')
                THEN 'charge_type_invalid'
            ELSE ''
        END AS _warnings,
        subscriber_id,
        bill_month,
        invoice_id,
        CASE
            WHEN charge_type_text IN ('recurring', 'voice', 'sms', 'data', 'vas', 'roaming', 'equipment', 'adjustment', 'discount')
                THEN charge_type_text
        END AS charge_type,
        net_amount
    FROM typed
)

SELECT
    * EXCLUDE (_raw, _as_read),
    -- a rejected row's record: its shape if it is broken, else its contract columns as read
    CASE WHEN _reject_rule IS NOT NULL THEN coalesce(_raw, cvm_raw_record(_as_read)) END AS _raw
FROM judged
