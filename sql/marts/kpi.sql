-- kpi: the network's KPIs for month L and the eleven months before it, for the whole base and by
--   value tier, segment, plan type and region, with the Pareto picture and the profit curve.
-- grain: one row per month, dimension and member; profit_decile rows are for month L only.
-- partitioning: snapshot_date=T
-- inputs: kpi_monthly, kpi_pareto, kpi_profit_deciles, kpi_screening (sql/kpi: the parts, over
--   customer_value, stg_subscribers, int_billing_monthly, usage_daily, stg_tickets and screening),
--   usage_daily
-- params: $window_end_month (first day of L)
-- A line counts in the group it is in at T (its tier today) in every month. The base counts
-- lines in service at an instant: opening = at the start of the month's first day, closing = at
-- the end of its last day, so one month's closing base is the next month's opening base.
-- The 12-month columns (month L rows only) take the lines in service in some month of
-- L-11 .. L or billed for one: ranked by revenue_12m (and by profit_12m), ties by
-- subscriber_id; the top share is round(top_share x lines), at least one line.
-- Profit is revenue_12m x value.margin_rate - cost to serve (kpi.cost_per_subscriber_month
-- per month in service + kpi.cost_per_complaint per complaint opened in L-11 .. L).
-- The screening columns describe T (the screening table of the snapshot) and are on month L rows
-- only, like the 12-month columns: lines in service at T, in the group they are in at T.
-- columns:
--   month                    Date32            first day of the month
--   dimension                Utf8              total, value_tier, segment, plan_type, region or profit_decile
--   member                   Utf8              the group: all for total, (none) where the attribute is null (e.g. the
--                                               tier of ended lines), 01 .. 10 for profit deciles (01 most profitable)
--   opening_base             Int64             lines in service at the start of the month; null on profit_decile rows
--   closing_base             Int64             lines in service at the end of the month; null on profit_decile rows
--   mean_base                Float64           (opening_base + closing_base) / 2
--   gross_adds               Int64             lines activated in the month
--   deactivations            Int64             lines deactivated in the month
--   churn_rate               Float64           deactivations / opening_base; null when opening_base is 0
--   voluntary_churn_rate     Float64           deactivations for any reason but involuntary (port-outs and unknown
--                                               reasons included) / opening_base: what the churn model predicts
--   involuntary_churn_rate   Float64           deactivations with reason involuntary (non-payment) / opening_base
--   port_out_rate            Float64           deactivations with reason port_out (number taken to a competitor) /
--                                               opening_base
--   active_subscribers       Int64             lines with a usage event in the month; null for months before the first
--                                               day of usage the run holds
--   revenue                  Decimal128(18,4)  net revenue billed for the month
--   network_arpu             Decimal128(18,4)  revenue / mean_base; null when mean_base is 0
--   revenue_share            Float64           the member's share of its dimension's revenue in the month
--   subscribers_12m          Int64             lines in the 12-month population (month L rows only, as the rest below)
--   revenue_12m              Decimal128(18,4)  net revenue billed for L-11 .. L
--   top_revenue_share_12m    Float64           share of revenue_12m from the top share (default 20%) of lines by revenue
--   cost_to_serve_12m        Decimal128(18,4)  cost per month in service and per complaint over L-11 .. L
--   profit_12m               Decimal128(18,4)  revenue_12m x margin_rate - cost_to_serve_12m
--   top_profit_share_12m     Float64           share of profit_12m from the top share of lines by profit
--   bottom_profit_12m        Decimal128(18,4)  profit of the bottom share (default 30%) of lines by profit
--   bottom_profit_drag       Float64           the share of the other lines' profit the bottom share destroys (20/80/30):
--                                               -bottom_profit_12m / their profit, 0 when the bottom share makes a profit,
--                                               null when the other lines' profit is not above 0
--   cumulative_profit_share  Float64           profit_decile rows: profit of deciles 01 .. this one over the whole base's
--                                               profit_12m (the profit curve); null on other rows
--   watch_lines              Int64             lines in service at T the fraud screening holds at watch (month L rows
--                                               only; null on profit_decile rows)
--   suspect_lines            Int64             lines in service at T the fraud screening holds suspect (as above)
--   suspect_revenue_12m      Decimal128(18,4)  net revenue billed for L-11 .. L to those suspect lines: the revenue
--                                               that sits on suspected fraud (as above)
WITH first_usage AS (
    SELECT MIN(event_date) AS first_day FROM usage_daily
),

