-- quality_volumes: each source's volume per period, the judged period and the history
--   before it, for the data-quality check (src/stages/quality.rs judges each source's
--   judged period against the median of its history and the job's [quality] band).
-- grain: one row per (source, period) with at least one row; a period with none is absent.
-- inputs: usage_daily (cdr: tonight's CDR already folded in), stg_recharges, stg_tickets,
--   stg_billing (as staged: a line extracted twice counts twice, since the check is about
--   what was delivered)
-- params: $as_of (T), $quality_from (the first day of the daily history),
--   $window_end_month (L), $quality_month_from (the first month of billing's history)
-- The daily sources are judged on T, billing on L. Days are UTC days of the event's own
-- time, as everywhere in cvm.
-- columns:
--   source  Utf8    cdr, recharges, tickets or billing
--   period  Date32  the day; for billing, the bill month's first day
--   rows    Int64   the period's rows (cdr: events, which are CDR rows)
--   lines   Int64   distinct subscribers with a row in the period
SELECT 'cdr' AS source, event_date AS period, sum(events) AS rows, count(*) AS lines
FROM usage_daily
WHERE event_date BETWEEN CAST($quality_from AS DATE) AND CAST($as_of AS DATE)
GROUP BY event_date

UNION ALL

SELECT 'recharges', CAST(recharge_time AS DATE), count(*), count(DISTINCT subscriber_id)
FROM stg_recharges
WHERE CAST(recharge_time AS DATE) BETWEEN CAST($quality_from AS DATE) AND CAST($as_of AS DATE)
GROUP BY CAST(recharge_time AS DATE)

UNION ALL

SELECT 'tickets', CAST(opened_at AS DATE), count(*), count(DISTINCT subscriber_id)
FROM stg_tickets
WHERE CAST(opened_at AS DATE) BETWEEN CAST($quality_from AS DATE) AND CAST($as_of AS DATE)
GROUP BY CAST(opened_at AS DATE)

UNION ALL

SELECT 'billing', bill_month, count(*), count(DISTINCT subscriber_id)
FROM stg_billing
WHERE bill_month BETWEEN CAST($quality_month_from AS DATE) AND CAST($window_end_month AS DATE)
GROUP BY bill_month
