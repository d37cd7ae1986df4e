-- kpi_lines: every line known at T with the groups kpi counts it in and its service dates.
-- grain: one row per subscriber of customer_value.
-- inputs: customer_value, stg_subscribers
-- A line counts in the group it is in at T (its tier today) in every month; a missing attribute
-- (e.g. the tier of an ended line) is the member (none).
-- columns:
--   subscriber_id          Utf8              the subscriber
--   value_tier             Utf8              tier at T, (none) when it has none
--   segment                Utf8              segment, (none) when unknown
--   plan_type              Utf8              plan type, (none) when unknown
--   region                 Utf8              region, (none) when unknown
--   activation_date        Date32            first day in service
--   deactivation_date      Date32            first day out of service; null while in service
--   deactivation_reason    Utf8              the reason the line ended, empty when it has not
--   months_in_service_12m  Int32             months of L-11 .. L in service
--   revenue_12m            Decimal128(18,4)  net revenue billed for L-11 .. L
SELECT
    cv.subscriber_id,
    COALESCE(cv.value_tier, '(none)') AS value_tier,
    COALESCE(cv.segment, '(none)') AS segment,
    COALESCE(cv.plan_type, '(none)') AS plan_type,
    COALESCE(cv.region, '(none)') AS region,
    s.activation_date,
    s.deactivation_date,
    COALESCE(s.deactivation_reason, '') AS deactivation_reason,
    cv.months_in_service_12m,
    cv.revenue_12m
FROM customer_value AS cv
INNER JOIN stg_subscribers AS s ON s.subscriber_id = cv.subscriber_id
