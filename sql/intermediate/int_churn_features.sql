-- int_churn_features: the churn model's inputs for every subscriber active at $as_of, and its labels.
-- grain: one row per subscriber active at $as_of.
-- inputs: int_subscriber_features, stg_subscribers, int_contract_position, int_recharge_behaviour,
--   int_service_experience
-- params: $as_of (the day the features describe), $churn_horizon_end ($as_of + H), $churn_seed
-- The run evaluates this file at T - 2H and T - H (training and back-test, where the labels are
-- known) and at T (scoring, where they are not); docs/models.md says why each feature predicts
-- churn. Gaps are filled so every row scores (the fill is named per column); only age_years may be
-- null (the models treat it as missing). Heavy-tailed counts enter as ln(1 + x); a trend is the
-- log of a ratio of rates, each side plus 1: ln((1 + recent) / (1 + earlier)), 0 when flat.
-- columns:
--   subscriber_id                Utf8     the subscriber
--   tenure_months                Float64  whole months in service
--   arpu_3m                      Float64  ARPU over L-2 .. L (0 when none)
--   arpu_trend                   Float64  arpu_trend clipped to [0, 3] (1 when undefined)
--   recency_days                 Float64  days since the last usage event, capped at 90
--   active_days_30d              Float64  days with usage in the last 30 days
--   log_mou_30d                  Float64  ln(1 + voice minutes, last 30 days)
--   log_data_mb_30d              Float64  ln(1 + data MiB, last 30 days)
--   usage_trend                  Float64  voice minutes of the last 30 days over a third of the last 90, in [0, 3] (1
--                                         when none)
--   complaints_90d               Float64  complaints opened in the last 90 days
--   is_prepaid                   Float64  1 for prepaid, 0 for postpaid
--   has_commitment               Float64  1 when the line has a commitment term (int_contract_position)
--   month_in_term                Float64  month of the current term the line is in (0 without a term)
--   months_to_term_end           Float64  months until the current term ends, this month included (0 without a term)
--   in_renewal_window            Float64  1 when the current term ends within two months
--   days_since_last_recharge     Float64  prepaid: days since the last top-up, capped at 180 (days in service when
--                                         none); postpaid 0
--   recharge_gap_ratio           Float64  prepaid: days_since_last_recharge over the line's usual interval, capped at
--                                         10 (the gap over 30 days without a usual interval); postpaid 0
--   recharges_30d                Float64  prepaid top-ups in the last 30 days (0 for postpaid)
--   recharges_90d                Float64  prepaid top-ups in the last 90 days (0 for postpaid)
--   log_recharge_amount_30d      Float64  ln(1 + amount topped up in the last 30 days)
--   log_recharge_amount_90d      Float64  ln(1 + amount topped up in the last 90 days)
--   recharge_trend               Float64  ln((1 + top-ups of the last 30 days) / (1 + top-ups of the 60 before / 2))
--   events_trend                 Float64  ln((1 + events of the last 30 days) / (1 + events of the 60 before / 2))
--   events_7d_trend              Float64  ln((1 + events of the last 7 days x 30/7) / (1 + events of the last 30 days))
--   active_days_7d               Float64  days with usage in the last 7 days
--   active_days_trend            Float64  ln((1 + active days of the last 30) / (1 + active days of the 60 before / 2))
--   voice_trend                  Float64  the events_trend formula on voice minutes
--   voice_7d_trend               Float64  the events_7d_trend formula on voice minutes
--   sms_trend                    Float64  the events_trend formula on sms
--   sms_7d_trend                 Float64  the events_7d_trend formula on sms
--   data_trend                   Float64  the events_trend formula on data MiB
--   data_7d_trend                Float64  the events_7d_trend formula on data MiB
--   outgoing_share_30d           Float64  share of the last 30 days' calls and messages the line made, not received:
--                                         (1 + made) / (2 + made + received), 0.5 with none
--   outgoing_share_trend         Float64  outgoing_share_30d minus the same share over the 60 days before
--   log_events_30d               Float64  ln(1 + events of the last 30 days)
--   log_sms_30d                  Float64  ln(1 + sms of the last 30 days)
--   bill_trend                   Float64  bill of L over the mean bill of L-3 .. L-1 (a falling bill: a downgrade,
--                                         a final bill), clipped to [0, 3]; 1 when that mean is not above 0
--   months_since_first_bill      Float64  calendar months from the first bill month to L
--   complaints_30d               Float64  complaints opened in the last 30 days
--   complaints_prior_60d         Float64  complaints opened in the 60 days before those
--   fault_tickets_90d            Float64  fault tickets opened in the last 90 days
--   inquiries_30d                Float64  inquiries opened in the last 30 days
--   tickets_90d                  Float64  tickets of any category opened in the last 90 days
--   open_tickets                 Float64  tickets not resolved by the end of $as_of
--   hours_to_resolve_90d         Float64  mean hours to resolve the last 90 days' tickets, capped at 720 (0 when none)
--   age_years                    Float64  year of $as_of minus birth_year; null when unknown
--   plan_id                      Utf8     tariff plan ('(none)' when unknown)
--   segment                      Utf8     marketing segment ('(none)' when unknown)
--   region                       Utf8     home region ('(none)' when unknown)
--   channel                      Utf8     sales channel ('(none)' when unknown)
--   sample_key                   Float64  uniform in [0, 1) from subscriber_id and the seed: a training sample of
--                                         share s is the rows with sample_key < s
--   churns_within_horizon        Boolean  deactivation_date in ($as_of, $as_of + H] for any reason but involuntary:
--                                         the label the model predicts (voluntary churn, port-outs included)
--   ends_involuntarily_within_horizon Boolean deactivation_date in that window with reason involuntary (non-payment):
--                                         neither outcome, left out of training and back-tests
WITH lines AS (
    SELECT
        f.*,
        s.plan_id,
        s.channel,
        s.birth_year,
        s.deactivation_date > CAST($as_of AS DATE) AND s.deactivation_date <= CAST($churn_horizon_end AS DATE)
            AS ends_within_horizon,
        COALESCE(s.deactivation_reason = 'involuntary', false) AS involuntary
    FROM int_subscriber_features AS f
    INNER JOIN stg_subscribers AS s ON s.subscriber_id = f.subscriber_id
    WHERE f.is_active
),

