-- tier_migration: how lines moved between value tiers since earlier published snapshots.
-- grain: one row per comparison x from_tier x to_tier with at least one line.
-- partitioning: snapshot_date=T
-- inputs: customer_value (this run's, at T), tier_comparisons (the earlier snapshots compared with:
--   src/stages/tier_migration.rs), customer_value_compared (their published customer_value rows)
-- Comparisons: previous is the newest published snapshot before T; 3_months and 12_months the newest
-- on or before T minus 3 and 12 calendar months. A comparison without such a snapshot (a first night,
-- a warehouse younger than 3 months) has no rows. A line is compared when it has a tier on either
-- side: new is a line without one in the earlier snapshot (not yet active, or not known), ended a
-- line without one at T (ended since). under_review (a line the screening holds suspect) is a tier
-- of its own, outside the ranking.
-- columns:
--   comparison         Utf8              previous, 3_months or 12_months
--   from_snapshot      Date32            the earlier snapshot
--   from_tier          Utf8              the line's tier then: diamond, gold, silver, vip, standard, under_review, or new
--   to_tier            Utf8              its tier at T: diamond .. standard, under_review, or ended
--   tiers_down         Int32             tiers fallen from from_tier to to_tier (diamond 1 .. standard 5), negative for a
--                                       rise, 0 for none; null when either side is new, ended or under_review
--   lines              Int64             lines that moved so
--   revenue_12m_then   Decimal128(18,4)  their revenue_12m in the earlier snapshot (0 for new lines)
--   revenue_12m_now    Decimal128(18,4)  their revenue_12m at T
WITH then_tiers AS (
    SELECT c.comparison, c.from_snapshot, v.subscriber_id, v.value_tier, v.revenue_12m
    FROM tier_comparisons AS c
    INNER JOIN customer_value_compared AS v ON v.snapshot_date = c.from_snapshot
    WHERE v.value_tier IS NOT NULL
),

now_tiers AS (
    SELECT c.comparison, c.from_snapshot, v.subscriber_id, v.value_tier, v.revenue_12m
    FROM tier_comparisons AS c
    CROSS JOIN customer_value AS v
    WHERE v.value_tier IS NOT NULL
),

moved AS (
    SELECT
        COALESCE(t.comparison, n.comparison) AS comparison,
        COALESCE(t.from_snapshot, n.from_snapshot) AS from_snapshot,
        COALESCE(t.value_tier, 'new') AS from_tier,
        COALESCE(n.value_tier, 'ended') AS to_tier,
        COALESCE(t.revenue_12m, CAST(0 AS DECIMAL(18, 4))) AS revenue_then,
        COALESCE(n.revenue_12m, CAST(0 AS DECIMAL(18, 4))) AS revenue_now
    FROM then_tiers AS t
    FULL OUTER JOIN now_tiers AS n ON n.comparison = t.comparison AND n.subscriber_id = t.subscriber_id
),

ranked AS (
    SELECT
        *,
        CASE from_tier WHEN 'diamond' THEN 1 WHEN 'gold' THEN 2 WHEN 'silver' THEN 3 WHEN 'vip' THEN 4
            WHEN 'standard' THEN 5 END AS from_rank,
        CASE to_tier WHEN 'diamond' THEN 1 WHEN 'gold' THEN 2 WHEN 'silver' THEN 3 WHEN 'vip' THEN 4
            WHEN 'standard' THEN 5 END AS to_rank
    FROM moved
)

SELECT
    comparison,
    from_snapshot,
    from_tier,
    to_tier,
    CAST(MAX(to_rank) - MAX(from_rank) AS INT) AS tiers_down,
    COUNT(*) AS lines,
    CAST(SUM(revenue_then) AS DECIMAL(18, 4)) AS revenue_12m_then,
    CAST(SUM(revenue_now) AS DECIMAL(18, 4)) AS revenue_12m_now
FROM ranked
GROUP BY comparison, from_snapshot, from_tier, to_tier
ORDER BY comparison, from_tier, to_tier
