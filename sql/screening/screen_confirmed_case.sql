-- screen_confirmed_case: lines the fraud team has confirmed as fraud (the optional fraud_cases source).
-- grain: one row per line in service at T with a case confirmed on or before T.
-- inputs: stg_fraud_cases, int_tenure_computed
-- params: $as_of (T), $confirmed_case_weight
-- A line may have several cases: the reason names its last (date and type) and how many.
-- columns:
--   subscriber_id  Utf8     the line
--   rule           Utf8     confirmed_case
--   weight         Float64  the rule's weight in the fraud score
--   figure         Float64  days since the last confirmation
--   reason         Utf8     the rule in words, with the line's figures
WITH confirmed AS (
    SELECT
        c.subscriber_id,
        max(c.confirmed_date) AS last_confirmed,
        count(*) AS cases,
        first_value(COALESCE(c.fraud_type, 'type not given') ORDER BY c.confirmed_date DESC, c.fraud_type) AS last_type
    FROM stg_fraud_cases AS c
    WHERE c.confirmed_date <= CAST($as_of AS DATE)
    GROUP BY c.subscriber_id
)

SELECT
    c.subscriber_id,
    'confirmed_case' AS rule,
    CAST($confirmed_case_weight AS DOUBLE) AS weight,
    CAST(CAST(CAST($as_of AS DATE) AS INT) - CAST(c.last_confirmed AS INT) AS DOUBLE) AS figure,
    arrow_cast(concat(
        'fraud confirmed by the fraud team on ', CAST(c.last_confirmed AS VARCHAR),
        ' (', c.last_type, CASE WHEN c.cases > 1 THEN concat('; ', CAST(c.cases AS VARCHAR), ' cases') ELSE '' END, ')'
    ), 'Utf8') AS reason
FROM confirmed AS c
INNER JOIN int_tenure_computed AS t ON t.subscriber_id = c.subscriber_id
WHERE t.is_active
