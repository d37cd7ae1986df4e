-- screen_revenue: revenue anomalies: a bill far above the line's own, a bill its credits dominate,
--   top-ups far above the line's own that its usage does not explain.
-- grain: one row per line in service at T and rule that fires on it (bill_jump, credit_heavy,
--   recharge_mismatch).
-- inputs: int_billing_monthly, int_billing_lines (bill month L and the months before it),
--   int_recharge_behaviour, int_usage_windows, int_tenure_computed
-- params: $window_end_month (L), $revenue_history_from (L - $bill_jump_history_months),
--   $bill_jump_weight, $bill_jump_min_ratio, $bill_jump_min_months, $bill_jump_min_amount,
--   $credit_heavy_weight, $credit_heavy_min_share, $credit_heavy_min_amount,
--   $recharge_mismatch_weight, $recharge_mismatch_min_ratio, $recharge_mismatch_max_usage_ratio,
--   $recharge_mismatch_peer_quantile
-- bill_jump: month L's bill is at least $bill_jump_min_ratio times the median of the line's own
-- bills in the months before (at least $bill_jump_min_months of them) and at least
-- $bill_jump_min_amount above it: a stolen SIM's roaming, a billing error.
-- credit_heavy: month L's credits (its negative lines: discounts, adjustments) are at least
-- $credit_heavy_min_share of its charges (its positive lines) and at least
-- $credit_heavy_min_amount: credits nobody earns, given by someone inside.
-- recharge_mismatch (prepaid): the top-ups of the last 30 days are at least
-- $recharge_mismatch_min_ratio times the line's usual 30 days (those of days 31-90 before T,
-- halved) and at least the $recharge_mismatch_peer_quantile of the prepaid lines' last 30 days
-- (top-ups are lumpy: one voucher after two quiet months is 5 times a small usual, so the amount
-- must also be large among peers), while its usage per active day in the
-- last 30 days is at most $recharge_mismatch_max_usage_ratio times that of the 60 days before
-- (the same when the CDR does not reach back: no evidence of more use): money that is not
-- spent on the line's own calls (resold vouchers, stolen cards, laundering).
-- Money is compared as Float64 ratios; the reasons print amounts with 2 decimals.
-- columns:
--   subscriber_id  Utf8     the line
--   rule           Utf8     bill_jump, credit_heavy or recharge_mismatch
--   weight         Float64  the rule's weight in the fraud score
--   figure         Float64  the ratio that fired: the bill over its usual, credits over charges,
--                           top-ups over their usual
--   reason         Utf8     the rule in words, with the line's figures
WITH lines AS (
    SELECT subscriber_id, plan_type
    FROM int_tenure_computed
    WHERE is_active
),

bills AS (
    SELECT
        m.subscriber_id,
        MAX(CAST(m.revenue AS DOUBLE)) FILTER (WHERE m.bill_month = CAST($window_end_month AS DATE)) AS bill,
        median(CAST(m.revenue AS DOUBLE)) FILTER (WHERE m.bill_month < CAST($window_end_month AS DATE)) AS usual,
        COUNT(*) FILTER (WHERE m.bill_month < CAST($window_end_month AS DATE)) AS months
    FROM int_billing_monthly AS m
    WHERE m.bill_month >= CAST($revenue_history_from AS DATE)
      AND m.bill_month <= CAST($window_end_month AS DATE)
    GROUP BY m.subscriber_id
),

bill_jump AS (
    SELECT
        b.subscriber_id,
        'bill_jump' AS rule,
        CAST($bill_jump_weight AS DOUBLE) AS weight,
        b.bill / b.usual AS figure,
        arrow_cast(concat(
            'bill of ', to_char(CAST($window_end_month AS DATE), '%Y-%m'), ' ',
            CAST(round(b.bill, 2) AS VARCHAR), ', ', CAST(round(b.bill / b.usual, 1) AS VARCHAR),
            ' times its usual ', CAST(round(b.usual, 2) AS VARCHAR), ' (the median of ',
            CAST(b.months AS VARCHAR), ' months before)'
        ), 'Utf8') AS reason
    FROM lines AS l
    INNER JOIN bills AS b ON b.subscriber_id = l.subscriber_id
    WHERE b.months >= $bill_jump_min_months
      AND b.usual > 0
      AND b.bill >= $bill_jump_min_ratio * b.usual
      AND b.bill - b.usual >= $bill_jump_min_amount
),

