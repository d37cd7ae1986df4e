-- export_fraud_review: the fraud team's review list of snapshot T: the lines the screening holds
--   suspect or watch, suspect first, then by fraud score, with the revenue at stake.
-- grain: one row per line in service at T at screening_level suspect, or watch when $min_level is
--   'watch'.
-- inputs: screening (published), customer_value (published), contacts (the restricted table of
--   T's run; empty when the export carries no msisdn)
-- params: $as_of (T), $min_level ('watch': suspect and watch lines; 'suspect': suspect lines only)
-- Not a campaign: no control group is held out (nobody is contacted, so there is no effect to
-- measure), and opt-outs do not apply: they withhold consent to marketing, and the fraud team
-- must see an opted-out line that defrauds too. Ties of level and score go by subscriber_id.
-- msisdn is the last column: the export drops it, hashes it or keeps it as the job's
-- [exports] msisdn allows, as for campaign lists.
-- columns:
--   snapshot_date    Date32            T
--   rank             Int64             the line's place in the list, 1 first
--   subscriber_id    Utf8              the line
--   plan_type        Utf8              prepaid or postpaid
--   screening_level  Utf8              suspect or watch
--   fraud_score      Float64           in [0, 1]: the weights of the rules that fired, combined
--   flags            Utf8              the rules that fired, comma-separated in name order
--   reasons          Utf8              each fired rule's reason in words, separated by semicolons
--   revenue_3m       Decimal128(18,4)  net revenue billed for L-2 .. L: the line's recent revenue, at stake if
--                                      it is fraud
--   msisdn           Utf8              the line's number (personal: see above)
WITH listed AS (
    SELECT
        s.subscriber_id,
        s.plan_type,
        s.screening_level,
        s.fraud_score,
        s.flags,
        s.reasons,
        CASE s.screening_level WHEN 'suspect' THEN 1 ELSE 2 END AS level_order
    FROM screening AS s
    WHERE s.snapshot_date = CAST($as_of AS DATE)
        AND (s.screening_level = 'suspect' OR (s.screening_level = 'watch' AND $min_level = 'watch'))
),

ranked AS (
    SELECT
        l.*,
        CAST(ROW_NUMBER() OVER (ORDER BY l.level_order, l.fraud_score DESC, l.subscriber_id) AS BIGINT) AS rank
    FROM listed AS l
)

SELECT
    CAST($as_of AS DATE) AS snapshot_date,
    r.rank,
    arrow_cast(r.subscriber_id, 'Utf8') AS subscriber_id,
    arrow_cast(r.plan_type, 'Utf8') AS plan_type,
    arrow_cast(r.screening_level, 'Utf8') AS screening_level,
    r.fraud_score,
    arrow_cast(r.flags, 'Utf8') AS flags,
    arrow_cast(r.reasons, 'Utf8') AS reasons,
    cv.revenue_3m,
    k.msisdn
FROM ranked AS r
LEFT JOIN customer_value AS cv
    ON cv.subscriber_id = r.subscriber_id AND cv.snapshot_date = CAST($as_of AS DATE)
LEFT JOIN contacts AS k ON k.subscriber_id = r.subscriber_id
ORDER BY r.rank
