-- kpi: the network's KPIs for month L and the eleven months before it, for the whole base and by
--   value tier, segment, plan type and region, with the Pareto picture and the profit curve.
-- grain: one row per month, dimension and member; profit_decile rows are for month L only.
-- partitioning: snapshot_date=T
-- inputs: customer_value, stg_subscribers, int_billing_monthly, usage_daily, stg_tickets
-- params: $window_end_month (first day of L), $margin_rate, $cost_per_subscriber_month,
--   $cost_per_complaint, $pareto_top_share, $pareto_bottom_share
-- A line counts in the group it is in at T (its tier today) in every month. The base counts
-- lines in service at an instant: opening = at the start of the month's first day, closing = at
-- the end of its last day, so one month's closing base is the next month's opening base.
-- The 12-month columns (month L rows only) take the lines in service in some month of
-- L-11 .. L or billed for one: ranked by revenue_12m (and by profit_12m), ties by
-- subscriber_id; the top share is round(top_share x lines), at least one line.
-- Profit is revenue_12m x value.margin_rate - cost to serve (kpi.cost_per_subscriber_month
-- per month in service + kpi.cost_per_complaint per complaint opened in L-11 .. L).
-- Job settings are used as constants where they are needed rather than as columns of a one-row
-- params table: a join with such a table is a cross join in the plan, and on a Ballista cluster
-- it costs a stage and has given wrong (multiplied) results.
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
WITH months AS (
    SELECT CAST(month_start AS DATE) AS month_start
    FROM (
        VALUES
        (CAST($window_end_month AS DATE)),
        (CAST(CAST($window_end_month AS DATE) - INTERVAL '1' MONTH AS DATE)),
        (CAST(CAST($window_end_month AS DATE) - INTERVAL '2' MONTH AS DATE)),
        (CAST(CAST($window_end_month AS DATE) - INTERVAL '3' MONTH AS DATE)),
        (CAST(CAST($window_end_month AS DATE) - INTERVAL '4' MONTH AS DATE)),
        (CAST(CAST($window_end_month AS DATE) - INTERVAL '5' MONTH AS DATE)),
        (CAST(CAST($window_end_month AS DATE) - INTERVAL '6' MONTH AS DATE)),
        (CAST(CAST($window_end_month AS DATE) - INTERVAL '7' MONTH AS DATE)),
        (CAST(CAST($window_end_month AS DATE) - INTERVAL '8' MONTH AS DATE)),
        (CAST(CAST($window_end_month AS DATE) - INTERVAL '9' MONTH AS DATE)),
        (CAST(CAST($window_end_month AS DATE) - INTERVAL '10' MONTH AS DATE)),
        (CAST(CAST($window_end_month AS DATE) - INTERVAL '11' MONTH AS DATE))
    ) AS m (month_start)
),

lines AS (
    SELECT
        cv.subscriber_id,
        COALESCE(cv.value_tier, '(none)') AS value_tier,
        COALESCE(cv.segment, '(none)') AS segment,
        COALESCE(cv.plan_type, '(none)') AS plan_type,
        COALESCE(cv.region, '(none)') AS region,
        s.activation_date,
        s.deactivation_date,
        COALESCE(s.deactivation_reason, '') AS deactivation_reason,
        cv.months_in_service_12m,
        cv.revenue_12m
    FROM customer_value AS cv
    INNER JOIN stg_subscribers AS s ON s.subscriber_id = cv.subscriber_id
),