month_lines AS (
    SELECT
        subscriber_id,
        SUM(CASE WHEN net_amount > 0 THEN CAST(net_amount AS DOUBLE) ELSE 0.0 END) AS charges,
        -SUM(CASE WHEN net_amount < 0 THEN CAST(net_amount AS DOUBLE) ELSE 0.0 END) AS credits
    FROM int_billing_lines
    WHERE bill_month = CAST($window_end_month AS DATE)
    GROUP BY subscriber_id
),

credit_heavy AS (
    SELECT
        c.subscriber_id,
        'credit_heavy' AS rule,
        CAST($credit_heavy_weight AS DOUBLE) AS weight,
        c.credits / c.charges AS figure,
        arrow_cast(concat(
            'credits of ', CAST(round(c.credits, 2) AS VARCHAR), ' on the bill of ',
            to_char(CAST($window_end_month AS DATE), '%Y-%m'), ', ',
            CAST(CAST(round(100 * c.credits / c.charges) AS BIGINT) AS VARCHAR), '% of its charges of ',
            CAST(round(c.charges, 2) AS VARCHAR)
        ), 'Utf8') AS reason
    FROM lines AS l
    INNER JOIN month_lines AS c ON c.subscriber_id = l.subscriber_id
    WHERE c.charges > 0
      AND c.credits >= $credit_heavy_min_share * c.charges
      AND c.credits >= $credit_heavy_min_amount
),

prepaid AS (
    SELECT
        r.subscriber_id,
        CAST(r.recharge_amount_30d AS DOUBLE) AS recent,
        CAST(r.recharge_amount_90d - r.recharge_amount_30d AS DOUBLE) / 2.0 AS usual,
        CASE
            WHEN w.active_days_30d > 0 AND w.active_days_90d > w.active_days_30d
                 AND w.events_90d > w.events_30d
            THEN (CAST(w.events_30d AS DOUBLE) / w.active_days_30d)
                 / (CAST(w.events_90d - w.events_30d AS DOUBLE) / (w.active_days_90d - w.active_days_30d))
            ELSE 1.0
        END AS usage_ratio
    FROM lines AS l
    INNER JOIN int_recharge_behaviour AS r ON r.subscriber_id = l.subscriber_id
    LEFT JOIN int_usage_windows AS w ON w.subscriber_id = l.subscriber_id
),

peer AS (
    SELECT percentile_cont($recharge_mismatch_peer_quantile) WITHIN GROUP (ORDER BY recent) AS yardstick
    FROM prepaid
    WHERE recent > 0
),

recharge_mismatch AS (
    SELECT
        t.subscriber_id,
        'recharge_mismatch' AS rule,
        CAST($recharge_mismatch_weight AS DOUBLE) AS weight,
        t.recent / t.usual AS figure,
        arrow_cast(concat(
            'topped up ', CAST(round(t.recent, 2) AS VARCHAR), ' in the last 30 days, ',
            CAST(round(t.recent / t.usual, 1) AS VARCHAR), ' times its usual ',
            CAST(round(t.usual, 2) AS VARCHAR), ' (days 31-90 before T) and more than ',
            CAST(CAST(round(100 * $recharge_mismatch_peer_quantile) AS BIGINT) AS VARCHAR),
            '% of prepaid lines (', CAST(round(p.yardstick, 2) AS VARCHAR), '), while its usage a day is ',
            CAST(round(t.usage_ratio, 1) AS VARCHAR), ' times its usual'
        ), 'Utf8') AS reason
    FROM peer AS p
    CROSS JOIN prepaid AS t
    WHERE t.usual > 0
      AND t.recent >= $recharge_mismatch_min_ratio * t.usual
      AND t.recent >= p.yardstick
      AND t.usage_ratio <= $recharge_mismatch_max_usage_ratio
)

SELECT * FROM bill_jump
UNION ALL
SELECT * FROM credit_heavy
UNION ALL
SELECT * FROM recharge_mismatch
