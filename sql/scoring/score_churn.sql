-- score_churn: churn risk at T from the fitted model, its band, and the features that raise it most.
-- grain: one row per subscriber active at T.
-- inputs: int_churn_features (evaluated at T)
-- params: $churn_fitted, $churn_model (the fitted model's JSON: docs/models.md), $churn_band_mode
--   (percentile, lift or absolute), $churn_band_medium, $churn_band_high
-- cvm_churn_score applies the model the run chose (logistic regression or gradient-boosted trees)
-- and its calibration, and words each line's drivers: the up to three features raising its
-- log-odds most, strongest first (e.g. "in its renewal window, network faults reported"). Its
-- arguments are the model's features in the model's order (models::churn::catalogue).
-- Bands, by $churn_band_mode: percentile: high for the riskiest $churn_band_high share of the
-- active lines, medium down to the $churn_band_medium share (ties by subscriber_id); lift: high at
-- $churn_band_high times the base's mean risk or more, medium at $churn_band_medium times; absolute:
-- the cut-offs are probabilities. When the model could not be fitted, every score is null.
-- columns:
--   subscriber_id    Utf8     the subscriber
--   churn_risk       Float64  probability of deactivating voluntarily within the horizon
--   churn_risk_band  Utf8     low / medium / high (see the bands above)
--   churn_drivers    Utf8     up to three features raising the risk most, in words, strongest first
WITH scored AS (
    SELECT
        subscriber_id,
        cvm_churn_score(
            CAST($churn_model AS VARCHAR),
            tenure_months, arpu_3m, arpu_trend, recency_days, active_days_30d, log_mou_30d,
            log_data_mb_30d, usage_trend, complaints_90d, is_prepaid, has_commitment, month_in_term,
            months_to_term_end, in_renewal_window, days_since_last_recharge, recharge_gap_ratio, recharges_30d, recharges_90d,
            log_recharge_amount_30d, log_recharge_amount_90d, recharge_trend, events_trend, events_7d_trend, active_days_7d,
            active_days_trend, voice_trend, voice_7d_trend, sms_trend, sms_7d_trend, data_trend,
            data_7d_trend, outgoing_share_30d, outgoing_share_trend, log_events_30d, log_sms_30d, bill_trend, months_since_first_bill, complaints_30d,
            complaints_prior_60d, fault_tickets_90d, inquiries_30d, tickets_90d, open_tickets, hours_to_resolve_90d,
            age_years, plan_id, segment, region, channel
        ) AS score
    FROM int_churn_features
    WHERE $churn_fitted
),

ranked AS (
    SELECT
        subscriber_id,
        get_field(score, 'churn_risk') AS churn_risk,
        get_field(score, 'churn_drivers') AS churn_drivers,
        CAST(ROW_NUMBER() OVER (ORDER BY get_field(score, 'churn_risk') DESC, subscriber_id) AS DOUBLE)
            / CAST(COUNT(*) OVER () AS DOUBLE) AS top_share,
        get_field(score, 'churn_risk') / AVG(get_field(score, 'churn_risk')) OVER () AS lift
    FROM scored
)

SELECT
    subscriber_id,
    churn_risk,
    CASE
        WHEN $churn_band_mode = 'percentile' AND top_share <= $churn_band_high THEN 'high'
        WHEN $churn_band_mode = 'percentile' AND top_share <= $churn_band_medium THEN 'medium'
        WHEN $churn_band_mode = 'lift' AND lift >= $churn_band_high THEN 'high'
        WHEN $churn_band_mode = 'lift' AND lift >= $churn_band_medium THEN 'medium'
        WHEN $churn_band_mode = 'absolute' AND churn_risk >= $churn_band_high THEN 'high'
        WHEN $churn_band_mode = 'absolute' AND churn_risk >= $churn_band_medium THEN 'medium'
        ELSE 'low'
    END AS churn_risk_band,
    arrow_cast(churn_drivers, 'Utf8') AS churn_drivers
FROM ranked