joined AS (
    SELECT
        l.*,
        COALESCE(c.commitment_months, 0) AS commitment_months,
        COALESCE(c.month_in_term, 0) AS month_in_term,
        COALESCE(c.months_to_term_end, 0) AS months_to_term_end,
        COALESCE(c.in_renewal_window, false) AS in_renewal_window,
        r.days_since_last_recharge,
        r.usual_recharge_interval_days,
        COALESCE(r.recharges_30d, 0) AS recharges_30d,
        COALESCE(r.recharges_90d, 0) AS recharges_90d,
        CAST(COALESCE(r.recharge_amount_30d, 0) AS DOUBLE) AS recharge_amount_30d,
        CAST(COALESCE(r.recharge_amount_90d, 0) AS DOUBLE) AS recharge_amount_90d,
        CASE WHEN l.revenue_before_1m > 0
            THEN CAST(l.revenue_1m AS DOUBLE) / (CAST(l.revenue_before_1m AS DOUBLE) / 3.0)
        END AS bill_trend,
        COALESCE(t.complaints_30d, 0) AS complaints_30d,
        COALESCE(t.complaints_prior_60d, 0) AS complaints_prior_60d,
        COALESCE(t.fault_tickets_90d, 0) AS fault_tickets_90d,
        COALESCE(t.inquiries_30d, 0) AS inquiries_30d,
        COALESCE(t.tickets_90d, 0) AS tickets_90d,
        COALESCE(t.open_tickets, 0) AS open_tickets,
        t.mean_hours_to_resolve_90d
    FROM lines AS l
    LEFT JOIN int_contract_position AS c ON c.subscriber_id = l.subscriber_id
    LEFT JOIN int_recharge_behaviour AS r ON r.subscriber_id = l.subscriber_id
    LEFT JOIN int_service_experience AS t ON t.subscriber_id = l.subscriber_id
),

filled AS (
    SELECT
        *,
        CASE WHEN plan_type = 'prepaid'
            THEN CAST(LEAST(COALESCE(days_since_last_recharge, tenure_days), 180) AS DOUBLE)
            ELSE 0.0
        END AS recharge_gap_days
    FROM joined
)

