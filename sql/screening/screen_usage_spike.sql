-- screen_usage_spike: lines with a recent day of usage far above both their own history and their peers'.
-- grain: one row per line in service at T on which the rule fires (its strongest spike).
-- inputs: usage_daily (the days $spike_history_from .. T), int_tenure_computed
-- params: $as_of (T), $spike_recent_from, $spike_history_from, $spike_weight, $spike_min_z,
--   $spike_min_history_days
-- Three measures a day: voice minutes, messages (sms and mms), data MiB. A recent day (from
-- $spike_recent_from to T) is compared with the days before it in the history window by robust
-- z-scores, (day - median) / (1.4826 x median absolute deviation): once against the line's own
-- days, once against every day of the lines of its plan type. The medians are exact: an
-- approximate quantile depends on the order its partial states merge in, and a re-run must
-- publish the same figures. Both z-scores must reach $spike_min_z, and the line must have
-- $spike_min_history_days days of history. The scale is at least a quarter of the median and one
-- unit (a minute, a message, a MiB), so a line whose days are all alike neither divides by zero
-- nor fires on a day under three times its median. Days without any usage have no row: medians
-- are over the days a line used the network. Every join has its small side first (the engine
-- builds its hash table from the left), so the screening holds little in memory however long the
-- history.
-- columns:
--   subscriber_id  Utf8     the line
--   rule           Utf8     usage_spike
--   weight         Float64  the rule's weight in the fraud score
--   figure         Float64  the spike's robust z-score against the line's own days
--   reason         Utf8     the rule in words: the measure, the day, its amount and the line's median
WITH days AS (
    SELECT
        u.subscriber_id,
        t.plan_type,
        u.event_date,
        u.event_date >= CAST($spike_recent_from AS DATE) AS recent,
        CAST(u.voice_seconds AS DOUBLE) / 60.0 AS voice,
        CAST(u.sms_count + u.mms_count AS DOUBLE) AS messages,
        CAST(u.data_bytes AS DOUBLE) / 1048576.0 AS data
    FROM int_tenure_computed AS t
    INNER JOIN usage_daily AS u ON u.subscriber_id = t.subscriber_id
    WHERE t.is_active
      AND u.event_date >= CAST($spike_history_from AS DATE) AND u.event_date <= CAST($as_of AS DATE)
),

-- each measure's median over the peers' days, then the median of the distances from it: the
-- medians ride on the rows as window values, so the days are read once here (a CTE is planned
-- again wherever it is named: a second one over the same days would read them twice more, and
-- once more for each reference to the CTEs built on it)
peer AS (
    SELECT
        plan_type,
        voice_median,
        messages_median,
        data_median,
        greatest(1.4826 * median(abs(voice - voice_median)), 0.25 * voice_median, 1.0) AS voice_scale,
        greatest(1.4826 * median(abs(messages - messages_median)), 0.25 * messages_median, 1.0)
            AS messages_scale,
        greatest(1.4826 * median(abs(data - data_median)), 0.25 * data_median, 1.0) AS data_scale
    FROM (
        SELECT
            plan_type,
            voice,
            messages,
            data,
            median(voice) OVER (PARTITION BY plan_type) AS voice_median,
            median(messages) OVER (PARTITION BY plan_type) AS messages_median,
            median(data) OVER (PARTITION BY plan_type) AS data_median
        FROM days
        WHERE NOT recent
    ) AS d
    GROUP BY plan_type, voice_median, messages_median, data_median
),

recent_days AS (
    SELECT
        d.subscriber_id,
        d.event_date,
        d.voice,
        d.messages,
        d.data,
        (d.voice - p.voice_median) / p.voice_scale AS voice_z,
        (d.messages - p.messages_median) / p.messages_scale AS messages_z,
        (d.data - p.data_median) / p.data_scale AS data_z
    FROM peer AS p
    INNER JOIN days AS d ON d.plan_type = p.plan_type
    WHERE d.recent
),

