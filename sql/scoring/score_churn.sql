-- score_churn: churn risk at T from the fitted model, and the features that raise it most.
-- grain: one row per subscriber active at T.
-- inputs: int_churn_features (evaluated at T)
-- params: $churn_fitted, $churn_intercept, and per feature f: $churn_coef_f (on the standardised
--   scale), $churn_mean_f, $churn_scale_f; $churn_band_medium, $churn_band_high (band cut-offs)
-- The model is a logistic regression on standardised features (docs/models.md):
--   churn_risk = 1 / (1 + exp(-(intercept + sum_f coef_f * (x_f - mean_f) / scale_f)))
-- A feature's contribution is its term of that sum; the drivers are the up to three features with
-- the largest positive contributions, worded by whether the value is above or below the training
-- mean (e.g. "falling ARPU"). When the model could not be fitted, every score is null.
-- columns:
--   subscriber_id    Utf8     the subscriber
--   churn_risk       Float64  probability of deactivating within the horizon
--   churn_risk_band  Utf8     low (< medium cut-off), medium, high (>= high cut-off)
--   churn_drivers    Utf8     up to three features raising the risk most, in words, strongest first
WITH contributions AS (
    SELECT
        subscriber_id,
        $churn_coef_tenure_months * (tenure_months - $churn_mean_tenure_months) / $churn_scale_tenure_months AS c_tenure_months,
        tenure_months >= $churn_mean_tenure_months AS above_tenure_months,
        $churn_coef_arpu_3m * (arpu_3m - $churn_mean_arpu_3m) / $churn_scale_arpu_3m AS c_arpu_3m,
        arpu_3m >= $churn_mean_arpu_3m AS above_arpu_3m,
        $churn_coef_arpu_trend * (arpu_trend - $churn_mean_arpu_trend) / $churn_scale_arpu_trend AS c_arpu_trend,
        arpu_trend >= $churn_mean_arpu_trend AS above_arpu_trend,
        $churn_coef_recency_days * (recency_days - $churn_mean_recency_days) / $churn_scale_recency_days AS c_recency_days,
        recency_days >= $churn_mean_recency_days AS above_recency_days,
        $churn_coef_active_days_30d * (active_days_30d - $churn_mean_active_days_30d) / $churn_scale_active_days_30d AS c_active_days_30d,
        active_days_30d >= $churn_mean_active_days_30d AS above_active_days_30d,
        $churn_coef_log_mou_30d * (log_mou_30d - $churn_mean_log_mou_30d) / $churn_scale_log_mou_30d AS c_log_mou_30d,
        log_mou_30d >= $churn_mean_log_mou_30d AS above_log_mou_30d,
        $churn_coef_log_data_mb_30d * (log_data_mb_30d - $churn_mean_log_data_mb_30d) / $churn_scale_log_data_mb_30d AS c_log_data_mb_30d,
        log_data_mb_30d >= $churn_mean_log_data_mb_30d AS above_log_data_mb_30d,
        $churn_coef_usage_trend * (usage_trend - $churn_mean_usage_trend) / $churn_scale_usage_trend AS c_usage_trend,
        usage_trend >= $churn_mean_usage_trend AS above_usage_trend,
        $churn_coef_complaints_90d * (complaints_90d - $churn_mean_complaints_90d) / $churn_scale_complaints_90d AS c_complaints_90d,
        complaints_90d >= $churn_mean_complaints_90d AS above_complaints_90d,
        $churn_coef_is_prepaid * (is_prepaid - $churn_mean_is_prepaid) / $churn_scale_is_prepaid AS c_is_prepaid,
        is_prepaid >= $churn_mean_is_prepaid AS above_is_prepaid
    FROM int_churn_features
    WHERE $churn_fitted
),

scored AS (
    SELECT
        subscriber_id,
        1.0 / (1.0 + exp(-(
            $churn_intercept
            + c_tenure_months
            + c_arpu_3m
            + c_arpu_trend
            + c_recency_days
            + c_active_days_30d
            + c_log_mou_30d
            + c_log_data_mb_30d
            + c_usage_trend
            + c_complaints_90d
            + c_is_prepaid
        ))) AS churn_risk
    FROM contributions
),

feature_words AS (
    SELECT * FROM (VALUES
        ('tenure_months', 'long tenure', 'short tenure'),
        ('arpu_3m', 'high ARPU', 'low ARPU'),
        ('arpu_trend', 'rising ARPU', 'falling ARPU'),
        ('recency_days', 'no recent usage', 'recent usage'),
        ('active_days_30d', 'many active days', 'few active days'),
        ('log_mou_30d', 'heavy voice use', 'little voice use'),
        ('log_data_mb_30d', 'heavy data use', 'little data use'),
        ('usage_trend', 'voice use rising', 'voice use falling'),
        ('complaints_90d', 'recent complaints', 'few complaints'),
        ('is_prepaid', 'prepaid plan', 'postpaid plan')
    ) AS w (feature, word_above, word_below)
),

per_feature AS (
    SELECT
        c.subscriber_id,
        w.feature,
        CASE w.feature
            WHEN 'tenure_months' THEN c.c_tenure_months
            WHEN 'arpu_3m' THEN c.c_arpu_3m
            WHEN 'arpu_trend' THEN c.c_arpu_trend
            WHEN 'recency_days' THEN c.c_recency_days
            WHEN 'active_days_30d' THEN c.c_active_days_30d
            WHEN 'log_mou_30d' THEN c.c_log_mou_30d
            WHEN 'log_data_mb_30d' THEN c.c_log_data_mb_30d
            WHEN 'usage_trend' THEN c.c_usage_trend
            WHEN 'complaints_90d' THEN c.c_complaints_90d
            WHEN 'is_prepaid' THEN c.c_is_prepaid
        END AS contribution,
        CASE WHEN CASE w.feature
            WHEN 'tenure_months' THEN c.above_tenure_months
            WHEN 'arpu_3m' THEN c.above_arpu_3m
            WHEN 'arpu_trend' THEN c.above_arpu_trend
            WHEN 'recency_days' THEN c.above_recency_days
            WHEN 'active_days_30d' THEN c.above_active_days_30d
            WHEN 'log_mou_30d' THEN c.above_log_mou_30d
            WHEN 'log_data_mb_30d' THEN c.above_log_data_mb_30d
            WHEN 'usage_trend' THEN c.above_usage_trend
            WHEN 'complaints_90d' THEN c.above_complaints_90d
            WHEN 'is_prepaid' THEN c.above_is_prepaid
            END THEN w.word_above ELSE w.word_below END AS word
    FROM contributions AS c
    CROSS JOIN feature_words AS w
),

ranked AS (
    SELECT
        subscriber_id,
        word,
        ROW_NUMBER() OVER (PARTITION BY subscriber_id ORDER BY contribution DESC, feature) AS driver_rank
    FROM per_feature
    WHERE contribution > 0
),

drivers AS (
    SELECT subscriber_id, arrow_cast(string_agg(word, ', ' ORDER BY driver_rank), 'Utf8') AS churn_drivers
    FROM ranked
    WHERE driver_rank <= 3
    GROUP BY subscriber_id
)

SELECT
    s.subscriber_id,
    s.churn_risk,
    CASE
        WHEN s.churn_risk >= $churn_band_high THEN 'high'
        WHEN s.churn_risk >= $churn_band_medium THEN 'medium'
        ELSE 'low'
    END AS churn_risk_band,
    d.churn_drivers
FROM scored AS s
LEFT JOIN drivers AS d ON d.subscriber_id = s.subscriber_id
