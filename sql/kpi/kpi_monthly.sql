-- kpi_monthly: the base, its movements, active lines and revenue in each month of L-11 .. L, for
--   the whole base and by each of the four groups.
-- grain: one row per month, dimension and member.
-- inputs: kpi_base_by_month, kpi_lines, int_billing_monthly, usage_daily
-- params: $window_end_month (first day of L)
-- columns:
--   month_start         Date32            first day of the month
--   dimension           Utf8              total, value_tier, segment, plan_type or region
--   member              Utf8              the group; all for total
--   opening_base        Int64             lines in service at the start of the month
--   closing_base        Int64             lines in service at its end
--   gross_adds          Int64             lines activated in the month
--   deactivations       Int64             lines deactivated in the month
--   involuntary         Int64             of which with reason involuntary (non-payment)
--   port_outs           Int64             of which with reason port_out
--   active_subscribers  Int64             lines with a usage event in the month
--   revenue             Decimal128(18,4)  net revenue billed for the month
WITH revenue_by_month AS (
    SELECT
        b.bill_month AS month_start,
        l.value_tier,
        l.segment,
        l.plan_type,
        l.region,
        SUM(b.revenue) AS revenue
    FROM int_billing_monthly AS b
    INNER JOIN kpi_lines AS l ON l.subscriber_id = b.subscriber_id
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
    INNER JOIN kpi_lines AS l ON l.subscriber_id = u.subscriber_id
    GROUP BY 1, 2, 3, 4, 5
),

by_month AS (
    -- every group in every month (from the base), with its revenue and active lines
    SELECT
        n.*,
        COALESCE(a.active_subscribers, 0) AS active_subscribers,
        COALESCE(r.revenue, CAST(0 AS DECIMAL(18, 4))) AS revenue
    FROM kpi_base_by_month AS n
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
)

-- in each grouping set exactly one attribute is grouped (never null, see kpi_lines), or none for
-- the total
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
