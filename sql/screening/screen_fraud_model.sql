-- screen_fraud_model: the model library's supervised part: lines the fraud model, learned from the fraud
--   team's confirmed cases, finds likely to be fraud like them.
-- grain: one row per line in service at T on which the rule fires.
-- inputs: fraud_model_lines (registered by the screening step: src/stages/screening/fraud_model.rs fits
--   a logistic regression on sql/models/fraud_features.sql, labelled by stg_fraud_cases, and keeps the
--   lines without a confirmed case at or above its threshold; empty when the job has no confirmed
--   cases or the model is not applied)
-- params: $fraud_model_weight, $fraud_model_threshold
-- The reason names the feature that raised the line's log-odds most.
-- columns:
--   subscriber_id  Utf8     the line
--   rule           Utf8     fraud_model
--   weight         Float64  the rule's weight in the fraud score
--   figure         Float64  the model's probability that the line is fraud like the confirmed ones
--   reason         Utf8     the rule in words, with the line's figures
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