SELECT
    subscriber_id,
    CAST(tenure_months AS DOUBLE) AS tenure_months,
    COALESCE(CAST(arpu_3m AS DOUBLE), 0.0) AS arpu_3m,
    LEAST(GREATEST(COALESCE(arpu_trend, 1.0), 0.0), 3.0) AS arpu_trend,
    CAST(LEAST(COALESCE(recency_days, 90), 90) AS DOUBLE) AS recency_days,
    CAST(active_days_30d AS DOUBLE) AS active_days_30d,
    ln(1.0 + mou_30d) AS log_mou_30d,
    ln(1.0 + data_mb_30d) AS log_data_mb_30d,
    CASE WHEN mou_90d > 0 THEN LEAST(3.0 * mou_30d / mou_90d, 3.0) ELSE 1.0 END AS usage_trend,
    CAST(complaints_90d AS DOUBLE) AS complaints_90d,
    CASE WHEN plan_type = 'prepaid' THEN 1.0 ELSE 0.0 END AS is_prepaid,
    CASE WHEN commitment_months > 0 THEN 1.0 ELSE 0.0 END AS has_commitment,
    CAST(month_in_term AS DOUBLE) AS month_in_term,
    CAST(months_to_term_end AS DOUBLE) AS months_to_term_end,
    CASE WHEN in_renewal_window THEN 1.0 ELSE 0.0 END AS in_renewal_window,
    recharge_gap_days AS days_since_last_recharge,
    CASE
        WHEN plan_type <> 'prepaid' THEN 0.0
        WHEN usual_recharge_interval_days > 0 THEN LEAST(recharge_gap_days / usual_recharge_interval_days, 10.0)
        ELSE LEAST(recharge_gap_days / 30.0, 10.0)
    END AS recharge_gap_ratio,
    CAST(recharges_30d AS DOUBLE) AS recharges_30d,
    CAST(recharges_90d AS DOUBLE) AS recharges_90d,
    ln(1.0 + GREATEST(recharge_amount_30d, 0.0)) AS log_recharge_amount_30d,
    ln(1.0 + GREATEST(recharge_amount_90d, 0.0)) AS log_recharge_amount_90d,
    ln((1.0 + recharges_30d) / (1.0 + (recharges_90d - recharges_30d) / 2.0)) AS recharge_trend,
    ln((1.0 + events_30d) / (1.0 + (events_90d - events_30d) / 2.0)) AS events_trend,
    ln((1.0 + events_7d * 30.0 / 7.0) / (1.0 + events_30d)) AS events_7d_trend,
    CAST(active_days_7d AS DOUBLE) AS active_days_7d,
    ln((1.0 + active_days_30d) / (1.0 + (active_days_90d - active_days_30d) / 2.0)) AS active_days_trend,
    ln((1.0 + mou_30d) / (1.0 + GREATEST(mou_90d - mou_30d, 0.0) / 2.0)) AS voice_trend,
    ln((1.0 + mou_7d * 30.0 / 7.0) / (1.0 + mou_30d)) AS voice_7d_trend,
    ln((1.0 + sms_30d) / (1.0 + (sms_90d - sms_30d) / 2.0)) AS sms_trend,
    ln((1.0 + sms_7d * 30.0 / 7.0) / (1.0 + sms_30d)) AS sms_7d_trend,
    ln((1.0 + data_mb_30d) / (1.0 + GREATEST(data_mb_90d - data_mb_30d, 0.0) / 2.0)) AS data_trend,
    ln((1.0 + data_mb_7d * 30.0 / 7.0) / (1.0 + data_mb_30d)) AS data_7d_trend,
    (1.0 + events_out_30d) / (2.0 + events_out_30d + events_in_30d) AS outgoing_share_30d,
    (1.0 + events_out_30d) / (2.0 + events_out_30d + events_in_30d)
        - (1.0 + (events_out_90d - events_out_30d))
        / (2.0 + (events_out_90d - events_out_30d) + (events_in_90d - events_in_30d)) AS outgoing_share_trend,
    ln(1.0 + events_30d) AS log_events_30d,
    ln(1.0 + sms_30d) AS log_sms_30d,
    LEAST(GREATEST(COALESCE(bill_trend, 1.0), 0.0), 3.0) AS bill_trend,
    CAST(months_since_first_bill AS DOUBLE) AS months_since_first_bill,
    CAST(complaints_30d AS DOUBLE) AS complaints_30d,
    CAST(complaints_prior_60d AS DOUBLE) AS complaints_prior_60d,
    CAST(fault_tickets_90d AS DOUBLE) AS fault_tickets_90d,
    CAST(inquiries_30d AS DOUBLE) AS inquiries_30d,
    CAST(tickets_90d AS DOUBLE) AS tickets_90d,
    CAST(open_tickets AS DOUBLE) AS open_tickets,
    LEAST(COALESCE(mean_hours_to_resolve_90d, 0.0), 720.0) AS hours_to_resolve_90d,
    CAST(CAST(date_part('year', CAST($as_of AS DATE)) AS INT) - birth_year AS DOUBLE) AS age_years,
    COALESCE(plan_id, '(none)') AS plan_id,
    COALESCE(segment, '(none)') AS segment,
    COALESCE(region, '(none)') AS region,
    COALESCE(channel, '(none)') AS channel,
    cvm_hash_unit(subscriber_id, $churn_seed) AS sample_key,
    COALESCE(ends_within_horizon AND NOT involuntary, false) AS churns_within_horizon,
    COALESCE(ends_within_horizon AND involuntary, false) AS ends_involuntarily_within_horizon
FROM filled
