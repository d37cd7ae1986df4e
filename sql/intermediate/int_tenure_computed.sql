-- int_tenure_computed: service status, tenure and months in service at T, with the
-- subscriber's plan, segment and region (int_subscriber_features reads them from here: one
-- scan of stg_subscribers, no join back to it).
-- grain: one row per subscriber known at T (every row of stg_subscribers).
-- inputs: stg_subscribers
-- params: $as_of (T), $window_end_month (first day of L)
-- Months are counted on month numbers (12 * year + month): a month is in service when the
-- half-open span [activation_date, deactivation_date) holds at least one of its days, i.e.
-- when it lies between the activation month and the month of the last day in service.
-- columns:
--   subscriber_id           Utf8     the subscriber
--   plan_type               Utf8     prepaid or postpaid (stg_subscribers)
--   segment                 Utf8     marketing segment (stg_subscribers)
--   region                  Utf8     home region (stg_subscribers)
--   is_active               Boolean  activation_date <= T and (no deactivation_date or it is after T)
--   tenure_days             Int32    days from activation_date to min(T, deactivation_date)
--   tenure_months           Int32    whole calendar months in that span, age style
--   months_in_service_3m    Int32    months of L-2 .. L in service
--   months_in_service_12m   Int32    months of L-11 .. L in service
--   months_in_service_prior_3m Int32 months of L-5 .. L-3 in service
WITH spans AS (
    SELECT
        s.subscriber_id,
        s.plan_type,
        s.segment,
        s.region,
        s.activation_date,
        s.deactivation_date,
        CAST($as_of AS DATE) AS as_of,
        CASE
            WHEN s.deactivation_date <= CAST($as_of AS DATE) THEN s.deactivation_date ELSE CAST($as_of AS DATE)
        END AS tenure_end,
        date_part('year', CAST($window_end_month AS DATE)) * 12 + date_part('month', CAST($window_end_month AS DATE)) - 1
            AS l_month,
        date_part('year', s.activation_date) * 12 + date_part('month', s.activation_date) - 1 AS first_month,
        -- month of the last day in service; an empty span has none
        CASE
            WHEN s.deactivation_date IS NULL THEN 2147483647
            WHEN s.deactivation_date <= s.activation_date THEN -1
            ELSE date_part('year', s.deactivation_date - INTERVAL '1' DAY) * 12
                + date_part('month', s.deactivation_date - INTERVAL '1' DAY) - 1
        END AS last_month
    FROM stg_subscribers AS s
)

SELECT
    subscriber_id,
    plan_type,
    segment,
    region,
    activation_date <= as_of AND (deactivation_date IS NULL OR deactivation_date > as_of) AS is_active,
    CAST(CAST(tenure_end AS INT) - CAST(activation_date AS INT) AS INT) AS tenure_days,
    CAST(
        12 * (date_part('year', tenure_end) - date_part('year', activation_date))
        + (date_part('month', tenure_end) - date_part('month', activation_date))
        - CASE WHEN date_part('day', tenure_end) < date_part('day', activation_date) THEN 1 ELSE 0 END
        AS INT
    ) AS tenure_months,
    CAST(GREATEST(0, LEAST(l_month, last_month) - GREATEST(l_month - 2, first_month) + 1) AS INT)
        AS months_in_service_3m,
    CAST(GREATEST(0, LEAST(l_month, last_month) - GREATEST(l_month - 11, first_month) + 1) AS INT)
        AS months_in_service_12m,
    CAST(GREATEST(0, LEAST(l_month - 3, last_month) - GREATEST(l_month - 5, first_month) + 1) AS INT)
        AS months_in_service_prior_3m
FROM spans
