-- screen_new_line_burst: new lines used far more than nearly every established line of their plan type.
-- grain: one row per line in service at T on which the rule fires (its strongest measure).
-- inputs: usage_daily (the days $burst_from .. T), int_tenure_computed
-- params: $as_of (T), $burst_from (T - $burst_max_tenure_days + 1), $burst_max_tenure_days,
--   $burst_peer_quantile, $burst_min_ratio, $burst_weight
-- Subscription fraud uses a line hard at once. Usage is measured per day over the window's
-- covered days (those with any usage in the base: the CDR may not reach back the whole window):
-- a new line (tenure_days below $burst_max_tenure_days) per covered day since its activation,
-- every other line in service (established) per covered day. The yardstick is the established
-- lines' $burst_peer_quantile (exact, so that a re-run gives the same figures) of their plan type, at least one unit (a minute, a
-- message, a MiB): a quantile rather than the median, because heavy users are many and are not
-- fraud. Three measures: voice minutes, messages (sms and mms), data MiB; the rule fires when one
-- reaches $burst_min_ratio times the yardstick. Joins have their small side first (the engine
-- builds its hash table from the left).
-- columns:
--   subscriber_id  Utf8     the line
--   rule           Utf8     new_line_burst
--   weight         Float64  the rule's weight in the fraud score
--   figure         Float64  the line's usage a day over the yardstick, its strongest measure
--   reason         Utf8     the rule in words, with the line's figures
WITH covered AS (
    SELECT COUNT(DISTINCT u.event_date) AS days
    FROM usage_daily AS u
    WHERE u.event_date >= CAST($burst_from AS DATE) AND u.event_date <= CAST($as_of AS DATE)
),

lines AS (
    SELECT
        t.subscriber_id,
        t.plan_type,
        t.tenure_days,
        t.tenure_days < $burst_max_tenure_days AS is_new,
        CAST(least(t.tenure_days + 1, c.days) AS DOUBLE) AS days
    FROM int_tenure_computed AS t
    CROSS JOIN covered AS c
    WHERE t.is_active AND c.days > 0
),

per_day AS (
    SELECT
        l.subscriber_id,
        l.plan_type,
        l.is_new,
        l.tenure_days,
        COALESCE(SUM(CAST(u.voice_seconds AS DOUBLE)), 0) / 60.0 / l.days AS voice,
        COALESCE(SUM(CAST(u.sms_count + u.mms_count AS DOUBLE)), 0) / l.days AS messages,
        COALESCE(SUM(CAST(u.data_bytes AS DOUBLE)), 0) / 1048576.0 / l.days AS data
    FROM lines AS l
    LEFT JOIN usage_daily AS u
        ON u.subscriber_id = l.subscriber_id
        AND u.event_date >= CAST($burst_from AS DATE) AND u.event_date <= CAST($as_of AS DATE)
    GROUP BY l.subscriber_id, l.plan_type, l.is_new, l.tenure_days, l.days
),

established AS (
    SELECT
        plan_type,
        greatest(percentile_cont($burst_peer_quantile) WITHIN GROUP (ORDER BY voice), 1.0) AS voice,
        greatest(percentile_cont($burst_peer_quantile) WITHIN GROUP (ORDER BY messages), 1.0) AS messages,
        greatest(percentile_cont($burst_peer_quantile) WITHIN GROUP (ORDER BY data), 1.0) AS data
    FROM per_day
    WHERE NOT is_new
    GROUP BY plan_type
),

-- each new line's three measures against the yardsticks, a row per measure, in one pass over
-- per_day (a CTE is planned again wherever it is named)
ratios AS (
    SELECT
        n.subscriber_id,
        n.plan_type,
        n.tenure_days,
        m.measure,
        m.unit,
        CASE m.measure WHEN 'voice' THEN n.voice WHEN 'messages' THEN n.messages ELSE n.data END AS amount,
        CASE m.measure WHEN 'voice' THEN e.voice WHEN 'messages' THEN e.messages ELSE e.data END AS yardstick
    FROM established AS e
    INNER JOIN per_day AS n ON n.plan_type = e.plan_type
    CROSS JOIN (VALUES ('voice', 'minutes'), ('messages', 'messages'), ('data', 'MiB')) AS m (measure, unit)
    WHERE n.is_new
),

strongest AS (
    SELECT
        r.*,
        r.amount / r.yardstick AS ratio,
        row_number() OVER (PARTITION BY r.subscriber_id ORDER BY r.amount / r.yardstick DESC, r.measure) AS rank
    FROM ratios AS r
)

SELECT
    s.subscriber_id,
    'new_line_burst' AS rule,
    CAST($burst_weight AS DOUBLE) AS weight,
    s.ratio AS figure,
    arrow_cast(concat(
        'new line (', CAST(s.tenure_days AS VARCHAR), ' days in service): ', s.measure, ' ',
        CAST(CAST(round(s.amount) AS BIGINT) AS VARCHAR), ' ', s.unit, ' a day, ',
        CAST(round(s.ratio, 1) AS VARCHAR), ' times what ', CAST(round(100 * $burst_peer_quantile, 1) AS VARCHAR),
        '% of established ', s.plan_type, ' lines stay under (', CAST(round(s.yardstick, 1) AS VARCHAR), ')'
    ), 'Utf8') AS reason
FROM strongest AS s
WHERE s.rank = 1 AND s.ratio >= $burst_min_ratio