base_rows AS (
    SELECT
        m.month_start AS month,
        m.dimension,
        m.member,
        m.opening_base,
        m.closing_base,
        (m.opening_base + m.closing_base) / 2.0 AS mean_base,
        m.gross_adds,
        m.deactivations,
        CASE WHEN m.opening_base > 0 THEN CAST(m.deactivations AS DOUBLE) / m.opening_base END AS churn_rate,
        CASE WHEN m.opening_base > 0 THEN CAST(m.deactivations - m.involuntary AS DOUBLE) / m.opening_base END
            AS voluntary_churn_rate,
        CASE WHEN m.opening_base > 0 THEN CAST(m.involuntary AS DOUBLE) / m.opening_base END AS involuntary_churn_rate,
        CASE WHEN m.opening_base > 0 THEN CAST(m.port_outs AS DOUBLE) / m.opening_base END AS port_out_rate,
        CASE WHEN m.month_start >= (SELECT first_day FROM first_usage) THEN m.active_subscribers END
            AS active_subscribers,
        m.revenue,
        CASE
            WHEN m.opening_base + m.closing_base > 0
                THEN CAST(m.revenue * 2 / CAST(m.opening_base + m.closing_base AS DECIMAL(18, 0)) AS DECIMAL(18, 4))
        END AS network_arpu,
        CAST(m.revenue AS DOUBLE)
        / NULLIF(CAST(SUM(m.revenue) OVER (PARTITION BY m.month_start, m.dimension) AS DOUBLE), 0) AS revenue_share,
        q.subscribers_12m,
        q.revenue_12m,
        q.top_revenue_12m / NULLIF(CAST(q.revenue_12m AS DOUBLE), 0) AS top_revenue_share_12m,
        q.cost_to_serve_12m,
        q.profit_12m,
        q.top_profit_12m / NULLIF(CAST(q.profit_12m AS DOUBLE), 0) AS top_profit_share_12m,
        q.bottom_profit_12m,
        CASE
            WHEN q.rest_profit_12m > 0 THEN GREATEST(0.0, -CAST(q.bottom_profit_12m AS DOUBLE)) / q.rest_profit_12m
        END AS bottom_profit_drag,
        CAST(NULL AS DOUBLE) AS cumulative_profit_share,
        CASE WHEN m.month_start = CAST($window_end_month AS DATE) THEN COALESCE(s.watch_lines, 0) END AS watch_lines,
        CASE WHEN m.month_start = CAST($window_end_month AS DATE) THEN COALESCE(s.suspect_lines, 0) END
            AS suspect_lines,
        CASE
            WHEN m.month_start = CAST($window_end_month AS DATE)
                THEN COALESCE(s.suspect_revenue_12m, CAST(0 AS DECIMAL(18, 4)))
        END AS suspect_revenue_12m
    FROM kpi_monthly AS m
    LEFT JOIN kpi_pareto AS q
        ON q.dimension = m.dimension AND q.member = m.member AND m.month_start = CAST($window_end_month AS DATE)
    LEFT JOIN kpi_screening AS s
        ON s.dimension = m.dimension AND s.member = m.member AND m.month_start = CAST($window_end_month AS DATE)
),

decile_rows AS (
    SELECT
        CAST($window_end_month AS DATE) AS month,
        'profit_decile' AS dimension,
        lpad(CAST(d.decile AS VARCHAR), 2, '0') AS member,
        CAST(NULL AS BIGINT) AS opening_base,
        CAST(NULL AS BIGINT) AS closing_base,
        CAST(NULL AS DOUBLE) AS mean_base,
        CAST(NULL AS BIGINT) AS gross_adds,
        CAST(NULL AS BIGINT) AS deactivations,
        CAST(NULL AS DOUBLE) AS churn_rate,
        CAST(NULL AS DOUBLE) AS voluntary_churn_rate,
        CAST(NULL AS DOUBLE) AS involuntary_churn_rate,
        CAST(NULL AS DOUBLE) AS port_out_rate,
        CAST(NULL AS BIGINT) AS active_subscribers,
        CAST(NULL AS DECIMAL(18, 4)) AS revenue,
        CAST(NULL AS DECIMAL(18, 4)) AS network_arpu,
        CAST(NULL AS DOUBLE) AS revenue_share,
        d.subscribers_12m,
        d.revenue_12m,
        CAST(NULL AS DOUBLE) AS top_revenue_share_12m,
        d.cost_to_serve_12m,
        d.profit_12m,
        CAST(NULL AS DOUBLE) AS top_profit_share_12m,
        CAST(NULL AS DECIMAL(18, 4)) AS bottom_profit_12m,
        CAST(NULL AS DOUBLE) AS bottom_profit_drag,
        d.cumulative_profit_share,
        CAST(NULL AS BIGINT) AS watch_lines,
        CAST(NULL AS BIGINT) AS suspect_lines,
        CAST(NULL AS DECIMAL(18, 4)) AS suspect_revenue_12m
    FROM kpi_profit_deciles AS d
),

all_rows AS (
    -- the two row kinds list the same columns in the same order
    SELECT * FROM base_rows
    UNION ALL
    SELECT * FROM decile_rows
)

SELECT
    month,
    arrow_cast(dimension, 'Utf8') AS dimension,
    arrow_cast(member, 'Utf8') AS member,
    opening_base,
    closing_base,
    mean_base,
    gross_adds,
    deactivations,
    churn_rate,
    voluntary_churn_rate,
    involuntary_churn_rate,
    port_out_rate,
    active_subscribers,
    revenue,
    network_arpu,
    revenue_share,
    subscribers_12m,
    revenue_12m,
    top_revenue_share_12m,
    cost_to_serve_12m,
    profit_12m,
    top_profit_share_12m,
    bottom_profit_12m,
    bottom_profit_drag,
    cumulative_profit_share,
    watch_lines,
    suspect_lines,
    suspect_revenue_12m
FROM all_rows
ORDER BY month, dimension, member
