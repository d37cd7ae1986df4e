-- int_billing_monthly: revenue per subscriber and bill month, exact duplicates counted once.
-- grain: one row per subscriber and bill month.
-- inputs: stg_billing
-- columns:
--   subscriber_id  Utf8              the subscriber billed
--   bill_month     Date32            first day of the billed month
--   revenue        Decimal128(18,4)  sum of net_amount over the month's distinct billing lines
WITH distinct_lines AS (
    -- a missing invoice_id equals another missing one: DISTINCT treats nulls as equal
    SELECT DISTINCT subscriber_id, bill_month, invoice_id, charge_type, net_amount
    FROM stg_billing
)

SELECT
    subscriber_id,
    bill_month,
    CAST(SUM(net_amount) AS DECIMAL(18, 4)) AS revenue
FROM distinct_lines
GROUP BY subscriber_id, bill_month
