-- loyalty_care: long-standing valuable lines to thank and keep, ranked by lifetime value.
-- grain: one row per qualifying subscriber.
-- inputs: customer_value
-- Qualifies: tenure_months 36 or more and value_tier silver or better (diamond, gold, silver).
-- columns:
--   subscriber_id   Utf8              the subscriber
--   score           Float64           clv
--   value_at_stake  Decimal128(18,4)  current_value: what the line is worth if it stays
--   reason          Utf8              tenure and tier, in words
SELECT
    subscriber_id,
    CAST(clv AS DOUBLE) AS score,
    COALESCE(current_value, CAST(0 AS DECIMAL(18, 4))) AS value_at_stake,
    arrow_cast(
        concat(
            CAST(tenure_months / 12 AS VARCHAR), ' years ', CAST(tenure_months % 12 AS VARCHAR), ' months in service, ',
            value_tier, ' tier'
        ),
        'Utf8'
    ) AS reason
FROM customer_value
WHERE tenure_months >= 36
    AND value_tier IN ('diamond', 'gold', 'silver')
