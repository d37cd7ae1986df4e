-- uplift_observations: the lines a campaign listed on earlier nights, as customer_value described them that
--   night, and whether they churned in the horizon after: what the campaign's uplift model learns from.
-- grain: one row per wave (an earlier night's list, in the 180 days before T, whose horizon has ended by T)
--   and listed subscriber.
-- inputs: contacts_history_before, customer_value_waves (the published customer_value of the nights before T),
--   stg_subscribers
-- params: $as_of, $campaign, $horizon_days
-- churned counts as campaign_effect does: a deactivation after the wave and within the horizon, for any reason
-- but involuntary. The feature columns are uplift_candidates.sql's, computed the same way.
-- columns:
--   wave_date       Date32   the night the line was listed
--   subscriber_id   Utf8     the line
--   contacted       Boolean  in the contact group (false: held out)
--   churned         Boolean  churned within the horizon after the wave
--   churn_risk      Float64  that night's churn risk (0 when it had none)
--   tenure_months   Float64  tenure in months that night
--   arpu_3m         Float64  ARPU over the 3 months before (0 when none)
--   arpu_trend      Float64  ARPU trend (1 when undefined)
--   recency_days    Float64  days since the last usage event (365 when none)
--   complaints_90d  Float64  complaints in the 90 days before
--   mou_30d         Float64  voice minutes, 30 days before
--   data_mb_30d     Float64  data MiB, 30 days before
--   segment         Utf8     marketing segment ('unknown' when none)
--   plan_type       Utf8     prepaid or postpaid
SELECT
    h.snapshot_date AS wave_date,
    h.subscriber_id,
    h."group" = 'contact' AS contacted,
    COALESCE(
        s.deactivation_date > h.snapshot_date
        AND arrow_cast(s.deactivation_date, 'Int32') <= arrow_cast(h.snapshot_date, 'Int32') + $horizon_days
        AND COALESCE(s.deactivation_reason, '') <> 'involuntary',
        false
    ) AS churned,
    CAST(COALESCE(v.churn_risk, 0) AS DOUBLE) AS churn_risk,
    CAST(COALESCE(v.tenure_months, 0) AS DOUBLE) AS tenure_months,
    CAST(COALESCE(v.arpu_3m, 0) AS DOUBLE) AS arpu_3m,
    CAST(COALESCE(v.arpu_trend, 1) AS DOUBLE) AS arpu_trend,
    CAST(COALESCE(v.recency_days, 365) AS DOUBLE) AS recency_days,
    CAST(COALESCE(v.complaints_90d, 0) AS DOUBLE) AS complaints_90d,
    CAST(COALESCE(v.mou_30d, 0) AS DOUBLE) AS mou_30d,
    CAST(COALESCE(v.data_mb_30d, 0) AS DOUBLE) AS data_mb_30d,
    arrow_cast(COALESCE(v.segment, 'unknown'), 'Utf8') AS segment,
    arrow_cast(COALESCE(v.plan_type, 'unknown'), 'Utf8') AS plan_type
FROM contacts_history_before AS h
INNER JOIN customer_value_waves AS v
    ON v.snapshot_date = h.snapshot_date
    AND v.subscriber_id = h.subscriber_id
LEFT JOIN stg_subscribers AS s ON s.subscriber_id = h.subscriber_id
WHERE h.campaign = $campaign
    AND h.snapshot_date >= CAST($as_of - INTERVAL '180' DAY AS DATE)
    AND arrow_cast(h.snapshot_date, 'Int32') + $horizon_days <= arrow_cast(CAST($as_of AS DATE), 'Int32')
ORDER BY wave_date, subscriber_id
