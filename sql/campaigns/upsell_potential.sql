-- upsell_potential: lines whose ARPU lags their peers' target, ranked by what closing the gap is worth.
-- grain: one row per qualifying subscriber.
-- inputs: customer_value
-- Qualifies: value_quadrant potential (strategic fit high, value not yet high) with potential_value
--   above 0 (ARPU below the peer target).
-- columns:
--   subscriber_id   Utf8              the subscriber
--   score           Float64           potential_value
--   value_at_stake  Decimal128(18,4)  potential_value: the discounted margin uplift if ARPU reached the peer target
--   reason          Utf8              ARPU and uplift, in words
SELECT
    subscriber_id,
    CAST(potential_value AS DOUBLE) AS score,
    potential_value AS value_at_stake,
    arrow_cast(
        concat(
            'potential quadrant: ARPU ', COALESCE(CAST(round(CAST(arpu_3m AS DOUBLE), 2) AS VARCHAR), 'unknown'),
            ', uplift worth ', CAST(round(CAST(potential_value AS DOUBLE), 2) AS VARCHAR), ' if it reached its peers'' target'
        ),
        'Utf8'
    ) AS reason
FROM customer_value
WHERE value_quadrant = 'potential'
    AND potential_value > 0
