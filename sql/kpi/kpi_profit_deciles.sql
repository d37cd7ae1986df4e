-- kpi_profit_deciles: the profit curve: the 12-month population in tenths by profit.
-- grain: one row per decile (1 = the most profitable tenth).
-- inputs: kpi_line_profit
-- Lines are ordered by profit_12m, ties by subscriber_id, and cut by NTILE(10).
-- columns:
--   decile                   UInt64            1 .. 10
--   subscribers_12m          Int64             lines in the decile
--   revenue_12m              Decimal128(18,4)  their net revenue billed for L-11 .. L
--   cost_to_serve_12m        Decimal128(18,4)  their cost to serve
--   profit_12m               Decimal128(18,4)  their profit
--   cumulative_profit_share  Float64           profit of deciles 1 .. this one over the whole population's profit
WITH deciles AS (
    SELECT
        NTILE(10) OVER (ORDER BY profit_12m DESC, subscriber_id) AS decile,
        revenue_12m,
        cost_to_serve_12m,
        profit_12m
    FROM kpi_line_profit
),

decile_totals AS (
    SELECT
        decile,
        COUNT(*) AS subscribers_12m,
        CAST(SUM(revenue_12m) AS DECIMAL(18, 4)) AS revenue_12m,
        CAST(SUM(cost_to_serve_12m) AS DECIMAL(18, 4)) AS cost_to_serve_12m,
        CAST(SUM(profit_12m) AS DECIMAL(18, 4)) AS profit_12m
    FROM deciles
    GROUP BY decile
)

SELECT
    d.*,
    CAST(SUM(d.profit_12m) OVER (ORDER BY d.decile ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS DOUBLE)
    / NULLIF(CAST(SUM(d.profit_12m) OVER () AS DOUBLE), 0) AS cumulative_profit_share
FROM decile_totals AS d
