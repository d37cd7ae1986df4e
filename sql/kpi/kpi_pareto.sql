-- kpi_pareto: the Pareto picture of the 12-month population, for the whole base and by each of
--   the four groups: how much of the revenue and profit the top share of lines brings, and how
--   much profit the bottom share destroys.
-- grain: one row per dimension and member.
-- inputs: kpi_line_profit
-- params: $pareto_top_share, $pareto_bottom_share
-- Lines are ranked by revenue_12m (and by profit_12m), ties by subscriber_id; the top share is
-- round(top_share x lines), at least one line, and so is the bottom share.
-- columns:
--   dimension          Utf8              total, value_tier, segment, plan_type or region
--   member             Utf8              the group; all for total
--   subscribers_12m    Int64             lines in the 12-month population
--   revenue_12m        Decimal128(18,4)  their net revenue billed for L-11 .. L
--   top_revenue_12m    Float64           revenue_12m of the top share of lines by revenue
--   cost_to_serve_12m  Decimal128(18,4)  their cost to serve
--   profit_12m         Decimal128(18,4)  their profit
--   top_profit_12m     Float64           profit_12m of the top share of lines by profit
--   bottom_profit_12m  Decimal128(18,4)  profit_12m of the bottom share of lines by profit
--   rest_profit_12m    Float64           profit_12m of the other lines
WITH memberships AS (
    -- every line once per dimension, in the member it belongs to
    SELECT
        d.dimension,
        CASE d.dimension
            WHEN 'value_tier' THEN q.value_tier
            WHEN 'segment' THEN q.segment
            WHEN 'plan_type' THEN q.plan_type
            WHEN 'region' THEN q.region
            ELSE 'all'
        END AS member,
        q.subscriber_id,
        q.revenue_12m,
        q.cost_to_serve_12m,
        q.profit_12m
    FROM kpi_line_profit AS q
    CROSS JOIN (VALUES ('total'), ('value_tier'), ('segment'), ('plan_type'), ('region')) AS d (dimension)
),

ranked AS (
    SELECT
        m.*,
        ROW_NUMBER() OVER (PARTITION BY dimension, member ORDER BY revenue_12m DESC, subscriber_id) AS revenue_rank,
        ROW_NUMBER() OVER (PARTITION BY dimension, member ORDER BY profit_12m DESC, subscriber_id) AS profit_rank,
        COUNT(*) OVER (PARTITION BY dimension, member) AS lines_in_member
    FROM memberships AS m
),

flagged AS (
    SELECT
        r.*,
        r.revenue_rank <= GREATEST(1, round(CAST($pareto_top_share AS DOUBLE) * r.lines_in_member)) AS top_by_revenue,
        r.profit_rank <= GREATEST(1, round(CAST($pareto_top_share AS DOUBLE) * r.lines_in_member)) AS top_by_profit,
        r.profit_rank
        > r.lines_in_member - GREATEST(1, round(CAST($pareto_bottom_share AS DOUBLE) * r.lines_in_member))
            AS bottom_by_profit
    FROM ranked AS r
)

SELECT
    dimension,
    member,
    COUNT(*) AS subscribers_12m,
    CAST(SUM(revenue_12m) AS DECIMAL(18, 4)) AS revenue_12m,
    CAST(SUM(revenue_12m) FILTER (WHERE top_by_revenue) AS DOUBLE) AS top_revenue_12m,
    CAST(SUM(cost_to_serve_12m) AS DECIMAL(18, 4)) AS cost_to_serve_12m,
    CAST(SUM(profit_12m) AS DECIMAL(18, 4)) AS profit_12m,
    CAST(SUM(profit_12m) FILTER (WHERE top_by_profit) AS DOUBLE) AS top_profit_12m,
    CAST(COALESCE(SUM(profit_12m) FILTER (WHERE bottom_by_profit), 0) AS DECIMAL(18, 4)) AS bottom_profit_12m,
    CAST(COALESCE(SUM(profit_12m) FILTER (WHERE NOT bottom_by_profit), 0) AS DOUBLE) AS rest_profit_12m
FROM flagged
GROUP BY dimension, member
