-- screening: each line in service at T screened for fraud: a fraud score, a level and the rules that fired.
-- grain: one row per line in service at T.
-- partitioning: snapshot_date=T
-- inputs: int_tenure_computed, screen_fired (the lines of every rule family of sql/screening:
--   screen_simbox, screen_usage_spike, screen_new_line_burst, screen_revenue, screen_usage_profile,
--   screen_fraud_model, screen_confirmed_case, gathered into one small table by the screening step,
--   src/stages/screening/mod.rs)
-- params: $watch_score, $suspect_score
-- The fraud score combines the weights w of the rules that fired as independent evidence
-- ("noisy or"): 1 - (1 - w1)(1 - w2)...; 0 when none fired. A line at or above $suspect_score is
-- suspect, at or above $watch_score watch, else clear. Each fired rule says why in words, with
-- the line's figure (docs/models.md, "Screening").
-- columns:
--   subscriber_id    Utf8     the line
--   plan_type        Utf8     prepaid or postpaid
--   fraud_score      Float64  in [0, 1]: the rules' weights combined, 4 decimals
--   screening_level  Utf8     clear, watch or suspect
--   rules_fired      Int64    how many rules fired
--   flags            Utf8     the rules that fired, comma-separated in name order; null when none
--   reasons          Utf8     each fired rule's reason, in the same order, separated by semicolons; null when none
WITH by_line AS (
    SELECT
        subscriber_id,
        round(1.0 - exp(SUM(ln(1.0 - weight))), 4) AS fraud_score,
        COUNT(*) AS rules_fired,
        arrow_cast(string_agg(rule, ',' ORDER BY rule), 'Utf8') AS flags,
        arrow_cast(string_agg(reason, '; ' ORDER BY rule), 'Utf8') AS reasons
    FROM screen_fired
    GROUP BY subscriber_id
)

SELECT
    t.subscriber_id,
    t.plan_type,
    COALESCE(b.fraud_score, 0.0) AS fraud_score,
    CASE
        WHEN COALESCE(b.fraud_score, 0.0) >= $suspect_score THEN 'suspect'
        WHEN COALESCE(b.fraud_score, 0.0) >= $watch_score THEN 'watch'
        ELSE 'clear'
    END AS screening_level,
    COALESCE(b.rules_fired, 0) AS rules_fired,
    b.flags,
    b.reasons
FROM int_tenure_computed AS t
LEFT JOIN by_line AS b ON b.subscriber_id = t.subscriber_id
WHERE t.is_active
ORDER BY t.subscriber_id
