-- profile_features: each line's usage and money profile over the last 30 days, on the scales the
--   screening's anomaly model reads (src/stages/screening/profile.rs, src/maths/anomaly.rs).
-- grain: one row per line in service at T.
-- inputs: int_tenure_computed, int_usage_windows, int_billing_monthly (month L),
--   int_recharge_behaviour
-- params: $window_end_month (L)
-- Volumes are per day of the 30 (not per active day) and on a log scale, ln(1 + x), so that a
-- line twice as heavy is as far from its peers at any level; money is the bill of month L for a
-- postpaid line and the top-ups of the last 30 days for a prepaid one, with its sign kept (a
-- bill its credits turned negative is far too). A line without usage has zeros and an outgoing
-- share of one half. The model counts only what lies above the median (a quiet or new line is
-- not anomalous for being quiet).
-- columns:
--   subscriber_id     Utf8     the line
--   plan_type         Utf8     prepaid or postpaid: the peer group the profile is fitted on
--   voice_minutes     Float64  ln(1 + voice minutes a day)
--   messages          Float64  ln(1 + sms a day)
--   data_mib          Float64  ln(1 + data MiB a day)
--   outgoing_share    Float64  voice, sms and mms made over made and received
--   money             Float64  sign(x) ln(1 + |x|) of the month's bill or top-ups
WITH lines AS (
    SELECT
        t.subscriber_id,
        t.plan_type,
        CASE
            WHEN t.plan_type = 'prepaid' THEN COALESCE(CAST(r.recharge_amount_30d AS DOUBLE), 0.0)
            ELSE COALESCE(CAST(b.revenue AS DOUBLE), 0.0)
        END AS money
    FROM int_tenure_computed AS t
    LEFT JOIN int_billing_monthly AS b
        ON b.subscriber_id = t.subscriber_id AND b.bill_month = CAST($window_end_month AS DATE)
    LEFT JOIN int_recharge_behaviour AS r ON r.subscriber_id = t.subscriber_id
    WHERE t.is_active
)

SELECT
    l.subscriber_id,
    l.plan_type,
    ln(1.0 + COALESCE(w.mou_30d, 0.0) / 30.0) AS voice_minutes,
    ln(1.0 + CAST(COALESCE(w.sms_30d, 0) AS DOUBLE) / 30.0) AS messages,
    ln(1.0 + COALESCE(w.data_mb_30d, 0.0) / 30.0) AS data_mib,
    CASE
        WHEN COALESCE(w.events_out_30d, 0) + COALESCE(w.events_in_30d, 0) = 0 THEN 0.5
        ELSE CAST(w.events_out_30d AS DOUBLE) / CAST(w.events_out_30d + w.events_in_30d AS DOUBLE)
    END AS outgoing_share,
    signum(l.money) * ln(1.0 + abs(l.money)) AS money
FROM lines AS l
LEFT JOIN int_usage_windows AS w ON w.subscriber_id = l.subscriber_id
ORDER BY l.subscriber_id
