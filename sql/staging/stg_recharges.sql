-- stg_recharges: prepaid top-ups, typed and checked; times in UTC.
-- grain: one row per recharge as extracted.
-- inputs: raw_recharges; the staged subscribers' ids (cvm_known_subscriber, the subscriber rule)
-- params: $timestamp_format, $timezone
-- rejects: subscriber_id_missing, recharge_time_missing, recharge_time_invalid,
--   amount_missing, amount_invalid (not a decimal with at most 4 fractional digits, or not > 0),
--   unknown_subscriber.
-- columns:
--   subscriber_id  Utf8                the subscriber topped up
--   recharge_time  Timestamp(us,UTC)  when
--   amount         Decimal128(18,4)    amount topped up, > 0
--   channel        Utf8                where (app, shop, voucher, ...)
WITH typed AS (
    SELECT
        r._file,
        r._row,
        r._raw,
        -- the contract's columns as read, for a rejected row's raw record (never msisdn)
        named_struct(
            'subscriber_id', r.subscriber_id,
            'recharge_time', r.recharge_time,
            'amount', r.amount,
            'channel', r.channel
        ) AS _as_read,
        r._parse_error,
        r.subscriber_id,
        r.recharge_time AS recharge_time_text,
        cvm_to_timestamp(r.recharge_time, CAST($timestamp_format AS VARCHAR), CAST($timezone AS VARCHAR)) AS recharge_time,
        r.amount AS amount_text,
        cvm_money(r.amount) AS amount,
        lower(r.channel) AS channel,
        cvm_known_subscriber(r.subscriber_id) AS subscriber_known
    FROM raw_recharges AS r
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
            WHEN recharge_time_text IS NULL THEN 'recharge_time_missing'
            WHEN recharge_time IS NULL THEN 'recharge_time_invalid'
            WHEN amount_text IS NULL THEN 'amount_missing'
            WHEN amount IS NULL OR amount <= 0 THEN 'amount_invalid'
            WHEN NOT subscriber_known THEN 'unknown_subscriber'
        END AS _reject_rule,
        '' AS _warnings,
        subscriber_id,
        recharge_time,
        amount,
        channel
    FROM typed
)

SELECT
    * EXCLUDE (_raw, _as_read),
    -- a rejected row's record: its shape if it is broken, else its contract columns as read
    CASE WHEN _reject_rule IS NOT NULL THEN coalesce(_raw, cvm_raw_record(_as_read)) END AS _raw
FROM judged