-- recent days far above the peers, a row per measure: the only ones whose own history is worth a
-- median. One pass over recent_days (a CTE is planned again wherever it is named, so a UNION of
-- three selections from it would join usage_daily three more times)
candidates AS (
    SELECT subscriber_id, event_date, measure, unit, amount, peer_z
    FROM (
        SELECT
            r.subscriber_id,
            r.event_date,
            m.measure,
            m.unit,
            CASE m.measure WHEN 'voice' THEN r.voice WHEN 'messages' THEN r.messages ELSE r.data END AS amount,
            CASE m.measure WHEN 'voice' THEN r.voice_z WHEN 'messages' THEN r.messages_z ELSE r.data_z END AS peer_z
        FROM (VALUES ('voice', 'minutes'), ('messages', 'messages'), ('data', 'MiB')) AS m (measure, unit)
        CROSS JOIN recent_days AS r
    ) AS unpivoted
    WHERE peer_z >= $spike_min_z
),

-- the candidates' own earlier days, each with its line's medians (window values, as for the peers)
history AS (
    SELECT
        d.subscriber_id,
        d.voice,
        d.messages,
        d.data,
        median(d.voice) OVER (PARTITION BY d.subscriber_id) AS voice_median,
        median(d.messages) OVER (PARTITION BY d.subscriber_id) AS messages_median,
        median(d.data) OVER (PARTITION BY d.subscriber_id) AS data_median,
        COUNT(*) OVER (PARTITION BY d.subscriber_id) AS history_days
    FROM (SELECT DISTINCT subscriber_id FROM candidates) AS c
    INNER JOIN days AS d ON d.subscriber_id = c.subscriber_id
    WHERE NOT d.recent
),

own AS (
    SELECT
        subscriber_id,
        history_days,
        voice_median,
        messages_median,
        data_median,
        greatest(1.4826 * median(abs(voice - voice_median)), 0.25 * voice_median, 1.0) AS voice_scale,
        greatest(1.4826 * median(abs(messages - messages_median)), 0.25 * messages_median, 1.0) AS messages_scale,
        greatest(1.4826 * median(abs(data - data_median)), 0.25 * data_median, 1.0) AS data_scale
    FROM history
    GROUP BY subscriber_id, history_days, voice_median, messages_median, data_median
),

judged AS (
    SELECT
        c.subscriber_id,
        c.measure,
        c.unit,
        c.event_date,
        c.amount,
        c.peer_z,
        CASE c.measure WHEN 'voice' THEN o.voice_median WHEN 'messages' THEN o.messages_median
            ELSE o.data_median END AS median,
        CASE c.measure WHEN 'voice' THEN o.voice_scale WHEN 'messages' THEN o.messages_scale
            ELSE o.data_scale END AS scale
    FROM own AS o
    INNER JOIN candidates AS c ON c.subscriber_id = o.subscriber_id
    WHERE o.history_days >= $spike_min_history_days
),

spikes AS (
    SELECT
        j.*,
        (j.amount - j.median) / j.scale AS own_z,
        row_number() OVER (
            PARTITION BY j.subscriber_id ORDER BY (j.amount - j.median) / j.scale DESC, j.measure, j.event_date
        ) AS strongest
    FROM judged AS j
    WHERE (j.amount - j.median) / j.scale >= $spike_min_z
)

SELECT
    s.subscriber_id,
    'usage_spike' AS rule,
    CAST($spike_weight AS DOUBLE) AS weight,
    s.own_z AS figure,
    arrow_cast(concat(
        s.measure, ' ', CAST(CAST(round(s.amount) AS BIGINT) AS VARCHAR), ' ', s.unit, ' on ',
        CAST(s.event_date AS VARCHAR), ' against a median day of ', CAST(round(s.median, 1) AS VARCHAR), ' ',
        s.unit, ' (robust z ', CAST(CAST(round(s.own_z) AS BIGINT) AS VARCHAR), ' against its own days, ',
        CAST(CAST(round(s.peer_z) AS BIGINT) AS VARCHAR), ' against its plan type''s)'
    ), 'Utf8') AS reason
FROM spikes AS s
WHERE s.strongest = 1
