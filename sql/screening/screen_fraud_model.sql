-- screen_fraud_model: the model library's supervised part: lines the fraud model finds likely to be
--   confirmed as fraud, and lines already confirmed.
-- grain: one row per line in service at T and rule that fires on it (fraud_model, confirmed_case).
-- inputs: fraud_model_lines (registered by the screening step: src/stages/screening/fraud_model.rs fits
--   a logistic regression on sql/models/fraud_features.sql, labelled by stg_fraud_cases, and keeps the
--   lines at or above its threshold; empty when the job has no confirmed cases or the model is not
--   fitted), stg_fraud_cases, int_tenure_computed
-- params: $as_of (T), $fraud_model_weight, $fraud_model_threshold, $confirmed_case_weight
-- A line with a case confirmed on or before T is confirmed_case (its last case named); the model
-- scores only the lines without one.
-- columns:
--   subscriber_id  Utf8     the line
--   rule           Utf8     fraud_model or confirmed_case
--   weight         Float64  the rule's weight in the fraud score
--   figure         Float64  the model's probability; for confirmed_case, the days since the last confirmation
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
    m.subscriber_id,
    'fraud_model' AS rule,
    CAST($fraud_model_weight AS DOUBLE) AS weight,
    m.probability AS figure,
    arrow_cast(concat(
        'the fraud model gives ', CAST(round(m.probability, 2) AS VARCHAR),
        ' (threshold ', CAST($fraud_model_threshold AS VARCHAR), '), mostly for ', m.strongest
    ), 'Utf8') AS reason
FROM fraud_model_lines AS m

UNION ALL

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