line_groups AS (
    -- Lines counted by group and by the months they started and ended in. A line is in service at
    -- the start of month m when it started in a month before m and did not end before m, and so on:
    -- only the months matter, so the 12 months x lines product is taken on these counts. Months
    -- before the window (or after it) all compare alike, and are folded into the one just outside
    -- (L-12, L+1).
    SELECT
        l.value_tier,
        l.segment,
        l.plan_type,
        l.region,
        l.deactivation_reason,
        LEAST(
            GREATEST(
                CAST(date_trunc('month', l.activation_date) AS DATE),
                CAST(CAST($window_end_month AS DATE) - INTERVAL '12' MONTH AS DATE)
            ),
            CAST(CAST($window_end_month AS DATE) + INTERVAL '1' MONTH AS DATE)
        ) AS activation_month,
        -- (GREATEST and LEAST skip nulls: a line in service keeps a null month)
        CASE WHEN l.deactivation_date IS NOT NULL THEN LEAST(
            GREATEST(
                CAST(date_trunc('month', l.deactivation_date) AS DATE),
                CAST(CAST($window_end_month AS DATE) - INTERVAL '12' MONTH AS DATE)
            ),
            CAST(CAST($window_end_month AS DATE) + INTERVAL '1' MONTH AS DATE)
        ) END AS deactivation_month,
        COUNT(*) AS lines
    FROM lines AS l
    GROUP BY 1, 2, 3, 4, 5, 6, 7
),

base_by_month AS (
    SELECT
        m.month_start,
        g.value_tier,
        g.segment,
        g.plan_type,
        g.region,
        SUM(CASE WHEN g.activation_month < m.month_start
            AND (g.deactivation_month IS NULL OR g.deactivation_month >= m.month_start) THEN g.lines ELSE 0 END)
            AS opening_base,
        SUM(CASE WHEN g.activation_month <= m.month_start
            AND (g.deactivation_month IS NULL OR g.deactivation_month > m.month_start) THEN g.lines ELSE 0 END)
            AS closing_base,
        SUM(CASE WHEN g.activation_month = m.month_start THEN g.lines ELSE 0 END) AS gross_adds,
        SUM(CASE WHEN g.deactivation_month = m.month_start THEN g.lines ELSE 0 END) AS deactivations,
        SUM(CASE WHEN g.deactivation_month = m.month_start AND g.deactivation_reason = 'involuntary'
            THEN g.lines ELSE 0 END) AS involuntary,
        SUM(CASE WHEN g.deactivation_month = m.month_start AND g.deactivation_reason = 'port_out'
            THEN g.lines ELSE 0 END) AS port_outs
    FROM line_groups AS g
    CROSS JOIN months AS m
    GROUP BY 1, 2, 3, 4, 5
),

revenue_by_month AS (
    SELECT
        b.bill_month AS month_start,
        l.value_tier,
        l.segment,
        l.plan_type,
        l.region,
        SUM(b.revenue) AS revenue
    FROM int_billing_monthly AS b
    INNER JOIN lines AS l ON l.subscriber_id = b.subscriber_id
    WHERE b.bill_month >= CAST(CAST($window_end_month AS DATE) - INTERVAL '11' MONTH AS DATE)
        AND b.bill_month <= CAST($window_end_month AS DATE)
    GROUP BY 1, 2, 3, 4, 5
),

usage_months AS (
    -- the months of the window in which a line had a usage event
    SELECT DISTINCT subscriber_id, CAST(date_trunc('month', event_date) AS DATE) AS month_start
    FROM usage_daily
    WHERE event_date >= CAST(CAST($window_end_month AS DATE) - INTERVAL '11' MONTH AS DATE)
        AND event_date < CAST(CAST($window_end_month AS DATE) + INTERVAL '1' MONTH AS DATE)
),

active_by_month AS (
    SELECT u.month_start, l.value_tier, l.segment, l.plan_type, l.region, COUNT(*) AS active_subscribers
    FROM usage_months AS u
    INNER JOIN lines AS l ON l.subscriber_id = u.subscriber_id
    GROUP BY 1, 2, 3, 4, 5
),

first_usage AS (
    SELECT MIN(event_date) AS first_day FROM usage_daily
),

by_month AS (
    -- every group in every month (from base_by_month), with its revenue and active lines
    SELECT
        n.*,
        COALESCE(a.active_subscribers, 0) AS active_subscribers,
        COALESCE(r.revenue, CAST(0 AS DECIMAL(18, 4))) AS revenue
    FROM base_by_month AS n
    LEFT JOIN revenue_by_month AS r
        ON r.month_start = n.month_start AND r.value_tier = n.value_tier AND r.segment = n.segment
        AND r.plan_type = n.plan_type AND r.region = n.region
    LEFT JOIN active_by_month AS a
        ON a.month_start = n.month_start AND a.value_tier = n.value_tier AND a.segment = n.segment
        AND a.plan_type = n.plan_type AND a.region = n.region
),

