-- kpi_base_by_month: the base and its movements in each month of L-11 .. L, by the four groups.
-- grain: one row per month and combination of value_tier, segment, plan_type and region.
-- inputs: kpi_lines
-- params: $window_end_month (first day of L)
-- The base counts lines in service at an instant: opening = at the start of the month's first
-- day, closing = at the end of its last day, so one month's closing base is the next month's
-- opening base. Only the months a line started and ended in matter, so lines are first counted
-- by those months and the 12 months x lines product is taken on the counts.
-- columns:
--   month_start    Date32  first day of the month
--   value_tier     Utf8    the line's tier at T
--   segment        Utf8    its segment
--   plan_type      Utf8    its plan type
--   region         Utf8    its region
--   opening_base   Int64   lines in service at the start of the month
--   closing_base   Int64   lines in service at its end
--   gross_adds     Int64   lines activated in the month
--   deactivations  Int64   lines deactivated in the month
--   involuntary    Int64   of which with reason involuntary (non-payment)
--   port_outs      Int64   of which with reason port_out
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

line_groups AS (
    -- A line is in service at the start of month m when it started in a month before m and did
    -- not end before m, and so on. Months before the window (or after it) all compare alike,
    -- and are folded into the one just outside (L-12, L+1).
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
    FROM kpi_lines AS l
    GROUP BY 1, 2, 3, 4, 5, 6, 7
)

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
