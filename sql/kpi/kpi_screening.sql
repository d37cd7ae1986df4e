-- kpi_screening: the fraud screening at T by group: lines held at watch and at suspect, and the
--   12-month revenue of the suspect lines, for the whole base and by each of the four groups.
-- grain: one row per dimension and member with a line in service at T.
-- inputs: screening, kpi_lines
-- A line counts in the group it is in at T, as everywhere in kpi: a suspect line the screening
-- holds for review is in the value tier under_review.
-- columns:
--   dimension            Utf8              total, value_tier, segment, plan_type or region
--   member               Utf8              the group; all for total
--   watch_lines          Int64             lines in service at T at screening level watch
--   suspect_lines        Int64             lines in service at T at screening level suspect
--   suspect_revenue_12m  Decimal128(18,4)  net revenue billed for L-11 .. L to the suspect lines
WITH screened AS (
    SELECT
        l.subscriber_id,
        l.value_tier,
        l.segment,
        l.plan_type,
        l.region,
        l.revenue_12m,
        s.screening_level
    FROM screening AS s
    INNER JOIN kpi_lines AS l ON l.subscriber_id = s.subscriber_id
),

memberships AS (
    -- every screened line once per dimension, in the member it belongs to
    SELECT
        d.dimension,
        CASE d.dimension
            WHEN 'value_tier' THEN q.value_tier
            WHEN 'segment' THEN q.segment
            WHEN 'plan_type' THEN q.plan_type
            WHEN 'region' THEN q.region
            ELSE 'all'
        END AS member,
        q.revenue_12m,
        q.screening_level
    FROM screened AS q
    CROSS JOIN (VALUES ('total'), ('value_tier'), ('segment'), ('plan_type'), ('region')) AS d (dimension)
)

SELECT
    dimension,
    member,
    COUNT(*) FILTER (WHERE screening_level = 'watch') AS watch_lines,
    COUNT(*) FILTER (WHERE screening_level = 'suspect') AS suspect_lines,
    CAST(COALESCE(SUM(revenue_12m) FILTER (WHERE screening_level = 'suspect'), 0) AS DECIMAL(18, 4))
        AS suspect_revenue_12m
FROM memberships
GROUP BY dimension, member
