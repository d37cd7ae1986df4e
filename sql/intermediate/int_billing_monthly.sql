-- int_billing_monthly: revenue per subscriber and bill month, exact duplicates counted once.
-- grain: one row per subscriber and bill month.
-- inputs: int_billing_lines
-- columns:
--   subscriber_id  Utf8              the subscriber billed
--   bill_month     Date32            first day of the billed month
--   revenue        Decimal128(18,4)  sum of net_amount over the month's distinct billing lines
SELECT
    subscriber_id,
    bill_month,
    CAST(SUM(net_amount) AS DECIMAL(18, 4)) AS revenue
FROM int_billing_lines
GROUP BY subscriber_id, bill_month
