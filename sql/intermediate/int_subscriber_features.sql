-- int_subscriber_features: the deterministic columns of customer_value (value, tenure, usage) at T,
-- and the other usage windows the churn model compares.
-- grain: one row per subscriber known at T (activation_date <= T, ended lines included).
-- The run materialises this once at T (the models and customer_value read it several
-- times); the churn model evaluates the same file at T - H and T - 2H for training.
-- inputs: int_tenure_computed (every subscriber, with plan, segment and region),
--   int_revenue_windows, int_usage_windows, int_complaints_counted
-- Money is exact: Decimal128(18,4); ARPU is rounded to 4 decimals, half away from zero.
-- Empty sums are 0; only recency_days, arpu_3m, arpu_12m and arpu_trend may be null.
-- columns:
--   subscriber_id          Utf8              the subscriber
--   plan_type              Utf8              prepaid or postpaid
--   segment                Utf8              marketing segment
--   region                 Utf8              home region
--   is_active              Boolean           in service at the end of T
--   tenure_days            Int32             days from activation_date to min(T, deactivation_date)
--   tenure_months          Int32             whole calendar months in that span (age style)
--   months_in_service_3m   Int32             months of L-2 .. L overlapping [activation, deactivation)
--   months_in_service_12m  Int32             months of L-11 .. L overlapping [activation, deactivation)
--   revenue_1m             Decimal128(18,4)  net revenue billed for L
--   revenue_3m             Decimal128(18,4)  net revenue billed for L-2 .. L
--   revenue_12m            Decimal128(18,4)  net revenue billed for L-11 .. L
--   arpu_3m                Decimal128(18,4)  revenue_3m / months_in_service_3m; null when 0 months
--   arpu_12m               Decimal128(18,4)  revenue_12m / months_in_service_12m; null when 0 months
--   arpu_trend             Float64           ARPU of L-2 .. L over ARPU of L-5 .. L-3; null when undefined
--   historical_value       Decimal128(18,4)  net revenue billed for every month up to L
--   recency_days           Int32             days since the last usage event; null with none
--   active_days_30d        Int32             UTC days with a usage event in the last 30 days
--   mou_30d                Float64           voice minutes, last 30 days
--   mou_90d                Float64           voice minutes, last 90 days
--   data_mb_30d            Float64           data MiB, last 30 days
--   sms_30d                Int64             sms sent and received, last 30 days
--   complaints_90d         Int64             complaints opened in the last 90 days
--   active_days_7d         Int32             UTC days with a usage event in the last 7 days
--   active_days_90d        Int32             UTC days with a usage event in the last 90 days
--   events_7d              Int64             usage events of any type, last 7 days
--   events_30d             Int64             usage events of any type, last 30 days
--   events_90d             Int64             usage events of any type, last 90 days
--   mou_7d                 Float64           voice minutes, last 7 days
--   data_mb_7d             Float64           data MiB, last 7 days
--   data_mb_90d            Float64           data MiB, last 90 days
--   sms_7d                 Int64             sms sent and received, last 7 days
--   sms_90d                Int64             sms sent and received, last 90 days
--   events_out_30d         Int64             voice, sms and mms events made (direction out), last 30 days
--   events_in_30d          Int64             the same received (direction in), last 30 days
--   events_out_90d         Int64             events made, last 90 days
--   events_in_90d          Int64             events received, last 90 days
--   revenue_before_1m      Decimal128(18,4)  net revenue billed for L-3 .. L-1
--   months_since_first_bill  Int64           calendar months from the first bill month to L
WITH joined AS (
    SELECT
        t.subscriber_id,
        t.plan_type,
        t.segment,
        t.region,
        t.is_active,
        t.tenure_days,
        t.tenure_months,
        t.months_in_service_3m,
        t.months_in_service_12m,
        t.months_in_service_prior_3m,
        COALESCE(r.revenue_1m, CAST(0 AS DECIMAL(18, 4))) AS revenue_1m,
        COALESCE(r.revenue_3m, CAST(0 AS DECIMAL(18, 4))) AS revenue_3m,
        COALESCE(r.revenue_12m, CAST(0 AS DECIMAL(18, 4))) AS revenue_12m,
        COALESCE(r.revenue_prior_3m, CAST(0 AS DECIMAL(18, 4))) AS revenue_prior_3m,
        COALESCE(r.historical_value, CAST(0 AS DECIMAL(18, 4))) AS historical_value,
        COALESCE(r.revenue_before_1m, CAST(0 AS DECIMAL(18, 4))) AS revenue_before_1m,
        COALESCE(r.months_since_first_bill, 0) AS months_since_first_bill,
        u.recency_days,
        COALESCE(u.active_days_30d, 0) AS active_days_30d,
        COALESCE(u.mou_30d, 0.0) AS mou_30d,
        COALESCE(u.mou_90d, 0.0) AS mou_90d,
        COALESCE(u.data_mb_30d, 0.0) AS data_mb_30d,
        COALESCE(u.sms_30d, 0) AS sms_30d,
        COALESCE(c.complaints_90d, 0) AS complaints_90d,
        COALESCE(u.active_days_7d, 0) AS active_days_7d,
        COALESCE(u.active_days_90d, 0) AS active_days_90d,
        COALESCE(u.events_7d, 0) AS events_7d,
        COALESCE(u.events_30d, 0) AS events_30d,
        COALESCE(u.events_90d, 0) AS events_90d,
        COALESCE(u.mou_7d, 0.0) AS mou_7d,
        COALESCE(u.data_mb_7d, 0.0) AS data_mb_7d,
        COALESCE(u.data_mb_90d, 0.0) AS data_mb_90d,
        COALESCE(u.sms_7d, 0) AS sms_7d,
        COALESCE(u.sms_90d, 0) AS sms_90d,
        COALESCE(u.events_out_30d, 0) AS events_out_30d,
        COALESCE(u.events_in_30d, 0) AS events_in_30d,
        COALESCE(u.events_out_90d, 0) AS events_out_90d,
        COALESCE(u.events_in_90d, 0) AS events_in_90d
    FROM int_tenure_computed AS t
    LEFT JOIN int_revenue_windows AS r ON r.subscriber_id = t.subscriber_id
    LEFT JOIN int_usage_windows AS u ON u.subscriber_id = t.subscriber_id
    LEFT JOIN int_complaints_counted AS c ON c.subscriber_id = t.subscriber_id
)

