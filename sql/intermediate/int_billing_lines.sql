-- int_billing_lines: the billing lines, exact duplicates counted once.
-- grain: one row per distinct (subscriber_id, bill_month, invoice_id, charge_type, net_amount).
-- inputs: stg_billing
-- A line extracted twice (the same invoice line in two files, or twice in one) is one line;
-- a missing invoice_id equals another missing one (DISTINCT treats nulls as equal).
-- columns:
--   subscriber_id  Utf8              the subscriber billed
--   bill_month     Date32            first day of the billed month
--   invoice_id     Utf8              the invoice the line belongs to
--   charge_type    Utf8              recurring, voice, sms, data, vas, roaming, equipment, adjustment, discount
--   net_amount     Decimal128(18,4)  revenue excluding tax after discounts; negative for credits
SELECT DISTINCT subscriber_id, bill_month, invoice_id, charge_type, net_amount
FROM stg_billing
