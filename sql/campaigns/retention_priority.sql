-- retention_priority: active high-value lines at high risk of leaving, ranked by the value at stake.
-- grain: one row per qualifying subscriber.
-- inputs: customer_value
-- Qualifies: active, churn_risk_band high, value_tier silver or better (diamond, gold, silver).
-- columns:
--   subscriber_id   Utf8              the subscriber
--   score           Float64           churn_risk x current_value: the value expected to be lost if nothing is done
--   value_at_stake  Decimal128(18,4)  the same, in money
--   reason          Utf8              tier, risk and the risk's drivers, in words
SELECT
    subscriber_id,
    churn_risk * CAST(current_value AS DOUBLE) AS score,
    CAST(CAST(churn_risk AS DECIMAL(10, 6)) * current_value AS DECIMAL(18, 4)) AS value_at_stake,
    arrow_cast(
        concat(
            value_tier, ' line with a ', CAST(CAST(round(churn_risk * 100) AS BIGINT) AS VARCHAR), '% churn risk',
            CASE WHEN churn_drivers IS NOT NULL THEN concat(': ', churn_drivers) ELSE '' END
        ),
        'Utf8'
    ) AS reason
FROM customer_value
WHERE is_active
    AND churn_risk_band = 'high'
    AND value_tier IN ('diamond', 'gold', 'silver')
