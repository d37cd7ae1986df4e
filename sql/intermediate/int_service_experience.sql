-- int_service_experience: each line's customer-service contacts up to $as_of: complaints recent
-- and older, faults, tickets still open and how long resolution took.
-- grain: one row per subscriber with at least one ticket opened on or before $as_of.
-- inputs: stg_tickets
-- params: $as_of
-- Windows are UTC days of opened_at: the last 30 days (T-29 .. T) and the 60 before them
-- (T-89 .. T-30). A ticket is open at $as_of when it was opened by the end of $as_of and not
-- resolved by then. Hours to resolve are averaged over the tickets of the last 90 days resolved
-- by the end of $as_of.
-- columns:
--   subscriber_id                Utf8     the subscriber
--   complaints_30d               Int64    complaints opened in the last 30 days
--   complaints_prior_60d         Int64    complaints opened in the 60 days before those
--   fault_tickets_90d            Int64    tickets of category fault opened in the last 90 days
--   inquiries_30d                Int64    tickets of category inquiry opened in the last 30 days
--   tickets_90d                  Int64    tickets of any category opened in the last 90 days
--   open_tickets                 Int64    tickets opened on or before $as_of and not resolved by its end
--   mean_hours_to_resolve_90d    Float64  mean hours from opening to resolution; null with none resolved
WITH tickets AS (
    SELECT
        subscriber_id,
        category,
        CAST(opened_at AS DATE) AS opened_day,
        CAST(opened_at AS DATE) >= CAST($as_of - INTERVAL '29' DAY AS DATE) AS in_30d,
        CAST(opened_at AS DATE) >= CAST($as_of - INTERVAL '89' DAY AS DATE) AS in_90d,
        resolved_at IS NOT NULL AND CAST(resolved_at AS DATE) <= CAST($as_of AS DATE) AS resolved,
        CAST(to_unixtime(resolved_at) - to_unixtime(opened_at) AS DOUBLE) / 3600.0 AS hours_to_resolve
    FROM stg_tickets
    WHERE CAST(opened_at AS DATE) <= CAST($as_of AS DATE)
)

SELECT
    subscriber_id,
    COUNT(*) FILTER (WHERE category = 'complaint' AND in_30d) AS complaints_30d,
    COUNT(*) FILTER (WHERE category = 'complaint' AND in_90d AND NOT in_30d) AS complaints_prior_60d,
    COUNT(*) FILTER (WHERE category = 'fault' AND in_90d) AS fault_tickets_90d,
    COUNT(*) FILTER (WHERE category = 'inquiry' AND in_30d) AS inquiries_30d,
    COUNT(*) FILTER (WHERE in_90d) AS tickets_90d,
    COUNT(*) FILTER (WHERE NOT resolved) AS open_tickets,
    AVG(hours_to_resolve) FILTER (WHERE in_90d AND resolved) AS mean_hours_to_resolve_90d
FROM tickets
GROUP BY subscriber_id
