-- kpi_line_profit: the 12-month population, each line with its revenue, cost to serve and profit.
-- grain: one row per line in service in some month of L-11 .. L or billed for one.
-- inputs: kpi_lines, stg_tickets
-- params: $window_end_month (first day of L), $margin_rate, $cost_per_subscriber_month,
--   $cost_per_complaint
-- Profit is revenue_12m x value.margin_rate - cost to serve (kpi.cost_per_subscriber_month per
-- month in service + kpi.cost_per_complaint per complaint opened in L-11 .. L). Job settings are
-- used as constants where they are needed rather than as columns of a one-row params table: a
-- join with such a table is a cross join in the plan, and on a Ballista cluster it costs a stage
-- and has given wrong (multiplied) results.
-- columns:
--   subscriber_id      Utf8              the subscriber
--   value_tier         Utf8              the line's tier at T
--   segment            Utf8              its segment
--   plan_type          Utf8              its plan type
--   region             Utf8              its region
--   revenue_12m        Decimal128(18,4)  net revenue billed for L-11 .. L
--   cost_to_serve_12m  Decimal128(18,4)  cost per month in service and per complaint over L-11 .. L
--   profit_12m         Decimal128(19,4)  revenue_12m x margin_rate - cost_to_serve_12m
WITH complaints_12m AS (
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
    FROM kpi_lines AS l
    LEFT JOIN complaints_12m AS c ON c.subscriber_id = l.subscriber_id
    WHERE l.months_in_service_12m > 0 OR l.revenue_12m <> 0
)

SELECT
    q.*,
    CAST(q.revenue_12m * CAST($margin_rate AS DECIMAL(10, 6)) AS DECIMAL(18, 4)) - q.cost_to_serve_12m AS profit_12m
FROM population AS q
