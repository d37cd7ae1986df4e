-- winback_dormant: lines still in service but no longer used, ranked by what they have paid so far.
-- grain: one row per qualifying subscriber.
-- inputs: customer_value
-- Qualifies: lifecycle_stage dormant (in service, no usage for lifecycle.dormant_days).
-- columns:
--   subscriber_id   Utf8              the subscriber
--   score           Float64           historical_value
--   value_at_stake  Decimal128(18,4)  current_value: what the line is still worth if it stays
--   reason          Utf8              days without usage and value to date, in words
SELECT
    subscriber_id,
    CAST(historical_value AS DOUBLE) AS score,
    COALESCE(current_value, CAST(0 AS DECIMAL(18, 4))) AS value_at_stake,
    arrow_cast(
        concat(
            'dormant: ',
            CASE
                WHEN recency_days IS NULL THEN 'no usage on record'
                ELSE concat('no usage for ', CAST(recency_days AS VARCHAR), ' days')
            END,
            ', ', CAST(round(CAST(historical_value AS DOUBLE), 2) AS VARCHAR), ' billed to date'
        ),
        'Utf8'
    ) AS reason
FROM customer_value
WHERE lifecycle_stage = 'dormant'
