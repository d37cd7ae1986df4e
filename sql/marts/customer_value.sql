-- customer_value: value, tenure, usage, risk and lifetime value of every subscriber known at T.
-- grain: one row per subscriber known at T (activation_date <= T, ended lines included).
-- partitioning: snapshot_date=T
-- inputs: int_subscriber_features, int_cohort_groups, score_churn, score_lifetime, score_value, score_segments
-- Money is exact: Decimal128(18,4). The deterministic columns are int_subscriber_features'; the
-- model columns come from the models fitted in this run (docs/models.md), applied in sql/scoring.
-- Null only where stated: recency_days, arpu_*, arpu_trend and the model columns of ended lines
-- (and of active lines the model cannot value, e.g. no arpu_3m yet).
-- columns:
--   subscriber_id             Utf8              the subscriber
--   plan_type                 Utf8              prepaid or postpaid
--   segment                   Utf8              marketing segment
--   region                    Utf8              home region
--   is_active                 Boolean           in service at the end of T
--   tenure_days               Int32             days from activation_date to min(T, deactivation_date)
--   tenure_months             Int32             whole calendar months in that span (age style)
--   months_in_service_3m      Int32             months of L-2 .. L overlapping [activation, deactivation)
--   months_in_service_12m     Int32             months of L-11 .. L overlapping [activation, deactivation)
--   revenue_1m                Decimal128(18,4)  net revenue billed for L
--   revenue_3m                Decimal128(18,4)  net revenue billed for L-2 .. L
--   revenue_12m               Decimal128(18,4)  net revenue billed for L-11 .. L
--   arpu_3m                   Decimal128(18,4)  revenue_3m / months_in_service_3m; null when 0 months
--   arpu_12m                  Decimal128(18,4)  revenue_12m / months_in_service_12m; null when 0 months
--   arpu_trend                Float64           ARPU of L-2 .. L over ARPU of L-5 .. L-3; null when undefined
--   historical_value          Decimal128(18,4)  net revenue billed for every month up to L
--   recency_days              Int32             days since the last usage event; null with none
--   active_days_30d           Int32             UTC days with a usage event in the last 30 days
--   mou_30d                   Float64           voice minutes, last 30 days
--   mou_90d                   Float64           voice minutes, last 90 days
--   data_mb_30d               Float64           data MiB, last 30 days
--   sms_30d                   Int64             sms sent and received, last 30 days
--   complaints_90d            Int64             complaints opened in the last 90 days
--   churn_risk                Float64           probability that an active line deactivates voluntarily (port-outs
--                                               included) within the horizon H; null for ended lines
--   churn_risk_band           Utf8              low / medium / high: by default the riskiest 5% high, the next 15%
--                                               medium (churn.bands: percentile, lift or absolute cut-offs)
--   churn_drivers             Utf8              up to three features raising this line's risk most, in words
--   p_alive                   Float64           prepaid: chance the line is still recharging (BG/NBD); postpaid null
--   expected_recharges_3m     Float64           prepaid: expected recharge days in the next 3 months (BG/NBD); cvm's
--                                               addition
--   expected_lifetime_months  Float64           expected further months in service within the CLV horizon
--   current_value             Decimal128(18,4)  discounted expected margin over the remaining lifetime at arpu_3m
--   potential_value           Decimal128(18,4)  discounted margin uplift if ARPU reached the peer group's target
--   clv                       Decimal128(18,4)  current_value + potential_value
--   value_score               Float64           0..100 composite of value metrics, AHP weights; null for ended lines
--   value_tier                Utf8              diamond / gold / silver / vip / standard; under_review for a line
--                                               the screening holds suspect; null for ended lines
--   strategic_fit             Float64           the fit score in [0, 1] the quadrant's fit axis ranks (source, job rules
--                                               or behavioural fit: docs/models.md); null for ended lines
--   value_quadrant            Utf8              strategic / profit / potential / ordinary; null for ended lines
--   lifecycle_stage           Utf8              new / growing / mature / declining / dormant / churned
--   rfm_segment               Utf8              recency-frequency-monetary segment (docs/models.md)
--   cohort_group              Utf8              the retention model's group the line is fitted in: plan_type, then
--                                               segment and region as retention.cohort_groups says, joined by a vertical bar
SELECT
    f.subscriber_id,
    f.plan_type,
    f.segment,
    f.region,
    f.is_active,
    f.tenure_days,
    f.tenure_months,
    f.months_in_service_3m,
    f.months_in_service_12m,
    f.revenue_1m,
    f.revenue_3m,
    f.revenue_12m,
    f.arpu_3m,
    f.arpu_12m,
    f.arpu_trend,
    f.historical_value,
    f.recency_days,
    f.active_days_30d,
    f.mou_30d,
    f.mou_90d,
    f.data_mb_30d,
    f.sms_30d,
    f.complaints_90d,
    c.churn_risk,
    c.churn_risk_band,
    c.churn_drivers,
    l.p_alive,
    l.expected_recharges_3m,
    l.expected_lifetime_months,
    l.current_value,
    l.potential_value,
    l.clv,
    v.value_score,
    v.value_tier,
    v.strategic_fit,
    v.value_quadrant,
    g.lifecycle_stage,
    g.rfm_segment,
    k.cohort_group
FROM int_subscriber_features AS f
LEFT JOIN score_churn AS c ON c.subscriber_id = f.subscriber_id
LEFT JOIN score_lifetime AS l ON l.subscriber_id = f.subscriber_id
LEFT JOIN score_value AS v ON v.subscriber_id = f.subscriber_id
LEFT JOIN score_segments AS g ON g.subscriber_id = f.subscriber_id
LEFT JOIN int_cohort_groups AS k ON k.subscriber_id = f.subscriber_id
ORDER BY f.subscriber_id