monthly_sets AS (
    SELECT
        month_start,
        value_tier,
        segment,
        plan_type,
        region,
        SUM(opening_base) AS opening_base,
        SUM(closing_base) AS closing_base,
        SUM(gross_adds) AS gross_adds,
        SUM(deactivations) AS deactivations,
        SUM(involuntary) AS involuntary,
        SUM(port_outs) AS port_outs,
        SUM(active_subscribers) AS active_subscribers,
        CAST(SUM(revenue) AS DECIMAL(18, 4)) AS revenue
    FROM by_month
    GROUP BY GROUPING SETS (
        (month_start), (month_start, value_tier), (month_start, segment), (month_start, plan_type),
        (month_start, region)
    )
),

monthly AS (
    -- in each grouping set exactly one attribute is grouped (never null, see lines), or none for the total
    SELECT
        month_start,
        CASE
            WHEN value_tier IS NOT NULL THEN 'value_tier'
            WHEN segment IS NOT NULL THEN 'segment'
            WHEN plan_type IS NOT NULL THEN 'plan_type'
            WHEN region IS NOT NULL THEN 'region'
            ELSE 'total'
        END AS dimension,
        COALESCE(value_tier, segment, plan_type, region, 'all') AS member,
        opening_base,
        closing_base,
        gross_adds,
        deactivations,
        involuntary,
        port_outs,
        active_subscribers,
        revenue
    FROM monthly_sets
),

complaints_12m AS (
    SELECT t.subscriber_id, COUNT(*) AS complaints
    FROM stg_tickets AS t
    WHERE t.category = 'complaint'
        AND CAST(t.opened_at AS DATE) >= CAST(CAST($window_end_month AS DATE) - INTERVAL '11' MONTH AS DATE)
        AND CAST(t.opened_at AS DATE) < CAST(CAST($window_end_month AS DATE) + INTERVAL '1' MONTH AS DATE)
    GROUP BY t.subscriber_id
),

population AS (
    SELECT
        l.subscriber_id,
        l.value_tier,
        l.segment,
        l.plan_type,
        l.region,
        l.revenue_12m,
        CAST(
            CAST($cost_per_subscriber_month AS DECIMAL(18, 4)) * CAST(l.months_in_service_12m AS DECIMAL(18, 0))
            + CAST($cost_per_complaint AS DECIMAL(18, 4)) * CAST(COALESCE(c.complaints, 0) AS DECIMAL(18, 0))
            AS DECIMAL(18, 4)
        ) AS cost_to_serve_12m
    FROM lines AS l
    LEFT JOIN complaints_12m AS c ON c.subscriber_id = l.subscriber_id
    WHERE l.months_in_service_12m > 0 OR l.revenue_12m <> 0
),

population_profit AS (
    SELECT
        q.*,
        CAST(q.revenue_12m * CAST($margin_rate AS DECIMAL(10, 6)) AS DECIMAL(18, 4)) - q.cost_to_serve_12m AS profit_12m
    FROM population AS q
),

memberships AS (
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
    FROM population_profit AS q
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
),

pareto AS (
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
),

deciles AS (
    SELECT
        NTILE(10) OVER (ORDER BY profit_12m DESC, subscriber_id) AS decile,
        revenue_12m,
        cost_to_serve_12m,
        profit_12m
    FROM population_profit
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
        CAST(NULL AS DOUBLE) AS cumulative_profit_share
    FROM monthly AS m
    LEFT JOIN pareto AS q
        ON q.dimension = m.dimension AND q.member = m.member AND m.month_start = CAST($window_end_month AS DATE)
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
        CAST(SUM(d.profit_12m) OVER (ORDER BY d.decile ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS DOUBLE)
        / NULLIF(CAST(SUM(d.profit_12m) OVER () AS DOUBLE), 0) AS cumulative_profit_share
    FROM decile_totals AS d
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
    cumulative_profit_share
FROM all_rows
ORDER BY month, dimension, member
