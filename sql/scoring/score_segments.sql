-- score_segments: lifecycle stage and RFM segment of every subscriber known at T.
-- grain: one row per subscriber known at T.
-- inputs: int_subscriber_features
-- params: $new_months, $growing_months, $dormant_days, $declining_trend, $growing_trend
-- lifecycle_stage, first rule that holds: churned (not active); dormant (no usage event in the
-- last $dormant_days days); new (tenure under $new_months months); declining (arpu_trend below
-- $declining_trend); growing (tenure under $growing_months months or arpu_trend above
-- $growing_trend); mature (the rest).
-- RFM among active lines, each score 1..5 by cume_dist (ties share a score): R on recency_days
-- (recent = 5, never used = 1), F on active_days_30d, M on revenue_3m. Segments, first that holds:
-- champions R>=4 F>=4 M>=4; loyal F>=4 M>=3; big_spenders M>=4 R>=3; new_and_promising R>=4 F<=2
-- and tenure under $growing_months months; at_risk R<=2 and (F>=3 or M>=3); hibernating R<=2;
-- needs_attention the rest. Ended lines are lost.
-- columns:
--   subscriber_id    Utf8  the subscriber
--   lifecycle_stage  Utf8  new / growing / mature / declining / dormant / churned
--   rfm_score        Utf8  R, F and M scores as three digits, e.g. 545; null for ended lines
--   rfm_segment      Utf8  champions / loyal / big_spenders / new_and_promising / at_risk / hibernating /
--                          needs_attention / lost
WITH active_scores AS (
    SELECT
        subscriber_id,
        CAST(ceil(5.0 * cume_dist() OVER (ORDER BY COALESCE(recency_days, 2147483647) DESC)) AS INT) AS r,
        CAST(ceil(5.0 * cume_dist() OVER (ORDER BY active_days_30d)) AS INT) AS f,
        CAST(ceil(5.0 * cume_dist() OVER (ORDER BY revenue_3m)) AS INT) AS m
    FROM int_subscriber_features
    WHERE is_active
)

SELECT
    x.subscriber_id,
    CASE
        WHEN NOT x.is_active THEN 'churned'
        WHEN x.recency_days IS NULL OR x.recency_days >= $dormant_days THEN 'dormant'
        WHEN x.tenure_months < $new_months THEN 'new'
        WHEN x.arpu_trend < $declining_trend THEN 'declining'
        WHEN x.tenure_months < $growing_months OR x.arpu_trend > $growing_trend THEN 'growing'
        ELSE 'mature'
    END AS lifecycle_stage,
    CASE WHEN x.is_active THEN arrow_cast(concat(CAST(s.r AS VARCHAR), CAST(s.f AS VARCHAR), CAST(s.m AS VARCHAR)), 'Utf8') END
        AS rfm_score,
    CASE
        WHEN NOT x.is_active THEN 'lost'
        WHEN s.r >= 4 AND s.f >= 4 AND s.m >= 4 THEN 'champions'
        WHEN s.f >= 4 AND s.m >= 3 THEN 'loyal'
        WHEN s.m >= 4 AND s.r >= 3 THEN 'big_spenders'
        WHEN s.r >= 4 AND s.f <= 2 AND x.tenure_months < $growing_months THEN 'new_and_promising'
        WHEN s.r <= 2 AND (s.f >= 3 OR s.m >= 3) THEN 'at_risk'
        WHEN s.r <= 2 THEN 'hibernating'
        ELSE 'needs_attention'
    END AS rfm_segment
FROM int_subscriber_features AS x
LEFT JOIN active_scores AS s ON s.subscriber_id = x.subscriber_id