SELECT
    subscriber_id,
    plan_type,
    segment,
    region,
    is_active,
    tenure_days,
    tenure_months,
    months_in_service_3m,
    months_in_service_12m,
    revenue_1m,
    revenue_3m,
    revenue_12m,
    CASE WHEN months_in_service_3m > 0
        THEN CAST(revenue_3m / CAST(months_in_service_3m AS DECIMAL(18, 0)) AS DECIMAL(18, 4))
    END AS arpu_3m,
    CASE WHEN months_in_service_12m > 0
        THEN CAST(revenue_12m / CAST(months_in_service_12m AS DECIMAL(18, 0)) AS DECIMAL(18, 4))
    END AS arpu_12m,
    -- (revenue_3m / months_3m) / (revenue_prior / months_prior), with a single rounding
    CASE WHEN months_in_service_3m > 0 AND months_in_service_prior_3m > 0 AND revenue_prior_3m <> 0
        THEN CAST(revenue_3m * months_in_service_prior_3m AS DOUBLE)
            / CAST(revenue_prior_3m * months_in_service_3m AS DOUBLE)
    END AS arpu_trend,
    historical_value,
    recency_days,
    CAST(active_days_30d AS INT) AS active_days_30d,
    mou_30d,
    mou_90d,
    data_mb_30d,
    CAST(sms_30d AS BIGINT) AS sms_30d,
    CAST(complaints_90d AS BIGINT) AS complaints_90d,
    CAST(active_days_7d AS INT) AS active_days_7d,
    CAST(active_days_90d AS INT) AS active_days_90d,
    CAST(events_7d AS BIGINT) AS events_7d,
    CAST(events_30d AS BIGINT) AS events_30d,
    CAST(events_90d AS BIGINT) AS events_90d,
    mou_7d,
    data_mb_7d,
    data_mb_90d,
    CAST(sms_7d AS BIGINT) AS sms_7d,
    CAST(sms_90d AS BIGINT) AS sms_90d,
    CAST(events_out_30d AS BIGINT) AS events_out_30d,
    CAST(events_in_30d AS BIGINT) AS events_in_30d,
    CAST(events_out_90d AS BIGINT) AS events_out_90d,
    CAST(events_in_90d AS BIGINT) AS events_in_90d,
    revenue_before_1m,
    CAST(months_since_first_bill AS BIGINT) AS months_since_first_bill
FROM joined
