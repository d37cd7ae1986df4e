-- report_total: the report's headline figures of snapshot T: the last month and the 12-month Pareto picture.
-- grain: one row (kpi's total row that carries the 12-month figures), none when kpi has none.
-- inputs: kpi (published, dimension 'total'); $as_of = T
-- columns:
--   opening_base           Int64    lines in service at the start of month L
--   closing_base           Int64    lines in service at its end
--   churn_rate             Float64  lines ended in month L over the opening base
--   active_subscribers     Int64    lines active at T
--   revenue                Float64  revenue of month L
--   network_arpu           Float64  network ARPU of month L
--   subscribers_12m        Int64    lines with service or revenue in the trailing 12 months
--   revenue_12m            Float64  their revenue
--   top_revenue_share_12m  Float64  share of it from the top 20% of lines
--   profit_12m             Float64  profit after cost to serve over the 12 months
--   top_profit_share_12m   Float64  share of it from the top 20% of lines
--   bottom_profit_12m      Float64  profit of the bottom 30% of lines
--   bottom_profit_drag     Float64  the bottom 30%'s profit over the whole profit
SELECT
    opening_base,
    closing_base,
    churn_rate,
    active_subscribers,
    CAST(revenue AS DOUBLE) AS revenue,
    CAST(network_arpu AS DOUBLE) AS network_arpu,
    subscribers_12m,
    CAST(revenue_12m AS DOUBLE) AS revenue_12m,
    top_revenue_share_12m,
    CAST(profit_12m AS DOUBLE) AS profit_12m,
    top_profit_share_12m,
    CAST(bottom_profit_12m AS DOUBLE) AS bottom_profit_12m,
    bottom_profit_drag
FROM kpi
WHERE snapshot_date = $as_of AND dimension = 'total' AND subscribers_12m IS NOT NULL
